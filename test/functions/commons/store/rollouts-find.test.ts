import { describe, expect, it } from 'vitest';
import type { RolloutLookup } from '../../../../functions/commons/domain/ports.ts';
import { BadInputError, StoreApiError } from '../../../../functions/commons/errors.ts';
import { createStoreClient } from '../../../../functions/commons/store/store-client.ts';
import {
  app,
  flight,
  noRollout,
  publishedSubmission,
  rollout,
  SAMPLE_APP_ID,
  SAMPLE_FALLBACK_SUBMISSION_ID,
  SAMPLE_FLIGHT_ID,
  SAMPLE_FLIGHT_SUBMISSION_ID,
  SAMPLE_PENDING_SUBMISSION_ID,
  SAMPLE_PUBLISHED_SUBMISSION_ID,
  SAMPLE_QUIET_APP_ID,
  stateWith,
  submission,
} from '../../../../tools/store-simulator/sample-state.ts';
import { collectError, connect, rejectionOf, roomySignal, startSimulator, storeCalls } from './support.ts';

const APP = 'APPTEST00001';
const LAST = '1152921504621240001';
const PENDING = '1152921504621240002';
const FALLBACK = '1152921504621240000';
const FLIGHT_A = 'aaaaaaaa-0000-4000-8000-000000000001';
const FLIGHT_B = 'bbbbbbbb-0000-4000-8000-000000000002';
const FLIGHT_A_SUB = '1152921504621240101';
const FLIGHT_B_SUB = '1152921504621240201';

function failedError(lookup: RolloutLookup | undefined): unknown {
  if (lookup?.state !== 'failed') throw new Error(`expected a failed lookup, got ${JSON.stringify(lookup)}`);
  return collectError(lookup.error);
}

