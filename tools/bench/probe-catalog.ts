/**
 * The Store health probe over a publisher's catalog, on the Store simulator: 500 watched apps, 20 of
 * them with a live rollout, some watching package flights, some with a pending draft. Runs the probe's
 * own code (`runStoreHealth`) twice with a memory and counts the Store requests of each run: the first
 * reads every app once, the next ones only what changed (docs/store-health.md, "Cost"). Used by
 * `npm run bench -- --probe` and by the test that keeps the figure honest.
 */
import type { ProbeMemory } from '../../functions/commons/aws/probe-memory.ts';
import type { AppMemory } from '../../functions/commons/domain/probe-memory.ts';
import { DEFAULT_STORE_HEALTH_SETTINGS } from '../../functions/commons/domain/store-health.ts';
import { createAnalyticsReader } from '../../functions/commons/store/analytics.ts';
import { createPackageVersionReader } from '../../functions/commons/store/cohorts.ts';
import { createStoreAccess } from '../../functions/commons/store/store-access.ts';
import { SELF_CHECK_STORE_REQUESTS_PER_MINUTE } from '../../functions/self-check/slices.ts';
import { type ProbedApp, runStoreHealth, type StoreHealthRun } from '../../functions/store-health/probe.ts';
import { start } from '../store-simulator/index.ts';
import { noRollout, rollout, SAMPLE_TENANT } from '../store-simulator/sample-state.ts';
import type { SimApp, SimFlight, SimulatorState } from '../store-simulator/types.ts';

export interface ProbeCatalogOptions {
  /** Watched apps. @default 500 */
  readonly apps?: number;
  /** Apps whose main rollout is live. @default 20 */
  readonly liveRollouts?: number;
}

/** The Store ID of the `index`th app. */
export function probeCatalogAppId(index: number): string {
  return `9NPRB${String(index).padStart(7, '0')}`;
}

function submissionId(index: number, kind: number): string {
  return `11529215047${kind}${String(index).padStart(7, '0')}`;
}

function flightId(index: number, n: number): string {
  return `${String(index).padStart(8, '0')}-0000-4000-8000-00000000000${n}`;
}

/** A flight whose last published submission is rolling out (or complete), its fallback a complete one. */
function catalogFlight(index: number, n: number, live: boolean): SimFlight {
  const current = submissionId(index, 3 + n);
  const fallback = submissionId(index, 5 + n);
  return {
    flightId: flightId(index, n),
    friendlyName: `Insiders ${n}`,
    lastPublishedSubmissionId: current,
    submissions: [
      {
        id: current,
        status: 'Published',
        packageVersion: `3.${n}.${index}.0`,
        rollout: rollout(
          live ? 'PackageRolloutInProgress' : 'PackageRolloutComplete',
          live ? 50 : 100,
          fallback,
        ),
      },
      {
        id: fallback,
        status: 'Published',
        packageVersion: `2.9.${index}.0`,
        rollout: rollout('PackageRolloutComplete', 100, '0'),
      },
    ],
  };
}

/**
 * The catalog: every 25th app is rolling out (20 % to version 2.0.i.0 against 1.0.i.0); every 7th has
 * a pending draft beside its published submission; of the live apps, every other watches flights (all
 * of them, or one listed), and so does every 50th quiet app. Every app's versions crash a little.
 */
