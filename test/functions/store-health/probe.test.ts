/**
 * The probe's reads (functions/store-health/probe.ts) against the Store simulator, with its memory in
 * a state table on moto created as the synthesized template defines it: a catalog of 500 apps costs
 * one full read, then at most 100 Store requests a run; a changed app is read again, a settled one is
 * not; package flights are probed with their own figures; analytics pages fit the response cap, and
 * one response past it fails that app only.
 */
import { describe, expect, it } from 'vitest';
import { createProbeMemory } from '../../../functions/commons/aws/probe-memory.ts';
import { DEFAULT_STORE_HEALTH_SETTINGS } from '../../../functions/commons/domain/store-health.ts';
import { describeError } from '../../../functions/commons/errors.ts';
import { MAX_RESPONSE_BYTES } from '../../../functions/commons/http/transport.ts';
import {
  createAnalyticsReader,
  MAX_ANALYTICS_PAGE_SIZE,
} from '../../../functions/commons/store/analytics.ts';
import { createPackageVersionReader } from '../../../functions/commons/store/cohorts.ts';
import {
  type AppHealth,
  type ProbedApp,
  runStoreHealth,
  type StoreHealthPorts,
} from '../../../functions/store-health/probe.ts';
import { measureProbeCatalog } from '../../../tools/fixtures/probe-catalog.ts';
import {
  noRollout,
  publishedSubmission,
  rollout,
  SAMPLE_TENANT,
} from '../../../tools/store-simulator/sample-state.ts';
import type { RunningSimulator, SimApp, SimulatorState } from '../../../tools/store-simulator/types.ts';
import { createStateTable, motoDynamo } from '../../support/state-table.ts';
import { connect, rejectionOf, roomySignal, startSimulator } from '../commons/store/support.ts';

const NOW = Date.UTC(2026, 11, 7, 9, 10);
const FLIGHT = '0c1d2e3f-0000-4000-8000-000000000001';

/** An app rolling out 2.0 (20 %) against 1.0, both crashing a little, with usage. */
function liveApp(id: string, base: string): SimApp {
  return {
    id,
    primaryName: `App ${id}`,
    lastPublishedSubmissionId: `${base}1`,
    submissions: [
      { ...publishedSubmission(`${base}1`, 20, `${base}0`), packageVersion: '2.0.0.0' },
      { id: `${base}0`, status: 'Published', packageVersion: '1.0.0.0', rollout: noRollout() },
    ],
    health: [
      { packageVersion: '2.0.0.0', crashDevicesPerHour: 4, dailyActiveDevices: 1_000 },
      { packageVersion: '1.0.0.0', crashDevicesPerHour: 8, dailyActiveDevices: 4_000 },
    ],
  };
}

/** An app whose last rollout is complete. */
function quietApp(id: string, base: string): SimApp {
  return {
    id,
    primaryName: `App ${id}`,
    lastPublishedSubmissionId: `${base}1`,
    submissions: [
      {
        id: `${base}1`,
        status: 'Published',
        packageVersion: '2.0.0.0',
        rollout: rollout('PackageRolloutComplete', 100, `${base}0`),
      },
    ],
  };
}

function state(apps: SimApp[]): SimulatorState {
  return { tenants: [SAMPLE_TENANT], apps };
}

function probed(applicationId: string, extra: Partial<ProbedApp> = {}): ProbedApp {
  return { applicationId, settings: DEFAULT_STORE_HEALTH_SETTINGS, ...extra };
}

function portsFor(
  simulator: RunningSimulator,
  extra: Partial<StoreHealthPorts> = {},
  now = NOW,
): StoreHealthPorts {
  const store = connect(simulator);
  return {
    store: store.client,
    packageVersions: createPackageVersionReader(store.client),
    analytics: createAnalyticsReader(store.client),
    now: () => now,
    ...extra,
  };
}

function storeRequests(simulator: RunningSimulator): string[] {
  return simulator.control.requests
    .filter((request) => request.kind === 'store')
    .map((request) => `${request.method} ${request.path.replace('/v1.0/my/', '')}`);
}

function stateOf(
  apps: readonly AppHealth[],
  applicationId: string,
  flightId?: string,
): AppHealth['state'] | undefined {
  return apps.find((app) => app.applicationId === applicationId && app.flightId === flightId)?.state;
}

