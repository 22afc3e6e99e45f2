/**
 * One round trip when the rollout is known: the real handler with a rollout memory table (moto) against
 * the Store simulator. Proven from the simulator's record of requests, not from timing:
 * - a warm halt of a remembered rollout is exactly one POST, and a 20-app storm costs 20 Store requests;
 * - a remembered submission that is no longer the live rollout (complete, stopped, the fallback of a
 *   newer one, another app's) is refused by the Store (409) and costs one normal lookup; the newer live
 *   rollout is halted with its own percentage, the old one is never reported halted;
 * - an ambiguous POST failure reads the state before anything else; dry runs read first and remember.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { CreateQueueCommand, SQSClient } from '@aws-sdk/client-sqs';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createRolloutMemory } from '../../../functions/commons/aws/rollout-memory.ts';
import type { RememberedRollout } from '../../../functions/commons/domain/ports.ts';
import { definedProps } from '../../../functions/commons/optional.ts';
import {
  app,
  publishedSubmission,
  rollingApps,
  rollout,
  SAMPLE_APP_ID,
  SAMPLE_FALLBACK_SUBMISSION_ID,
  SAMPLE_FLIGHT_ID,
  SAMPLE_FLIGHT_SUBMISSION_ID,
  SAMPLE_PENDING_SUBMISSION_ID,
  SAMPLE_PUBLISHED_SUBMISSION_ID,
  stateWith,
  submission,
} from '../../../tools/store-simulator/sample-state.ts';
import type { RunningSimulator } from '../../../tools/store-simulator/types.ts';
import { loadEventFixture } from '../../fixtures/events/load.ts';
import { describeWithMoto, MOTO_SKIP_REASON, motoClientConfig } from '../../support/aws.ts';
import { createStateTable, memoryContents, motoDynamo } from '../../support/state-table.ts';
import {
  type HarnessOptions,
  SAMPLE_ALARM,
  startWatchdog,
  type WatchdogHarness,
} from '../../support/watchdog-harness.ts';

const SEEN_AT = '2026-12-01T18:00:00.000Z';
/** The sample app, main rollout only, enforcing. */
const MAIN_ONLY = [{ applicationId: SAMPLE_APP_ID, name: 'Contoso Photos', alarmNames: [SAMPLE_ALARM] }];

function storeCalls(simulator: RunningSimulator): string[] {
  return simulator.control.requests
    .filter((request) => request.kind === 'store')
    .map((request) => `${request.method} ${request.path.replace('/v1.0/my/', '')} ${request.status}`);
}

function remembered(
  submissionId: string,
  rolloutPercentage: number,
  extra: { applicationId?: string; flightId?: string; fallbackSubmissionId?: string } = {},
): RememberedRollout {
  return {
    ref: {
      applicationId: extra.applicationId ?? SAMPLE_APP_ID,
      ...definedProps({ flightId: extra.flightId }),
      submissionId,
    },
    rolloutPercentage,
    fallbackSubmissionId: extra.fallbackSubmissionId ?? SAMPLE_FALLBACK_SUBMISSION_ID,
    seenAt: SEEN_AT,
  };
}