describe('findLiveRollouts: the main rollout (on the last published submission)', () => {
  it('finds the in-progress rollout on the last published submission', async () => {
    const simulator = await startSimulator();
    const { rolloutPort } = connect(simulator);

    const lookups = await rolloutPort.findLiveRollouts(
      { applicationId: SAMPLE_APP_ID, flights: undefined },
      roomySignal(),
    );

    expect(lookups).toEqual([
      {
        state: 'in-progress',
        ref: { applicationId: SAMPLE_APP_ID, submissionId: SAMPLE_PUBLISHED_SUBMISSION_ID },
        rollout: rollout('PackageRolloutInProgress', 20, SAMPLE_FALLBACK_SUBMISSION_ID),
      },
    ]);
  });

  it('never looks at the pending submission beside a live last published one (the msstore-cli trap)', async () => {
    const simulator = await startSimulator();
    const { rolloutPort } = connect(simulator);

    await rolloutPort.findLiveRollouts({ applicationId: SAMPLE_APP_ID, flights: undefined }, roomySignal());

    expect(storeCalls(simulator)).toEqual([
      `GET applications/${SAMPLE_APP_ID}`,
      `GET applications/${SAMPLE_APP_ID}/submissions/${SAMPLE_PUBLISHED_SUBMISSION_ID}/packagerollout`,
    ]);
    expect(storeCalls(simulator).join()).not.toContain(SAMPLE_PENDING_SUBMISSION_ID);
  });

  it('takes a pending submission that is Published with its rollout in progress when the last published one is complete', async () => {
    const simulator = await startSimulator({
      state: stateWith(
        app(
          APP,
          [
            submission(LAST, 'Published', rollout('PackageRolloutComplete', 100, FALLBACK)),
            publishedSubmission(PENDING, 30, LAST),
          ],
          { pendingSubmissionId: PENDING },
        ),
      ),
    });
    const { rolloutPort } = connect(simulator);

    const [main] = await rolloutPort.findLiveRollouts(
      { applicationId: APP, flights: undefined },
      roomySignal(),
    );

    expect(main).toEqual({
      state: 'in-progress',
      ref: { applicationId: APP, submissionId: PENDING },
      rollout: rollout('PackageRolloutInProgress', 30, LAST),
    });
    expect(storeCalls(simulator)).toEqual([
      `GET applications/${APP}`,
      `GET applications/${APP}/submissions/${LAST}/packagerollout`,
      `GET applications/${APP}/submissions/${PENDING}`,
      `GET applications/${APP}/submissions/${PENDING}/packagerollout`,
    ]);
  });

  it('does not take a pending submission that is not Published, even with a rollout object', async () => {
    const simulator = await startSimulator({
      state: stateWith(
        app(
          APP,
          [
            submission(LAST, 'Published', rollout('PackageRolloutStopped', 0, FALLBACK)),
            submission(PENDING, 'Certification', rollout('PackageRolloutInProgress', 10, LAST)),
          ],
          { pendingSubmissionId: PENDING },
        ),
      ),
    });
    const { rolloutPort } = connect(simulator);

    const [main] = await rolloutPort.findLiveRollouts(
      { applicationId: APP, flights: undefined },
      roomySignal(),
    );

    expect(main).toEqual({
      state: 'stopped',
      ref: { applicationId: APP, submissionId: LAST },
      rollout: rollout('PackageRolloutStopped', 0, FALLBACK),
    });
    // The pending one's status was read; its rollout was not worth a request.
    expect(storeCalls(simulator)).not.toContain(
      `GET applications/${APP}/submissions/${PENDING}/packagerollout`,
    );
  });

  it.each([
    ['not started', rollout('PackageRolloutNotStarted', 10, FALLBACK), /has not started/],
    ['complete', rollout('PackageRolloutComplete', 100, FALLBACK), /is complete/],
    ['not a gradual rollout', noRollout(), /does not use a gradual rollout/],
  ])('reports no active rollout when it is %s', async (_label, packageRollout, reason) => {
    const simulator = await startSimulator({
      state: stateWith(app(APP, [submission(LAST, 'Published', packageRollout)])),
    });
    const { rolloutPort } = connect(simulator);

    const [main] = await rolloutPort.findLiveRollouts(
      { applicationId: APP, flights: undefined },
      roomySignal(),
    );

    expect(main).toEqual({
      state: 'none',
      applicationId: APP,
      submissionId: LAST,
      rollout: packageRollout,
      reason: expect.stringMatching(reason),
    });
  });

  it('reports an already stopped rollout as stopped', async () => {
    const simulator = await startSimulator({
      state: stateWith(
        app(APP, [submission(LAST, 'Published', rollout('PackageRolloutStopped', 0, FALLBACK))]),
      ),
    });
    const { rolloutPort } = connect(simulator);
    const [main] = await rolloutPort.findLiveRollouts(
      { applicationId: APP, flights: undefined },
      roomySignal(),
    );
    expect(main).toMatchObject({ state: 'stopped', ref: { submissionId: LAST } });
  });

  it('reports no active rollout for an app without any submission', async () => {
    const simulator = await startSimulator({ state: stateWith(app(APP, [])) });
    const { rolloutPort } = connect(simulator);
    const [main] = await rolloutPort.findLiveRollouts(
      { applicationId: APP, flights: undefined },
      roomySignal(),
    );
    expect(main).toEqual({
      state: 'none',
      applicationId: APP,
      reason: 'the app has no published submission',
    });
  });

  it('reports an unknown app as a failed target (STORE_NOT_FOUND), without rejecting', async () => {
    const simulator = await startSimulator();
    const { rolloutPort } = connect(simulator);
    const lookups = await rolloutPort.findLiveRollouts(
      { applicationId: 'ZZZZZZZZZZZZ', flights: 'all' },
      roomySignal(),
    );

    expect(lookups[0]).toMatchObject({ state: 'failed', applicationId: 'ZZZZZZZZZZZZ' });
    expect(failedError(lookups[0])).toMatchObject({
      code: 'STORE_NOT_FOUND',
      status: 404,
      storeCode: 'ResourceNotFound',
    });
  });

  it("reports an app with unsupported features as failed with the Store's message (409)", async () => {
    const simulator = await startSimulator({
      state: stateWith(app(APP, [publishedSubmission(LAST, 20)], { unsupportedFeature: true })),
    });
    const { rolloutPort } = connect(simulator);
    const [main] = await rolloutPort.findLiveRollouts(
      { applicationId: APP, flights: undefined },
      roomySignal(),
    );

    const error = failedError(main);
    expect(error).toBeInstanceOf(StoreApiError);
    expect(error).toMatchObject({ code: 'STORE_CONFLICT', status: 409, storeCode: 'InvalidState' });
    expect(String(error)).toContain('features that are not supported by the submission API');
  });
});

