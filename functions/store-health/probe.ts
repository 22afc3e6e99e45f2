/**
 * One read-only run of the Store health probe over every watched app: each live rollout (main and
 * watched flights, found as the halt path finds them), its cohorts, the Store's crash and usage rows and
 * the assessment; one target's failure never stops the others. With a memory a run reads only what
 * changed (docs/store-health.md, "What it costs, and what it remembers"). Used by the handler, the
 * local run and `store-watchdog health`.
 */
import type { ProbeMemory } from '../commons/aws/probe-memory.ts';
import type { FlightSelection } from '../commons/domain/ports.ts';
import {
  type AppMemory,
  crashesAreDue,
  emptyAppMemory,
  flightKey,
  flightsAreDue,
  hourlySlot,
  isSettledRollout,
  keepCohorts,
  needsRolloutRead,
  orderForReading,
  type RememberedCrashes,
  type RememberedTarget,
  rememberCrashes,
  rememberTarget,
  rememberUsage,
  sameMemory,
  type TargetReading,
  type TargetSubmissions,
  usageIsDue,
} from '../commons/domain/probe-memory.ts';
import type { PackageRollout, RolloutRef } from '../commons/domain/rollout.ts';
import {
  assessStoreHealth,
  type Cohorts,
  type DailyUsage,
  type StoreHealthAssessment,
  type StoreHealthSettings,
  windowStart,
} from '../commons/domain/store-health.ts';
import { DeadlineExceededError } from '../commons/errors.ts';
import { definedProps } from '../commons/optional.ts';
import type { AnalyticsReader } from '../commons/store/analytics.ts';
import type { PackageVersionReader } from '../commons/store/cohorts.ts';
import type { Application, Flight } from '../commons/store/model.ts';
import { addContext, describeIdleRollout, findLiveRollout } from '../commons/store/rollouts.ts';
import type { StoreClient } from '../commons/store/store-client.ts';
import { readCohorts } from './cohorts.ts';

/** How far back usage is asked for: the daily figures lag by about 30 hours (docs/store-health.md). */
const USAGE_LOOKBACK_DAYS = 4;
const DAY_MS = 86_400_000;

/** The Store reads of the probe (a `StoreClient` fits; the halt is not among them). */
export type ProbeStore = Pick<
  StoreClient,
  'listApplications' | 'getApplication' | 'listFlights' | 'getFlight' | 'getSubmission' | 'getPackageRollout'
>;

/** What the probe needs from the outside, read only. */
export interface StoreHealthPorts {
  readonly store: ProbeStore;
  readonly packageVersions: PackageVersionReader;
  readonly analytics: AnalyticsReader;
  /** Epoch ms. */
  readonly now: () => number;
  /** What it remembers between runs; without it every app is read on every run. */
  readonly memory?: ProbeMemory | undefined;
}

export interface ProbedApp {
  readonly applicationId: string;
  readonly name?: string;
  readonly settings: StoreHealthSettings;
  /** The package flights it watches (`flights` of the app's entry): none, a list, or `all`. */
  readonly flights?: FlightSelection;
}

interface Who {
  readonly applicationId: string;
  readonly name?: string;
  /** Set for a package flight's rollout; absent for the main rollout. */
  readonly flightId?: string;
}

/** One rollout target's outcome: the app's main line, or one of its flights (`flightId`). */
export type AppHealth = Who &
  (
    | {
        readonly state: 'no-rollout';
        /** Why there is nothing to judge, for a person. */
        readonly reason: string;
      }
    | {
        readonly state: 'assessed';
        readonly ref: RolloutRef;
        readonly cohorts: Cohorts;
        readonly windowHours: number;
        readonly assessment: StoreHealthAssessment;
      }
    | { readonly state: 'failed'; readonly error: unknown }
    /** Not read: the run's deadline (or the request budget) came first. Read first next run. */
    | { readonly state: 'deferred'; readonly reason: string }
  );

export interface StoreHealthRun {
  readonly apps: readonly AppHealth[];
  /** True when any target failed: the run must fail after publishing what it could. */
  readonly failed: boolean;
  /** Targets left for the next run. */
  readonly deferred: number;
  /** The app list could not be read: each app was read on its own instead. */
  readonly listError?: unknown;
}