describeWithMoto(`rollout memory: a warm halt of a remembered rollout is one POST${MOTO_SKIP_REASON}`, () => {
  let dynamo: DynamoDBClient;
  const harnesses: WatchdogHarness[] = [];
  beforeAll(() => {
    dynamo = motoDynamo();
  });
  afterEach(async () => {
    await Promise.all(harnesses.splice(0).map((harness) => harness.close()));
  });

  /** A harness with a fresh memory table holding `entries`, warmed up, its request record cleared. */
  async function start(options: HarnessOptions, entries: readonly RememberedRollout[]) {
    const tableName = await createStateTable(dynamo);
    const memory = createRolloutMemory(dynamo, tableName);
    for (const entry of entries) await memory.remember(entry, AbortSignal.timeout(5_000));
    const harness = await startWatchdog({
      ...options,
      env: { ...options.env, ROLLOUT_MEMORY_TABLE: tableName },
    });
    harnesses.push(harness);
    await harness.warmUpSettled();
    harness.simulator.control.clearRequests();
    return { harness, tableName };
  }

  it('halts the remembered live rollout with exactly one POST, and the notification states the percentage as last seen and when', async () => {
    const { harness, tableName } = await start({ apps: MAIN_ONLY }, [
      remembered(SAMPLE_PUBLISHED_SUBMISSION_ID, 20),
    ]);
    const { result, error } = await harness.invoke(loadEventFixture('eventbridge-alarm'));
    expect(error).toBeUndefined();
    expect(result?.targets).toEqual([
      {
        applicationId: SAMPLE_APP_ID,
        submissionId: SAMPLE_PUBLISHED_SUBMISSION_ID,
        result: 'halted',
        rolloutPercentage: 20,
        fallbackSubmissionId: SAMPLE_FALLBACK_SUBMISSION_ID,
      },
    ]);
    expect(storeCalls(harness.simulator)).toEqual([
      `POST applications/${SAMPLE_APP_ID}/submissions/${SAMPLE_PUBLISHED_SUBMISSION_ID}/haltpackagerollout 200`,
    ]);
    expect(harness.simulator.control.effectiveHalts).toBe(1);
    const [notification] = await harness.sink.drain({ expect: 1 });
    expect(JSON.parse(notification?.message ?? '{}').targets).toEqual([
      expect.objectContaining({ result: 'halted', rolloutPercentage: 20, percentageSeenAt: SEEN_AT }),
    ]);
    // Never shown as if it were live: the subject says when it was last seen.
    expect(notification?.subject).toBe(
      '[Store watchdog] HALTED Contoso Photos rollout (20% when last seen at 18:00 UTC)',
    );
    // Halted: nothing live is remembered any more.
    expect(await memoryContents(dynamo, tableName)).toEqual([]);
  });

  it('a remembered submission that is now the fallback of a newer live rollout: one 409, one normal lookup, the newer one halted with its own percentage', async () => {
    const old = SAMPLE_PUBLISHED_SUBMISSION_ID;
    const newer = '1152921504621243800';
    const state = stateWith(
      app(SAMPLE_APP_ID, [
        publishedSubmission(newer, 5, old),
        submission(old, 'Published', rollout('PackageRolloutComplete', 100, SAMPLE_FALLBACK_SUBMISSION_ID)),
      ]),
    );
    const { harness } = await start({ state, apps: MAIN_ONLY }, [remembered(old, 20)]);
    const { result } = await harness.invoke(loadEventFixture('eventbridge-alarm'));
    expect(result?.targets).toEqual([
      {
        applicationId: SAMPLE_APP_ID,
        submissionId: newer,
        result: 'halted',
        rolloutPercentage: 5,
        fallbackSubmissionId: old,
      },
    ]);
    expect(storeCalls(harness.simulator)).toEqual([
      `POST applications/${SAMPLE_APP_ID}/submissions/${old}/haltpackagerollout 409`,
      `GET applications/${SAMPLE_APP_ID} 200`,
      `GET applications/${SAMPLE_APP_ID}/submissions/${newer}/packagerollout 200`,
      `POST applications/${SAMPLE_APP_ID}/submissions/${newer}/haltpackagerollout 200`,
    ]);
    expect(harness.simulator.control.rollout(SAMPLE_APP_ID, old).packageRolloutStatus).toBe(
      'PackageRolloutComplete',
    );
    expect(harness.simulator.control.effectiveHalts).toBe(1);
    const [notification] = await harness.sink.drain({ expect: 1 });
    const [target] = JSON.parse(notification?.message ?? '{}').targets;
    expect(target).toEqual(expect.objectContaining({ submissionId: newer, rolloutPercentage: 5 }));
    expect(target).not.toHaveProperty('percentageSeenAt');
  });

  it('a remembered submission a person halted since: 409, one lookup, already-halted (never halted), or the newer live one halted', async () => {
    const halted = SAMPLE_PUBLISHED_SUBMISSION_ID;
    const stoppedOnly = stateWith(
      app(SAMPLE_APP_ID, [
        submission(halted, 'Published', rollout('PackageRolloutStopped', 0, SAMPLE_FALLBACK_SUBMISSION_ID)),
      ]),
    );
    const first = await start({ state: stoppedOnly, apps: MAIN_ONLY }, [remembered(halted, 20)]);
    const stale = await first.harness.invoke(loadEventFixture('eventbridge-alarm'));
    expect(stale.result?.targets).toEqual([
      {
        applicationId: SAMPLE_APP_ID,
        submissionId: halted,
        result: 'already-halted',
        rolloutPercentage: 0,
        fallbackSubmissionId: SAMPLE_FALLBACK_SUBMISSION_ID,
      },
    ]);
    expect(storeCalls(first.harness.simulator)).toEqual([
      `POST applications/${SAMPLE_APP_ID}/submissions/${halted}/haltpackagerollout 409`,
      `GET applications/${SAMPLE_APP_ID} 200`,
      `GET applications/${SAMPLE_APP_ID}/submissions/${halted}/packagerollout 200`,
    ]);
    expect(first.harness.simulator.control.effectiveHalts).toBe(0);
    expect(await memoryContents(dynamo, first.tableName)).toEqual([]);

    // A clone of the halted submission was published since, rolling out at 10%.
    const clone = '1152921504621243900';
    const republished = stateWith(
      app(SAMPLE_APP_ID, [
        publishedSubmission(clone, 10, SAMPLE_FALLBACK_SUBMISSION_ID),
        submission(halted, 'Published', rollout('PackageRolloutStopped', 0, SAMPLE_FALLBACK_SUBMISSION_ID)),
      ]),
    );
    const second = await start({ state: republished, apps: MAIN_ONLY }, [remembered(halted, 20)]);
    const live = await second.harness.invoke(loadEventFixture('eventbridge-alarm'));
    expect(live.result?.targets).toEqual([
      expect.objectContaining({ submissionId: clone, result: 'halted', rolloutPercentage: 10 }),
    ]);
    expect(second.harness.simulator.control.rollout(SAMPLE_APP_ID, clone).packageRolloutStatus).toBe(
      'PackageRolloutStopped',
    );
    expect(second.harness.simulator.control.effectiveHalts).toBe(1);
  });

  it("an entry naming another app's submission is refused (409) and looked up: the watched app's own rollout is halted", async () => {
    // The sample quiet app's submission filed under the sample app (a corrupted or hand-made entry).
    const { harness } = await start({ apps: MAIN_ONLY }, [remembered('1152921504621225621', 20)]);
    const { result } = await harness.invoke(loadEventFixture('eventbridge-alarm'));
    expect(result?.targets).toEqual([
      expect.objectContaining({
        submissionId: SAMPLE_PUBLISHED_SUBMISSION_ID,
        result: 'halted',
        rolloutPercentage: 20,
      }),
    ]);
    expect(storeCalls(harness.simulator)[0]).toBe(
      `POST applications/${SAMPLE_APP_ID}/submissions/1152921504621225621/haltpackagerollout 409`,
    );
    expect(harness.simulator.control.effectiveHalts).toBe(1);
  });

  it('a halt that took effect but answered 503 reads the state before anything else: halted once, no second POST', async () => {
    const { harness } = await start({ apps: MAIN_ONLY }, [remembered(SAMPLE_PUBLISHED_SUBMISSION_ID, 20)]);
    harness.simulator.control.haltAppliesThen503();
    const { result, error } = await harness.invoke(loadEventFixture('eventbridge-alarm'));
    expect(error).toBeUndefined();
    expect(result?.targets).toEqual([
      expect.objectContaining({
        submissionId: SAMPLE_PUBLISHED_SUBMISSION_ID,
        result: 'halted',
        rolloutPercentage: 20,
      }),
    ]);
    expect(storeCalls(harness.simulator)).toEqual([
      `POST applications/${SAMPLE_APP_ID}/submissions/${SAMPLE_PUBLISHED_SUBMISSION_ID}/haltpackagerollout 503`,
      `GET applications/${SAMPLE_APP_ID} 200`,
      `GET applications/${SAMPLE_APP_ID}/submissions/${SAMPLE_PUBLISHED_SUBMISSION_ID}/packagerollout 200`,
      // The last published rollout is stopped, so the normal lookup looks at the pending one too.
      `GET applications/${SAMPLE_APP_ID}/submissions/${SAMPLE_PENDING_SUBMISSION_ID} 200`,
    ]);
    expect(harness.simulator.control.effectiveHalts).toBe(1);
  });

  it('a halt POST without a clear answer whose read-back runs out of time stays failed (a person is told), never handed on', async () => {
    // Handed on, the next invocation would find the rollout stopped and call it someone else's halt.
    const queue = await new SQSClient(motoClientConfig()).send(
      new CreateQueueCommand({ QueueName: `memory-unclear-${crypto.randomUUID()}` }),
    );
    const { harness } = await start(
      { apps: MAIN_ONLY, env: { CONTINUATION_QUEUE_URL: queue.QueueUrl ?? '' } },
      [remembered(SAMPLE_PUBLISHED_SUBMISSION_ID, 20)],
    );
    harness.simulator.control.haltAppliesThen503();
    harness.simulator.control.hangNext({ count: 10, match: { method: 'GET' } });
    const { result, error } = await harness.invoke(loadEventFixture('eventbridge-alarm'), {
      remainingMs: 6_000,
    });

    expect(error?.message).toContain('could not be handled');
    expect(harness.simulator.control.effectiveHalts).toBe(1);
    const [notification] = await harness.sink.drain({ expect: 1 });
    const decision = JSON.parse(notification?.message ?? '{}');
    expect(decision.pending).toBeUndefined();
    expect(decision.targets).toEqual([
      expect.objectContaining({ applicationId: SAMPLE_APP_ID, result: 'failed' }),
    ]);
    expect(result).toBeUndefined();
  });

  it('a 503 that did not take effect: the state is read, then the live rollout is halted', async () => {
    const { harness } = await start({ apps: MAIN_ONLY }, [remembered(SAMPLE_PUBLISHED_SUBMISSION_ID, 20)]);
    harness.simulator.control.failNext({ status: 503, match: { method: 'POST' } });
    const { result } = await harness.invoke(loadEventFixture('eventbridge-alarm'));
    expect(result?.targets).toEqual([expect.objectContaining({ result: 'halted', rolloutPercentage: 20 })]);
    expect(storeCalls(harness.simulator)).toEqual([
      `POST applications/${SAMPLE_APP_ID}/submissions/${SAMPLE_PUBLISHED_SUBMISSION_ID}/haltpackagerollout 503`,
      `GET applications/${SAMPLE_APP_ID} 200`,
      `GET applications/${SAMPLE_APP_ID}/submissions/${SAMPLE_PUBLISHED_SUBMISSION_ID}/packagerollout 200`,
      `POST applications/${SAMPLE_APP_ID}/submissions/${SAMPLE_PUBLISHED_SUBMISSION_ID}/haltpackagerollout 200`,
    ]);
    expect(harness.simulator.control.effectiveHalts).toBe(1);
  });

  it('a dry run reads first, whatever is remembered, and remembers what it found', async () => {
    const { harness, tableName } = await start({ apps: MAIN_ONLY, env: { DRY_RUN: 'true' } }, [
      remembered(SAMPLE_PUBLISHED_SUBMISSION_ID, 7),
    ]);
    const { result } = await harness.invoke(loadEventFixture('eventbridge-alarm'));
    expect(result?.targets).toEqual([
      expect.objectContaining({ result: 'would-halt', rolloutPercentage: 20 }),
    ]);
    expect(storeCalls(harness.simulator)).toEqual([
      `GET applications/${SAMPLE_APP_ID} 200`,
      `GET applications/${SAMPLE_APP_ID}/submissions/${SAMPLE_PUBLISHED_SUBMISSION_ID}/packagerollout 200`,
    ]);
    expect(harness.simulator.control.effectiveHalts).toBe(0);
    expect(await memoryContents(dynamo, tableName)).toEqual([
      `${SAMPLE_APP_ID} main -> ${SAMPLE_PUBLISHED_SUBMISSION_ID}@20`,
    ]);
  });

  it('remembered main rollout and listed flight: two POSTs; a flight not remembered is looked up', async () => {
    const apps = [{ ...MAIN_ONLY[0], flights: [SAMPLE_FLIGHT_ID] }];
    const { harness } = await start({ apps }, [
      remembered(SAMPLE_PUBLISHED_SUBMISSION_ID, 20),
      remembered(SAMPLE_FLIGHT_SUBMISSION_ID, 50, { flightId: SAMPLE_FLIGHT_ID }),
    ]);
    const { result } = await harness.invoke(loadEventFixture('eventbridge-alarm'));
    expect(
      result?.targets.map((target) => [target.flightId, target.result, target.rolloutPercentage]),
    ).toEqual([
      [undefined, 'halted', 20],
      [SAMPLE_FLIGHT_ID, 'halted', 50],
    ]);
    expect(storeCalls(harness.simulator).sort()).toEqual(
      [
        `POST applications/${SAMPLE_APP_ID}/flights/${SAMPLE_FLIGHT_ID}/submissions/${SAMPLE_FLIGHT_SUBMISSION_ID}/haltpackagerollout 200`,
        `POST applications/${SAMPLE_APP_ID}/submissions/${SAMPLE_PUBLISHED_SUBMISSION_ID}/haltpackagerollout 200`,
      ].sort(),
    );

    const onlyMain = await start({ apps }, [remembered(SAMPLE_PUBLISHED_SUBMISSION_ID, 20)]);
    const partial = await onlyMain.harness.invoke(loadEventFixture('eventbridge-alarm'));
    expect(partial.result?.targets.map((target) => [target.flightId, target.result])).toEqual([
      [undefined, 'halted'],
      [SAMPLE_FLIGHT_ID, 'halted'],
    ]);
    expect(storeCalls(onlyMain.harness.simulator)).toHaveLength(4);
  });

  describe('a 20-app storm', () => {
    const APPS = 20;
    const { targets: ids } = rollingApps(APPS, 'MM');
    const state = () => stateWith(...rollingApps(APPS, 'MM').apps);
    const apps = ids.map(({ applicationId }) => ({ applicationId, alarmNames: [SAMPLE_ALARM] }));

    // Without memory the same storm costs 60 (GET app, GET rollout, POST each): test/functions/commons/store/storm.test.ts.
    it('costs 20 Store requests with every rollout remembered', async () => {
      const warm = await start(
        { state: state(), apps },
        ids.map(({ applicationId, submissionId, fallback }) =>
          remembered(submissionId, 20, { applicationId, fallbackSubmissionId: fallback }),
        ),
      );
      const { result } = await warm.harness.invoke(loadEventFixture('eventbridge-alarm'));
      expect(result?.targets).toHaveLength(APPS);
      expect(result?.targets.every((target) => target.result === 'halted')).toBe(true);
      const calls = storeCalls(warm.harness.simulator);
      expect(calls).toHaveLength(APPS);
      expect(calls.every((call) => call.startsWith('POST') && call.endsWith('200'))).toBe(true);
    });
  });
});

