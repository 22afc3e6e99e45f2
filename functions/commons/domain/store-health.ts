/**
 * The Store health probe's judgement, as pure functions: a rollout's two cohorts' crash devices, exposure,
 * crash rates and ratio, or too little data to say (the rules: docs/store-health.md, "What the signal
 * is, and what it is not").
 */

/** Devices that crashed on one package version in one hourly bucket. */
export interface CrashHour {
  /** The bucket's start, epoch ms (UTC assumed). */
  readonly hourStartMs: number;
  readonly packageVersion: string;
  /** Fractional: the Store's counts are estimates. */
  readonly deviceCount: number;
}

/** Daily active devices on one package version on one day. */
export interface DailyUsage {
  readonly dayStartMs: number;
  readonly packageVersion: string;
  readonly dailyActiveDevices: number;
}

export interface StoreHealthSettings {
  /** The trailing window of hourly crash buckets, in hours (1 to 72). */
  readonly windowHours: number;
  /** Fewer rollout crash devices than this over the window is too little to judge. */
  readonly minCrashDevices: number;
  /** Fewer rollout active devices than this (where usage is known) is too little to judge. */
  readonly minActiveDevices: number;
}

export const DEFAULT_STORE_HEALTH_SETTINGS: StoreHealthSettings = {
  windowHours: 6,
  minCrashDevices: 5,
  minActiveDevices: 100,
};

/** The two cohorts of a live rollout. */
export interface Cohorts {
  /** Package versions of the in-progress submission. */
  readonly rollout: readonly string[];
  /** Package versions of its fallback submission. */
  readonly fallback: readonly string[];
  /** The rollout's percentage (0 to 100). */
  readonly rolloutPercentage: number;
}

export type Exposure =
  | { readonly kind: 'active-devices'; readonly devices: number; readonly dayStartMs: number }
  | { readonly kind: 'rollout-share'; readonly percent: number };

export interface CohortFigures {
  readonly versions: readonly string[];
  readonly crashDevices: number;
  readonly exposure: Exposure;
  /** Crash devices per exposure × 100; `undefined` when the exposure is 0. */
  readonly crashRate: number | undefined;
}

export type StoreHealthAssessment =
  | {
      readonly verdict: 'sufficient';
      readonly rollout: CohortFigures;
      readonly fallback: CohortFigures;
      readonly ratio: number;
    }
  | {
      readonly verdict: 'insufficient';
      readonly rollout: CohortFigures;
      readonly fallback: CohortFigures;
      /** Why the data is too little to judge, for a person. */
      readonly reasons: readonly string[];
    };

export interface StoreHealthInput {
  readonly cohorts: Cohorts;
  readonly crashes: readonly CrashHour[];
  /**
   * Whether the Store returned any crash row for the app (any version), when `crashes` holds only the
   * cohorts' rows. @default `crashes` is not empty
   */
  readonly storeReturnedRows?: boolean;
  readonly usage: readonly DailyUsage[];
  /** Now, epoch ms: the window is `[now − windowHours, now)`. */
  readonly nowMs: number;
  readonly settings: StoreHealthSettings;
}

const HOUR_MS = 3_600_000;

/** The window's start for `nowMs`. */
export function windowStart(nowMs: number, windowHours: number): number {
  return nowMs - windowHours * HOUR_MS;
}

/** Crash devices of a cohort over `[startMs, endMs)`. */
export function sumCrashDevices(
  crashes: readonly CrashHour[],
  versions: readonly string[],
  startMs: number,
  endMs: number,
): number {
  const wanted = new Set(versions);
  let sum = 0;
  for (const row of crashes) {
    if (wanted.has(row.packageVersion) && row.hourStartMs >= startMs && row.hourStartMs < endMs)
      sum += row.deviceCount;
  }
  return sum;
}

/** Active devices of a cohort on the latest day the usage has any of its versions; `undefined` if none. */
export function latestActiveDevices(
  usage: readonly DailyUsage[],
  versions: readonly string[],
): { readonly devices: number; readonly dayStartMs: number } | undefined {
  const wanted = new Set(versions);
  const rows = usage.filter((row) => wanted.has(row.packageVersion));
  if (rows.length === 0) return undefined;
  const latest = Math.max(...rows.map((row) => row.dayStartMs));
  const devices = rows
    .filter((row) => row.dayStartMs === latest)
    .reduce((total, row) => total + row.dailyActiveDevices, 0);
  return { devices, dayStartMs: latest };
}

