import { describe, expect, it } from 'vitest';
import type { RolloutLookup } from '../../../../functions/commons/domain/ports.ts';
import { BadInputError, DeadlineExceededError, StoreApiError } from '../../../../functions/commons/errors.ts';
import { createDeadline } from '../../../../functions/commons/http/deadline.ts';
import {
  app,
  publishedSubmission,
  rollout,
  SAMPLE_APP_ID,
  SAMPLE_FALLBACK_SUBMISSION_ID,
  SAMPLE_FLIGHT_FALLBACK_SUBMISSION_ID,
  SAMPLE_FLIGHT_ID,
  SAMPLE_FLIGHT_SUBMISSION_ID,
  SAMPLE_PENDING_SUBMISSION_ID,
  SAMPLE_PUBLISHED_SUBMISSION_ID,
  SAMPLE_QUIET_SUBMISSION_ID,
  stateWith,
} from '../../../../tools/store-simulator/sample-state.ts';
import type { RunningSimulator } from '../../../../tools/store-simulator/types.ts';
import { connect, rejectionOf, roomySignal, startSimulator, storeCalls } from './support.ts';

type InProgress = Extract<RolloutLookup, { state: 'in-progress' }>;

const LIVE = rollout('PackageRolloutInProgress', 20, SAMPLE_FALLBACK_SUBMISSION_ID);
const STOPPED = rollout('PackageRolloutStopped', 0, SAMPLE_FALLBACK_SUBMISSION_ID);
const mainRef = { applicationId: SAMPLE_APP_ID, submissionId: SAMPLE_PUBLISHED_SUBMISSION_ID };
const halt = `POST applications/${SAMPLE_APP_ID}/submissions/${SAMPLE_PUBLISHED_SUBMISSION_ID}/haltpackagerollout`;
const read = `GET applications/${SAMPLE_APP_ID}/submissions/${SAMPLE_PUBLISHED_SUBMISSION_ID}/packagerollout`;

/** Finds the sample app's live main rollout, then forgets the requests that took. */
async function findMain(
  simulator: RunningSimulator,
  access: ReturnType<typeof connect>,
): Promise<InProgress> {
  const [main] = await access.rolloutPort.findLiveRollouts(
    { applicationId: SAMPLE_APP_ID, flights: undefined },
    roomySignal(),
  );
  if (main?.state !== 'in-progress')
    throw new Error(`expected the live rollout, got ${JSON.stringify(main)}`);
  simulator.control.clearRequests();
  return main;
}

