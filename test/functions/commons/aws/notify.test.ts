import { SNSClient } from '@aws-sdk/client-sns';
import { beforeAll, expect, it } from 'vitest';
import { publishNotification } from '../../../../functions/commons/aws/notify.ts';
import { describeWithMoto, MOTO_SKIP_REASON, motoClientConfig } from '../../../support/aws.ts';
import { createNotificationSink, motoClients } from '../../../support/aws-resources.ts';

describeWithMoto(`publishNotification${MOTO_SKIP_REASON}`, () => {
  let clients: ReturnType<typeof motoClients>;
  beforeAll(() => {
    clients = motoClients();
  });

  it('delivers the per-protocol message and the outcome attribute to a queue subscriber', async () => {
    const sink = await createNotificationSink(clients.sns, clients.sqs);
    const message = JSON.stringify({
      default: 'plain text',
      email: 'plain text',
      sqs: '{"outcome":"halted"}',
    });

    await publishNotification(clients.sns, sink.topicArn, {
      subject: 'Rollout halted',
      message,
      outcome: 'halted',
    });

    const [received, ...more] = await sink.drain({ expect: 1 });
    expect(more).toEqual([]);
    expect(received?.subject).toBe('Rollout halted');
    expect(received?.message).toBe('{"outcome":"halted"}');
    expect(received?.attributes).toEqual({ outcome: 'halted' });
  });

  it('fails with a retryable error naming the topic when publishing fails', async () => {
    const missing = 'arn:aws:sns:us-east-1:123456789012:no-such-watchdog-topic';
    const error = await publishNotification(new SNSClient(motoClientConfig()), missing, {
      subject: 's',
      message: JSON.stringify({ default: 'x' }),
      outcome: 'failed',
    }).catch((caught: unknown) => caught);
    expect(error).toMatchObject({ code: 'NOTIFY_FAILED', retryable: true });
    expect(String(error)).toContain(missing);
  });
});
