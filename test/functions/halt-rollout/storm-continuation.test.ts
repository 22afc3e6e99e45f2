/**
 * Storms longer than one invocation, through the invocation flow (`handleWatchdogEvent`) with the real
 * Store client against the simulator's per-tenant throttle, the continuation queue on moto (SQS) and,
 * where named, the rollout memory on moto (DynamoDB). Everything runs on one virtual clock (see
 * `test/support/virtual-clock.ts`) at the deployed figures: 20 requests in any 60 s at the simulator, the
 * client's budget with its default margin, and invocations of 300 s, of which 240 s decide (what
 * `budgetFromRemaining` gives at 300 s). Minutes pass in the time the requests take, and no request to
 * the simulator or moto takes virtual time. The queue is drained the way Lambda's event source mapping
 * does: each message becomes the next invocation's SQS event.
 *
 * Proven from the simulator's record of requests: every live rollout halted exactly once, no result
 * `failed`, no 429, and the last halt within the budget bound (requests needed ÷ 20 a window).
 */
import { randomUUID } from 'node:crypto';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  CreateQueueCommand,
  DeleteMessageCommand,
  ReceiveMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { beforeAll, expect, it } from 'vitest';
import { sendContinuation } from '../../../functions/commons/aws/continuation-queue.ts';
import { createRolloutMemory } from '../../../functions/commons/aws/rollout-memory.ts';
import { STORE_WINDOW_MARGIN_MS } from '../../../functions/commons/aws/store-budget.ts';
import type { WatchdogEnvironment } from '../../../functions/commons/config/env.ts';
import { CONTINUATION_KIND } from '../../../functions/commons/domain/continuation.ts';
import type { Notification } from '../../../functions/commons/domain/notification.ts';
import type { WatchdogResult } from '../../../functions/commons/domain/results.ts';
import { BadInputError } from '../../../functions/commons/errors.ts';
import { definedProps } from '../../../functions/commons/optional.ts';
import {
  handleWatchdogEvent,
  type InvocationBudget,
  type WatchdogPorts,
} from '../../../functions/halt-rollout/watchdog.ts';
import { SHARED_ALARM, setUpStorm } from '../../../tools/fixtures/storm-setup.ts';
import { alarmStateChangeEvent, ownAlarmName } from '../../../tools/fixtures/watchdog-apps.ts';
import type { RunningSimulator } from '../../../tools/store-simulator/types.ts';
import { describeWithMoto, MOTO_SKIP_REASON, motoClientConfig } from '../../support/aws.ts';
import { mostInAnyWindow } from '../../support/request-windows.ts';
import { createStateTable, motoDynamo } from '../../support/state-table.ts';
import { createVirtualClock, type VirtualClock } from '../../support/virtual-clock.ts';

/** The Store's limit: 20 requests in any minute. */
const WINDOW_MS = 60_000;
const LIMIT = 20;
const APPS = 100;
/** The client budget's spacing of two requests a window apart: the window and its default margin. */
const SPACING_MS = WINDOW_MS + STORE_WINDOW_MARGIN_MS;
/** An invocation's decide time and notification deadline at 300 s (`budgetFromRemaining`). */
const DECIDE_MS = 240_000;
const NOTIFY_MS = 299_500;

interface Storm {
  readonly clock: VirtualClock;
  readonly simulator: RunningSimulator;
  readonly config: WatchdogEnvironment;
  readonly ports: WatchdogPorts;
  readonly queueUrl: string;
  readonly sqs: SQSClient;
  readonly notifications: Notification[];
  readonly targets: ReadonlyArray<{ applicationId: string; submissionId: string; fallback: string }>;
}

/** The budget of one 300 s invocation on the storm's clock: 240 s decide, notifying until 299.5 s. */
function invocationBudget(storm: Pick<Storm, 'clock'>): InvocationBudget {
  return {
    decideSignal: storm.clock.deadline(DECIDE_MS),
    notifySignal: storm.clock.deadline(NOTIFY_MS),
  };
}