describe('haltRollout', () => {
  it('halts the live rollout and reports the percentage that was live', async () => {
    const simulator = await startSimulator();
    const access = connect(simulator);
    const found = await findMain(simulator, access);

    const outcome = await access.rolloutPort.haltRollout(found, roomySignal());

    expect(outcome).toEqual({ result: 'halted', ref: mainRef, rollout: LIVE });
    expect(simulator.control.rollout(SAMPLE_APP_ID, SAMPLE_PUBLISHED_SUBMISSION_ID)).toEqual(STOPPED);
    expect(simulator.control.effectiveHalts).toBe(1);
    expect(storeCalls(simulator)).toEqual([halt]);
  });

  it('halts the last published submission and leaves the pending one alone', async () => {
    const simulator = await startSimulator();
    const access = connect(simulator);
    const pendingBefore = simulator.control.rollout(SAMPLE_APP_ID, SAMPLE_PENDING_SUBMISSION_ID);

    await access.rolloutPort.haltRollout(await findMain(simulator, access), roomySignal());

    expect(
      simulator.control.rollout(SAMPLE_APP_ID, SAMPLE_PUBLISHED_SUBMISSION_ID).packageRolloutStatus,
    ).toBe('PackageRolloutStopped');
    expect(simulator.control.rollout(SAMPLE_APP_ID, SAMPLE_PENDING_SUBMISSION_ID)).toEqual(pendingBefore);
  });

  it("halts a flight's rollout through the flight endpoint", async () => {
    const simulator = await startSimulator();
    const access = connect(simulator);
    const lookups = await access.rolloutPort.findLiveRollouts(
      { applicationId: SAMPLE_APP_ID, flights: [SAMPLE_FLIGHT_ID] },
      roomySignal(),
    );
    const flightLookup = lookups[1];
    if (flightLookup?.state !== 'in-progress') throw new Error('expected the flight rollout');

    const outcome = await access.rolloutPort.haltRollout(flightLookup, roomySignal());

    expect(outcome).toMatchObject({
      result: 'halted',
      ref: { flightId: SAMPLE_FLIGHT_ID, submissionId: SAMPLE_FLIGHT_SUBMISSION_ID },
      rollout: { packageRolloutPercentage: 50 },
    });
    expect(simulator.control.rollout(SAMPLE_APP_ID, SAMPLE_FLIGHT_SUBMISSION_ID, SAMPLE_FLIGHT_ID)).toEqual(
      rollout('PackageRolloutStopped', 0, SAMPLE_FLIGHT_FALLBACK_SUBMISSION_ID),
    );
    expect(simulator.control.rollout(SAMPLE_APP_ID, SAMPLE_PUBLISHED_SUBMISSION_ID)).toEqual(LIVE);
  });

  it('reports already-halted when someone halted it in the meantime (409, then a read)', async () => {
    const simulator = await startSimulator();
    const access = connect(simulator);
    const found = await findMain(simulator, access);
    await connect(simulator).client.haltPackageRollout(mainRef, roomySignal());
    simulator.control.clearRequests();

    const outcome = await access.rolloutPort.haltRollout(found, roomySignal());

    expect(outcome).toEqual({ result: 'already-halted', ref: mainRef, rollout: STOPPED });
    expect(storeCalls(simulator)).toEqual([halt, read]);
    expect(simulator.control.effectiveHalts).toBe(1);
  });

  it('halts exactly once when the same alarm is delivered twice at the same time', async () => {
    const simulator = await startSimulator();
    const access = connect(simulator);
    const found = await findMain(simulator, access);

    const outcomes = await Promise.all([
      access.rolloutPort.haltRollout(found, roomySignal()),
      access.rolloutPort.haltRollout(found, roomySignal()),
    ]);

    expect(outcomes.map((outcome) => outcome.result).sort()).toEqual(['already-halted', 'halted']);
    expect(simulator.control.effectiveHalts).toBe(1);
  });

  it('reports no-active-rollout when the rollout was finalized in the meantime', async () => {
    const simulator = await startSimulator({
      state: stateWith(app('APPTEST00001', [publishedSubmission('1152921504621240001', 40)])),
    });
    const access = connect(simulator);
    const found: InProgress = {
      state: 'in-progress',
      ref: { applicationId: 'APPTEST00001', submissionId: '1152921504621240001' },
      rollout: rollout('PackageRolloutInProgress', 40, SAMPLE_FALLBACK_SUBMISSION_ID),
    };
    simulator.control.failNext({
      status: 409,
      match: { kind: 'store', method: 'POST' },
      body: { code: 'InvalidState', message: 'The submission is not in a valid state.' },
    });
    // The read after the 409 sees a finalized rollout.
    simulator.control.failNext({
      status: 200,
      match: { method: 'GET', path: 'packagerollout' },
      body: rollout('PackageRolloutComplete', 100, SAMPLE_FALLBACK_SUBMISSION_ID),
    });

    const outcome = await access.rolloutPort.haltRollout(found, roomySignal());

    expect(outcome).toMatchObject({
      result: 'no-active-rollout',
      rollout: { packageRolloutStatus: 'PackageRolloutComplete' },
    });
    expect(simulator.control.effectiveHalts).toBe(0);
  });

  it("throws the Store's 409 for a submission of another app, after one read and no second POST", async () => {
    const simulator = await startSimulator();
    const access = connect(simulator);
    const foreign: InProgress = {
      state: 'in-progress',
      ref: { applicationId: SAMPLE_APP_ID, submissionId: SAMPLE_QUIET_SUBMISSION_ID },
      rollout: LIVE,
    };

    const error = await rejectionOf(access.rolloutPort.haltRollout(foreign, roomySignal()));

    expect(error).toBeInstanceOf(StoreApiError);
    expect(error).toMatchObject({
      code: 'STORE_CONFLICT',
      status: 409,
      storeCode: 'InvalidState',
      storeMessage: expect.stringContaining('does not belong to the specified application'),
      request: `POST applications/${SAMPLE_APP_ID}/submissions/${SAMPLE_QUIET_SUBMISSION_ID}/haltpackagerollout`,
    });
    expect(storeCalls(simulator).filter((call) => call.startsWith('POST'))).toHaveLength(1);
  });

  it('throws the unsupported-feature 409 with its message', async () => {
    const simulator = await startSimulator({
      state: stateWith(
        app('APPTEST00001', [publishedSubmission('1152921504621240001', 40)], { unsupportedFeature: true }),
      ),
    });
    const access = connect(simulator);
    const found: InProgress = {
      state: 'in-progress',
      ref: { applicationId: 'APPTEST00001', submissionId: '1152921504621240001' },
      rollout: LIVE,
    };

    const error = await rejectionOf(access.rolloutPort.haltRollout(found, roomySignal()));

    expect(error).toMatchObject({
      code: 'STORE_CONFLICT',
      storeMessage: expect.stringContaining('not supported'),
    });
  });

  it('throws STORE_NOT_FOUND for a submission that does not exist', async () => {
    const simulator = await startSimulator();
    const access = connect(simulator);
    const found: InProgress = {
      state: 'in-progress',
      ref: { applicationId: SAMPLE_APP_ID, submissionId: '42' },
      rollout: LIVE,
    };
    const error = await rejectionOf(access.rolloutPort.haltRollout(found, roomySignal()));
    expect(error).toMatchObject({ code: 'STORE_NOT_FOUND', status: 404, retryable: false });
    expect(storeCalls(simulator)).toHaveLength(1);
  });

  it('counts a halt that took effect but answered 503 as halted, after reading, with one effective halt', async () => {
    const simulator = await startSimulator();
    const access = connect(simulator);
    const found = await findMain(simulator, access);
    simulator.control.haltAppliesThen503();

    const outcome = await access.rolloutPort.haltRollout(found, roomySignal());

    expect(outcome).toEqual({ result: 'halted', ref: mainRef, rollout: LIVE });
    expect(storeCalls(simulator)).toEqual([halt, read]);
    expect(simulator.control.effectiveHalts).toBe(1);
  });

  it.each([
    [
      'a 503',
      (simulator: RunningSimulator) =>
        simulator.control.failNext({ status: 503, match: { kind: 'store', method: 'POST' } }),
    ],
    [
      'a reset connection',
      (simulator: RunningSimulator) =>
        simulator.control.resetNext({ match: { kind: 'store', method: 'POST' } }),
    ],
    [
      'no answer in time',
      (simulator: RunningSimulator) =>
        simulator.control.hangNext({ match: { kind: 'store', method: 'POST' } }),
    ],
    [
      'a 200 whose body is not a rollout',
      (simulator: RunningSimulator) =>
        simulator.control.failNext({
          status: 200,
          body: { unexpected: true },
          match: { kind: 'store', method: 'POST' },
        }),
    ],
  ])('after %s that did not take effect, reads the state, then halts once more', async (_label, inject) => {
    const simulator = await startSimulator();
    // Long enough for a normal answer on a loaded machine; the hanging halt never answers.
    const access = connect(simulator, { timeouts: { headersTimeoutMs: 1_500 } });
    const found = await findMain(simulator, access);
    inject(simulator);

    const outcome = await access.rolloutPort.haltRollout(found, roomySignal());

    expect(outcome).toEqual({ result: 'halted', ref: mainRef, rollout: LIVE });
    expect(storeCalls(simulator)).toEqual([halt, read, halt]);
    expect(simulator.control.effectiveHalts).toBe(1);
  });

  it('gives up after a bounded number of halts, always reading between two', async () => {
    const simulator = await startSimulator();
    const access = connect(simulator, { retry: { maxAttempts: 3 } });
    const found = await findMain(simulator, access);
    simulator.control.failNext({ status: 503, count: 100, match: { kind: 'store', method: 'POST' } });

    const error = await rejectionOf(access.rolloutPort.haltRollout(found, roomySignal()));

    expect(error).toMatchObject({ code: 'STORE_UNAVAILABLE', status: 503, retryable: true });
    expect(storeCalls(simulator)).toEqual([halt, read, halt, read, halt, read]);
  });

  it('sends the halt again after a 429 without reading: the Store did not act', async () => {
    const simulator = await startSimulator();
    const access = connect(simulator);
    const found = await findMain(simulator, access);
    simulator.control.failNext({ status: 429, retryAfter: '0', match: { kind: 'store', method: 'POST' } });

    const outcome = await access.rolloutPort.haltRollout(found, roomySignal());

    expect(outcome.result).toBe('halted');
    expect(simulator.control.requests.filter((r) => r.kind === 'store').map((r) => r.status)).toEqual([
      429, 200,
    ]);
  });

  it('stops at the deadline when the halt hangs', async () => {
    const simulator = await startSimulator();
    const access = connect(simulator);
    const found = await findMain(simulator, access);
    simulator.control.hangNext({ match: { kind: 'store', method: 'POST' } });
    const started = Date.now();

    const error = await rejectionOf(
      access.rolloutPort.haltRollout(found, createDeadline({ timeoutMs: 400 })),
    );

    expect(error).toBeInstanceOf(DeadlineExceededError);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(simulator.control.rollout(SAMPLE_APP_ID, SAMPLE_PUBLISHED_SUBMISSION_ID)).toEqual(LIVE);
  });

  it('rejects a malformed reference before any request', async () => {
    const simulator = await startSimulator();
    const access = connect(simulator);
    const found: InProgress = {
      state: 'in-progress',
      ref: { applicationId: SAMPLE_APP_ID, submissionId: '1/../../other' },
      rollout: LIVE,
    };
    const error = await rejectionOf(access.rolloutPort.haltRollout(found, roomySignal()));
    expect(error).toBeInstanceOf(BadInputError);
    expect(simulator.control.requests).toHaveLength(0);
  });
});
