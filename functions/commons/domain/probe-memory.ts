/**
 * What the Store health probe remembers between runs, and the pure decisions of what it must read
 * again: settled targets, cohorts, hourly crash rows, daily usage, hourly flight lists (docs/store-health.md,
 * "What it costs, and what it remembers"). No AWS SDK, no clock: times come in as epoch milliseconds.
 */
import { definedProps } from '../optional.ts';
import type { CrashHour, DailyUsage } from './store-health.ts';

const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;

/** The two submissions the Store names for a target (the app resource, or the flight resource). */
export interface TargetSubmissions {
  readonly lastPublishedId?: string | undefined;
  readonly pendingId?: string | undefined;
}

/** What was seen of one target on its last read. */
export interface RememberedTarget extends TargetSubmissions {
  /**
   * `settled`: nothing can become live without the Store naming another submission (the last published
   * one's rollout is complete, halted or not gradual, or there is none, and the pending one is not
   * live). `watch`: live, not started, or anything else worth reading again.
   */
  readonly state: 'settled' | 'watch';
  /** When it was read, epoch ms. */
  readonly readAtMs: number;
}

/** Daily usage as last read for an app. */
export interface RememberedUsage {
  /** The UTC day (its start, epoch ms) of the read. */
  readonly readDayMs: number;
  /** The cohorts' versions the read was for. */
  readonly versions: readonly string[];
  /** The rows of those versions. */
  readonly rows: readonly DailyUsage[];
}

/** Hourly crash rows as last read for an app. */
export interface RememberedCrashes {
  /** The app's hourly slot of the read (`hourlySlot`). */
  readonly slot: number;
  /** The cohorts' versions the read was for. */
  readonly versions: readonly string[];
  /** The rows of those versions. */
  readonly rows: readonly CrashHour[];
  /** How many rows the Store returned for the app (any version): none is "no data", never healthy. */
  readonly storeRows: number;
}

/** Everything remembered for one app. */
export interface AppMemory {
  readonly applicationId: string;
  readonly main?: RememberedTarget | undefined;
  /** Per flight ID in lower case. */
  readonly flights: Readonly<Record<string, RememberedTarget>>;
  /** The app's hourly slot in which its package flights were last read (see `flightsAreDue`). */
  readonly flightsSlot?: number | undefined;
  /** Package versions of published submissions, per `cohortKey`. */
  readonly cohorts: Readonly<Record<string, readonly string[]>>;
  readonly crashes?: RememberedCrashes | undefined;
  readonly usage?: RememberedUsage | undefined;
}

/** An app with nothing remembered. */
export function emptyAppMemory(applicationId: string): AppMemory {
  return { applicationId, flights: {}, cohorts: {} };
}

/** The key of a submission's cohort: `main/<id>` or `flight/<flight ID in lower case>/<id>`. */
export function cohortKey(ref: {
  readonly flightId?: string | undefined;
  readonly submissionId: string;
}): string {
  return ref.flightId === undefined
    ? `main/${ref.submissionId}`
    : `flight/${ref.flightId.toLowerCase()}/${ref.submissionId}`;
}

/** The key of a flight's remembered target. */
export function flightKey(flightId: string): string {
  return flightId.toLowerCase();
}

/** Whether the target must be read: anything but a settled target the Store still names the same way. */
export function needsRolloutRead(
  remembered: RememberedTarget | undefined,
  current: TargetSubmissions,
): boolean {
  if (remembered === undefined || remembered.state !== 'settled') return true;
  return (
    (remembered.lastPublishedId ?? '') !== (current.lastPublishedId ?? '') ||
    (remembered.pendingId ?? '') !== (current.pendingId ?? '')
  );
}

/** What a read found, as far as memory cares. */
export type TargetReading =
  /** A rollout in progress (live). */
  | { readonly kind: 'live' }
  /** No live rollout, and none can start without the Store naming another submission. */
  | { readonly kind: 'settled' }
  /** No live rollout now, but the last published one may still start (e.g. not started yet). */
  | { readonly kind: 'unsettled' };

/** The memory of a target after a read of it. */
export function rememberTarget(
  current: TargetSubmissions,
  reading: TargetReading,
  nowMs: number,
): RememberedTarget {
  return {
    ...definedProps({ lastPublishedId: current.lastPublishedId, pendingId: current.pendingId }),
    state: reading.kind === 'settled' ? 'settled' : 'watch',
    readAtMs: nowMs,
  };
}

/**
 * Whether a rollout can no longer change by itself: complete, halted, or not a gradual rollout. A
 * rollout not started yet (or in progress) can.
 */
export function isSettledRollout(rollout: {
  readonly isPackageRollout: boolean;
  readonly packageRolloutStatus: string;
}): boolean {
  return (
    !rollout.isPackageRollout ||
    rollout.packageRolloutStatus === 'PackageRolloutComplete' ||
    rollout.packageRolloutStatus === 'PackageRolloutStopped'
  );
}

