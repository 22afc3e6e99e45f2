import { describe, expect, it } from 'vitest';
import { BadInputError, DeadlineExceededError, StoreApiError } from '../../../../functions/commons/errors.ts';
import { createDeadline } from '../../../../functions/commons/http/deadline.ts';
import {
  SAMPLE_APP_ID,
  SAMPLE_FLIGHT_ID,
  SAMPLE_PUBLISHED_SUBMISSION_ID,
} from '../../../../tools/store-simulator/sample-state.ts';
import {
  connect,
  recordingSleep,
  rejectionOf,
  roomySignal,
  startSimulator,
  storeCalls,
  tokenRequests,
} from './support.ts';

const ref = { applicationId: SAMPLE_APP_ID, submissionId: SAMPLE_PUBLISHED_SUBMISSION_ID };
const appPath = `/v1.0/my/applications/${SAMPLE_APP_ID}`;

function statuses(simulator: Awaited<ReturnType<typeof startSimulator>>): (number | undefined)[] {
  return simulator.control.requests
    .filter((request) => request.kind === 'store')
    .map((request) => request.status);
}

describe('Store client: retries', () => {
  it('waits the Retry-After seconds of a 429, then succeeds', async () => {
    const simulator = await startSimulator();
    simulator.control.failNext({ status: 429, retryAfter: '2', match: { kind: 'store' } });
    const sleep = recordingSleep();
    const { client } = connect(simulator, { environment: { sleep } });

    const app = await client.getApplication(SAMPLE_APP_ID, roomySignal());

    expect(app.id).toBe(SAMPLE_APP_ID);
    expect(sleep.calls).toEqual([2_000]);
    expect(statuses(simulator)).toEqual([429, 200]);
  });

  it('waits until the HTTP date of a 429 Retry-After, then succeeds', async () => {
    const simulator = await startSimulator();
    // Five seconds ahead, whole seconds (an HTTP date drops the milliseconds): at least four remain when
    // the 429 arrives, unless the machine stalls for two.
    const retryAt = new Date(Date.now() + 5_000).toUTCString();
    simulator.control.failNext({ status: 429, retryAfter: retryAt, match: { kind: 'store' } });
    const sleep = recordingSleep();
    const { client } = connect(simulator, { environment: { sleep } });

    await client.getPackageRollout(ref, roomySignal());

    expect(sleep.calls).toHaveLength(1);
    expect(sleep.calls[0]).toBeGreaterThan(2_000);
    expect(sleep.calls[0]).toBeLessThanOrEqual(5_000);
    expect(statuses(simulator)).toEqual([429, 200]);
  });

  it('falls back to the 429 message\'s "Try again in N seconds" without a Retry-After header', async () => {
    const simulator = await startSimulator();
    simulator.control.failNext({
      status: 429,
      match: { kind: 'store' },
      body: { statusCode: 429, message: 'Rate limit is exceeded. Try again in 7 seconds.' },
    });
    const sleep = recordingSleep();
    const { client } = connect(simulator, { environment: { sleep } });

    await client.getApplication(SAMPLE_APP_ID, roomySignal());

    expect(sleep.calls).toEqual([7_000]);
  });

  it('gives up with STORE_THROTTLED when Retry-After would pass the deadline', async () => {
    const simulator = await startSimulator();
    simulator.control.failNext({ status: 429, retryAfter: '30', match: { kind: 'store' } });
    const { client } = connect(simulator);

    const error = await rejectionOf(
      client.getApplication(SAMPLE_APP_ID, createDeadline({ timeoutMs: 5_000 })),
    );

    expect(error).toMatchObject({ code: 'STORE_THROTTLED', status: 429, retryable: true, storeCode: '429' });
    expect(statuses(simulator)).toEqual([429]);
  });

  it('retries a 5xx on a read, then succeeds', async () => {
    const simulator = await startSimulator();
    simulator.control.failNext({ status: 503, count: 2, match: { kind: 'store' } });
    const { client } = connect(simulator);

    const rollout = await client.getPackageRollout(ref, roomySignal());

    expect(rollout.packageRolloutStatus).toBe('PackageRolloutInProgress');
    expect(statuses(simulator)).toEqual([503, 503, 200]);
  });

  it('retries a reset connection on a read', async () => {
    const simulator = await startSimulator();
    simulator.control.resetNext({ match: { kind: 'store' } });
    const { client } = connect(simulator);
    await client.getApplication(SAMPLE_APP_ID, roomySignal());
    expect(storeCalls(simulator)).toHaveLength(2);
  });

  it('stops after the configured number of attempts with STORE_UNAVAILABLE', async () => {
    const simulator = await startSimulator();
    simulator.control.failNext({ status: 500, count: 10, match: { kind: 'store' } });
    const { client } = connect(simulator, { retry: { maxAttempts: 3 } });

    const error = await rejectionOf(client.getApplication(SAMPLE_APP_ID, roomySignal()));

    expect(error).toBeInstanceOf(StoreApiError);
    expect(error).toMatchObject({
      code: 'STORE_UNAVAILABLE',
      status: 500,
      retryable: true,
      request: `GET applications/${SAMPLE_APP_ID}`,
      correlationId: expect.stringMatching(/^[0-9a-f-]{36}$/),
    });
    expect(statuses(simulator)).toEqual([500, 500, 500]);
  });

  it('never retries a non-retryable 4xx', async () => {
    const simulator = await startSimulator();
    const { client } = connect(simulator);
    const error = await rejectionOf(
      client.getFlight(SAMPLE_APP_ID, '00000000-0000-4000-8000-00000000dead', roomySignal()),
    );
    expect(error).toMatchObject({ code: 'STORE_NOT_FOUND', retryable: false });
    expect(storeCalls(simulator)).toHaveLength(1);
  });

  it('never retries a POST that answered 503 (it may have taken effect)', async () => {
    const simulator = await startSimulator();
    const { client } = connect(simulator);
    await client.getApplication(SAMPLE_APP_ID, roomySignal()); // token cached: the fault hits the halt
    simulator.control.failNext({ status: 503, match: { kind: 'store', method: 'POST' } });

    const error = await rejectionOf(client.haltPackageRollout(ref, roomySignal()));

    expect(error).toMatchObject({ code: 'STORE_UNAVAILABLE', retryable: true });
    expect(storeCalls(simulator).filter((call) => call.startsWith('POST'))).toHaveLength(1);
  });
});

