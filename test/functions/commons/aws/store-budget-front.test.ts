/**
 * The halt function's own throttle in front of the stack's budget: 20 apps alarm at once in one
 * invocation, against the simulator (429 past 20 in any 60 s, answers after 100 ms) and the budget on
 * moto, all on one virtual clock (`test/support/virtual-clock.ts`) at the deployed figures. The first
 * window is spent depth first: halts go out in it, and it is not spent on twenty first reads. Proven
 * from the order of the simulator's requests, not from timing. The table answers in no time on the
 * clock, the Store in 100 ms: the case the front is for.
 *
 * Without the front (`throttle: false`) a table that answers before the Store (DynamoDB in the region
 * answers in a few milliseconds) grants all twenty first reads before the first answer comes back: the
 * second test shows it.
 */
import { randomUUID } from 'node:crypto';
import { expect, it } from 'vitest';
import { createDurableBudgets } from '../../../../functions/commons/aws/store-budget.ts';
import type { HaltOutcome, RolloutLookup } from '../../../../functions/commons/domain/ports.ts';
import { createDispatcher } from '../../../../functions/commons/http/transport.ts';
import { createStoreAccess } from '../../../../functions/commons/store/store-access.ts';
import { start } from '../../../../tools/store-simulator/index.ts';
import {
  app,
  publishedSubmission,
  SAMPLE_TENANT,
  submission,
} from '../../../../tools/store-simulator/sample-state.ts';
import { describeWithMoto } from '../../../support/aws.ts';
import { createStateTable, motoDynamo } from '../../../support/state-table.ts';
import { createVirtualClock } from '../../../support/virtual-clock.ts';
import { storeCalls } from '../store/support.ts';

const APPS = 20;
const THROTTLE = { limit: 20, windowMs: 60_000 };
/** The Store answers slower than the table (100 ms against none): what makes the order matter. */
const LATENCY_MS = 100;
/** The decide time of a 300 s invocation: room for the three windows 60 requests need. */
const DECIDE_MS = 240_000;

/** The storm, with the process's own throttle in front of the budget (`front`) or the budget alone. */
async function storm(front: boolean) {
  const clock = createVirtualClock({ start: Date.parse('2026-12-02T06:00:00.000Z') });
  const tenant = { ...SAMPLE_TENANT, tenantId: randomUUID() };
  const targets = Array.from({ length: APPS }, (_, index) => {
    const serial = String(index + 1).padStart(8, '0');
    return {
      applicationId: `9NSF${serial}`,
      submissionId: `11529215047${serial}`,
      fallbackId: `21529215047${serial}`,
    };
  });
  const simulator = await start({
    state: {
      tenants: [tenant],
      apps: targets.map(({ applicationId, submissionId, fallbackId }) =>
        app(applicationId, [
          publishedSubmission(submissionId, 20, fallbackId),
          submission(fallbackId, 'Published'),
        ]),
      ),
    },
    throttle: THROTTLE,
    clock: clock.server,
  });
  const dynamo = motoDynamo();
  const tableName = await createStateTable(dynamo);
  const access = createStoreAccess({
    baseUrl: simulator.storeBaseUrl,
    authority: simulator.authority,
    getCredentials: async () => tenant,
    dispatcher: createDispatcher(),
    throttle: front ? { ...THROTTLE, now: clock.now, sleep: clock.sleep } : false,
    sharedBudget: createDurableBudgets({
      client: dynamo,
      tableName,
      budgetClass: 'halt',
      limit: THROTTLE.limit,
      windowMs: THROTTLE.windowMs,
      now: clock.now,
      sleep: clock.sleep,
    }),
    environment: { now: clock.now, sleep: clock.sleep },
  });
  try {
    await access.tokenProvider.getToken(AbortSignal.timeout(5_000));
    simulator.control.setLatency(LATENCY_MS);
    const signal = clock.deadline(DECIDE_MS);
    const outcomes = await Promise.all(
      targets.map(async ({ applicationId }) => {
        const lookups = await access.rolloutPort.findLiveRollouts(
          { applicationId, flights: undefined },
          signal,
        );
        const live = lookups.filter(
          (lookup): lookup is Extract<RolloutLookup, { state: 'in-progress' }> =>
            lookup.state === 'in-progress',
        );
        return Promise.all(
          live.map(async (lookup): Promise<HaltOutcome> => access.rolloutPort.haltRollout(lookup, signal)),
        );
      }),
    );
    const calls = storeCalls(simulator);
    const isHalt = (call: string) => call.endsWith('/haltpackagerollout');
    return {
      results: outcomes.flat().map((outcome) => outcome.result),
      statuses: simulator.control.requests.filter((request) => request.kind === 'store').map((r) => r.status),
      firstHalt: calls.findIndex(isHalt),
      haltsInFirstWindow: calls.slice(0, THROTTLE.limit).filter(isHalt).length,
    };
  } finally {
    clock.close();
    await access.dispatcher.destroy();
    await simulator.close();
  }
}

describeWithMoto("the halt function's own throttle in front of the stack's budget", () => {
  it('spends the first window depth first: halts go out in it, not twenty first reads', async () => {
    const run = await storm(true);
    expect(run.results).toEqual(Array(APPS).fill('halted'));
    expect(run.statuses).toEqual(Array(3 * APPS).fill(200));
    // Exactly: seven apps looked at (the room kept for their follow-ups lets no more in), their seven
    // rollout reads, then the halts; six halts in the first window, the most its 20 slots can hold.
    expect(run.firstHalt).toBe(14);
    expect(run.haltsInFirstWindow).toBe(Math.floor(THROTTLE.limit / 3));
  });

  it('without it, a table that answers before the Store grants the first window to twenty first reads', async () => {
    const run = await storm(false);
    expect(run.results).toEqual(Array(APPS).fill('halted'));
    expect(run.statuses).toEqual(Array(3 * APPS).fill(200));
    expect(run.haltsInFirstWindow).toBe(0);
  });
});