type Lookup =
  | { readonly kind: 'live'; readonly ref: RolloutRef; readonly rollout: PackageRollout }
  | { readonly kind: 'idle'; readonly reading: TargetReading; readonly reason: string };

interface Target {
  readonly flightId?: string;
  readonly submissions: TargetSubmissions;
}

/** Probes every app; one app's error never stops the rest. */
export async function runStoreHealth(
  apps: readonly ProbedApp[],
  ports: StoreHealthPorts,
  signal: AbortSignal,
): Promise<StoreHealthRun> {
  const memory = ports.memory === undefined ? new Map<string, AppMemory>() : await ports.memory.load(signal);
  let listed: ReadonlyMap<string, Application> | undefined;
  let listError: unknown;
  if (ports.memory !== undefined) {
    try {
      const all = await ports.store.listApplications(signal);
      listed = new Map(all.map((app) => [app.id, app]));
    } catch (error) {
      listError = error;
    }
  }
  const results: AppHealth[] = [];
  for (const app of orderForReading(apps, memory)) {
    const who = whoOf(app);
    if (isOutOfTime(undefined, signal)) {
      results.push({ ...who, state: 'deferred', reason: 'the run ran out of time before this app' });
      continue;
    }
    const remembered = memory.get(app.applicationId);
    const outcome = await probeApp(app, listed?.get(app.applicationId), remembered, ports, signal);
    results.push(...outcome.results);
    if (ports.memory !== undefined && !sameMemory(remembered, outcome.memory))
      await ports.memory.save(outcome.memory, signal);
  }
  if (ports.memory !== undefined) {
    const watched = new Set(apps.map((app) => app.applicationId));
    for (const applicationId of memory.keys())
      if (!watched.has(applicationId)) await ports.memory.forget(applicationId, signal);
  }
  return {
    apps: results,
    failed: results.some((result) => result.state === 'failed'),
    deferred: results.filter((result) => result.state === 'deferred').length,
    ...definedProps({ listError }),
  };
}

/**
 * Probes one app (its main rollout and watched flights) and returns each target's outcome and the
 * app's memory after the run. Never rejects: a failure is a `failed` (or `deferred`) outcome.
 */