describe('the rollout memory ignores entries it cannot trust', () => {
  it('an item filed under another app or target or with a malformed ID is not a remembered rollout', async () => {
    const { parseMemoryItem } = await import('../../../functions/commons/aws/rollout-memory.ts');
    const good = {
      pk: { S: `app#${SAMPLE_APP_ID}` },
      sk: { S: 'main' },
      applicationId: { S: SAMPLE_APP_ID },
      submissionId: { S: SAMPLE_PUBLISHED_SUBMISSION_ID },
      rolloutPercentage: { N: '20' },
      fallbackSubmissionId: { S: SAMPLE_FALLBACK_SUBMISSION_ID },
      seenAt: { S: SEEN_AT },
    };
    expect(parseMemoryItem(good)).toEqual(remembered(SAMPLE_PUBLISHED_SUBMISSION_ID, 20));
    expect(parseMemoryItem({ ...good, sk: { S: `flight#${SAMPLE_FLIGHT_ID}` } })).toBeUndefined();
    expect(parseMemoryItem({ ...good, pk: { S: 'app#9WZDNCRFJ3TJ' } })).toBeUndefined();
    expect(parseMemoryItem({ ...good, submissionId: { S: '../../x' } })).toBeUndefined();
    expect(parseMemoryItem({ ...good, rolloutPercentage: { N: '101' } })).toBeUndefined();
    expect(parseMemoryItem({ ...good, flightId: { S: 'not-a-guid' } })).toBeUndefined();
    expect(
      parseMemoryItem({
        ...good,
        sk: { S: `flight#${SAMPLE_FLIGHT_ID}` },
        flightId: { S: SAMPLE_FLIGHT_ID.toUpperCase() },
      }),
    ).toEqual(remembered(SAMPLE_PUBLISHED_SUBMISSION_ID, 20, { flightId: SAMPLE_FLIGHT_ID.toUpperCase() }));
  });
});
