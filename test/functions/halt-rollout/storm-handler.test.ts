/**
 * The deployed wiring of storm hand-over: the real handler, with `CONTINUATION_QUEUE_URL` on moto (SQS),
 * hands the apps its budget cannot reach on to the queue, says so in its result, and accepts the
 * queue's delivery of that continuation as an event. A malformed queue URL is a configuration error
 * naming the variable.
 */
import { CreateQueueCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { afterEach, expect, it } from 'vitest';
import { alarmStateChangeEvent } from '../../../tools/fixtures/watchdog-apps.ts';
import { rollingApps, stateWith } from '../../../tools/store-simulator/sample-state.ts';
import { describeWithMoto, MOTO_SKIP_REASON, motoClientConfig } from '../../support/aws.ts';
import { startWatchdog, type WatchdogHarness } from '../../support/watchdog-harness.ts';

const ALARM = 'storm-handler-shared';
const APPS = 12;
const harnesses: WatchdogHarness[] = [];
afterEach(async () => {
  await Promise.all(harnesses.splice(0).map((harness) => harness.close()));
});

describeWithMoto(`the handler hands a storm on through the continuation queue${MOTO_SKIP_REASON}`, () => {
  it('halts what the budget allows, sends the rest to the queue, and the queued continuation is an accepted event', async () => {
    const { targets: ids, apps: rolling } = rollingApps(APPS, 'HQ');
    const sqs = new SQSClient(motoClientConfig());
    const queue = await sqs.send(
      new CreateQueueCommand({ QueueName: `storm-handler-${crypto.randomUUID()}` }),
    );
    const queueUrl = queue.QueueUrl ?? '';
    const harness = await startWatchdog({
      state: stateWith(...rolling),
      apps: ids.map(({ applicationId }) => ({ applicationId, alarmNames: [ALARM] })),
      env: { CONTINUATION_QUEUE_URL: queueUrl },
    });
    harnesses.push(harness);
    await harness.warmUpSettled();
    // 12 apps need 36 requests; the tenant's 20 a minute and 8 s of Lambda time (3 s of it kept to
    // notify) let this invocation halt 6 of them (18 requests, the room kept for follow-ups included).
    const { result, error } = await harness.invoke(
      alarmStateChangeEvent(ALARM, new Date('2026-12-02T06:00:00Z')),
      { remainingMs: 8_000 },
    );
    expect(error).toBeUndefined();
    const halted = result?.targets.filter((target) => target.result === 'halted') ?? [];
    expect(halted.length).toBeGreaterThan(0);
    expect(result?.targets.every((target) => target.result === 'halted')).toBe(true);
    const pending = result?.pending ?? [];
    expect(pending.length + halted.length).toBe(APPS);
    expect(harness.simulator.control.effectiveHalts).toBe(halted.length);

    const received = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, WaitTimeSeconds: 0 }));
    const [message] = received.Messages ?? [];
    expect(JSON.parse(message?.Body ?? '{}')).toMatchObject({
      kind: 'store-rollout-watchdog-continuation',
      applicationIds: pending,
      part: 2,
      alarms: [expect.objectContaining({ alarmName: ALARM, newState: 'ALARM' })],
    });
    const [notification] = await harness.sink.drain({ expect: 1 });
    expect(JSON.parse(notification?.message ?? '{}').pending).toEqual({
      applicationIds: pending,
      nextPart: 2,
    });
    expect(notification?.subject).toContain(`(+${pending.length} pending)`);

    // The queue's delivery is accepted and resolved against the config (the tenant's budget is spent for
    // this minute, so it is only parsed and resolved here): an app the config does not pair with the
    // alarm is left out, never examined.
    const requestsBefore = harness.simulator.control.requests.length;
    const forged = await harness.invoke({
      Records: [
        {
          eventSource: 'aws:sqs',
          body: JSON.stringify({ ...JSON.parse(message?.Body ?? '{}'), applicationIds: ['9NZZ00000000'] }),
        },
      ],
    });
    expect(forged.error).toBeUndefined();
    expect(forged.result?.targets).toEqual([]);
    expect(forged.result?.ignored).toMatch(
      /9NZZ00000000\) are no longer watched apps \(entries in "apps"\) that list its alarms/,
    );
    expect(harness.simulator.control.requests.length).toBe(requestsBefore);
  }, 60_000);

  it('a malformed CONTINUATION_QUEUE_URL is a configuration error naming the variable', async () => {
    const harness = await startWatchdog({ env: { CONTINUATION_QUEUE_URL: 'not a queue' } });
    harnesses.push(harness);
    const { error } = await harness.invoke({ applicationId: '9NBLGGH4R315' });
    expect(error?.message).toContain('CONTINUATION_QUEUE_URL must be an SQS queue URL');
  });
});