describe('the probe over a catalog, with its memory in the state table', () => {
  it('500 apps with 20 live rollouts: the first run is reported, every later run costs at most 100 Store requests', async () => {
    const dynamo = motoDynamo();
    const memory = createProbeMemory(dynamo, await createStateTable(dynamo));

    const cost = await measureProbeCatalog({ apps: 500, liveRollouts: 20, runs: 5, memory });

    expect(cost.liveRollouts).toBe(20);
    expect(cost.liveFlights).toBe(10);
    const [first, ...later] = cost.runs;
    // The first run reads every app once: 5 pages of the app list, every last published rollout (and
    // the flights'), the pending drafts, the live cohorts, one crash and one usage read per live app.
    expect(first?.storeRequests).toBe(714);
    expect(first?.byKind).toEqual({
      applications: 5,
      packagerollout: 520,
      submission: 129,
      flights: 20,
      failurehits: 20,
      usagedaily: 20,
    });
    for (const run of later) {
      expect(run.storeRequests).toBeLessThanOrEqual(100);
      // Every live rollout (main and flight) is read and judged on every run.
      expect(run.byKind.packagerollout).toBe(30);
      expect(run.byKind.submission ?? 0).toBe(0);
      expect(run.byKind.usagedaily ?? 0).toBe(0);
      const assessed = run.run.apps.filter((app) => app.state === 'assessed');
      expect(assessed).toHaveLength(30);
      expect(assessed.filter((app) => app.flightId !== undefined)).toHaveLength(10);
      expect(run.run.failed).toBe(false);
    }
    // The hourly crash reads are spread over the runs of an hour: together, one per live app.
    const crashReads = later.slice(0, 4).reduce((total, run) => total + (run.byKind.failurehits ?? 0), 0);
    expect(crashReads).toBe(20);
  }, 120_000);
});