async function startStorm(options: {
  readonly series: string;
  readonly alarmPerApp: boolean;
  readonly memory?: DynamoDBClient;
  /** The test's own `onTestFinished` (each storm cleans up after itself). */
  readonly onTestFinished: (cleanup: () => Promise<void>) => void;
}): Promise<Storm> {
  // The deployed budget on the virtual clock, the simulator's window on the same clock.
  const clock = createVirtualClock({ start: Date.parse('2026-12-02T06:00:00.000Z') });
  options.onTestFinished(async () => clock.close());
  const { simulator, access, config, targets } = await setUpStorm(options.series, APPS, {
    throttle: { limit: LIMIT, windowMs: WINDOW_MS },
    alarmPerApp: options.alarmPerApp,
    clock,
  });
  options.onTestFinished(async () => {
    await access.dispatcher.destroy();
    await simulator.close();
  });
  const sqs = new SQSClient(motoClientConfig());
  const queue = await sqs.send(new CreateQueueCommand({ QueueName: `storm-continuation-${randomUUID()}` }));
  const queueUrl = queue.QueueUrl ?? '';
  const notifications: Notification[] = [];
  const memory =
    options.memory === undefined
      ? undefined
      : createRolloutMemory(options.memory, await createStateTable(options.memory));
  if (memory !== undefined) {
    for (const { applicationId, submissionId, fallback } of targets) {
      await memory.remember(
        {
          ref: { applicationId, submissionId },
          rolloutPercentage: 20,
          fallbackSubmissionId: fallback,
          seenAt: new Date(clock.now()).toISOString(),
        },
        AbortSignal.timeout(5_000),
      );
    }
  }
  const quiet = { info: () => {}, warn: () => {}, error: () => {} };
  const ports: WatchdogPorts = {
    rollouts: access.rolloutPort,
    ...definedProps({ memory }),
    handOn: async (continuation, signal) => {
      await sendContinuation(sqs, queueUrl, continuation, signal);
    },
    now: clock.now,
    wallClock: clock.now,
    logger: quiet,
    publish: async (notification) => {
      notifications.push(notification);
    },
  };
  return { clock, simulator, config, ports, queueUrl, sqs, notifications, targets };
}

/** The next continuation in the queue, as the event source mapping delivers it (deleted once received). */
async function nextContinuation(storm: Storm): Promise<unknown> {
  const output = await storm.sqs.send(
    new ReceiveMessageCommand({ QueueUrl: storm.queueUrl, MaxNumberOfMessages: 1, WaitTimeSeconds: 0 }),
  );
  const [message] = output.Messages ?? [];
  if (message === undefined) return undefined;
  await storm.sqs.send(
    new DeleteMessageCommand({ QueueUrl: storm.queueUrl, ReceiptHandle: message.ReceiptHandle }),
  );
  return { Records: [{ eventSource: 'aws:sqs', messageId: message.MessageId, body: message.Body }] };
}

/**
 * Runs events one after another (reserved concurrency 1), then every continuation they hand on.
 * `betweenMs` is the time the storm spent between invocations (handing on is inside an invocation; the
 * queue's delivery of the next part is not): time in which no invocation could use the budget.
 */
async function runStorm(storm: Storm, events: unknown[]) {
  const results: WatchdogResult[] = [];
  const errors: unknown[] = [];
  const queue = [...events];
  let betweenMs = 0;
  let lastEndedAt: number | undefined;
  for (;;) {
    const event = queue.shift() ?? (await nextContinuation(storm));
    if (event === undefined) break;
    const startedAt = storm.clock.now();
    if (lastEndedAt !== undefined) betweenMs += startedAt - lastEndedAt;
    try {
      results.push(await handleWatchdogEvent(event, storm.config, storm.ports, invocationBudget(storm)));
    } catch (error) {
      errors.push(error);
    }
    lastEndedAt = storm.clock.now();
  }
  return { results, errors, betweenMs };
}

/**
 * The storm's facts from the simulator's record: halts, 429s, the most requests in any 60 s, and the
 * last halt's window.
 */
function verdict(storm: Storm) {
  const requests = storm.simulator.control.requests.filter((request) => request.kind === 'store');
  const first = requests[0]?.startedAt ?? 0;
  const halts = requests.filter((request) => request.method === 'POST' && request.status === 200);
  const lastHaltMs = Math.max(
    ...halts.map((request) => (request.endedAt ?? Number.POSITIVE_INFINITY) - first),
  );
  return {
    requests: requests.length,
    throttled: requests.filter((r) => r.status === 429).length,
    mostInAnyWindow: mostInAnyWindow(
      requests.map((request) => request.startedAt),
      WINDOW_MS,
    ),
    lastHaltMs,
    firstWindowMs: (requests[LIMIT - 1]?.startedAt ?? first) - first,
  };
}

