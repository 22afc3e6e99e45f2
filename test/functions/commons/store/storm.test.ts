/**
 * An alarm storm (issue 5): 20 apps of one tenant alarm at once, against the simulator with its
 * per-tenant throttle on. The window is scaled from a minute to a second on both sides (the simulator
 * and the client budget), so 60 calls at 20 a window need about three seconds. Proven from the
 * simulator's record of requests (statuses and order), not from timing.
 */
import { randomUUID } from 'node:crypto';
import { afterEach, expect, it } from 'vitest';
import type { HaltOutcome, RolloutLookup } from '../../../../functions/commons/domain/ports.ts';
import { createDeadline } from '../../../../functions/commons/http/deadline.ts';
import { createDispatcher } from '../../../../functions/commons/http/transport.ts';
import { createStoreAccess, type StoreAccess } from '../../../../functions/commons/store/store-access.ts';
import {
  app,
  publishedSubmission,
  SAMPLE_TENANT,
  submission,
} from '../../../../tools/store-simulator/sample-state.ts';
import type { SimulatorState } from '../../../../tools/store-simulator/types.ts';
import { startSimulator, storeCalls } from './support.ts';

const APPS = 20;
/** The Store's 20 requests a minute, a minute scaled to a second. */
const THROTTLE = { limit: 20, windowMs: 1_000 };
/**
 * The client's margin between two requests a window apart. Deployed, 250 ms on a 60 s window covers the
 * network's jitter; scaled, the window shrinks but the jitter of a loaded machine (new connections, a
 * busy event loop: up to a few hundred ms seen) does not, so the margin is scaled up instead.
 */
const MARGIN_MS = 1_000;
/** The Store phase's deadline, scaled like the window (about ten windows). */
const DEADLINE_MS = 10_000;

const accesses: StoreAccess[] = [];
afterEach(async () => {
  await Promise.all(accesses.splice(0).map((access) => access.dispatcher.destroy()));
});

/** `APPS` apps of a tenant of their own (the budget is process-wide per tenant), each rolling out at 20%. */
function stormState() {
  const tenant = { ...SAMPLE_TENANT, tenantId: randomUUID() };
  const targets = Array.from({ length: APPS }, (_, index) => {
    const serial = String(index + 1).padStart(8, '0');
    return {
      applicationId: `9NST${serial}`,
      submissionId: `11529215047${serial}`,
      fallbackId: `21529215047${serial}`,
    };
  });
  const apps = targets.map(({ applicationId, submissionId, fallbackId }) =>
    app(applicationId, [
      publishedSubmission(submissionId, 20, fallbackId),
      submission(fallbackId, 'Published'),
    ]),
  );
  const state: SimulatorState = { tenants: [tenant], apps };
  return { state, tenant, targets, appIds: targets.map((target) => target.applicationId) };
}

it('halts 20 apps of one tenant alarmed at once, with no 429 and no failure, finishing apps before starting new ones', async () => {
  const { state, tenant, targets, appIds } = stormState();
  const simulator = await startSimulator({ state, throttle: THROTTLE });
  // The production wiring: the process-wide tenant budget at the simulator's pace.
  const access = createStoreAccess({
    baseUrl: simulator.storeBaseUrl,
    authority: simulator.authority,
    getCredentials: async () => tenant,
    dispatcher: createDispatcher(),
    throttle: { ...THROTTLE, marginMs: MARGIN_MS },
  });
  accesses.push(access);
  const port = access.rolloutPort;
  // The token first, as the deployed function's init does, so the storm starts warm.
  await access.tokenProvider.getToken(AbortSignal.timeout(5_000));
  const signal = createDeadline({ timeoutMs: DEADLINE_MS });

  // What the handler does for each alarmed app, all at once: find the live rollout, halt it.
  const outcomes = await Promise.all(
    appIds.map(async (applicationId) => {
      const lookups = await port.findLiveRollouts({ applicationId, flights: undefined }, signal);
      const live = lookups.filter(
        (lookup): lookup is Extract<RolloutLookup, { state: 'in-progress' }> =>
          lookup.state === 'in-progress',
      );
      return Promise.all(live.map(async (lookup): Promise<HaltOutcome> => port.haltRollout(lookup, signal)));
    }),
  );

  // All halted, each once: nothing failed or was left.
  expect(outcomes.map((halts) => halts.map((outcome) => outcome.result))).toEqual(
    appIds.map(() => ['halted']),
  );
  const requests = simulator.control.requests.filter((request) => request.kind === 'store');
  expect(requests.map((request) => request.status)).toEqual(Array(3 * APPS).fill(200));
  expect(requests.filter((request) => request.status === 429)).toEqual([]);
  expect(simulator.control.effectiveHalts).toBe(APPS);
  for (const { applicationId, submissionId } of targets) {
    expect(simulator.control.rollout(applicationId, submissionId).packageRolloutStatus).toBe(
      'PackageRolloutStopped',
    );
  }
  // Depth first: halts go out in the first window, before the budget's 21st request, and the first
  // window is not spent on twenty first reads.
  const calls = storeCalls(simulator);
  const firstHalt = calls.findIndex(
    (call) => call.startsWith('POST ') && call.endsWith('/haltpackagerollout'),
  );
  expect(firstHalt).toBeGreaterThanOrEqual(2);
  expect(firstHalt).toBeLessThan(THROTTLE.limit);
  const firstWindow = calls.slice(0, THROTTLE.limit);
  expect(firstWindow.filter((call) => call.endsWith('/haltpackagerollout')).length).toBeGreaterThanOrEqual(5);
  expect(firstWindow.filter((call) => /^GET applications\/\w+$/.test(call)).length).toBeLessThan(APPS);
});