describe('findLiveRollouts: package flights', () => {
  function appWithTwoFlights() {
    return stateWith(
      app(APP, [publishedSubmission(LAST, 20, FALLBACK)], {
        flights: [
          flight(FLIGHT_A, 'Insiders', [publishedSubmission(FLIGHT_A_SUB, 50)]),
          flight(FLIGHT_B, 'Beta', [
            submission(FLIGHT_B_SUB, 'Published', rollout('PackageRolloutComplete', 100, '0')),
          ]),
        ],
      }),
    );
  }

  it('examines every flight with "all", main first, following @nextLink pages', async () => {
    const simulator = await startSimulator({ state: appWithTwoFlights() });
    const { rolloutPort } = connect(simulator);

    const lookups = await rolloutPort.findLiveRollouts({ applicationId: APP, flights: 'all' }, roomySignal());

    expect(lookups.map((lookup) => lookup.state)).toEqual(['in-progress', 'in-progress', 'none']);
    expect(lookups[1]).toMatchObject({
      ref: { applicationId: APP, flightId: FLIGHT_A, submissionId: FLIGHT_A_SUB },
    });
    expect(lookups[2]).toMatchObject({ applicationId: APP, flightId: FLIGHT_B, submissionId: FLIGHT_B_SUB });
    expect(storeCalls(simulator)).toContain(
      `GET applications/${APP}/flights/${FLIGHT_A}/submissions/${FLIGHT_A_SUB}/packagerollout`,
    );
  });

  it('examines a flight the listing repeats (pages shifting under it) only once', async () => {
    const repeated = flight(FLIGHT_A, 'Insiders', [publishedSubmission(FLIGHT_A_SUB, 50)]);
    const state = stateWith(
      app(APP, [publishedSubmission(LAST, 20, FALLBACK)], { flights: [repeated, { ...repeated }] }),
    );
    const simulator = await startSimulator({ state });
    const { rolloutPort } = connect(simulator);

    const lookups = await rolloutPort.findLiveRollouts({ applicationId: APP, flights: 'all' }, roomySignal());

    expect(lookups.map((lookup) => lookup.state)).toEqual(['in-progress', 'in-progress']);
    expect(
      storeCalls(simulator).filter((call) =>
        call.endsWith(`/flights/${FLIGHT_A}/submissions/${FLIGHT_A_SUB}/packagerollout`),
      ),
    ).toHaveLength(1);
  });

  it('follows @nextLink when the flights span several pages', async () => {
    const simulator = await startSimulator({ state: appWithTwoFlights() });
    const access = connect(simulator);
    const client = createStoreClient({
      baseUrl: simulator.storeBaseUrl,
      dispatcher: access.dispatcher,
      tokenProvider: access.tokenProvider,
      flightPageSize: 1,
    });

    const flights = await client.listFlights(APP, roomySignal());

    expect(flights.map((listed) => listed.flightId)).toEqual([FLIGHT_A, FLIGHT_B]);
    expect(
      simulator.control.requests
        .filter((request) => request.path.endsWith('/listflights'))
        .map((r) => r.query),
    ).toEqual(['?top=1&skip=0', '?top=1&skip=1']);
  });

  it('reads only the listed flights, by ID', async () => {
    const simulator = await startSimulator({ state: appWithTwoFlights() });
    const { rolloutPort } = connect(simulator);

    const lookups = await rolloutPort.findLiveRollouts(
      { applicationId: APP, flights: [FLIGHT_B] },
      roomySignal(),
    );

    expect(lookups.map((lookup) => lookup.state)).toEqual(['in-progress', 'none']);
    expect(storeCalls(simulator)).toContain(`GET applications/${APP}/flights/${FLIGHT_B}`);
    expect(
      storeCalls(simulator).some((call) => call.includes('listflights') || call.includes(FLIGHT_A)),
    ).toBe(false);
  });

  it('looks at no flight when none are watched', async () => {
    const simulator = await startSimulator({ state: appWithTwoFlights() });
    const { rolloutPort } = connect(simulator);
    const lookups = await rolloutPort.findLiveRollouts(
      { applicationId: APP, flights: undefined },
      roomySignal(),
    );
    expect(lookups).toHaveLength(1);
    expect(storeCalls(simulator).some((call) => call.includes('flights'))).toBe(false);
  });

  it('has only the main rollout when "all" meets an app without flights (404 on listflights)', async () => {
    const simulator = await startSimulator();
    const { rolloutPort } = connect(simulator);
    const lookups = await rolloutPort.findLiveRollouts(
      { applicationId: SAMPLE_QUIET_APP_ID, flights: 'all' },
      roomySignal(),
    );
    expect(lookups).toEqual([expect.objectContaining({ state: 'none', applicationId: SAMPLE_QUIET_APP_ID })]);
    expect(storeCalls(simulator)).toContain(`GET applications/${SAMPLE_QUIET_APP_ID}/listflights`);
  });

  it('turns a failed flight listing into one failed target for the app, keeping the main result', async () => {
    const simulator = await startSimulator();
    simulator.control.failNext({ status: 503, count: 10, match: { path: 'listflights' } });
    const { rolloutPort } = connect(simulator, { retry: { maxAttempts: 2 } });

    const lookups = await rolloutPort.findLiveRollouts(
      { applicationId: SAMPLE_APP_ID, flights: 'all' },
      roomySignal(),
    );

    expect(lookups.map((lookup) => lookup.state)).toEqual(['in-progress', 'failed']);
    expect(lookups[1]).not.toHaveProperty('flightId');
    const error = failedError(lookups[1]);
    expect(error).toMatchObject({ code: 'STORE_UNAVAILABLE', status: 503, retryable: true });
    expect(String(error)).toContain(`the package flights of ${SAMPLE_APP_ID} could not be listed`);
  });

  it('reports a listed flight that does not exist as a failed target for that flight', async () => {
    const simulator = await startSimulator();
    const { rolloutPort } = connect(simulator);
    const missing = '00000000-dead-4000-8000-000000000000';

    const lookups = await rolloutPort.findLiveRollouts(
      { applicationId: SAMPLE_APP_ID, flights: [SAMPLE_FLIGHT_ID, missing] },
      roomySignal(),
    );

    expect(lookups.map((lookup) => lookup.state)).toEqual(['in-progress', 'in-progress', 'failed']);
    expect(lookups[1]).toMatchObject({
      ref: { flightId: SAMPLE_FLIGHT_ID, submissionId: SAMPLE_FLIGHT_SUBMISSION_ID },
    });
    expect(lookups[2]).toMatchObject({ flightId: missing });
    expect(failedError(lookups[2])).toMatchObject({ code: 'STORE_NOT_FOUND' });
  });
});

describe('findLiveRollouts: bad input', () => {
  it.each([
    ['a malformed application ID', { applicationId: '9nblggh4r315', flights: undefined }],
    ['a path in the application ID', { applicationId: '../../tenants', flights: undefined }],
    ['a malformed flight ID', { applicationId: SAMPLE_APP_ID, flights: ['not-a-guid/../x'] }],
  ])('rejects %s before any request', async (_label, request) => {
    const simulator = await startSimulator();
    const { rolloutPort } = connect(simulator);

    const error = await rejectionOf(rolloutPort.findLiveRollouts(request, roomySignal()));

    expect(error).toBeInstanceOf(BadInputError);
    expect(simulator.control.requests).toHaveLength(0);
  });
});