/**
 * When the last of `requests` goes out if every window is used to the full: each request goes out one
 * spacing after the one 20 before it, so the last goes out at the start of window ⌈requests ÷ 20⌉
 * (counted from 1). On the virtual clock the Store and the queue answer in no time, so a budget that
 * wastes no slot sends it exactly then.
 */
function lastRequestAtMs(requests: number): number {
  return (Math.ceil(requests / LIMIT) - 1) * SPACING_MS;
}

/**
 * Exactly what the budget allows, from the simulator's record: no 429, 20 requests in the fullest 60 s
 * (never more), and, since nothing takes time on the clock but the budget's waits, the last halt exactly
 * when a budget that wastes no slot sends it.
 */
function expectTheBudgetSpentExactly(facts: ReturnType<typeof verdict>, betweenMs: number) {
  expect(facts.throttled).toBe(0);
  expect(facts.mostInAnyWindow).toBe(LIMIT);
  expect(facts.firstWindowMs).toBe(0);
  expect(betweenMs).toBe(0);
  expect(facts.lastHaltMs).toBe(lastRequestAtMs(facts.requests));
}

/**
 * Per app, from the simulator's record: whether anything was asked about it after its halt, and how many
 * requests it cost beyond its three (a look, a rollout read, a halt).
 */
function requestsPerApp(storm: Storm): { afterHalt: string[]; extra: Map<string, number> } {
  const requests = storm.simulator.control.requests.filter((request) => request.kind === 'store');
  const appOf = (path: string) => /\/applications\/([^/]+)/.exec(path)?.[1];
  const afterHalt: string[] = [];
  const extra = new Map<string, number>();
  for (const { applicationId } of storm.targets) {
    const own = requests.filter((request) => appOf(request.path) === applicationId);
    const haltAt = own.findIndex((request) => request.method === 'POST' && request.status === 200);
    if (haltAt >= 0 && haltAt < own.length - 1) afterHalt.push(applicationId);
    if (own.length > 3) extra.set(applicationId, own.length - 3);
  }
  return { afterHalt, extra };
}

/**
 * The most apps in flight (read, not yet halted) when an invocation's deadline comes, by the throttle's
 * design: a discovery is let out only where the window has a slot beyond the room kept for earlier
 * discoveries' follow-ups (their rollout read and halt), so a window holds at most ⌈20 ÷ 3⌉ = 7 apps
 * started (the last with room for one follow-up). Their reads are what a hand-over can cost again, two
 * requests each. A loose bound (a hand-over typically costs one app or none, depending on the machine's
 * pace): it catches re-reading what was done, not a modest loss at each hand-over.
 */
const MAX_IN_FLIGHT = Math.ceil(LIMIT / 3);

function expectEveryRolloutHaltedOnce(storm: Storm, results: readonly WatchdogResult[]) {
  const targets = results.flatMap((result) => result.targets);
  expect(targets.filter((target) => target.result === 'failed')).toEqual([]);
  expect(targets.filter((target) => target.result === 'halted')).toHaveLength(APPS);
  expect(new Set(targets.filter((t) => t.result === 'halted').map((t) => t.applicationId)).size).toBe(APPS);
  expect(storm.simulator.control.effectiveHalts).toBe(APPS);
  for (const { applicationId, submissionId } of storm.targets) {
    expect(storm.simulator.control.rollout(applicationId, submissionId).packageRolloutStatus).toBe(
      'PackageRolloutStopped',
    );
  }
}

