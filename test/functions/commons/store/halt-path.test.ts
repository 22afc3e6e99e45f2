/**
 * The "Done when": with 50 ms of latency on every answer, a warm halt is exactly three
 * sequential Store round trips, and watching two flights as well adds no sequential step beyond the
 * flight listing. Proven from the simulator's record of requests (order and overlap), not from timing.
 */
import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import type { RolloutLookup, RolloutPort } from '../../../../functions/commons/domain/ports.ts';
import { createDeadline } from '../../../../functions/commons/http/deadline.ts';
import { createDispatcher } from '../../../../functions/commons/http/transport.ts';
import { createStoreAccess, type StoreAccess } from '../../../../functions/commons/store/store-access.ts';
import {
  app,
  flight,
  publishedSubmission,
  SAMPLE_APP_ID,
  SAMPLE_PUBLISHED_SUBMISSION_ID,
  SAMPLE_TENANT,
  sampleState,
} from '../../../../tools/store-simulator/sample-state.ts';
import type {
  RecordedRequest,
  RunningSimulator,
  SimulatorState,
} from '../../../../tools/store-simulator/types.ts';
import { overlap, sequentialDepth, startSimulator } from './support.ts';

/** Every answer waits this long: requests sent together overlap at the simulator even on a loaded machine. */
const LATENCY_MS = 300;
const accesses: StoreAccess[] = [];

afterEach(async () => {
  await Promise.all(accesses.splice(0).map((access) => access.dispatcher.destroy()));
});

/** A tenant of its own, so the process-wide budget of one test never slows another. */
function withOwnTenant(state: SimulatorState): { state: SimulatorState; tenant: typeof SAMPLE_TENANT } {
  const tenant = { ...SAMPLE_TENANT, tenantId: randomUUID() };
  return { state: { ...state, tenants: [tenant] }, tenant };
}

/** The production wiring (default budget and retries) pointed at the simulator. */
function wire(simulator: RunningSimulator, tenant: typeof SAMPLE_TENANT): StoreAccess {
  const access = createStoreAccess({
    baseUrl: simulator.storeBaseUrl,
    authority: simulator.authority,
    getCredentials: async () => tenant,
    dispatcher: createDispatcher(),
  });
  accesses.push(access);
  return access;
}

/** What the handler does: find, then halt every live rollout in parallel. */
async function haltEverything(
  port: RolloutPort,
  request: Parameters<RolloutPort['findLiveRollouts']>[0],
): Promise<string[]> {
  const signal = createDeadline({ timeoutMs: 20_000 });
  const lookups = await port.findLiveRollouts(request, signal);
  const live = lookups.filter(
    (lookup): lookup is Extract<RolloutLookup, { state: 'in-progress' }> => lookup.state === 'in-progress',
  );
  const outcomes = await Promise.all(live.map((found) => port.haltRollout(found, signal)));
  return outcomes.map((outcome) => outcome.result);
}

function describeRequest(request: RecordedRequest): string {
  return `${request.method} ${request.path.replace('/v1.0/my/', '')}`;
}

function find(
  requests: readonly RecordedRequest[],
  method: string,
  pathEnd: string | RegExp,
): RecordedRequest[] {
  return requests.filter(
    (request) =>
      request.method === method &&
      (typeof pathEnd === 'string' ? request.path.endsWith(pathEnd) : pathEnd.test(request.path)),
  );
}

