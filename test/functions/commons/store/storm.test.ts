/**
 * An alarm storm: 20 apps of one tenant alarm at once, against the simulator with its per-tenant
 * throttle on, at the deployed 20 requests in any 60 s, on a virtual clock shared by the simulator and
 * the client (60 calls need three windows, in no real time). Proven from the simulator's record of
 * requests (statuses and order), not from timing.
 */
import { randomUUID } from 'node:crypto';
import { afterEach, expect, it } from 'vitest';
import type { HaltOutcome, RolloutLookup } from '../../../../functions/commons/domain/ports.ts';
import { createDispatcher } from '../../../../functions/commons/http/transport.ts';
import { createStoreAccess, type StoreAccess } from '../../../../functions/commons/store/store-access.ts';
import {
  app,
  publishedSubmission,
  SAMPLE_TENANT,
  submission,
} from '../../../../tools/store-simulator/sample-state.ts';
import type { SimulatorState } from '../../../../tools/store-simulator/types.ts';
import { createVirtualClock } from '../../../support/virtual-clock.ts';
import { startSimulator, storeCalls } from './support.ts';

const APPS = 20;
/** The Store's 20 requests in any 60 s, at the deployed pace on the virtual clock (default margin). */
const THROTTLE = { limit: 20, windowMs: 60_000 };
/** The decide time of a 300 s invocation. */
const DECIDE_MS = 240_000;

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

it('halts 20 apps of one tenant alarmed at once, with no 429 and no failure, finishing apps before starting new ones', async ({
  onTestFinished,
}) => {
  const { state, tenant, targets, appIds } = stormState();
  // One virtual clock for the simulator's window, the client's budget and its retries: time moves only
  // when every party waits, so no window is scaled and no margin widened for a loaded machine.
  const clock = createVirtualClock({ start: Date.parse('2026-12-02T06:00:00.000Z') });
  onTestFinished(async () => clock.close());
  const simulator = await startSimulator({ state, throttle: THROTTLE, clock: clock.server });
  // The production wiring: the process-wide tenant budget at the simulator's pace.
  const access = createStoreAccess({
    baseUrl: simulator.storeBaseUrl,
    authority: simulator.authority,
    getCredentials: async () => tenant,
    dispatcher: createDispatcher(),
    throttle: { ...THROTTLE, now: clock.now, sleep: clock.sleep },
    environment: { now: clock.now, sleep: clock.sleep },
  });
  accesses.push(access);
  const port = access.rolloutPort;
  // The token first, as the deployed function's init does, so the storm starts warm.
  await access.tokenProvider.getToken(AbortSignal.timeout(5_000));
  const signal = clock.deadline(DECIDE_MS);

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
  // Every request answered 200: no 429, no failure.
  expect(requests.map((request) => request.status)).toEqual(Array(3 * APPS).fill(200));
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
  const firstWindow = calls.slice(0, THROTTLE.limit);
  // Exactly: seven apps looked at (the room kept for their follow-ups lets no more in), their rollout
  // reads and halts as the answers come back, the first halt the 13th request; six halts in the first
  // window, the most its 20 slots can hold beside the seventh app's two reads.
  expect(firstHalt).toBe(12);
  expect(firstWindow.filter((call) => call.endsWith('/haltpackagerollout'))).toHaveLength(6);
  expect(firstWindow.filter((call) => /^GET applications\/\w+$/.test(call))).toHaveLength(7);
});
