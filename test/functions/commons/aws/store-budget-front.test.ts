/**
 * The halt function's own throttle in front of the stack's budget: 20 apps alarm at once in one
 * invocation, against the simulator (429 past 20 in any scaled window, answers after 100 ms) and the
 * budget on moto. The first window is spent depth first: halts go out in it, and it is not spent on
 * twenty first reads. Proven from the order of the simulator's requests, not from timing.
 *
 * Measured without the front (`throttle: false`), the first halt came 9th instead of 5th with moto's
 * table answering in tens of milliseconds; a table that answers in a few (DynamoDB in the region) would
 * grant all twenty first reads before the first answer comes back, which the front prevents.
 */
import { randomUUID } from 'node:crypto';
import { expect, it } from 'vitest';
import { createDurableBudgets } from '../../../../functions/commons/aws/store-budget.ts';
import type { HaltOutcome, RolloutLookup } from '../../../../functions/commons/domain/ports.ts';
import { createDeadline } from '../../../../functions/commons/http/deadline.ts';
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
import { storeCalls } from '../store/support.ts';

const APPS = 20;
const THROTTLE = { limit: 20, windowMs: 1_000 };
const MARGIN_MS = 1_000;
/** The Store answers slower than the table (about 100 ms against a few): what makes the order matter. */
const LATENCY_MS = 100;

async function storm() {
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
  });
  const dynamo = motoDynamo();
  const tableName = await createStateTable(dynamo);
  const access = createStoreAccess({
    baseUrl: simulator.storeBaseUrl,
    authority: simulator.authority,
    getCredentials: async () => tenant,
    dispatcher: createDispatcher(),
    throttle: { ...THROTTLE, marginMs: MARGIN_MS },
    sharedBudget: createDurableBudgets({
      client: dynamo,
      tableName,
      budgetClass: 'halt',
      limit: THROTTLE.limit,
      windowMs: THROTTLE.windowMs,
      marginMs: MARGIN_MS,
    }),
  });
  try {
    await access.tokenProvider.getToken(AbortSignal.timeout(5_000));
    simulator.control.setLatency(LATENCY_MS);
    const signal = createDeadline({ timeoutMs: 20_000 });
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
    await access.dispatcher.destroy();
    await simulator.close();
  }
}

describeWithMoto("the halt function's own throttle in front of the stack's budget", () => {
  it('spends the first window depth first: halts go out in it, not twenty first reads', async () => {
    const run = await storm();
    expect(run.results).toEqual(Array(APPS).fill('halted'));
    expect(run.statuses).toEqual(Array(3 * APPS).fill(200));
    expect(run.firstHalt).toBeGreaterThanOrEqual(2);
    expect(run.firstHalt).toBeLessThan(THROTTLE.limit);
    expect(run.haltsInFirstWindow).toBeGreaterThanOrEqual(5);
  });
});
