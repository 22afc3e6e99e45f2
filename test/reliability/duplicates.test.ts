/**
 * Duplicate and concurrent deliveries of one alarm: several Lambda containers (harnesses with their own
 * module state: credentials, token, throttle) against one Store simulator, invoked at the same time.
 * Whatever the interleaving, each rollout is halted exactly once, every other delivery reports
 * `already-halted`, and none fails.
 */
import { afterEach, expect, it } from 'vitest';
import type { TargetResult } from '../../functions/commons/domain/results.ts';
import { start } from '../../tools/store-simulator/index.ts';
import {
  SAMPLE_APP_ID,
  SAMPLE_FLIGHT_ID,
  SAMPLE_FLIGHT_SUBMISSION_ID,
  SAMPLE_PUBLISHED_SUBMISSION_ID,
  sampleState,
} from '../../tools/store-simulator/sample-state.ts';
import type { RunningSimulator } from '../../tools/store-simulator/types.ts';
import { type EventFixtureName, loadEventFixture } from '../fixtures/events/load.ts';
import { describeWithMoto, MOTO_SKIP_REASON } from '../support/aws.ts';
import { type Invocation, startWatchdog, type WatchdogHarness } from '../support/watchdog-harness.ts';

const open: { close(): Promise<void> }[] = [];
afterEach(async () => {
  // Harnesses first, then the simulator they share.
  for (const resource of open.splice(0).reverse()) await resource.close();
});

async function sharedStore(): Promise<RunningSimulator> {
  const simulator = await start({ state: sampleState() });
  open.push(simulator);
  return simulator;
}

/** `count` containers of the function against one Store. */
async function containers(simulator: RunningSimulator, count: number): Promise<WatchdogHarness[]> {
  const harnesses = await Promise.all(Array.from({ length: count }, () => startWatchdog({ simulator })));
  open.push(...harnesses);
  return harnesses;
}

/** The key of a rollout: the main rollout, or a flight's. */
function rolloutOf(target: TargetResult): string {
  return `${target.applicationId}/${target.flightId ?? 'main'}/${target.submissionId ?? '?'}`;
}

const MAIN = `${SAMPLE_APP_ID}/main/${SAMPLE_PUBLISHED_SUBMISSION_ID}`;
const FLIGHT = `${SAMPLE_APP_ID}/${SAMPLE_FLIGHT_ID}/${SAMPLE_FLIGHT_SUBMISSION_ID}`;

/**
 * Holds each rollout's halts until all `containers` have sent theirs, so every container reads the rollout
 * in progress before any halt lands (certain, not left to timing): one halt takes effect, the others
 * meet the Store's 409.
 */
function raceTheHalts(simulator: RunningSimulator, containers: number): void {
  for (const submissionId of [SAMPLE_PUBLISHED_SUBMISSION_ID, SAMPLE_FLIGHT_SUBMISSION_ID]) {
    simulator.control.gatherNext({
      count: containers,
      match: { method: 'POST', path: `/submissions/${submissionId}/haltpackagerollout` },
    });
  }
}

/** Every delivery succeeded; each rollout was reported halted once and already-halted by all others. */
function expectHaltedOnce(invocations: readonly Invocation[]): void {
  for (const invocation of invocations) expect(invocation.error).toBeUndefined();
  const targets = invocations.flatMap((invocation) => invocation.result?.targets ?? []);
  expect(targets).toHaveLength(invocations.length * 2);
  for (const rollout of [MAIN, FLIGHT]) {
    const results = targets.filter((target) => rolloutOf(target) === rollout).map((target) => target.result);
    expect(results).toHaveLength(invocations.length);
    expect(results.filter((result) => result === 'halted')).toHaveLength(1);
    expect(results.filter((result) => result === 'already-halted')).toHaveLength(invocations.length - 1);
  }
}

async function expectOneNotificationEach(harnesses: readonly WatchdogHarness[]): Promise<void> {
  for (const harness of harnesses) {
    const notifications = await harness.sink.drain({ expect: 1 });
    expect(notifications).toHaveLength(1);
    expect(['halted', 'already-halted']).toContain(notifications[0]?.attributes.outcome);
  }
}

describeWithMoto(`duplicate and concurrent deliveries${MOTO_SKIP_REASON}`, () => {
  it('halts each rollout once when the same alarm arrives through SNS and EventBridge at once', async () => {
    const simulator = await sharedStore();
    const [viaSns, viaEventBridge] = await containers(simulator, 2);
    if (viaSns === undefined || viaEventBridge === undefined) throw new Error('two containers expected');
    raceTheHalts(simulator, 2);

    const invocations = await Promise.all([
      viaSns.invoke(loadEventFixture('sns-alarm')),
      viaEventBridge.invoke(loadEventFixture('eventbridge-alarm')),
    ]);

    expectHaltedOnce(invocations);
    expect(simulator.control.effectiveHalts).toBe(2);
    const posts = simulator.control.requests.filter(
      (request) => request.kind === 'store' && request.method === 'POST',
    );
    expect(posts.map((request) => request.status).sort()).toEqual([200, 200, 409, 409]);
    await expectOneNotificationEach([viaSns, viaEventBridge]);
  });

  it('halts each rollout once when ten containers get the alarm at the same time', async () => {
    const simulator = await sharedStore();
    const harnesses = await containers(simulator, 10);
    // Warm containers, so that they meet at the Store rather than one after the other at the token endpoint.
    await Promise.all(harnesses.map((harness) => harness.warmUpSettled()));
    raceTheHalts(simulator, harnesses.length);
    const fixtures: EventFixtureName[] = ['sns-alarm', 'eventbridge-alarm'];

    const invocations = await Promise.all(
      harnesses.map((harness, index) => harness.invoke(loadEventFixture(fixtures[index % 2] ?? 'sns-alarm'))),
    );

    expectHaltedOnce(invocations);
    expect(simulator.control.effectiveHalts).toBe(2);
    // The halts that lost the race met 409, read the state and reported already-halted.
    const posts = simulator.control.requests.filter(
      (request) => request.kind === 'store' && request.method === 'POST',
    );
    expect(posts.filter((request) => request.status === 200)).toHaveLength(2);
    expect(posts.filter((request) => request.status === 409)).toHaveLength(2 * (harnesses.length - 1));
    expect(posts).toHaveLength(2 * harnesses.length);
    await expectOneNotificationEach(harnesses);
  });

  it('examines and halts each rollout once when one SNS event carries the same alarm twice', async () => {
    const simulator = await sharedStore();
    const [harness] = await containers(simulator, 1);
    if (harness === undefined) throw new Error('one container expected');
    const event = loadEventFixture('sns-alarm');
    if (
      typeof event !== 'object' ||
      event === null ||
      !('Records' in event) ||
      !Array.isArray(event.Records)
    ) {
      throw new Error('the sns-alarm fixture has no Records');
    }
    const doubled = { ...event, Records: [...event.Records, ...event.Records] };

    const { result, error } = await harness.invoke(doubled);

    expect(error).toBeUndefined();
    expect(result?.targets.map(rolloutOf)).toEqual([MAIN, FLIGHT]);
    expect(result?.targets.map((target) => target.result)).toEqual(['halted', 'halted']);
    const posts = simulator.control.requests.filter(
      (request) => request.kind === 'store' && request.method === 'POST',
    );
    expect(posts).toHaveLength(2);
    expect(simulator.control.effectiveHalts).toBe(2);
  });
});