async function probeApp(
  app: ProbedApp,
  listed: Application | undefined,
  remembered: AppMemory | undefined,
  ports: StoreHealthPorts,
  signal: AbortSignal,
): Promise<{ readonly results: AppHealth[]; readonly memory: AppMemory }> {
  const before = remembered ?? emptyAppMemory(app.applicationId);
  const who = whoOf(app);
  const unreadable = (error: unknown, target: Who = who): AppHealth =>
    isOutOfTime(error, signal)
      ? { ...target, state: 'deferred', reason: 'the run ran out of time while reading it' }
      : { ...target, state: 'failed', error };

  let application: Application;
  try {
    application = listed ?? (await ports.store.getApplication(app.applicationId, signal));
  } catch (error) {
    return { results: [unreadable(error)], memory: before };
  }
  const targets: Target[] = [
    {
      submissions: {
        lastPublishedId: application.lastPublishedApplicationSubmission?.id,
        pendingId: application.pendingApplicationSubmission?.id,
      },
    },
  ];
  const results: AppHealth[] = [];
  const nowMs = ports.now();
  let flightsRead = true;
  // Flights are not read when none is worth watching and this hourly slot has read them (a flight
  // added to the app's list is read at once).
  const flightsDue =
    flightsAreDue(remembered, nowMs) ||
    (Array.isArray(app.flights) &&
      app.flights.some((flightId) => before.flights[flightKey(flightId)] === undefined));
  let flightsSlot = before.flightsSlot;
  if (app.flights !== undefined && !flightsDue) {
    flightsRead = false;
    for (const [key, flight] of Object.entries(before.flights)) {
      results.push({
        ...who,
        flightId: key,
        state: 'no-rollout',
        reason: `no live rollout: the flight was read at ${new Date(flight.readAtMs).toISOString()} and is read again hourly`,
      });
    }
  } else {
    try {
      for (const flight of await readFlights(app, ports.store, signal)) {
        targets.push({
          flightId: flight.flightId,
          submissions: {
            lastPublishedId: flight.lastPublishedFlightSubmission?.id,
            pendingId: flight.pendingFlightSubmission?.id,
          },
        });
      }
      if (app.flights !== undefined) flightsSlot = hourlySlot(app.applicationId, nowMs);
    } catch (error) {
      // The main rollout is still probed; the flights are this run's failure.
      flightsRead = false;
      results.push(
        isOutOfTime(error, signal)
          ? unreadable(error)
          : unreadable(addContext(error, `the package flights of ${app.applicationId} could not be read`)),
      );
    }
  }

  let main = before.main;
  const flights: Record<string, RememberedTarget> = { ...before.flights };
  const live: Array<{ readonly who: Who; readonly ref: RolloutRef; readonly rollout: PackageRollout }> = [];
  for (const target of targets) {
    const targetWho: Who = target.flightId === undefined ? who : { ...who, flightId: target.flightId };
    const known = target.flightId === undefined ? before.main : before.flights[flightKey(target.flightId)];
    if (!needsRolloutRead(known, target.submissions)) {
      results.push({
        ...targetWho,
        state: 'no-rollout',
        reason: `no live rollout: unchanged since it was read at ${new Date(known?.readAtMs ?? nowMs).toISOString()}`,
      });
      continue;
    }
    let lookup: Lookup;
    try {
      lookup = await examineTarget(ports.store, app.applicationId, target, signal);
    } catch (error) {
      results.push(unreadable(error, targetWho));
      continue;
    }
    const now = rememberTarget(
      target.submissions,
      lookup.kind === 'live' ? { kind: 'live' } : lookup.reading,
      nowMs,
    );
    if (target.flightId === undefined) main = now;
    else flights[flightKey(target.flightId)] = now;
    if (lookup.kind === 'idle') results.push({ ...targetWho, state: 'no-rollout', reason: lookup.reason });
    else live.push({ who: targetWho, ref: lookup.ref, rollout: lookup.rollout });
  }
  // Flights no longer listed (or no longer watched) are not kept; all are kept when the list failed.
  const current = new Set(
    targets.flatMap((target) => (target.flightId === undefined ? [] : [flightKey(target.flightId)])),
  );
  const keptFlights = flightsRead
    ? Object.fromEntries(Object.entries(flights).filter(([key]) => current.has(key)))
    : flights;

  const cohorts: Record<string, readonly string[]> = { ...before.cohorts };
  const inUse = new Set<string>();
  let usage = before.usage;
  let crashMemory = before.crashes;
  if (live.length > 0) {
    const prepared: Array<{ readonly who: Who; readonly ref: RolloutRef; readonly cohorts: Cohorts }> = [];
    for (const target of live) {
      try {
        const read = await readCohorts(
          target.ref,
          target.rollout,
          cohorts,
          inUse,
          ports.packageVersions,
          signal,
        );
        prepared.push({ who: target.who, ref: target.ref, cohorts: read });
      } catch (error) {
        results.push(unreadable(error, target.who));
      }
    }
    if (prepared.length > 0) {
      const crashWindow = { startMs: windowStart(nowMs, app.settings.windowHours), endMs: nowMs };
      const versions = [
        ...new Set(prepared.flatMap((target) => [...target.cohorts.rollout, ...target.cohorts.fallback])),
      ];
      let crashes: RememberedCrashes | undefined;
      let usageRows: readonly DailyUsage[] | undefined;
      try {
        // One read of each serves the main rollout and every flight of the app: crashes hourly, usage daily.
        if (crashesAreDue(crashMemory, app.applicationId, versions, nowMs)) {
          const rows = await ports.analytics.getCrashHours(app.applicationId, crashWindow, signal);
          crashMemory = rememberCrashes(rows, app.applicationId, versions, nowMs);
        }
        crashes = crashMemory;
        if (usageIsDue(usage, versions, nowMs)) {
          const usageWindow = { startMs: nowMs - USAGE_LOOKBACK_DAYS * DAY_MS, endMs: nowMs };
          const rows = await ports.analytics.getDailyUsage(app.applicationId, usageWindow, signal);
          usage = rememberUsage(rows, versions, nowMs);
        }
        usageRows = usage?.rows ?? [];
      } catch (error) {
        for (const target of prepared) results.push(unreadable(error, target.who));
      }
      if (crashes !== undefined && usageRows !== undefined) {
        for (const target of prepared) {
          results.push({
            ...target.who,
            state: 'assessed',
            ref: target.ref,
            cohorts: target.cohorts,
            windowHours: app.settings.windowHours,
            assessment: assessStoreHealth({
              cohorts: target.cohorts,
              crashes: crashes.rows,
              storeReturnedRows: crashes.storeRows > 0,
              usage: usageRows,
              nowMs,
              settings: app.settings,
            }),
          });
        }
      }
    }
  }
  const after: AppMemory = {
    applicationId: app.applicationId,
    ...definedProps({ main }),
    flights: keptFlights,
    ...(flightsSlot === undefined || app.flights === undefined ? {} : { flightsSlot }),
    cohorts: keepCohorts(cohorts, inUse),
    // Crash rows and usage are kept only while some rollout of the app is live.
    ...(live.length === 0 || crashMemory === undefined ? {} : { crashes: crashMemory }),
    ...(live.length === 0 || usage === undefined ? {} : { usage }),
  };
  return { results: sortResults(results), memory: after };
}