/** Crash devices per exposure × 100; `undefined` without exposure (less than one active device, or a 0 % share). */
function rate(crashDevices: number, exposure: Exposure): number | undefined {
  const base = exposure.kind === 'active-devices' ? exposure.devices : exposure.percent;
  const exposed = exposure.kind === 'active-devices' ? base >= 1 : base > 0;
  if (!exposed) return undefined;
  const value = (crashDevices / base) * 100;
  return Number.isFinite(value) ? value : undefined;
}

function figures(versions: readonly string[], crashDevices: number, exposure: Exposure): CohortFigures {
  return { versions, crashDevices, exposure, crashRate: rate(crashDevices, exposure) };
}

function round(value: number): string {
  return Number.isInteger(value) ? String(value) : value.toFixed(2);
}

/** The figures of both cohorts and the verdict (see the module comment for the rules). */
export function assessStoreHealth(input: StoreHealthInput): StoreHealthAssessment {
  const { cohorts, crashes, usage, nowMs, settings } = input;
  const startMs = windowStart(nowMs, settings.windowHours);
  const rolloutCrashes = sumCrashDevices(crashes, cohorts.rollout, startMs, nowMs);
  const fallbackCrashes = sumCrashDevices(crashes, cohorts.fallback, startMs, nowMs);
  const rolloutUsage = latestActiveDevices(usage, cohorts.rollout);
  const fallbackUsage = latestActiveDevices(usage, cohorts.fallback);
  const share = Math.min(100, Math.max(0, cohorts.rolloutPercentage));
  const byUsage = rolloutUsage !== undefined && fallbackUsage !== undefined;
  const rolloutExposure: Exposure = byUsage
    ? { kind: 'active-devices', ...rolloutUsage }
    : { kind: 'rollout-share', percent: share };
  const fallbackExposure: Exposure = byUsage
    ? { kind: 'active-devices', ...fallbackUsage }
    : { kind: 'rollout-share', percent: 100 - share };
  const rollout = figures(cohorts.rollout, rolloutCrashes, rolloutExposure);
  const fallback = figures(cohorts.fallback, fallbackCrashes, fallbackExposure);

  const reasons: string[] = [];
  if (cohorts.rollout.length === 0) reasons.push('the rollout submission lists no package version');
  if (cohorts.fallback.length === 0) reasons.push('the fallback submission lists no package version');
  if (!(input.storeReturnedRows ?? crashes.length > 0))
    reasons.push('the Store returned no crash rows for the app in the window');
  if (rolloutCrashes < settings.minCrashDevices) {
    reasons.push(
      `the rollout cohort has ${round(rolloutCrashes)} crash devices in ${settings.windowHours} h, fewer than ${settings.minCrashDevices}`,
    );
  }
  if (rolloutUsage !== undefined && rolloutUsage.devices < settings.minActiveDevices) {
    reasons.push(
      `the rollout cohort has ${round(rolloutUsage.devices)} active devices, fewer than ${settings.minActiveDevices}`,
    );
  }
  if (rollout.crashRate === undefined) reasons.push('the rollout cohort has no exposure');
  // The fallback's rate for the ratio: fewer than one crash device counts as one.
  const fallbackRate = rate(Math.max(1, fallbackCrashes), fallbackExposure);
  if (fallbackRate === undefined) reasons.push('the fallback cohort has no exposure');

  const ratio =
    rollout.crashRate === undefined || fallbackRate === undefined
      ? undefined
      : rollout.crashRate / fallbackRate;
  if (reasons.length === 0 && (ratio === undefined || !Number.isFinite(ratio)))
    reasons.push('the crash rates cannot be compared');
  if (reasons.length > 0 || ratio === undefined)
    return { verdict: 'insufficient', rollout, fallback, reasons };
  return { verdict: 'sufficient', rollout, fallback, ratio };
}