export function createProbeCatalog(options: ProbeCatalogOptions = {}): {
  readonly state: SimulatorState;
  readonly apps: ProbedApp[];
} {
  const count = options.apps ?? 500;
  const liveCount = options.liveRollouts ?? 20;
  const stride = Math.max(1, Math.floor(count / liveCount));
  const simApps: SimApp[] = [];
  const apps: ProbedApp[] = [];
  let liveSoFar = 0;
  for (let index = 0; index < count; index++) {
    const live = index % stride === 0 && liveSoFar < liveCount;
    if (live) liveSoFar++;
    const current = submissionId(index, 1);
    const fallback = submissionId(index, 2);
    const pending = index % 7 === 3 ? submissionId(index, 9) : undefined;
    const flights =
      (live && liveSoFar % 2 === 0) || (!live && index % 50 === 1)
        ? [catalogFlight(index, 1, live), catalogFlight(index, 2, false)]
        : undefined;
    simApps.push({
      id: probeCatalogAppId(index),
      primaryName: `Contoso Catalog App ${index}`,
      lastPublishedSubmissionId: current,
      ...(pending === undefined ? {} : { pendingSubmissionId: pending }),
      submissions: [
        {
          id: current,
          status: 'Published',
          packageVersion: `2.0.${index}.0`,
          rollout: live
            ? rollout('PackageRolloutInProgress', 20, fallback)
            : rollout('PackageRolloutComplete', 100, fallback),
        },
        { id: fallback, status: 'Published', packageVersion: `1.0.${index}.0`, rollout: noRollout() },
        ...(pending === undefined
          ? []
          : [{ id: pending, status: 'PendingCommit' as const, rollout: noRollout() }]),
      ],
      ...(flights === undefined ? {} : { flights }),
      health: [
        { packageVersion: `2.0.${index}.0`, crashDevicesPerHour: 3, dailyActiveDevices: 2_000 },
        { packageVersion: `1.0.${index}.0`, crashDevicesPerHour: 6, dailyActiveDevices: 8_000 },
        { packageVersion: `3.1.${index}.0`, crashDevicesPerHour: 2, dailyActiveDevices: 500 },
        { packageVersion: `2.9.${index}.0`, crashDevicesPerHour: 4, dailyActiveDevices: 4_000 },
      ],
    });
    apps.push({
      applicationId: probeCatalogAppId(index),
      settings: DEFAULT_STORE_HEALTH_SETTINGS,
      ...(flights === undefined
        ? {}
        : { flights: index % 4 === 0 ? ('all' as const) : [flightId(index, 1)] }),
    });
  }
  return { state: { tenants: [SAMPLE_TENANT], apps: simApps }, apps };
}

/** A memory that lives as long as the object (the benchmark's; the tests use the state table). */
export function createInMemoryProbeMemory(): ProbeMemory & { readonly size: number } {
  const items = new Map<string, AppMemory>();
  return {
    load: async () => new Map(items),
    save: async (memory) => {
      items.set(memory.applicationId, structuredClone(memory));
    },
    forget: async (applicationId) => {
      items.delete(applicationId);
    },
    get size() {
      return items.size;
    },
  };
}

export interface ProbeRunCost {
  /** Store requests of the run (the token endpoint's not counted). */
  readonly storeRequests: number;
  /** The same, per path kind: `applications`, `packagerollout`, `submission`, `flights`, `failurehits`, `usagedaily`. */
  readonly byKind: Readonly<Record<string, number>>;
  /** Minutes the run takes at the probe's share of the tenant's budget (requests per minute). */
  readonly minutesAtShare: number;
  readonly run: StoreHealthRun;
}

export interface ProbeCatalogCost {
  readonly apps: number;
  readonly liveRollouts: number;
  readonly liveFlights: number;
  readonly share: number;
  readonly runs: readonly ProbeRunCost[];
}

function kindOf(path: string): string {
  if (path.includes('/analytics/')) return path.slice(path.lastIndexOf('/') + 1);
  if (path.endsWith('/packagerollout')) return 'packagerollout';
  if (path.includes('/listflights') || /\/flights\/[^/]+$/.test(path)) return 'flights';
  if (path.includes('/submissions/')) return 'submission';
  return 'applications';
}

/**
 * Runs the probe `runs` times over the catalog, a schedule apart on one UTC day, with `memory`, and
 * counts each run's Store requests.
 */