/** The UTC day (its start) of `ms`. */
function utcDay(ms: number): number {
  return Math.floor(ms / DAY_MS) * DAY_MS;
}

/**
 * Whether daily usage must be read now for `versions` (the versions of every live cohort of the app):
 * never read, read on an earlier UTC day, or read today for versions that did not include all of these.
 */
export function usageIsDue(
  usage: RememberedUsage | undefined,
  versions: readonly string[],
  nowMs: number,
): boolean {
  if (usage === undefined || usage.readDayMs !== utcDay(nowMs)) return true;
  const covered = new Set(usage.versions);
  return versions.some((version) => !covered.has(version));
}

/** The usage to remember after a read: only the rows of the versions asked for. */
export function rememberUsage(
  rows: readonly DailyUsage[],
  versions: readonly string[],
  nowMs: number,
): RememberedUsage {
  const wanted = new Set(versions);
  return {
    readDayMs: utcDay(nowMs),
    versions: [...wanted],
    rows: rows.filter((row) => wanted.has(row.packageVersion)),
  };
}

/**
 * The app's hourly slot at `nowMs`: the hour count, shifted by a phase (0 to 59 minutes) taken from
 * the Store ID, so that different apps change slot at different minutes of the hour.
 */
export function hourlySlot(applicationId: string, nowMs: number): number {
  let hash = 0x811c9dc5;
  for (let index = 0; index < applicationId.length; index++) {
    hash ^= applicationId.charCodeAt(index);
    hash = Math.imul(hash, 0x01000193);
  }
  const phaseMs = ((hash >>> 0) % 60) * 60_000;
  return Math.floor((nowMs + phaseMs) / HOUR_MS);
}

/**
 * Whether the app's crash rows must be read now for `versions` (the versions of every live cohort):
 * never read, read in an earlier hourly slot, or read in this one without all of these versions.
 */
export function crashesAreDue(
  crashes: RememberedCrashes | undefined,
  applicationId: string,
  versions: readonly string[],
  nowMs: number,
): boolean {
  if (crashes === undefined || crashes.slot !== hourlySlot(applicationId, nowMs)) return true;
  const covered = new Set(crashes.versions);
  return versions.some((version) => !covered.has(version));
}

/** The crash rows to remember after a read: only those of the versions asked for. */
export function rememberCrashes(
  rows: readonly CrashHour[],
  applicationId: string,
  versions: readonly string[],
  nowMs: number,
): RememberedCrashes {
  const wanted = new Set(versions);
  return {
    slot: hourlySlot(applicationId, nowMs),
    versions: [...wanted],
    rows: rows.filter((row) => wanted.has(row.packageVersion)),
    storeRows: rows.length,
  };
}

/**
 * Whether the app's package flights must be listed (or read) now: always while one of them is worth
 * watching (live, or not settled) or none was ever read; else once per hourly slot.
 */
export function flightsAreDue(memory: AppMemory | undefined, nowMs: number): boolean {
  if (memory === undefined || memory.flightsSlot === undefined) return true;
  if (Object.values(memory.flights).some((flight) => flight.state === 'watch')) return true;
  return memory.flightsSlot !== hourlySlot(memory.applicationId, nowMs);
}

/** Keeps the cohorts still in use (the keys given), so the memory of an app never grows. */
export function keepCohorts(
  cohorts: Readonly<Record<string, readonly string[]>>,
  inUse: ReadonlySet<string>,
): Record<string, readonly string[]> {
  return Object.fromEntries(Object.entries(cohorts).filter(([key]) => inUse.has(key)));
}

/**
 * The order in which apps are read: apps with a target remembered as worth watching (live rollouts
 * first of all) before the rest, so that a run cut short by its deadline or the budget has probed
 * every live rollout before it catches up on new or changed apps. Stable otherwise.
 */
export function orderForReading<T extends { readonly applicationId: string }>(
  apps: readonly T[],
  memory: ReadonlyMap<string, AppMemory>,
): T[] {
  const watched = (app: T): boolean => {
    const remembered = memory.get(app.applicationId);
    if (remembered === undefined) return false;
    return (
      remembered.main?.state === 'watch' ||
      Object.values(remembered.flights).some((flight) => flight.state === 'watch')
    );
  };
  return [...apps.filter(watched), ...apps.filter((app) => !watched(app))];
}

/** Whether two memories say the same (a run writes an app's item only when it changed). */
export function sameMemory(a: AppMemory | undefined, b: AppMemory): boolean {
  return a !== undefined && canonical(a) === canonical(b);
}

function canonical(memory: AppMemory): string {
  const sortKeys = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(sortKeys);
    if (value !== null && typeof value === 'object')
      return Object.fromEntries(
        Object.entries(value)
          .filter(([, entry]) => entry !== undefined)
          .sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0))
          .map(([key, entry]) => [key, sortKeys(entry)]),
      );
    return value;
  };
  return JSON.stringify(sortKeys(memory));
}
