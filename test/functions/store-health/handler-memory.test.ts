/**
 * The Store health probe Lambda with the stack's state table (`ROLLOUT_MEMORY_TABLE`, created on moto
 * as the synthesized template defines it) and a watched package flight: the flight's figures carry
 * `ApplicationId` and `FlightId`, the main rollout's `ApplicationId` only; the second invocation (a new
 * container) reads only what the memory cannot answer.
 */
import { afterEach, expect, it, vi } from 'vitest';
import {
  SAMPLE_APP_ID,
  SAMPLE_FLIGHT_ID,
  SAMPLE_QUIET_APP_ID,
} from '../../../tools/store-simulator/sample-state.ts';
import { describeWithMoto, MOTO_SKIP_REASON } from '../../support/aws.ts';
import { createStateTable, motoDynamo } from '../../support/state-table.ts';
import { readEmf, type StoreHealthHarness, startStoreHealth } from './store-health-harness.ts';

const harnesses: StoreHealthHarness[] = [];
afterEach(async () => {
  vi.useRealTimers();
  await Promise.all(harnesses.splice(0).map((harness) => harness.close()));
});

const APPS = [
  {
    applicationId: SAMPLE_APP_ID,
    name: 'Contoso Photos',
    flights: [SAMPLE_FLIGHT_ID],
    notifyAlarmNames: ['contoso-photos-store-health'],
  },
  {
    applicationId: SAMPLE_QUIET_APP_ID,
    name: 'Contoso Notes',
    notifyAlarmNames: ['contoso-notes-store-health'],
  },
];

async function withTable(): Promise<{ harness: StoreHealthHarness; table: string }> {
  const dynamo = motoDynamo();
  const table = await createStateTable(dynamo);
  const harness = await startStoreHealth({ apps: APPS, env: { ROLLOUT_MEMORY_TABLE: table } });
  harnesses.push(harness);
  return { harness, table };
}

function storeCalls(harness: StoreHealthHarness): string[] {
  return harness.simulator.control.requests
    .filter((request) => request.kind === 'store')
    .map((request) => `${request.method} ${request.path.replace('/v1.0/my/', '')}`);
}

describeWithMoto(`store-health handler with its memory${MOTO_SKIP_REASON}`, () => {
  it("publishes the flight's figures with FlightId, and the next run reads only what changes", async () => {
    // One fixed clock for the probe and the simulator's reports: no hour or day turns between the runs.
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(Date.UTC(2026, 11, 7, 12, 10));
    const { harness } = await withTable();

    const first = await harness.invoke();
    expect(first.error).toBeUndefined();
    const documents = readEmf(first.logs).filter(
      (document) => document.namespace === 'StoreRolloutWatchdog/StoreHealth',
    );
    expect(documents.map((document) => [document.dimensions, document.values.FlightId])).toEqual([
      [['ApplicationId'], undefined],
      [['ApplicationId', 'FlightId'], SAMPLE_FLIGHT_ID],
    ]);
    expect(documents.every((document) => document.values.ApplicationId === SAMPLE_APP_ID)).toBe(true);
    // In the sample state the main rollout gets a ratio and the flight does not (insufficient data).
    expect(documents.map((document) => 'CrashRateRatio' in document.units)).toEqual([true, false]);
    expect(documents.map((document) => document.units.InsufficientData)).toEqual(['Count', 'Count']);
    expect(storeCalls(harness)).toContain('GET applications');
    expect(storeCalls(harness)).toContain(
      `GET applications/${SAMPLE_QUIET_APP_ID}/submissions/1152921504621225621/packagerollout`,
    );

    harness.simulator.control.clearRequests();
    const second = await harness.invoke();
    expect(second.error).toBeUndefined();
    // The app list, the flight, and the two live rollouts: the quiet app, the cohorts, the pending
    // submission, the crash and usage reports of this hour and day are remembered.
    expect(storeCalls(harness)).toEqual([
      'GET applications',
      `GET applications/${SAMPLE_APP_ID}/flights/${SAMPLE_FLIGHT_ID}`,
      `GET applications/${SAMPLE_APP_ID}/submissions/1152921504621243680/packagerollout`,
      `GET applications/${SAMPLE_APP_ID}/flights/${SAMPLE_FLIGHT_ID}/submissions/1152921504621243710/packagerollout`,
    ]);
    for (const line of [...first.logs, ...second.logs]) expect(line).not.toContain('probe memory not');
    const again = readEmf(second.logs).filter(
      (document) => document.namespace === 'StoreRolloutWatchdog/StoreHealth',
    );
    expect(again).toHaveLength(2);
  });
});