describe('what the probe reads again', () => {
  it('reads a settled app no more while the Store names the same submissions, and again once they change', async () => {
    const dynamo = motoDynamo();
    const memory = createProbeMemory(dynamo, await createStateTable(dynamo));
    const apps = [probed('9NPRB0000001'), probed('9NPRB0000002')];
    const first = await startSimulator({
      state: state([quietApp('9NPRB0000001', '10'), quietApp('9NPRB0000002', '20')]),
      now: () => NOW,
    });
    await runStoreHealth(apps, portsFor(first, { memory }), roomySignal());
    expect(storeRequests(first)).toEqual([
      'GET applications',
      'GET applications/9NPRB0000001/submissions/101/packagerollout',
      'GET applications/9NPRB0000002/submissions/201/packagerollout',
    ]);

    first.control.clearRequests();
    const again = await runStoreHealth(apps, portsFor(first, { memory }), roomySignal());
    expect(storeRequests(first)).toEqual(['GET applications']);
    expect(again.apps.map((app) => app.state)).toEqual(['no-rollout', 'no-rollout']);

    // The second app publishes a new submission with a gradual rollout: only it is read.
    const changed = await startSimulator({
      state: state([quietApp('9NPRB0000001', '10'), liveApp('9NPRB0000002', '30')]),
      now: () => NOW,
    });
    const run = await runStoreHealth(apps, portsFor(changed, { memory }), roomySignal());
    expect(storeRequests(changed)).toEqual([
      'GET applications',
      'GET applications/9NPRB0000002/submissions/301/packagerollout',
      'GET applications/9NPRB0000002/submissions/301',
      'GET applications/9NPRB0000002/submissions/300',
      'GET analytics/failurehits',
      'GET analytics/usagedaily',
    ]);
    expect(stateOf(run.apps, '9NPRB0000002')).toBe('assessed');

    // Next run, same hour: the rollout is read (it may have moved), its cohorts and reports are remembered.
    changed.control.clearRequests();
    const later = await runStoreHealth(apps, portsFor(changed, { memory }, NOW + 5 * 60_000), roomySignal());
    expect(storeRequests(changed)).toEqual([
      'GET applications',
      'GET applications/9NPRB0000002/submissions/301/packagerollout',
    ]);
    const assessed = later.apps.find((app) => app.applicationId === '9NPRB0000002');
    const before = run.apps.find((app) => app.applicationId === '9NPRB0000002');
    expect(assessed?.state).toBe('assessed');
    if (assessed?.state === 'assessed' && before?.state === 'assessed')
      expect(assessed.assessment.rollout.crashDevices).toBeLessThanOrEqual(
        before.assessment.rollout.crashDevices,
      );
  });

  it('a pending draft beside a complete rollout is read once, and again when another one replaces it', async () => {
    const dynamo = motoDynamo();
    const memory = createProbeMemory(dynamo, await createStateTable(dynamo));
    const withDraft = (pending: string): SimApp => ({
      ...quietApp('9NPRB0000003', '40'),
      pendingSubmissionId: pending,
      submissions: [
        ...quietApp('9NPRB0000003', '40').submissions,
        { id: pending, status: 'PendingCommit', rollout: noRollout() },
      ],
    });
    const apps = [probed('9NPRB0000003')];
    const simulator = await startSimulator({ state: state([withDraft('49')]), now: () => NOW });
    await runStoreHealth(apps, portsFor(simulator, { memory }), roomySignal());
    expect(storeRequests(simulator)).toContain('GET applications/9NPRB0000003/submissions/49');
    simulator.control.clearRequests();
    await runStoreHealth(apps, portsFor(simulator, { memory }), roomySignal());
    expect(storeRequests(simulator)).toEqual(['GET applications']);

    const replaced = await startSimulator({ state: state([withDraft('48')]), now: () => NOW });
    await runStoreHealth(apps, portsFor(replaced, { memory }), roomySignal());
    expect(storeRequests(replaced)).toEqual([
      'GET applications',
      'GET applications/9NPRB0000003/submissions/401/packagerollout',
      'GET applications/9NPRB0000003/submissions/48',
    ]);
  });

  it('reads remembered live rollouts first; apps the run has no time for are deferred, not failed, and read next run', async () => {
    const dynamo = motoDynamo();
    const memory = createProbeMemory(dynamo, await createStateTable(dynamo));
    const simulator = await startSimulator({
      state: state([
        quietApp('9NPRB0000001', '10'),
        liveApp('9NPRB0000002', '20'),
        liveApp('9NPRB0000003', '30'),
      ]),
      now: () => NOW,
    });
    await runStoreHealth(
      [probed('9NPRB0000001'), probed('9NPRB0000002')],
      portsFor(simulator, { memory }),
      roomySignal(),
    );

    // A third app joins; the deadline passes while the second app of the run is examined.
    const deadline = new AbortController();
    let clockReads = 0;
    const ports = portsFor(simulator, { memory });
    const run = await runStoreHealth(
      [probed('9NPRB0000001'), probed('9NPRB0000002'), probed('9NPRB0000003')],
      {
        ...ports,
        now: () => {
          clockReads++;
          if (clockReads === 2) deadline.abort(new Error('deadline'));
          return NOW;
        },
      },
      deadline.signal,
    );
    expect(run.apps.map((app) => [app.applicationId, app.state])).toEqual([
      ['9NPRB0000002', 'assessed'],
      ['9NPRB0000001', 'no-rollout'],
      ['9NPRB0000003', 'deferred'],
    ]);
    expect(run.failed).toBe(false);
    expect(run.deferred).toBe(1);

    const next = await runStoreHealth(
      [probed('9NPRB0000001'), probed('9NPRB0000002'), probed('9NPRB0000003')],
      portsFor(simulator, { memory }),
      roomySignal(),
    );
    expect(stateOf(next.apps, '9NPRB0000003')).toBe('assessed');
  });

  it('without a memory every app is read with its own GET, as the CLI and the local run do', async () => {
    const simulator = await startSimulator({
      state: state([quietApp('9NPRB0000001', '10'), liveApp('9NPRB0000002', '30')]),
      now: () => NOW,
    });
    const apps = [probed('9NPRB0000001'), probed('9NPRB0000002')];
    for (let run = 0; run < 2; run++) {
      simulator.control.clearRequests();
      const result = await runStoreHealth(apps, portsFor(simulator), roomySignal());
      expect(result.apps.map((app) => app.state)).toEqual(['no-rollout', 'assessed']);
      expect(
        storeRequests(simulator).filter(
          (request) =>
            request.startsWith('GET applications/9NPRB000000') && !request.includes('/submissions'),
        ),
      ).toEqual(['GET applications/9NPRB0000001', 'GET applications/9NPRB0000002']);
      expect(storeRequests(simulator)).not.toContain('GET applications');
    }
  });
});

