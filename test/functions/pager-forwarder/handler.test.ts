/**
 * The pager forwarder end to end: real notifications published to a moto topic, through an SQS queue
 * subscribed with the stack's filter policy, handed to the real handler, delivered to a loopback
 * stand-in of the PagerDuty Events API v2 (202, 400, 429, 5xx, hang). A delivery that fails is reported
 * back to SQS, and after the queue's last attempt waits in the dead-letter queue.
 */
import { randomUUID } from 'node:crypto';
import { PutSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { CreateTopicCommand, PublishCommand, SubscribeCommand } from '@aws-sdk/client-sns';
import {
  ChangeMessageVisibilityCommand,
  CreateQueueCommand,
  GetQueueAttributesCommand,
  type Message,
  ReceiveMessageCommand,
} from '@aws-sdk/client-sqs';
import type { Context, SQSEvent } from 'aws-lambda';
import { afterAll, afterEach, beforeAll, expect, it, vi } from 'vitest';
import { buildMessageStructure, publishNotification } from '../../../functions/commons/aws/notify.ts';
import { runWatchdog } from '../../../functions/commons/domain/decide.ts';
import { buildNotification, type Notification } from '../../../functions/commons/domain/notification.ts';
import { resolveTargets } from '../../../functions/commons/domain/targets.ts';
import { StoreApiError } from '../../../functions/commons/errors.ts';
import { PAGER_OUTCOME_FILTER } from '../../../infra/constructs/pager-filter.ts';
import { describeWithMoto, MOTO_SKIP_REASON, motoClientConfig, requireMoto } from '../../support/aws.ts';
import { createSecret, motoClients } from '../../support/aws-resources.ts';
import { type EventsApiStandIn, startEventsApiStandIn } from '../../support/pagerduty-stand-in.ts';
import { lambdaContext } from '../../support/watchdog-harness.ts';
import {
  configOf,
  fakeRollouts,
  inProgress,
  mainRef,
  PHOTOS,
  PHOTOS_SUBMISSION,
} from '../commons/domain/fake-rollouts.ts';

const ROUTING_KEY = 'R0ut1ngKeyR0ut1ngKeyR0ut1ngKey12';

type Handler = (
  event: SQSEvent,
  context: Context,
) => Promise<{ batchItemFailures: { itemIdentifier: string }[] }>;

async function decision(halt: 'halted' | 'fails'): Promise<Notification> {
  const plan = resolveTargets(
    {
      kind: 'alarm',
      alarms: [
        {
          alarmName: 'contoso-photos-crash-rate',
          newState: 'ALARM',
          previousState: 'OK',
          reason: 'Threshold Crossed',
          time: '2026-12-02T06:00:00.000+0000',
          source: 'sns',
        },
      ],
    },
    configOf([PHOTOS]),
  );
  if (plan.kind !== 'act') throw new Error('expected an acting plan');
  const rollouts = fakeRollouts(
    { [PHOTOS.applicationId]: [inProgress(mainRef(), 20)] },
    halt === 'fails'
      ? {
          [PHOTOS_SUBMISSION]: new StoreApiError('STORE_HTTP_503', 'POST haltpackagerollout answered 503', {
            status: 503,
          }),
        }
      : {},
  );
  const run = await runWatchdog(plan, { rollouts, now: () => 0 }, new AbortController().signal);
  return buildNotification(plan, run);
}

const HEALTH_ALARM = JSON.stringify({
  AlarmName: 'StoreRolloutWatchdog-halt-rollout-failures',
  AlarmDescription:
    'An event of the halt-rollout function failed after all retries and waits in its failure queue: a person must act on it.',
  NewStateValue: 'ALARM',
  OldStateValue: 'OK',
  NewStateReason: 'Threshold Crossed: 1 datapoint [1.0] was greater than the threshold (0.0).',
  StateChangeTime: '2026-12-02T06:01:00.000+0000',
});

describeWithMoto(`pager forwarder${MOTO_SKIP_REASON}`, () => {
  const { secrets, sns, sqs } = motoClients();
  let standIn: EventsApiStandIn;
  let handler: Handler;
  let topicArn: string;
  let queueUrl: string;
  let deadLetterUrl: string;
  let secretId: string;
  const logs: string[] = [];
  const saved = new Map<string, string | undefined>();

  beforeAll(async () => {
    standIn = await startEventsApiStandIn();
    const id = randomUUID();
    secretId = await createSecret(
      secrets,
      JSON.stringify({ routingKey: ROUTING_KEY }),
      `pager-routing-key-${id}`,
    );
    const topic = await sns.send(new CreateTopicCommand({ Name: `watchdog-notifications-${id}` }));
    const dlq = await sqs.send(new CreateQueueCommand({ QueueName: `pager-dead-letters-${id}` }));
    const queue = await sqs.send(
      new CreateQueueCommand({
        QueueName: `pager-${id}`,
        Attributes: {
          VisibilityTimeout: '0',
          RedrivePolicy: JSON.stringify({
            deadLetterTargetArn: `arn:aws:sqs:us-east-1:123456789012:pager-dead-letters-${id}`,
            maxReceiveCount: 3,
          }),
        },
      }),
    );
    if (topic.TopicArn === undefined || queue.QueueUrl === undefined || dlq.QueueUrl === undefined) {
      throw new Error('moto returned no topic or queue');
    }
    topicArn = topic.TopicArn;
    queueUrl = queue.QueueUrl;
    deadLetterUrl = dlq.QueueUrl;
    await sns.send(
      new SubscribeCommand({
        TopicArn: topicArn,
        Protocol: 'sqs',
        Endpoint: `arn:aws:sqs:us-east-1:123456789012:pager-${id}`,
        Attributes: { FilterPolicy: JSON.stringify({ outcome: PAGER_OUTCOME_FILTER }) },
      }),
    );

    const config = motoClientConfig();
    const env: Record<string, string> = {
      PAGER_ROUTING_KEY_SECRET_ID: secretId,
      PAGERDUTY_EVENTS_URL: standIn.url.href,
      AWS_ENDPOINT_URL: requireMoto(),
      AWS_REGION: config.region,
      AWS_ACCESS_KEY_ID: config.credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: config.credentials.secretAccessKey,
    };
    for (const [key, value] of Object.entries(env)) {
      saved.set(key, process.env[key]);
      process.env[key] = value;
    }
    const capture = (chunk: string | Uint8Array): boolean => {
      logs.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
      return true;
    };
    vi.spyOn(process.stdout, 'write').mockImplementation(capture);
    vi.spyOn(process.stderr, 'write').mockImplementation(capture);
    vi.resetModules();
    ({ handler } = await import('../../../functions/pager-forwarder/handler.ts'));
  });

  afterAll(async () => {
    vi.restoreAllMocks();
    for (const [key, value] of saved) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
    await standIn.close();
  });

  afterEach(async () => {
    // Leaves the queue empty for the next test.
    await receive(queueUrl);
    standIn.accepted.splice(0);
  });

  async function receive(url: string): Promise<Message[]> {
    const received: Message[] = [];
    for (let round = 0; round < 3; round++) {
      const output = await sqs.send(
        new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 10, VisibilityTimeout: 30 }),
      );
      received.push(...(output.Messages ?? []));
    }
    return received;
  }

  async function invoke(messages: readonly Message[]) {
    const event: SQSEvent = {
      Records: messages.map((message) => ({
        messageId: message.MessageId ?? '',
        receiptHandle: message.ReceiptHandle ?? '',
        body: message.Body ?? '',
        attributes: {
          ApproximateReceiveCount: '1',
          SentTimestamp: '0',
          SenderId: 'sns',
          ApproximateFirstReceiveTimestamp: '0',
        },
        messageAttributes: {},
        md5OfBody: '',
        eventSource: 'aws:sqs',
        eventSourceARN: 'arn:aws:sqs:us-east-1:123456789012:pager',
        awsRegion: 'us-east-1',
      })),
    };
    return handler(event, lambdaContext(30_000));
  }

  async function publish(notification: Notification): Promise<void> {
    await publishNotification(sns, topicArn, {
      subject: notification.subject,
      message: buildMessageStructure(notification),
      outcome: notification.outcome,
      drill: notification.drill,
    });
  }

  it('pages a failed decision: a critical trigger per app and submission, with the Partner Center link', async () => {
    await publish(await decision('fails'));
    const messages = await receive(queueUrl);

    const response = await invoke(messages);

    expect(messages).toHaveLength(1);
    expect(response.batchItemFailures).toEqual([]);
    expect(standIn.accepted).toHaveLength(1);
    const [event] = standIn.accepted;
    expect(event).toMatchObject({
      routing_key: ROUTING_KEY,
      event_action: 'trigger',
      dedup_key: `store-watchdog/${PHOTOS.applicationId}/${PHOTOS_SUBMISSION}`,
      payload: { severity: 'critical', source: 'store-rollout-watchdog', component: PHOTOS.applicationId },
      links: [
        {
          href: 'https://partner.microsoft.com/dashboard/products/9NBLGGH4R315/overview',
          text: expect.any(String),
        },
      ],
    });
    expect(event?.payload.summary).toMatch(
      /^ACT NOW: the Store watchdog FAILED to halt the rollout of Contoso Photos \(9NBLGGH4R315\), submission \d+ at 20%\. Halt it by hand in Partner Center/,
    );
    expect(event?.payload.summary).toContain('STORE_HTTP_503');
  });

  it("pages the watchdog's own health alarm going into ALARM (no outcome attribute)", async () => {
    await sns.send(
      new PublishCommand({ TopicArn: topicArn, Message: HEALTH_ALARM, Subject: 'ALARM: health' }),
    );
    const messages = await receive(queueUrl);

    await invoke(messages);

    expect(standIn.accepted.map((event) => [event.dedup_key, event.payload.severity])).toEqual([
      ['store-watchdog/health/StoreRolloutWatchdog-halt-rollout-failures', 'critical'],
    ]);
    expect(standIn.accepted[0]?.payload.summary).toMatch(
      /health alarm .* is in ALARM: An event of the halt-rollout function failed/,
    );
  });

  it('receives nothing but failures: a decision that did not fail never reaches the pager queue', async () => {
    await publish(await decision('halted'));
    expect(await receive(queueUrl)).toEqual([]);
  });

  it('retries 429 and 5xx (honouring Retry-After) and then delivers once', async () => {
    await publish(await decision('fails'));
    const messages = await receive(queueUrl);
    standIn.failNext({ status: 429, retryAfter: '0' }, { status: 503 }, { status: 500 });
    const before = standIn.requests();

    const response = await invoke(messages);

    expect(response.batchItemFailures).toEqual([]);
    expect(standIn.requests() - before).toBe(4);
    expect(standIn.accepted).toHaveLength(1);
  });

  it('reports a delivery that keeps failing back to SQS, which keeps it in the dead-letter queue after its last attempt', async () => {
    await publish(await decision('fails'));
    let messages = await receive(queueUrl);
    const messageId = messages[0]?.MessageId;
    let deliveries = 0;
    while (messages.length > 0 && deliveries < 5) {
      deliveries += 1;
      standIn.failNext(...Array.from({ length: 4 }, () => ({ status: 502 })));
      const response = await invoke(messages);
      expect(response.batchItemFailures).toEqual([{ itemIdentifier: messageId }]);
      // What Lambda's SQS poller does with a reported failure: the message becomes visible again.
      for (const message of messages) {
        await sqs.send(
          new ChangeMessageVisibilityCommand({
            QueueUrl: queueUrl,
            ReceiptHandle: message.ReceiptHandle,
            VisibilityTimeout: 0,
          }),
        );
      }
      messages = await receive(queueUrl);
    }

    expect(deliveries).toBe(3);
    expect(standIn.accepted).toEqual([]);
    const deadLetters = await sqs.send(
      new GetQueueAttributesCommand({
        QueueUrl: deadLetterUrl,
        AttributeNames: ['ApproximateNumberOfMessages'],
      }),
    );
    expect(Number(deadLetters.Attributes?.ApproximateNumberOfMessages)).toBe(1);
  });

  it('does not retry an event the Events API rejects (400): the message is kept for a person', async () => {
    await publish(await decision('fails'));
    const messages = await receive(queueUrl);
    standIn.failNext({ status: 400 });
    const before = standIn.requests();

    const response = await invoke(messages);

    expect(standIn.requests() - before).toBe(1);
    expect(response.batchItemFailures).toHaveLength(1);
  });

  it('fails the record, without echoing it, when the routing key secret is malformed', async () => {
    await secrets.send(new PutSecretValueCommand({ SecretId: secretId, SecretString: 'not-a-key' }));
    vi.resetModules();
    const fresh: { handler: Handler } = await import('../../../functions/pager-forwarder/handler.ts');
    await publish(await decision('fails'));
    const messages = await receive(queueUrl);
    const previous = handler;
    handler = fresh.handler;
    try {
      const response = await invoke(messages);
      expect(response.batchItemFailures).toHaveLength(1);
      expect(logs.join('')).toContain('PAGER_SECRET_MALFORMED');
      expect(logs.join('')).not.toContain('not-a-key');
    } finally {
      handler = previous;
      await secrets.send(
        new PutSecretValueCommand({
          SecretId: secretId,
          SecretString: JSON.stringify({ routingKey: ROUTING_KEY }),
        }),
      );
    }
  });

  it('never logs the routing key', () => {
    expect(logs.length).toBeGreaterThan(0);
    expect(logs.join('')).not.toContain(ROUTING_KEY);
  });
});