describe('Store client: tokens', () => {
  it('renews an expired token once and repeats the call once', async () => {
    const simulator = await startSimulator();
    const { client } = connect(simulator);
    await client.getApplication(SAMPLE_APP_ID, roomySignal());
    simulator.control.expireAllTokens();
    simulator.control.clearRequests();

    const rollout = await client.getPackageRollout(ref, roomySignal());

    expect(rollout.packageRolloutPercentage).toBe(20);
    expect(simulator.control.requests.map((request) => `${request.kind} ${request.status}`)).toEqual([
      'store 401',
      'token 200',
      'store 200',
    ]);
  });

  it('renews a token for a halt too, and halts once', async () => {
    const simulator = await startSimulator();
    const { client } = connect(simulator);
    await client.getApplication(SAMPLE_APP_ID, roomySignal());
    simulator.control.expireAllTokens();

    const rollout = await client.haltPackageRollout(ref, roomySignal());

    expect(rollout.packageRolloutStatus).toBe('PackageRolloutStopped');
    expect(simulator.control.effectiveHalts).toBe(1);
  });

  it('fails with STORE_UNAUTHORIZED when the renewed token is refused too, without looping', async () => {
    const simulator = await startSimulator();
    simulator.control.failNext({ status: 401, count: 5, match: { kind: 'store' } });
    const { client } = connect(simulator);

    const error = await rejectionOf(client.getApplication(SAMPLE_APP_ID, roomySignal()));

    expect(error).toMatchObject({
      code: 'STORE_UNAUTHORIZED',
      status: 401,
      retryable: false,
      storeMessage: 'APIM: Unauthorized. Access token is missing or invalid.',
    });
    expect(storeCalls(simulator)).toHaveLength(2);
    expect(tokenRequests(simulator)).toHaveLength(2);
  });
});

