/**
 * One transition, one decision, one message (the Lambda contract, "Duplicates and retries"): the real
 * handler with the stack's state table (moto DynamoDB, created from the synthesized construct), the
 * continuation queue (moto SQS) and the notification topic (moto SNS), against the Store simulator.
 *
 * Proven from the simulator's record of requests, the notifications received and the queue's content:
 * - the same transition by the other path, by Lambda's retry or by a queue's redelivery is a duplicate
 *   (no Store request, no message), sequentially and while the first handling is still running;
 * - a later transition of the same alarm is handled as before;
 * - failed targets: one FAILED message saying the attempt, one retry scheduled with a delay carrying
 *   only them, which re-examines and announces only them; at most three attempts in all;
 * - a claim lapses only when the first handling cannot still be running (time injected, no waiting);
 * - a storm continuation is narrowed to the apps still watched, and a malformed event is never retried.
 *
 * The retries the handler schedules are delayed (SQS `DelaySeconds`); the test reads them, with their
 * delay, from moto's own view of its state (`/moto-api/data.json`) and delivers them as Lambda's event
 * source mapping would, without waiting for the delay.
 */
import { randomUUID } from 'node:crypto';
import {
  DeleteItemCommand,
  type DynamoDBClient,
  PutItemCommand,
  ScanCommand,
} from '@aws-sdk/client-dynamodb';
import {
  CreateTopicCommand,
  DeleteTopicCommand,
  ListSubscriptionsByTopicCommand,
  SNSClient,
  SubscribeCommand,
} from '@aws-sdk/client-sns';
import { CreateQueueCommand, GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { afterEach, beforeAll, expect, it, vi } from 'vitest';
import { z } from 'zod';
import { budgetPartition, STATE_TABLE_KEY } from '../../../functions/commons/aws/state-table.ts';
import { BUDGET_SORT_KEY, STORE_REQUESTS_PER_WINDOW } from '../../../functions/commons/aws/store-budget.ts';
import {
  CONTINUATION_KIND,
  STALLED_HAND_ON_DELAY_SECONDS,
} from '../../../functions/commons/domain/continuation.ts';
import { start } from '../../../tools/store-simulator/index.ts';
import {
  SAMPLE_APP_ID,
  SAMPLE_FLIGHT_ID,
  SAMPLE_FLIGHT_SUBMISSION_ID,
  SAMPLE_PUBLISHED_SUBMISSION_ID,
  SAMPLE_QUIET_APP_ID,
  SAMPLE_TENANT,
  sampleState,
} from '../../../tools/store-simulator/sample-state.ts';
import type { RunningSimulator } from '../../../tools/store-simulator/types.ts';
import { loadEventFixture } from '../../fixtures/events/load.ts';
import { describeWithMoto, MOTO_SKIP_REASON, motoClientConfig } from '../../support/aws.ts';
import type { NotificationSink, ReceivedNotification } from '../../support/aws-resources.ts';
import { createStateTable, motoDynamo } from '../../support/state-table.ts';
import {
  type HarnessOptions,
  SAMPLE_ALARM,
  SAMPLE_APPS,
  startWatchdog,
  type WatchdogHarness,
} from '../../support/watchdog-harness.ts';

const ALARM_ARN = `arn:aws:cloudwatch:us-east-1:123456789012:alarm:${SAMPLE_ALARM}`;
const FLIGHT_KEY = `${SAMPLE_APP_ID}#flight#${SAMPLE_FLIGHT_ID.toLowerCase()}`;

/** One alarm transition: its instant, printed the two ways the paths print it, and a marker. */
interface Transition {
  readonly ms: number;
  /** SNS `StateChangeTime`: `2026-12-01T10:01:00.000+0000`. */
  readonly sns: string;
  /** EventBridge `detail.state.timestamp`: `2026-12-01T10:01:00.000Z`. */
  readonly eventBridge: string;
  /** A unique reason, so the test finds its own messages in the shared emulator. */
  readonly reason: string;
}

let minutes = 0;
function newTransition(): Transition {
  minutes += 1;
  const ms = Date.UTC(2026, 11, 1, 10, 0, 0) + minutes * 60_000;
  const iso = new Date(ms).toISOString();
  return {
    ms,
    sns: iso.replace('Z', '+0000'),
    eventBridge: iso,
    reason: `Threshold Crossed ${randomUUID()}`,
  };
}

function snsEvent(transition: Transition, state = 'ALARM'): unknown {
  return {
    Records: [
      {
        EventSource: 'aws:sns',
        Sns: {
          Message: JSON.stringify({
            AlarmName: SAMPLE_ALARM,
            NewStateValue: state,
            OldStateValue: state === 'ALARM' ? 'OK' : 'ALARM',
            NewStateReason: transition.reason,
            StateChangeTime: transition.sns,
            AlarmArn: ALARM_ARN,
          }),
        },
      },
    ],
  };
}

function eventBridgeEvent(transition: Transition, { withArn = true } = {}): unknown {
  return {
    source: 'aws.cloudwatch',
    'detail-type': 'CloudWatch Alarm State Change',
    ...(withArn ? { resources: [ALARM_ARN] } : {}),
    detail: {
      alarmName: SAMPLE_ALARM,
      state: { value: 'ALARM', reason: transition.reason, timestamp: transition.eventBridge },
      previousState: { value: 'OK', reason: 'ok', timestamp: '2026-12-01T09:00:00.000Z' },
    },
  };
}

/** An SQS event as Lambda's event source mapping delivers one message. */
function queueDelivery(body: string): unknown {
  return { Records: [{ eventSource: 'aws:sqs', messageId: randomUUID(), body }] };
}

const motoMessages = z.object({
  sqs: z.object({
    Message: z.array(z.object({ body: z.string(), delayed_until: z.number(), sent_timestamp: z.number() })),
  }),
});

const retryMessage = z.object({
  kind: z.literal(CONTINUATION_KIND),
  applicationIds: z.array(z.string()),
  part: z.number(),
  retry: z.object({ attempt: z.number(), targets: z.array(z.string()) }),
});

/**
 * The retries the handler sent to the continuation queue for a transition (found by its reason; the
 * notifications that quote it are not continuations), with their delay in seconds, in the order sent.
 */
async function scheduledRetries(transition: Transition) {
  const response = await fetch(`${motoClientConfig().endpoint}/moto-api/data.json`);
  const state = motoMessages.parse(await response.json());
  return state.sqs.Message.filter((message) => message.body.includes(transition.reason))
    .flatMap((message) => {
      const continuation = retryMessage.safeParse(JSON.parse(message.body));
      if (!continuation.success) return [];
      return [
        {
          body: message.body,
          sentAt: message.sent_timestamp,
          continuation: continuation.data,
          delaySeconds: Math.round((message.delayed_until - message.sent_timestamp) / 1000),
        },
      ];
    })
    .sort((a, b) => a.continuation.retry.attempt - b.continuation.retry.attempt);
}

const continuationMessage = z.object({
  kind: z.literal(CONTINUATION_KIND),
  applicationIds: z.array(z.string()),
  part: z.number(),
  retry: z.optional(z.unknown()),
});

/** The storm continuations (not retries) the handler sent for a transition, with their delay in seconds. */
async function handedOn(transition: Transition) {
  const response = await fetch(`${motoClientConfig().endpoint}/moto-api/data.json`);
  const state = motoMessages.parse(await response.json());
  return state.sqs.Message.filter((message) => message.body.includes(transition.reason)).flatMap(
    (message) => {
      const continuation = continuationMessage.safeParse(JSON.parse(message.body));
      if (!continuation.success || continuation.data.retry !== undefined) return [];
      return [
        {
          body: message.body,
          continuation: continuation.data,
          delaySeconds: Math.round((message.delayed_until - message.sent_timestamp) / 1000),
        },
      ];
    },
  );
}

function storeRequests(simulator: RunningSimulator): string[] {
  return simulator.control.requests
    .filter((request) => request.kind === 'store')
    .map((request) => `${request.method} ${request.path.replace('/v1.0/my/', '')}`);
}

/** The JSON log lines with this message. */
function logged(logs: readonly string[], message: string): Record<string, unknown>[] {
  return logs.flatMap((line) => {
    try {
      const parsed: unknown = JSON.parse(line);
      const record = z.record(z.string(), z.unknown()).safeParse(parsed);
      return record.success && record.data.message === message ? [record.data] : [];
    } catch {
      return [];
    }
  });
}

const decisionSchema = z.object({
  outcome: z.string(),
  attempt: z.optional(
    z.object({
      attempt: z.number(),
      of: z.number(),
      retry: z.boolean(),
      nextInSeconds: z.optional(z.number()),
    }),
  ),
  leftOut: z.optional(z.array(z.string())),
  targets: z.array(
    z.object({ applicationId: z.string(), flightId: z.optional(z.string()), result: z.string() }),
  ),
});
function decision(notification: ReceivedNotification | undefined) {
  return decisionSchema.parse(JSON.parse(notification?.message ?? '{}'));
}

/** Waits for the simulator to hold `count` requests (a gathering), failing after a bound. */
async function held(simulator: RunningSimulator, count: number): Promise<void> {
  for (let round = 0; round < 1000; round++) {
    if (simulator.control.heldRequests === count) return;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  throw new Error(`the simulator never held ${count} request(s)`);
}

/**
 * Deletes the notification topic, so the next publish fails; resolves to what puts it back (same name,
 * so the same ARN, with the same subscriptions).
 */
async function takeTopicAway(topicArn: string): Promise<() => Promise<void>> {
  const sns = new SNSClient(motoClientConfig());
  const listed = await sns.send(new ListSubscriptionsByTopicCommand({ TopicArn: topicArn }));
  const subscribers = (listed.Subscriptions ?? []).flatMap((subscription) => subscription.Endpoint ?? []);
  await sns.send(new DeleteTopicCommand({ TopicArn: topicArn }));
  return async () => {
    await sns.send(new CreateTopicCommand({ Name: topicArn.split(':').at(-1) ?? '' }));
    for (const endpoint of subscribers) {
      await sns.send(new SubscribeCommand({ TopicArn: topicArn, Protocol: 'sqs', Endpoint: endpoint }));
    }
  };
}

describeWithMoto(`exactly once across paths and retries${MOTO_SKIP_REASON}`, () => {
  let dynamo: DynamoDBClient;
  let sqs: SQSClient;
  const open: { close(): Promise<void> }[] = [];
  beforeAll(() => {
    dynamo = motoDynamo();
    sqs = new SQSClient(motoClientConfig());
  });
  afterEach(async () => {
    vi.useRealTimers();
    for (const resource of open.splice(0).reverse()) await resource.close();
  });

  interface Stack {
    readonly tableName: string;
    readonly queueUrl: string;
    readonly simulator: RunningSimulator;
  }

  /** The stack's durable parts: a state table, a continuation queue and one Store. */
  async function stack(): Promise<Stack> {
    const tableName = await createStateTable(dynamo);
    const queue = await sqs.send(new CreateQueueCommand({ QueueName: `continuations-${randomUUID()}` }));
    const simulator = await start({ state: sampleState() });
    open.push(simulator);
    return { tableName, queueUrl: queue.QueueUrl ?? '', simulator };
  }

  /** A container of the function on `on` (several share the Store, the table, the queue and the topic). */
  async function container(
    on: Stack,
    options: HarnessOptions & { readonly sink?: NotificationSink } = {},
  ): Promise<WatchdogHarness> {
    const harness = await startWatchdog({
      ...options,
      simulator: on.simulator,
      env: { ROLLOUT_MEMORY_TABLE: on.tableName, CONTINUATION_QUEUE_URL: on.queueUrl, ...options.env },
    });
    open.push(harness);
    return harness;
  }

  async function ledgerItems(tableName: string) {
    const output = await dynamo.send(new ScanCommand({ TableName: tableName }));
    return (output.Items ?? []).filter((item) => item.pk?.S?.startsWith('transition#') === true);
  }

  it('the same transition by SNS, then by EventBridge (the instant printed the other way): a duplicate, with no Store request and no message, its log naming the transition', async () => {
    const on = await stack();
    const harness = await container(on);
    const transition = newTransition();

    const first = await harness.invoke(snsEvent(transition));
    expect(first.error).toBeUndefined();
    expect(first.result?.targets.map((target) => target.result)).toEqual(['halted', 'halted']);
    on.simulator.control.clearRequests();

    const second = await harness.invoke(eventBridgeEvent(transition));

    expect(second.error).toBeUndefined();
    expect(second.result).toEqual({ duplicate: true, targets: [] });
    expect(storeRequests(on.simulator)).toEqual([]);
    const notifications = await harness.sink.drain({ waitMs: 0 });
    expect(notifications.map((notification) => notification.attributes.outcome)).toEqual(['halted']);
    const [line] = logged(second.logs, 'duplicate delivery of an alarm transition: nothing done');
    expect(line?.repeats).toBe(`${SAMPLE_ALARM}|ALARM|${transition.ms} (part 1)`);
    expect(line?.why).toBe('already handled (attempt 1)');
    // One record, of the one transition.
    const items = await ledgerItems(on.tableName);
    expect(items.map((item) => [item.pk?.S, item.sk?.S, item.state?.S, item.attempts?.N])).toEqual([
      [`transition#${SAMPLE_ALARM}|ALARM|${transition.ms}`, 'part#1', 'done', '1'],
    ]);
    expect(Number(items[0]?.expiresAt?.N)).toBeGreaterThan(Date.now() / 1000);
    // A hand-made event without the alarm's ARN is the same transition too.
    const withoutArn = await harness.invoke(eventBridgeEvent(transition, { withArn: false }));
    expect(withoutArn.result).toEqual({ duplicate: true, targets: [] });
  });

  it('both paths at once (two containers): the delivery that arrives while the first is handled is a duplicate; one message in all', async () => {
    const on = await stack();
    const viaSns = await container(on);
    const viaEventBridge = await container(on, { sink: viaSns.sink });
    await Promise.all([viaSns.warmUpSettled(), viaEventBridge.warmUpSettled()]);
    const transition = newTransition();
    // The first handling's first Store read is held until a second one arrives: it is still running
    // when the other path delivers the transition.
    on.simulator.control.gatherNext({
      count: 2,
      match: { method: 'GET', path: new RegExp(`/applications/${SAMPLE_APP_ID}$`) },
    });

    const first = viaSns.invoke(snsEvent(transition));
    await held(on.simulator, 1);
    const second = await viaEventBridge.invoke(eventBridgeEvent(transition));
    expect(second.result).toEqual({ duplicate: true, targets: [] });
    const [line] = logged(second.logs, 'duplicate delivery of an alarm transition: nothing done');
    expect(line?.why).toMatch(/^being handled now by attempt 1 \(its claim holds until /);
    expect(on.simulator.control.heldRequests).toBe(1);
    on.simulator.control.clearFaults();

    const handled = await first;
    expect(handled.result?.targets.map((target) => target.result)).toEqual(['halted', 'halted']);
    expect(on.simulator.control.effectiveHalts).toBe(2);
    const notifications = await viaSns.sink.drain({ waitMs: 0 });
    expect(notifications).toHaveLength(1);
  });

  it("Lambda's retry of the same event is a duplicate; a later transition of the same alarm is handled as before", async () => {
    const on = await stack();
    const harness = await container(on);
    const transition = newTransition();
    await harness.invoke(snsEvent(transition));
    on.simulator.control.clearRequests();

    const retried = await harness.invoke(snsEvent(transition));
    expect(retried.result).toEqual({ duplicate: true, targets: [] });
    expect(storeRequests(on.simulator)).toEqual([]);

    // Into OK (ignored, as ever), then into ALARM again: a new transition.
    const ok = await harness.invoke(snsEvent(newTransition(), 'OK'));
    expect(ok.result?.ignored).toMatch(/went to OK/);
    const again = await harness.invoke(eventBridgeEvent(newTransition()));
    expect(again.error).toBeUndefined();
    expect(again.result?.targets.map((target) => target.result)).toEqual([
      'already-halted',
      'already-halted',
    ]);
    const notifications = await harness.sink.drain({ waitMs: 0 });
    expect(notifications.map((notification) => notification.attributes.outcome)).toEqual([
      'halted',
      'already-halted',
    ]);
  });

  it('a failed target: one FAILED message (attempt 1 of 3), one retry 30 s later carrying only it, which re-examines and announces only it (attempt 2 of 3); redeliveries are duplicates', async () => {
    const on = await stack();
    const harness = await container(on);
    await harness.warmUpSettled();
    const transition = newTransition();
    on.simulator.control.failNext({
      status: 403,
      count: 1,
      match: { method: 'GET', path: SAMPLE_FLIGHT_SUBMISSION_ID },
    });

    const first = await harness.invoke(snsEvent(transition));

    expect(first.error?.name).toBe('TargetsFailedError');
    const [failedMessage] = await harness.sink.drain({ expect: 1, waitMs: 0 });
    expect(failedMessage?.attributes.outcome).toBe('failed');
    expect(failedMessage?.subject).toMatch(/^\[Store watchdog\] FAILED to halt .* - attempt 1 of 3$/);
    expect(decision(failedMessage).attempt).toEqual({ attempt: 1, of: 3, retry: false, nextInSeconds: 30 });
    const retries = await scheduledRetries(transition);
    expect(
      retries.map((retry) => [
        retry.continuation.retry,
        retry.continuation.applicationIds,
        retry.delaySeconds,
      ]),
    ).toEqual([[{ attempt: 2, targets: [FLIGHT_KEY] }, [SAMPLE_APP_ID], 30]]);
    const attributes = await sqs.send(
      new GetQueueAttributesCommand({
        QueueUrl: on.queueUrl,
        AttributeNames: ['ApproximateNumberOfMessagesDelayed'],
      }),
    );
    expect(attributes.Attributes?.ApproximateNumberOfMessagesDelayed).toBe('1');
    on.simulator.control.clearRequests();

    // The queue delivers the retry once its delay has passed.
    const retry = await harness.invoke(queueDelivery(retries[0]?.body ?? ''));

    expect(retry.error).toBeUndefined();
    expect(retry.result?.targets.map((target) => [target.flightId, target.result])).toEqual([
      [SAMPLE_FLIGHT_ID, 'halted'],
    ]);
    // Only the flight was read and halted: the main rollout (halted by attempt 1) was not looked at.
    const requests = storeRequests(on.simulator);
    expect(requests.some((request) => request.includes(SAMPLE_FLIGHT_SUBMISSION_ID))).toBe(true);
    expect(requests.filter((request) => request.includes(SAMPLE_PUBLISHED_SUBMISSION_ID))).toEqual([]);
    expect(requests.filter((request) => request === `GET applications/${SAMPLE_APP_ID}`)).toEqual([]);
    const [followUp] = await harness.sink.drain({ expect: 1, waitMs: 0 });
    expect(followUp?.subject).toMatch(/^\[Store watchdog\] HALTED .* - attempt 2 of 3$/);
    expect(decision(followUp).targets.map((target) => target.flightId)).toEqual([SAMPLE_FLIGHT_ID]);
    expect(on.simulator.control.effectiveHalts).toBe(2);
    on.simulator.control.clearRequests();

    // The queue redelivers the retry, Lambda retries the first event, EventBridge brings it: duplicates.
    for (const event of [
      queueDelivery(retries[0]?.body ?? ''),
      snsEvent(transition),
      eventBridgeEvent(transition),
    ]) {
      const again = await harness.invoke(event);
      expect(again.result).toEqual({ duplicate: true, targets: [] });
    }
    expect(storeRequests(on.simulator)).toEqual([]);
    expect(await harness.sink.drain({ waitMs: 0 })).toEqual([]);
    expect(await scheduledRetries(transition)).toHaveLength(1);
  });

  it("a redelivery of the event after a failure (Lambda's retry) re-examines only the failed target; the retry scheduled for that attempt is then a duplicate", async () => {
    const on = await stack();
    const harness = await container(on);
    await harness.warmUpSettled();
    const transition = newTransition();
    on.simulator.control.failNext({
      status: 403,
      count: 1,
      match: { method: 'GET', path: SAMPLE_FLIGHT_SUBMISSION_ID },
    });
    await harness.invoke(snsEvent(transition));
    await harness.sink.drain({ expect: 1, waitMs: 0 });
    on.simulator.control.clearRequests();

    const redelivered = await harness.invoke(snsEvent(transition));

    expect(redelivered.result?.targets.map((target) => [target.flightId, target.result])).toEqual([
      [SAMPLE_FLIGHT_ID, 'halted'],
    ]);
    expect(
      storeRequests(on.simulator).filter((request) => request.includes(SAMPLE_PUBLISHED_SUBMISSION_ID)),
    ).toEqual([]);
    const [retried] = await scheduledRetries(transition);
    const scheduled = await harness.invoke(queueDelivery(retried?.body ?? ''));
    expect(scheduled.result).toEqual({ duplicate: true, targets: [] });
    const [line] = logged(scheduled.logs, 'duplicate delivery of an alarm transition: nothing done');
    expect(line?.why).toBe('already handled (attempt 2)');
    expect((await harness.sink.drain({ waitMs: 0 })).map((message) => message.subject)).toEqual([
      expect.stringMatching(/ - attempt 2 of 3$/),
    ]);
  });

  it('at most three attempts, whatever the path: each says which it is, the last schedules nothing, then every delivery is a duplicate', async () => {
    const on = await stack();
    const harness = await container(on);
    await harness.warmUpSettled();
    const transition = newTransition();
    on.simulator.control.failNext({
      status: 403,
      count: 10,
      match: { method: 'GET', path: SAMPLE_FLIGHT_SUBMISSION_ID },
    });

    const one = await harness.invoke(snsEvent(transition));
    // Attempt 2 by the other path (before the scheduled retry): it re-examines only the flight.
    const two = await harness.invoke(eventBridgeEvent(transition));
    const scheduled = await scheduledRetries(transition);
    expect(scheduled.map((retry) => [retry.continuation.retry.attempt, retry.delaySeconds])).toEqual([
      [2, 30],
      [3, 120],
    ]);
    // The retry scheduled for attempt 2 comes late: attempt 2 was made. The one for attempt 3 makes it.
    const late = await harness.invoke(queueDelivery(scheduled[0]?.body ?? ''));
    const three = await harness.invoke(queueDelivery(scheduled[1]?.body ?? ''));
    const four = await harness.invoke(snsEvent(transition));

    for (const failed of [one, two, three]) expect(failed.error?.name).toBe('TargetsFailedError');
    expect(two.error?.message).toMatch(/1 of 1 rollout\(s\) could not be handled/);
    expect(late.result).toEqual({ duplicate: true, targets: [] });
    expect(four.result).toEqual({ duplicate: true, targets: [] });
    const [line] = logged(four.logs, 'duplicate delivery of an alarm transition: nothing done');
    expect(line?.why).toBe('attempted 3 times already, the most a transition gets');
    expect(await scheduledRetries(transition)).toHaveLength(2);
    const messages = await harness.sink.drain({ waitMs: 0 });
    expect(messages.map((message) => message.subject?.replace(/^.* - /, ''))).toEqual([
      'attempt 1 of 3',
      'attempt 2 of 3',
      'attempt 3 of 3',
    ]);
    expect(messages.map((message) => decision(message).targets.length)).toEqual([2, 1, 1]);
    expect(decision(messages[2]).attempt).toEqual({ attempt: 3, of: 3, retry: true });
    const flightReads = on.simulator.control.requests.filter(
      (request) => request.method === 'GET' && request.path.includes(SAMPLE_FLIGHT_SUBMISSION_ID),
    );
    expect(flightReads).toHaveLength(3);
  });

  it('a claim lapses only once the first handling cannot still be running; a redelivery then takes over as if it had failed (time injected)', async () => {
    const on = await stack();
    const first = await container(on);
    const second = await container(on, { sink: first.sink });
    await Promise.all([first.warmUpSettled(), second.warmUpSettled()]);
    const transition = newTransition();
    const startedAt = Date.now();
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(startedAt);
    // The first handling's read of the app is held until the take-over's read of it arrives.
    on.simulator.control.gatherNext({
      count: 2,
      match: { method: 'GET', path: new RegExp(`/applications/${SAMPLE_APP_ID}$`) },
    });

    const running = first.invoke(snsEvent(transition), { remainingMs: 60_000 });
    await held(on.simulator, 1);
    vi.setSystemTime(startedAt + 59_999);
    const early = await second.invoke(eventBridgeEvent(transition));
    expect(early.result).toEqual({ duplicate: true, targets: [] });

    vi.setSystemTime(startedAt + 60_000);
    const takeOver = await second.invoke(eventBridgeEvent(transition));
    const stale = await running;

    expect(takeOver.error).toBeUndefined();
    expect(takeOver.result?.targets).toHaveLength(2);
    const [retrying] = logged(takeOver.logs, 'retrying an alarm transition');
    expect(retrying).toMatchObject({ attempt: 2, of: 3, lapsed: true, reexamine: 'all' });
    // The Store halted each rollout once; the first handling, had it lived, cannot settle the transition.
    expect(on.simulator.control.effectiveHalts).toBe(2);
    expect(stale.error).toBeUndefined();
    expect(
      logged(stale.logs, 'transition ledger not settled: another delivery took the transition over'),
    ).toHaveLength(1);
    vi.setSystemTime(startedAt + 61_000);
    const after = await first.invoke(snsEvent(transition));
    expect(after.result).toEqual({ duplicate: true, targets: [] });
    const [item] = await ledgerItems(on.tableName);
    expect([item?.attempts?.N, item?.state?.S]).toEqual(['2', 'done']);
  });

  it('a composite alarm is just an alarm here: its SNS and EventBridge deliveries are one transition', async () => {
    const on = await stack();
    const composite = 'contoso-photos-corroborated';
    const harness = await container(on, { apps: [{ ...SAMPLE_APPS[0], alarmNames: [composite] }] });

    const viaSns = await harness.invoke(loadEventFixture('sns-composite-alarm'));
    const viaEventBridge = await harness.invoke(loadEventFixture('eventbridge-composite-alarm'));

    expect(viaSns.result?.targets.map((target) => target.result)).toEqual(['halted', 'halted']);
    expect(viaEventBridge.result).toEqual({ duplicate: true, targets: [] });
    expect(await harness.sink.drain({ waitMs: 0 })).toHaveLength(1);
  });

  it('manual events have no transition identity: each is handled on its own', async () => {
    const on = await stack();
    const harness = await container(on);
    const manual = { applicationId: SAMPLE_APP_ID, reason: 'a person looks', dryRun: false };

    const first = await harness.invoke(manual);
    const second = await harness.invoke(manual);

    expect(first.result?.targets.map((target) => target.result)).toEqual(['halted', 'halted']);
    expect(second.result?.targets.map((target) => target.result)).toEqual([
      'already-halted',
      'already-halted',
    ]);
    expect(second.result?.duplicate).toBeUndefined();
    expect(await harness.sink.drain({ waitMs: 0 })).toHaveLength(2);
    expect(await ledgerItems(on.tableName)).toEqual([]);
  });

  it('a storm continuation delivered twice: the second is a duplicate', async () => {
    const on = await stack();
    const harness = await container(on);
    const transition = newTransition();
    const body = JSON.stringify({
      kind: CONTINUATION_KIND,
      version: 1,
      alarms: [
        {
          alarmName: SAMPLE_ALARM,
          newState: 'ALARM',
          reason: transition.reason,
          time: transition.eventBridge,
          alarmArn: ALARM_ARN,
          source: 'eventbridge',
        },
      ],
      applicationIds: [SAMPLE_APP_ID],
      part: 2,
      stormStartedAt: transition.eventBridge,
    });

    const once = await harness.invoke(queueDelivery(body));
    const twice = await harness.invoke(queueDelivery(body));

    expect(once.result?.targets.map((target) => target.result)).toEqual(['halted', 'halted']);
    expect(twice.result).toEqual({ duplicate: true, targets: [] });
    const [line] = logged(twice.logs, 'duplicate delivery of an alarm transition: nothing done');
    expect(line?.repeats).toBe(`${SAMPLE_ALARM}|ALARM|${transition.ms} (part 2)`);
  });

  it('a config change mid-storm narrows a continuation to the apps still watched and reports the others; none left: ignored with a warning', async () => {
    const on = await stack();
    const harness = await container(on, { apps: SAMPLE_APPS });
    const transition = newTransition();
    const continuation = (applicationIds: string[]) =>
      JSON.stringify({
        kind: CONTINUATION_KIND,
        version: 1,
        alarms: [
          {
            alarmName: SAMPLE_ALARM,
            newState: 'ALARM',
            reason: transition.reason,
            time: transition.sns,
            source: 'sns',
          },
        ],
        applicationIds,
        part: 2,
        stormStartedAt: transition.eventBridge,
      });

    const narrowed = await harness.invoke(queueDelivery(continuation([SAMPLE_APP_ID, SAMPLE_QUIET_APP_ID])));

    expect(narrowed.error).toBeUndefined();
    expect(narrowed.result?.targets.map((target) => target.applicationId)).toEqual([
      SAMPLE_APP_ID,
      SAMPLE_APP_ID,
    ]);
    expect(
      logged(narrowed.logs, 'continuation apps left out: the config no longer pairs them with its alarms'),
    ).toEqual([expect.objectContaining({ leftOut: [SAMPLE_QUIET_APP_ID] })]);
    const [message] = await harness.sink.drain({ expect: 1, waitMs: 0 });
    expect(decision(message).leftOut).toEqual([SAMPLE_QUIET_APP_ID]);

    const none = await harness.invoke(
      queueDelivery(continuation([SAMPLE_QUIET_APP_ID]).replace('"part":2', '"part":3')),
    );
    expect(none.error).toBeUndefined();
    expect(none.result?.ignored).toMatch(/9NBLGGH29DM8.*no longer watched apps/);
    expect(await harness.sink.drain({ waitMs: 0 })).toEqual([]);
  });

  it('a notification that could not be published: the redelivery examines again what was examined, reports it and tells people', async () => {
    const on = await stack();
    const harness = await container(on);
    const transition = newTransition();
    const restoreTopic = await takeTopicAway(harness.sink.topicArn);

    const lost = await harness.invoke(snsEvent(transition));
    expect(lost.error).toMatchObject({ name: 'WatchdogError', code: 'NOTIFY_FAILED' });
    expect(on.simulator.control.effectiveHalts).toBe(2);
    // The topic is back (same name, same ARN); the event comes back.
    await restoreTopic();
    const redelivered = await harness.invoke(eventBridgeEvent(transition));

    expect(redelivered.error).toBeUndefined();
    expect(redelivered.result?.targets.map((target) => target.result)).toEqual([
      'already-halted',
      'already-halted',
    ]);
    const [told] = await harness.sink.drain({ expect: 1, waitMs: 0 });
    expect(told?.subject).toMatch(/ - attempt 2 of 3$/);
    expect(on.simulator.control.effectiveHalts).toBe(2);
  });

  it('a failed target and a lost notification: the retry scheduled for the target re-examines and announces every app of the attempt', async () => {
    const on = await stack();
    const harness = await container(on);
    await harness.warmUpSettled();
    const transition = newTransition();
    on.simulator.control.failNext({
      status: 403,
      count: 1,
      match: { method: 'GET', path: SAMPLE_FLIGHT_SUBMISSION_ID },
    });
    const restoreTopic = await takeTopicAway(harness.sink.topicArn);

    const lost = await harness.invoke(snsEvent(transition));
    expect(lost.error).toMatchObject({ name: 'WatchdogError', code: 'NOTIFY_FAILED' });
    // The retry was scheduled for the failed flight before the notification was lost.
    const retries = await scheduledRetries(transition);
    expect(retries.map((retry) => retry.continuation.retry)).toEqual([{ attempt: 2, targets: [FLIGHT_KEY] }]);
    await restoreTopic();

    const retry = await harness.invoke(queueDelivery(retries[0]?.body ?? ''));

    expect(retry.error).toBeUndefined();
    // The main rollout, halted by the first attempt and never announced, is told now beside the flight.
    expect(retry.result?.targets.map((target) => [target.flightId ?? 'main', target.result])).toEqual([
      ['main', 'already-halted'],
      [SAMPLE_FLIGHT_ID, 'halted'],
    ]);
    const [told] = await harness.sink.drain({ expect: 1, waitMs: 0 });
    expect(told?.subject).toMatch(/ - attempt 2 of 3$/);
    expect(on.simulator.control.effectiveHalts).toBe(2);
  });

  it('an invocation that gets no slot of the budget before its deadline hands every app on (delayed a window) with no message and no FAILED; the continuation halts and announces once', async () => {
    const on = await stack();
    const harness = await container(on);
    await harness.warmUpSettled();
    const transition = newTransition();
    // The whole stack's window is full now: no slot frees for a whole window, long after the
    // invocation's deadline (20 s to live), so the budget refuses every request at once, unsent.
    const budgetKey = {
      [STATE_TABLE_KEY.partition]: { S: budgetPartition(SAMPLE_TENANT.tenantId) },
      [STATE_TABLE_KEY.sort]: { S: BUDGET_SORT_KEY },
    };
    // Stamped a window ahead: the window stays full however long the set-up takes in real time.
    const filledAt = Date.now() + 60_000;
    await dynamo.send(
      new PutItemCommand({
        TableName: on.tableName,
        Item: {
          ...budgetKey,
          version: { N: '1' },
          grants: {
            L: Array.from({ length: STORE_REQUESTS_PER_WINDOW }, () => ({ N: String(filledAt) })),
          },
        },
      }),
    );

    const stalled = await harness.invoke(snsEvent(transition), { remainingMs: 20_000 });

    expect(stalled.error).toBeUndefined();
    expect(stalled.result).toEqual({ targets: [], pending: [SAMPLE_APP_ID] });
    expect(storeRequests(on.simulator)).toEqual([]);
    expect(await harness.sink.drain({ waitMs: 0 })).toEqual([]);
    expect(
      logged(stalled.logs, 'nothing decided: every app handed on, no notification (the next part announces)'),
    ).toHaveLength(1);
    const [continuation, ...more] = await handedOn(transition);
    expect(more).toEqual([]);
    expect(continuation?.continuation).toMatchObject({ applicationIds: [SAMPLE_APP_ID], part: 2 });
    expect(continuation?.delaySeconds).toBe(STALLED_HAND_ON_DELAY_SECONDS);
    expect(await scheduledRetries(transition)).toEqual([]);
    const [part1] = await ledgerItems(on.tableName);
    expect([part1?.sk?.S, part1?.state?.S]).toEqual(['part#1', 'done']);

    // The window has emptied when the queue delivers the continuation (its delay is not waited out).
    await dynamo.send(new DeleteItemCommand({ TableName: on.tableName, Key: budgetKey }));
    const continued = await harness.invoke(queueDelivery(continuation?.body ?? ''));

    expect(continued.error).toBeUndefined();
    expect(continued.result?.targets.map((target) => target.result)).toEqual(['halted', 'halted']);
    const [announced, ...others] = await harness.sink.drain({ expect: 1, waitMs: 0 });
    expect(others).toEqual([]);
    expect(announced?.attributes.outcome).toBe('halted');
    expect(on.simulator.control.effectiveHalts).toBe(2);

    // The other path, and the queue's redelivery of the continuation: duplicates, with nothing sent.
    on.simulator.control.clearRequests();
    for (const event of [eventBridgeEvent(transition), queueDelivery(continuation?.body ?? '')]) {
      expect((await harness.invoke(event)).result).toEqual({ duplicate: true, targets: [] });
    }
    expect(storeRequests(on.simulator)).toEqual([]);
    expect(await harness.sink.drain({ waitMs: 0 })).toEqual([]);
  });

  it('a ledger that cannot be read or written never stands between an alarm and a halt: the delivery is handled on its own', async () => {
    const on = await stack();
    const harness = await container(on, { env: { ROLLOUT_MEMORY_TABLE: `missing-${randomUUID()}` } });

    const { result, error, logs } = await harness.invoke(snsEvent(newTransition()));

    expect(error).toBeUndefined();
    expect(result?.targets.map((target) => target.result)).toEqual(['halted', 'halted']);
    expect(logged(logs, 'transition ledger not available; handling the delivery on its own')).toHaveLength(1);
    expect(await harness.sink.drain({ waitMs: 0 })).toHaveLength(1);
  });

  it('a malformed event is rejected and never retried: nothing claimed, nothing scheduled, no Store request', async () => {
    const on = await stack();
    const harness = await container(on);

    const rejected = await harness.invoke({ Records: [{ EventSource: 'aws:sns', Sns: { Message: '{' } }] });

    expect(rejected.error?.name).toBe('BadInputError');
    expect(await ledgerItems(on.tableName)).toEqual([]);
    const attributes = await sqs.send(
      new GetQueueAttributesCommand({
        QueueUrl: on.queueUrl,
        AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesDelayed'],
      }),
    );
    expect(attributes.Attributes).toMatchObject({
      ApproximateNumberOfMessages: '0',
      ApproximateNumberOfMessagesDelayed: '0',
    });
    expect(storeRequests(on.simulator)).toEqual([]);
  });
});