export async function measureProbeCatalog(
  options: ProbeCatalogOptions & {
    /** @default 2 */
    readonly runs?: number;
    /** Minutes between runs (the probe's schedule). @default 15 */
    readonly scheduleMinutes?: number;
    readonly memory?: ProbeMemory;
  } = {},
): Promise<ProbeCatalogCost> {
  const catalog = createProbeCatalog(options);
  // The runs are a schedule's apart, inside one UTC day (usage is read once, on the first run).
  let nowMs = Date.UTC(2026, 11, 7, 8, 0);
  const simulator = await start({ state: catalog.state, now: () => nowMs });
  const store = createStoreAccess({
    baseUrl: simulator.storeBaseUrl,
    authority: simulator.authority,
    getCredentials: async () => ({
      tenantId: SAMPLE_TENANT.tenantId,
      clientId: SAMPLE_TENANT.clientId,
      clientSecret: SAMPLE_TENANT.clientSecret,
    }),
    // Counted here, not paced: the minutes at the probe's share are computed from the count.
    throttle: false,
  });
  const memory = options.memory ?? createInMemoryProbeMemory();
  // The readers' half of the tenant's budget, shared with a self-check running at the same time.
  const share = SELF_CHECK_STORE_REQUESTS_PER_MINUTE / 2;
  const runs: ProbeRunCost[] = [];
  try {
    for (let index = 0; index < (options.runs ?? 2); index++) {
      if (index > 0) nowMs += (options.scheduleMinutes ?? 15) * 60_000;
      simulator.control.clearRequests();
      const run = await runStoreHealth(
        catalog.apps,
        {
          store: store.client,
          // A fresh container each run: nothing but the memory carries over.
          packageVersions: createPackageVersionReader(store.client),
          analytics: createAnalyticsReader(store.client),
          now: () => nowMs,
          memory,
        },
        AbortSignal.timeout(600_000),
      );
      const requests = simulator.control.requests.filter((request) => request.kind === 'store');
      const byKind: Record<string, number> = {};
      for (const request of requests) byKind[kindOf(request.path)] = (byKind[kindOf(request.path)] ?? 0) + 1;
      runs.push({ storeRequests: requests.length, byKind, minutesAtShare: requests.length / share, run });
    }
  } finally {
    await store.dispatcher.destroy();
    await simulator.close();
  }
  const liveFlights = catalog.state.apps.reduce(
    (total, app) =>
      total +
      (app.flights ?? []).filter((flight) =>
        flight.submissions.some(
          (candidate) =>
            candidate.id === flight.lastPublishedSubmissionId &&
            candidate.rollout.packageRolloutStatus === 'PackageRolloutInProgress',
        ),
      ).length,
    0,
  );
  return {
    apps: catalog.apps.length,
    liveRollouts: catalog.state.apps.filter((app) =>
      app.submissions.some(
        (candidate) =>
          candidate.id === app.lastPublishedSubmissionId &&
          candidate.rollout.packageRolloutStatus === 'PackageRolloutInProgress',
      ),
    ).length,
    liveFlights,
    share,
    runs,
  };
}

/** The benchmark's section: the cost of each run as a Markdown table, and the figures that matter. */
export function formatProbeCatalogCost(cost: ProbeCatalogCost, scheduleMinutes = 15): string {
  const [first, ...later] = cost.runs;
  const kinds = ['applications', 'packagerollout', 'submission', 'flights', 'failurehits', 'usagedaily'];
  const rows = cost.runs.map(
    (run, index) =>
      `| ${index + 1} | ${run.storeRequests} | ${kinds.map((kind) => run.byKind[kind] ?? 0).join(' | ')} | ${run.minutesAtShare.toFixed(1)} |`,
  );
  const worst = Math.max(...later.map((run) => run.storeRequests));
  const mean = later.reduce((total, run) => total + run.storeRequests, 0) / Math.max(1, later.length);
  return [
    `## Store health probe: Store requests per run (${cost.apps} apps, ${cost.liveRollouts} live rollouts, ${cost.liveFlights} live flight rollouts)`,
    '',
    `Runs ${scheduleMinutes} minutes apart on the Store simulator, with the probe's memory; minutes at its share of the tenant's budget (${cost.share} requests a minute).`,
    '',
    `| run | Store requests | ${kinds.join(' | ')} | minutes at share |`,
    `|---|---|${kinds.map(() => '---').join('|')}|---|`,
    ...rows,
    '',
    `First run (nothing remembered): ${first?.storeRequests ?? 0} requests, ${(first?.minutesAtShare ?? 0).toFixed(0)} minutes at the share (spread over several scheduled runs: the memory keeps each run's progress).`,
    `Later runs: at most ${worst} requests (mean ${mean.toFixed(1)}; goal ≤ 100), ${(worst / cost.share).toFixed(1)} minutes at the share: every live rollout's state is read and its figures published every run, its crash reports read hourly.`,
  ].join('\n');
}