describe('Store client: deadline and timeouts', () => {
  it('aborts a hanging request at the deadline with DeadlineExceededError', async () => {
    const simulator = await startSimulator();
    simulator.control.hangNext({ count: 10, match: { kind: 'store' } });
    const { client } = connect(simulator);
    const started = Date.now();

    const error = await rejectionOf(client.getApplication(SAMPLE_APP_ID, createDeadline({ timeoutMs: 400 })));

    expect(error).toBeInstanceOf(DeadlineExceededError);
    expect(error).toMatchObject({
      code: 'DEADLINE_EXCEEDED',
      message: expect.stringContaining(`GET applications/${SAMPLE_APP_ID}`),
    });
    expect(Date.now() - started).toBeGreaterThanOrEqual(350);
    expect(Date.now() - started).toBeLessThan(3_000);
  });

  it('times out a hanging read with STORE_TIMEOUT and retries it', async () => {
    const simulator = await startSimulator();
    simulator.control.hangNext({ match: { kind: 'store' } });
    const { client } = connect(simulator, { timeouts: { headersTimeoutMs: 250 } });

    const app = await client.getApplication(SAMPLE_APP_ID, roomySignal());

    expect(app.id).toBe(SAMPLE_APP_ID);
    expect(statuses(simulator)).toEqual([undefined, 200]);
  });

  it('reports STORE_TIMEOUT when every attempt times out', async () => {
    const simulator = await startSimulator();
    simulator.control.hangNext({ count: 10, match: { kind: 'store' } });
    const { client } = connect(simulator, { timeouts: { headersTimeoutMs: 200 }, retry: { maxAttempts: 2 } });

    const error = await rejectionOf(client.getApplication(SAMPLE_APP_ID, roomySignal()));

    expect(error).toMatchObject({
      code: 'STORE_TIMEOUT',
      retryable: true,
      request: `GET applications/${SAMPLE_APP_ID}`,
    });
  });
});

describe('Store client: the tenant budget', () => {
  it('spreads a burst larger than the budget instead of provoking 429s', async () => {
    const budget = { limit: 3, windowMs: 1_000 };
    const simulator = await startSimulator({ throttle: budget });
    // A margin of half a window: the burst's new connections on a loaded machine may take a few hundred
    // ms from the budget's grant to the simulator.
    const { client, tokenProvider } = connect(simulator, { throttle: { ...budget, marginMs: 500 } });
    await tokenProvider.getToken(roomySignal());
    const started = Date.now();

    const rollouts = await Promise.all(
      Array.from({ length: 7 }, () => client.getPackageRollout(ref, roomySignal())),
    );

    expect(rollouts).toHaveLength(7);
    expect(statuses(simulator)).toEqual(Array(7).fill(200));
    // Seven requests at three a second need two more windows.
    expect(Date.now() - started).toBeGreaterThanOrEqual(2_000);
  });

  it('would have met 429s from the same burst without the budget (the control case)', async () => {
    const budget = { limit: 3, windowMs: 1_000 };
    const simulator = await startSimulator({ throttle: budget });
    const { client, tokenProvider } = connect(simulator, { retry: { maxAttempts: 1 } });
    await tokenProvider.getToken(roomySignal());

    const results = await Promise.allSettled(
      Array.from({ length: 7 }, () => client.getPackageRollout(ref, roomySignal())),
    );

    expect(results.filter((result) => result.status === 'rejected')).toHaveLength(4);
    expect(statuses(simulator).filter((status) => status === 429)).toHaveLength(4);
  });

  it('fails with a retryable STORE_BUDGET_EXHAUSTED when no slot frees up before the deadline', async () => {
    const simulator = await startSimulator();
    const { client, tokenProvider } = connect(simulator, { throttle: { limit: 1, windowMs: 60_000 } });
    await tokenProvider.getToken(roomySignal());
    await client.getApplication(SAMPLE_APP_ID, roomySignal());

    const error = await rejectionOf(client.getPackageRollout(ref, createDeadline({ timeoutMs: 2_000 })));

    expect(error).toMatchObject({ code: 'STORE_BUDGET_EXHAUSTED', retryable: true });
    expect(storeCalls(simulator)).toHaveLength(1);
  });
});