// One storm at a time: each has a virtual clock of its own (its waits for the budget's windows take no
// real time).
describeWithMoto(`alarm storms longer than one invocation${MOTO_SKIP_REASON}`, () => {
  let dynamo: DynamoDBClient;
  beforeAll(() => {
    dynamo = motoDynamo();
  });

  it('one alarm listed by 100 apps: 300 requests over several invocations, each handing the rest on and saying so', async ({
    onTestFinished,
  }) => {
    const storm = await startStorm({ series: 'SA', alarmPerApp: false, onTestFinished });
    const { results, errors, betweenMs } = await runStorm(storm, [alarmStateChangeEvent(SHARED_ALARM)]);
    expect(errors).toEqual([]);
    expectEveryRolloutHaltedOnce(storm, results);
    const facts = verdict(storm);
    const { requests } = facts;
    // 300, plus, per hand-over, the reads of the apps still in flight at the deadline (read again by the
    // next part), which the throttle's design bounds: the room it keeps lets no more than MAX_IN_FLIGHT
    // apps be in flight. With answers that take no time on the clock none is in flight at the deadline
    // (a discovery whose follow-ups cannot make it is not let out), so a hand-over costs nothing.
    expect(requests).toBeGreaterThanOrEqual(3 * APPS);
    expect(requests).toBeLessThanOrEqual(3 * APPS + 2 * MAX_IN_FLIGHT * (results.length - 1));
    expect(requests).toBe(3 * APPS);
    // Exactly, whatever the pace: nothing is asked about an app once it is halted, and an app costs more
    // than its three requests only when it was handed on, at most its two reads again per hand-over.
    const perApp = requestsPerApp(storm);
    expect(perApp.afterHalt).toEqual([]);
    for (const [applicationId, extra] of perApp.extra) {
      const handedOn = results.filter((result) => result.pending?.includes(applicationId)).length;
      expect(extra, applicationId).toBeLessThanOrEqual(2 * handedOn);
    }
    expectTheBudgetSpentExactly(facts, betweenMs);
    expect(results.length).toBeGreaterThan(1);
    // Each invocation but the last said what was still pending, and the next handled exactly that.
    for (const [index, result] of results.entries()) {
      const notification = storm.notifications[index];
      if (index === results.length - 1) {
        expect(result.pending).toBeUndefined();
        continue;
      }
      expect(result.pending?.length).toBeGreaterThan(0);
      expect(notification?.json.pending?.applicationIds).toEqual(result.pending);
      expect(notification?.json.pending?.nextPart).toBe(index + 2);
      expect(notification?.subject).toContain(`(+${result.pending?.length} pending)`);
      expect(notification?.text).toContain(`Still pending: ${result.pending?.length} app(s)`);
      const next = results[index + 1];
      const decidedNext = new Set([
        ...(next?.targets ?? []).map((t) => t.applicationId),
        ...(next?.pending ?? []),
      ]);
      expect([...decidedNext].sort()).toEqual([...(result.pending ?? [])].sort());
    }
  });

  it('100 alarms at once (one event each, one after another): every rollout halted once, within the budget bound', async ({
    onTestFinished,
  }) => {
    const storm = await startStorm({ series: 'SB', alarmPerApp: true, onTestFinished });
    const events = storm.targets.map(({ applicationId }) =>
      alarmStateChangeEvent(ownAlarmName(applicationId)),
    );
    const { results, errors, betweenMs } = await runStorm(storm, events);
    expect(errors).toEqual([]);
    expectEveryRolloutHaltedOnce(storm, results);
    const facts = verdict(storm);
    expect(facts.requests).toBe(3 * APPS);
    expectTheBudgetSpentExactly(facts, betweenMs);
  });

  it('a Store that takes 150 ms to answer: no request is let out to be cut off at the deadline, so nothing fails and every rollout is halted once', async ({
    onTestFinished,
  }) => {
    const storm = await startStorm({ series: 'SL', alarmPerApp: false, onTestFinished });
    storm.simulator.control.setLatency(150);
    const { results, errors } = await runStorm(storm, [alarmStateChangeEvent(SHARED_ALARM)]);
    expect(errors).toEqual([]);
    expectEveryRolloutHaltedOnce(storm, results);
    // Every request sent was answered: none was cut off in flight by an invocation's deadline.
    const store = storm.simulator.control.requests.filter((request) => request.kind === 'store');
    expect(store.filter((request) => request.status !== 200)).toEqual([]);
    expect(store.filter((request) => request.method === 'POST')).toHaveLength(APPS);
    expect(results.length).toBeGreaterThan(1);
  });

  it('with every rollout remembered, one alarm listed by 100 apps costs 100 requests: what the first invocation can reach, the rest handed on', async ({
    onTestFinished,
  }) => {
    const storm = await startStorm({ series: 'SC', alarmPerApp: false, memory: dynamo, onTestFinished });
    const { results, errors, betweenMs } = await runStorm(storm, [alarmStateChangeEvent(SHARED_ALARM)]);
    expect(errors).toEqual([]);
    expectEveryRolloutHaltedOnce(storm, results);
    const facts = verdict(storm);
    expect(facts.requests).toBe(APPS);
    expectTheBudgetSpentExactly(facts, betweenMs);
    // The first invocation reached at most what the windows that start before its deadline hold (four
    // at the deployed figures), and here exactly that; the rest was handed on, and the second
    // invocation finished.
    const windowsPerInvocation = Math.ceil(DECIDE_MS / SPACING_MS);
    expect(windowsPerInvocation).toBe(4);
    expect(results).toHaveLength(2);
    expect(results[0]?.pending?.length).toBeGreaterThanOrEqual(APPS - windowsPerInvocation * LIMIT);
    expect(results[0]?.pending).toHaveLength(APPS - windowsPerInvocation * LIMIT);
  });

  it('a crash in the middle of a storm loses nothing: the event comes back, and nothing is halted twice', async ({
    onTestFinished,
  }) => {
    const storm = await startStorm({ series: 'SD', alarmPerApp: false, onTestFinished });
    const event = alarmStateChangeEvent(SHARED_ALARM);
    // The first invocation dies 1.5 windows in: its requests are cut off, nothing is handed on or published.
    const crash = new AbortController();
    void storm.clock
      .sleep(1.5 * WINDOW_MS, new AbortController().signal)
      .then(() => crash.abort(new Error('the execution environment died')));
    const dying: WatchdogPorts = {
      ...storm.ports,
      handOn: async () => {
        throw new Error('a dead process sends nothing');
      },
      publish: async () => {
        throw new Error('a dead process publishes nothing');
      },
    };
    await handleWatchdogEvent(event, storm.config, dying, {
      decideSignal: crash.signal,
      notifySignal: crash.signal,
    }).catch(() => undefined);
    const haltedBeforeCrash = storm.simulator.control.effectiveHalts;
    expect(haltedBeforeCrash).toBeGreaterThan(0);
    expect(haltedBeforeCrash).toBeLessThan(APPS);
    // Lambda retries the event (or the queue redelivers the continuation): the storm completes.
    const { results, errors } = await runStorm(storm, [event]);
    expect(errors).toEqual([]);
    const targets = results.flatMap((result) => result.targets);
    expect(targets.filter((target) => target.result === 'failed')).toEqual([]);
    expect(targets.filter((target) => target.result === 'already-halted').length).toBeGreaterThanOrEqual(
      haltedBeforeCrash,
    );
    expect(storm.simulator.control.effectiveHalts).toBe(APPS);
    const posts = storm.simulator.control.requests.filter((request) => request.method === 'POST');
    expect(posts.filter((request) => request.status !== 200 && request.status !== undefined)).toEqual([]);
  });

  it('a continuation delivered twice halts nothing twice', async ({ onTestFinished }) => {
    const storm = await startStorm({ series: 'SE', alarmPerApp: false, onTestFinished });
    const first = await handleWatchdogEvent(
      alarmStateChangeEvent(SHARED_ALARM),
      storm.config,
      storm.ports,
      invocationBudget(storm),
    );
    expect(first.pending?.length).toBeGreaterThan(0);
    const continuation = await nextContinuation(storm);
    const once = await handleWatchdogEvent(continuation, storm.config, storm.ports, invocationBudget(storm));
    const twice = await handleWatchdogEvent(continuation, storm.config, storm.ports, invocationBudget(storm));
    const halted = [first, once, twice].flatMap((result) =>
      result.targets.filter((target) => target.result === 'halted').map((target) => target.applicationId),
    );
    // Each app reported halted once at most, and the Store stopped exactly those.
    expect(new Set(halted).size).toBe(halted.length);
    expect(storm.simulator.control.effectiveHalts).toBe(halted.length);
    const repeated = once.targets.filter((target) => target.result === 'halted').map((t) => t.applicationId);
    const again = new Map(twice.targets.map((target) => [target.applicationId, target.result]));
    for (const applicationId of repeated) expect(again.get(applicationId)).toBe('already-halted');
    const posts = storm.simulator.control.requests.filter((request) => request.method === 'POST');
    expect(posts.every((request) => request.status === 200)).toBe(true);
  });

  it('a continuation is checked like any event: it never reaches an app or alarm the config does not pair (those are left out), and a malformed one is rejected', async ({
    onTestFinished,
  }) => {
    const storm = await startStorm({ series: 'SF', alarmPerApp: true, onTestFinished });
    const [a, b] = storm.targets;
    if (a === undefined || b === undefined) throw new Error('no apps');
    const alarm = {
      alarmName: ownAlarmName(a.applicationId),
      newState: 'ALARM',
      previousState: 'OK',
      reason: 'Threshold Crossed',
      time: '2026-12-02T06:00:00.000+0000',
      source: 'eventbridge',
    };
    const valid = {
      kind: CONTINUATION_KIND,
      version: 1,
      alarms: [alarm],
      applicationIds: [a.applicationId],
      part: 2,
      stormStartedAt: '2026-12-02T06:00:00.000Z',
    };
    const deliver = (body: unknown) => ({
      Records: [{ eventSource: 'aws:sqs', body: JSON.stringify(body) }],
    });
    // Apps the config does not pair with the alarm are left out (the config may have changed mid-storm),
    // never acted on: with none left, the continuation is ignored.
    const leftOut: Array<[string, unknown]> = [
      ['an app the alarm does not name', deliver({ ...valid, applicationIds: [b.applicationId] })],
      ['an app with no entry in "apps"', deliver({ ...valid, applicationIds: ['9NZZ99999999'] })],
      ['an alarm no app lists', deliver({ ...valid, alarms: [{ ...alarm, alarmName: 'not-listed' }] })],
    ];
    for (const [what, event] of leftOut) {
      const result = await handleWatchdogEvent(event, storm.config, storm.ports, invocationBudget(storm));
      expect(result.targets, what).toEqual([]);
      expect(result.ignored, what).toMatch(
        /no longer watched apps \(entries in "apps"\) that list its alarms/,
      );
    }
    const rejected: Array<[string, unknown]> = [
      ['a transition into OK', deliver({ ...valid, alarms: [{ ...alarm, newState: 'OK' }] })],
      ['an unknown key', deliver({ ...valid, dryRun: false })],
      ['a malformed app ID', deliver({ ...valid, applicationIds: ['../x'] })],
      ['an app twice', deliver({ ...valid, applicationIds: [a.applicationId, a.applicationId] })],
      ['part 1', deliver({ ...valid, part: 1 })],
      ['a body that is not JSON', { Records: [{ eventSource: 'aws:sqs', body: '{' }] }],
      [
        'a composite with an unknown key',
        deliver({
          ...valid,
          alarms: [{ ...alarm, composite: { rule: 'x', triggeringChildren: [], extra: 1 } }],
        }),
      ],
      ['two records', { Records: [deliver(valid).Records[0], deliver(valid).Records[0]] }],
    ];
    for (const [what, event] of rejected) {
      const error = await handleWatchdogEvent(event, storm.config, storm.ports, invocationBudget(storm)).then(
        () => new Error(`${what}: accepted`),
        (thrown: unknown) => thrown,
      );
      expect(error, what).toBeInstanceOf(BadInputError);
    }
    expect(storm.simulator.control.requests.filter((request) => request.kind === 'store')).toEqual([]);
    expect(storm.notifications).toEqual([]);
    // The valid one (here carrying a composite alarm's rule and children) acts on exactly its app.
    const composite = { rule: `ALARM("${alarm.alarmName}")`, triggeringChildren: ['child-alarm'] };
    const accepted = await handleWatchdogEvent(
      deliver({ ...valid, alarms: [{ ...alarm, composite }] }),
      storm.config,
      storm.ports,
      invocationBudget(storm),
    );
    expect(accepted.targets.map((target) => [target.applicationId, target.result])).toEqual([
      [a.applicationId, 'halted'],
    ]);
  });

  it('without a queue the apps not reached stay failed, so Lambda retries the event (the behaviour before)', async ({
    onTestFinished,
  }) => {
    const storm = await startStorm({ series: 'SG', alarmPerApp: false, onTestFinished });
    const { handOn: _handOn, ...withoutQueue } = storm.ports;
    const error = await handleWatchdogEvent(
      alarmStateChangeEvent(SHARED_ALARM),
      storm.config,
      withoutQueue,
      invocationBudget(storm),
    ).then(
      () => undefined,
      (thrown: unknown) => thrown,
    );
    expect(error).toBeInstanceOf(Error);
    const [notification] = storm.notifications;
    expect(notification?.outcome).toBe('failed');
    expect(notification?.json.pending).toBeUndefined();
    const output = await storm.sqs.send(
      new ReceiveMessageCommand({ QueueUrl: storm.queueUrl, WaitTimeSeconds: 0 }),
    );
    expect(output.Messages ?? []).toEqual([]);
  });
});