describe('the halt path, round trip by round trip', () => {
  it('a warm halt is exactly three sequential Store round trips: GET application, GET packagerollout, POST halt', async () => {
    const { state, tenant } = withOwnTenant(sampleState());
    const simulator = await startSimulator({ state });
    const access = wire(simulator, tenant);
    await access.tokenProvider.getToken(createDeadline({ timeoutMs: 5_000 })); // warm: token cached
    simulator.control.setLatency(LATENCY_MS);
    simulator.control.clearRequests();

    const results = await haltEverything(access.rolloutPort, {
      applicationId: SAMPLE_APP_ID,
      flights: undefined,
    });

    const requests = simulator.control.requests;
    expect(results).toEqual(['halted']);
    expect(requests.map(describeRequest)).toEqual([
      `GET applications/${SAMPLE_APP_ID}`,
      `GET applications/${SAMPLE_APP_ID}/submissions/${SAMPLE_PUBLISHED_SUBMISSION_ID}/packagerollout`,
      `POST applications/${SAMPLE_APP_ID}/submissions/${SAMPLE_PUBLISHED_SUBMISSION_ID}/haltpackagerollout`,
    ]);
    requests.slice(1).forEach((request, index) => {
      const previous = requests[index];
      expect(previous?.endedAt).toBeDefined();
      expect(request.startedAt).toBeGreaterThanOrEqual(previous?.endedAt ?? Number.POSITIVE_INFINITY);
    });
    expect(sequentialDepth(requests)).toBe(3);
  });

  it('a cold halt adds only the token request in front', async () => {
    const { state, tenant } = withOwnTenant(sampleState());
    const simulator = await startSimulator({ state });
    const access = wire(simulator, tenant);
    simulator.control.setLatency(LATENCY_MS);

    await haltEverything(access.rolloutPort, { applicationId: SAMPLE_APP_ID, flights: undefined });

    const requests = simulator.control.requests;
    expect(requests.map((request) => request.kind)).toEqual(['token', 'store', 'store', 'store']);
    expect(sequentialDepth(requests)).toBe(4);
  });

  it('watching two flights as well ("all") overlaps their reads and halts with the main ones', async () => {
    const FLIGHT_A = 'aaaaaaaa-0000-4000-8000-000000000001';
    const FLIGHT_B = 'bbbbbbbb-0000-4000-8000-000000000002';
    const { state, tenant } = withOwnTenant({
      tenants: [],
      apps: [
        app(SAMPLE_APP_ID, [publishedSubmission(SAMPLE_PUBLISHED_SUBMISSION_ID, 20)], {
          flights: [
            flight(FLIGHT_A, 'Insiders', [publishedSubmission('1152921504621240101', 50)]),
            flight(FLIGHT_B, 'Beta', [publishedSubmission('1152921504621240201', 10)]),
          ],
        }),
      ],
    });
    const simulator = await startSimulator({ state });
    const access = wire(simulator, tenant);
    await access.tokenProvider.getToken(createDeadline({ timeoutMs: 5_000 }));
    simulator.control.setLatency(LATENCY_MS);
    simulator.control.clearRequests();

    const results = await haltEverything(access.rolloutPort, {
      applicationId: SAMPLE_APP_ID,
      flights: 'all',
    });

    const requests = simulator.control.requests;
    expect(results).toEqual(['halted', 'halted', 'halted']);
    expect(simulator.control.effectiveHalts).toBe(3);
    expect(requests).toHaveLength(8);

    const [getApp] = find(requests, 'GET', `/applications/${SAMPLE_APP_ID}`);
    const [listFlights] = find(requests, 'GET', '/listflights');
    const [mainRead] = find(requests, 'GET', `/submissions/${SAMPLE_PUBLISHED_SUBMISSION_ID}/packagerollout`);
    const flightReads = find(requests, 'GET', /\/flights\/.+\/packagerollout$/);
    const halts = find(requests, 'POST', '/haltpackagerollout');
    if (getApp === undefined || listFlights === undefined || mainRead === undefined) {
      throw new Error(`missing requests: ${requests.map(describeRequest).join(', ')}`);
    }
    // The listing runs beside GET application; each flight's read beside the main read; all halts together.
    expect(overlap(listFlights, getApp)).toBe(true);
    expect(flightReads).toHaveLength(2);
    for (const flightRead of flightReads) expect(overlap(flightRead, mainRead)).toBe(true);
    const [firstHalt, ...otherHalts] = halts;
    if (firstHalt === undefined) throw new Error('no halt was sent');
    expect(otherHalts).toHaveLength(2);
    for (const other of otherHalts) expect(overlap(other, firstHalt)).toBe(true);
    // So the whole path stays three sequential round trips deep (the listing adds at most one).
    expect(sequentialDepth(requests)).toBe(3);
  });
});