describe('Store client: input and output checks', () => {
  it.each([
    [
      'application ID',
      () => ({ applicationId: '9NBLGGH4R31/', submissionId: SAMPLE_PUBLISHED_SUBMISSION_ID }),
    ],
    ['submission ID', () => ({ applicationId: SAMPLE_APP_ID, submissionId: '1?x=1' })],
    ['flight ID', () => ({ applicationId: SAMPLE_APP_ID, flightId: '../flights', submissionId: '1' })],
  ])('rejects a malformed %s before any request, even for a halt', async (_label, makeRef) => {
    const simulator = await startSimulator();
    const { client } = connect(simulator);

    for (const call of [client.getPackageRollout, client.haltPackageRollout, client.getSubmission]) {
      expect(await rejectionOf(call(makeRef(), roomySignal()))).toBeInstanceOf(BadInputError);
    }
    expect(await rejectionOf(client.getFlight(SAMPLE_APP_ID, 'nope', roomySignal()))).toBeInstanceOf(
      BadInputError,
    );
    expect(simulator.control.requests).toHaveLength(0);
  });

  it('builds flight URLs from the IDs, not from the prefix-less resourceLocation', async () => {
    const simulator = await startSimulator();
    const { client } = connect(simulator);
    const flight = await client.getFlight(SAMPLE_APP_ID, SAMPLE_FLIGHT_ID, roomySignal());
    const submissionId = flight.lastPublishedFlightSubmission?.id ?? '';

    const submission = await client.getSubmission(
      { applicationId: SAMPLE_APP_ID, flightId: SAMPLE_FLIGHT_ID, submissionId },
      roomySignal(),
    );

    expect(flight.lastPublishedFlightSubmission?.resourceLocation).toMatch(/^flights\//);
    // A flight submission lists its packages as flightPackages (get-a-flight-submission.md).
    expect(submission).toEqual({
      id: submissionId,
      status: 'Published',
      flightPackages: [{ version: '1.5.0.0' }],
    });
    expect(storeCalls(simulator)[1]).toBe(
      `GET applications/${SAMPLE_APP_ID}/flights/${SAMPLE_FLIGHT_ID}/submissions/${submissionId}`,
    );
  });

  it('reports a rollout with an unknown status as STORE_BAD_RESPONSE naming the field', async () => {
    const simulator = await startSimulator();
    simulator.control.failNext({
      status: 200,
      match: { kind: 'store', path: 'packagerollout' },
      body: {
        isPackageRollout: true,
        packageRolloutPercentage: 20,
        packageRolloutStatus: 'Paused',
        fallbackSubmissionId: '1',
      },
    });
    const { client } = connect(simulator);

    const error = await rejectionOf(client.getPackageRollout(ref, roomySignal()));

    expect(error).toMatchObject({ code: 'STORE_BAD_RESPONSE', status: 200, retryable: false });
    expect(String(error)).toContain('packageRolloutStatus');
    expect(storeCalls(simulator)).toHaveLength(1);
  });

  it('reports an application without an id as STORE_BAD_RESPONSE naming the field', async () => {
    const simulator = await startSimulator();
    simulator.control.failNext({
      status: 200,
      match: { kind: 'store', path: appPath },
      body: { primaryName: 'x' },
    });
    const { client } = connect(simulator);
    const error = await rejectionOf(client.getApplication(SAMPLE_APP_ID, roomySignal()));
    expect(String(error)).toContain('unexpected body: id');
    expect(error).toMatchObject({ code: 'STORE_BAD_RESPONSE' });
  });
});