describe('package flights', () => {
  it("a watched flight's live rollout is judged on its own cohort against the flight's fallback", async () => {
    const app: SimApp = {
      ...liveApp('9NPRB0000004', '50'),
      flights: [
        {
          flightId: FLIGHT,
          friendlyName: 'Insiders',
          lastPublishedSubmissionId: '521',
          submissions: [
            { ...publishedSubmission('521', 50, '520'), packageVersion: '3.0.0.0' },
            { id: '520', status: 'Published', packageVersion: '2.5.0.0', rollout: noRollout() },
          ],
        },
      ],
      health: [
        ...(liveApp('9NPRB0000004', '50').health ?? []),
        { packageVersion: '3.0.0.0', crashDevicesPerHour: 30, dailyActiveDevices: 500 },
        { packageVersion: '2.5.0.0', crashDevicesPerHour: 5, dailyActiveDevices: 2_000 },
      ],
    };
    const simulator = await startSimulator({ state: state([app]), now: () => NOW });

    for (const flights of [[FLIGHT], 'all'] as const) {
      simulator.control.clearRequests();
      const run = await runStoreHealth(
        [probed('9NPRB0000004', { flights })],
        portsFor(simulator),
        roomySignal(),
      );
      const flight = run.apps.find((result) => result.flightId === FLIGHT);
      expect(flight?.state).toBe('assessed');
      if (flight?.state !== 'assessed') return;
      expect(flight.ref).toEqual({ applicationId: '9NPRB0000004', flightId: FLIGHT, submissionId: '521' });
      expect(flight.cohorts).toEqual({ rollout: ['3.0.0.0'], fallback: ['2.5.0.0'], rolloutPercentage: 50 });
      expect(flight.assessment.verdict).toBe('sufficient');
      if (flight.assessment.verdict === 'sufficient') expect(flight.assessment.ratio).toBeGreaterThan(10);
      expect(stateOf(run.apps, '9NPRB0000004')).toBe('assessed');
      // One crash read and one usage read serve the main rollout and the flight.
      expect(storeRequests(simulator).filter((request) => request.includes('analytics'))).toEqual([
        'GET analytics/failurehits',
        'GET analytics/usagedaily',
      ]);
    }
  });

  it("a flight that cannot be read fails alone: the app's main rollout is still judged", async () => {
    const simulator = await startSimulator({ state: state([liveApp('9NPRB0000005', '60')]), now: () => NOW });
    const run = await runStoreHealth(
      [probed('9NPRB0000005', { flights: [FLIGHT] })],
      portsFor(simulator),
      roomySignal(),
    );
    expect(run.apps.map((app) => app.state).sort()).toEqual(['assessed', 'failed']);
    const failed = run.apps.find((app) => app.state === 'failed');
    if (failed?.state === 'failed')
      expect(describeError(failed.error).message).toMatch(
        /package flights of 9NPRB0000005 could not be read/,
      );
    expect(run.failed).toBe(true);
  });
});

describe('analytics pages and the response cap', () => {
  /** 80 package versions crashing every hour: 72 hours give 5,600 rows, over 1 MiB in one page of 10,000. */
  function crowdedApp(): SimApp {
    const app = liveApp('9NPRB0000006', '70');
    return {
      ...app,
      health: [
        ...(app.health ?? []),
        ...Array.from({ length: 78 }, (_, index) => ({
          packageVersion: `0.${index}.0.0`,
          crashDevicesPerHour: 2,
        })),
      ],
    };
  }
  const window = { startMs: NOW - 72 * 3_600_000, endMs: NOW };

  it('a page of 10,000 rows passes the cap; the probe asks for pages that cannot, and succeeds', async () => {
    const simulator = await startSimulator({
      state: state([crowdedApp(), liveApp('9NPRB0000007', '80')]),
      now: () => NOW,
    });
    const store = connect(simulator);
    const oldPageSize = createAnalyticsReader(store.client, { pageSize: MAX_ANALYTICS_PAGE_SIZE });
    const error = await rejectionOf(oldPageSize.getCrashHours('9NPRB0000006', window, roomySignal()));
    expect(describeError(error).message).toContain(`larger than ${MAX_RESPONSE_BYTES} bytes`);

    simulator.control.clearRequests();
    const settings = { ...DEFAULT_STORE_HEALTH_SETTINGS, windowHours: 72 };
    const run = await runStoreHealth(
      [probed('9NPRB0000006', { settings }), probed('9NPRB0000007', { settings })],
      portsFor(simulator),
      roomySignal(),
    );
    expect(run.apps.map((app) => app.state)).toEqual(['assessed', 'assessed']);
    const pages = simulator.control.requests.filter(
      (request) => request.path.endsWith('/failurehits') && request.query.includes('9NPRB0000006'),
    );
    expect(pages.length).toBeGreaterThan(10);
    for (const page of pages) expect(page.status).toBe(200);
  });

  it('one answer past the cap is a clear error for that app only; the others are judged', async () => {
    const simulator = await startSimulator({
      state: state([liveApp('9NPRB0000008', '90'), liveApp('9NPRB0000009', '91')]),
      now: () => NOW,
    });
    simulator.control.failNext({
      status: 200,
      match: { path: '/analytics/failurehits' },
      body: { Value: [], padding: 'x'.repeat(MAX_RESPONSE_BYTES + 1), TotalCount: 0 },
    });
    const run = await runStoreHealth(
      [probed('9NPRB0000008'), probed('9NPRB0000009')],
      portsFor(simulator),
      roomySignal(),
    );
    expect(run.apps.map((app) => app.state)).toEqual(['failed', 'assessed']);
    const failed = run.apps[0];
    if (failed?.state === 'failed') {
      expect(describeError(failed.error).message).toContain('GET analytics/failurehits');
      expect(describeError(failed.error).message).toContain(`larger than ${MAX_RESPONSE_BYTES} bytes`);
    }
    expect(run.failed).toBe(true);
  });
});