/** The main rollout's outcome first, then the flights', each once. */
function sortResults(results: AppHealth[]): AppHealth[] {
  return [
    ...results.filter((result) => result.flightId === undefined),
    ...results.filter((result) => result.flightId !== undefined),
  ];
}

async function readFlights(app: ProbedApp, store: ProbeStore, signal: AbortSignal): Promise<Flight[]> {
  if (app.flights === undefined) return [];
  if (app.flights === 'all') {
    const listed = await store.listFlights(app.applicationId, signal);
    // Paging can repeat a flight when the list changes between pages: each is probed once.
    return [...new Map(listed.map((flight) => [flightKey(flight.flightId), flight])).values()];
  }
  const flights: Flight[] = [];
  for (const flightId of app.flights) {
    // The ID as configured: the stack's alarm on this flight's figures names it so.
    flights.push({ ...(await store.getFlight(app.applicationId, flightId, signal)), flightId });
  }
  return flights;
}

/** The target's live rollout, found as the halt path finds it (`findLiveRollout`); a failed read throws. */
async function examineTarget(
  store: ProbeStore,
  applicationId: string,
  target: Target,
  signal: AbortSignal,
): Promise<Lookup> {
  const where =
    target.flightId === undefined ? { applicationId } : { applicationId, flightId: target.flightId };
  const search = await findLiveRollout(store, where, target.submissions, signal);
  if (search.state === 'failed') throw search.error;
  if (search.state === 'live') return { kind: 'live', ref: search.ref, rollout: search.rollout };
  const { last } = search;
  if (last === undefined) {
    const what = target.flightId === undefined ? 'the app' : `flight ${target.flightId}`;
    const { pendingId } = target.submissions;
    return {
      kind: 'idle',
      reading: { kind: 'settled' },
      reason: `${what} has no published submission${pendingId === undefined ? '' : ` (pending submission ${pendingId} is not a published one with a rollout in progress)`}`,
    };
  }
  return {
    kind: 'idle',
    reading: isSettledRollout(last.rollout) ? { kind: 'settled' } : { kind: 'unsettled' },
    reason: describeIdleRollout(last.ref.submissionId, last.rollout),
  };
}

function whoOf(app: ProbedApp): Who {
  return { applicationId: app.applicationId, ...definedProps({ name: app.name }) };
}

/** The run's deadline (or the budget's slot deadline) came first: not a failure of the app. */
function isOutOfTime(error: unknown, signal: AbortSignal): boolean {
  return signal.aborted || error instanceof DeadlineExceededError;
}
