/**
 * One run of the Store health probe over every watched app, read only: the live main rollout (found
 * exactly as halt-rollout finds it), its two cohorts, the Store's crash and usage rows, and the
 * domain's assessment. One app's failure is recorded and the others go on. Used by the Lambda handler,
 * the local run and the CLI (`store-watchdog health`), so all three see the same figures.
 */
import type { RolloutLookup, RolloutPort } from '../commons/domain/ports.ts';
import type { RolloutRef } from '../commons/domain/rollout.ts';
import {
  assessStoreHealth,
  type Cohorts,
  type StoreHealthAssessment,
  type StoreHealthSettings,
  windowStart,
} from '../commons/domain/store-health.ts';
import type { AnalyticsReader } from '../commons/store/analytics.ts';
import type { PackageVersionReader } from '../commons/store/cohorts.ts';

/** How far back usage is asked for: the daily figures lag by about 30 hours (ANALYTICS §7). */
export const USAGE_LOOKBACK_DAYS = 4;
const DAY_MS = 86_400_000;

/** What the probe needs from the outside, read only. */
export interface StoreHealthPorts {
  readonly findLiveRollouts: RolloutPort['findLiveRollouts'];
  readonly packageVersions: PackageVersionReader;
  readonly analytics: AnalyticsReader;
  /** Epoch ms. */
  readonly now: () => number;
}

export interface ProbedApp {
  readonly applicationId: string;
  readonly name?: string;
  readonly settings: StoreHealthSettings;
}

export type AppHealth =
  | {
      readonly state: 'no-rollout';
      readonly applicationId: string;
      readonly name?: string;
      /** Why there is nothing to judge, for a person. */
      readonly reason: string;
    }
  | {
      readonly state: 'assessed';
      readonly applicationId: string;
      readonly name?: string;
      readonly ref: RolloutRef;
      readonly cohorts: Cohorts;
      readonly windowHours: number;
      readonly assessment: StoreHealthAssessment;
    }
  | {
      readonly state: 'failed';
      readonly applicationId: string;
      readonly name?: string;
      readonly error: unknown;
    };

export interface StoreHealthRun {
  readonly apps: readonly AppHealth[];
  /** True when any app failed: the run must fail after publishing what it could. */
  readonly failed: boolean;
}

/** Probes one app; never rejects (a failure is a `failed` result). */
export async function probeApp(
  app: ProbedApp,
  ports: StoreHealthPorts,
  signal: AbortSignal,
): Promise<AppHealth> {
  const who = { applicationId: app.applicationId, ...(app.name === undefined ? {} : { name: app.name }) };
  try {
    const lookups = await ports.findLiveRollouts(
      { applicationId: app.applicationId, flights: undefined },
      signal,
    );
    const main = lookups.find((lookup) => lookupFlight(lookup) === undefined);
    if (main === undefined)
      return { state: 'no-rollout', ...who, reason: 'the Store reported no main rollout' };
    if (main.state === 'failed') return { state: 'failed', ...who, error: main.error };
    if (main.state === 'stopped') return { state: 'no-rollout', ...who, reason: 'the rollout is halted' };
    if (main.state === 'none') return { state: 'no-rollout', ...who, reason: main.reason };

    const fallbackRef: RolloutRef = {
      applicationId: app.applicationId,
      submissionId: main.rollout.fallbackSubmissionId,
    };
    const [rolloutVersions, fallbackVersions] = await Promise.all([
      ports.packageVersions.getPackageVersions(main.ref, signal),
      ports.packageVersions.getPackageVersions(fallbackRef, signal),
    ]);
    const distinct: Cohorts = {
      // A version in both submissions cannot tell the cohorts apart: it counts for the fallback only.
      rollout: rolloutVersions.filter((version) => !fallbackVersions.includes(version)),
      fallback: fallbackVersions,
      rolloutPercentage: main.rollout.packageRolloutPercentage,
    };
    const nowMs = ports.now();
    const crashWindow = { startMs: windowStart(nowMs, app.settings.windowHours), endMs: nowMs };
    const usageWindow = { startMs: nowMs - USAGE_LOOKBACK_DAYS * DAY_MS, endMs: nowMs };
    const crashes = await ports.analytics.getCrashHours(app.applicationId, crashWindow, signal);
    const usage = await ports.analytics.getDailyUsage(app.applicationId, usageWindow, signal);
    const assessment = assessStoreHealth({
      cohorts: distinct,
      crashes,
      usage,
      nowMs,
      settings: app.settings,
    });
    return {
      state: 'assessed',
      ...who,
      ref: main.ref,
      cohorts: distinct,
      windowHours: app.settings.windowHours,
      assessment,
    };
  } catch (error) {
    return { state: 'failed', ...who, error };
  }
}

/** Probes every app in turn (the tenant budget paces them anyway); one app's error never stops the rest. */
export async function runStoreHealth(
  apps: readonly ProbedApp[],
  ports: StoreHealthPorts,
  signal: AbortSignal,
): Promise<StoreHealthRun> {
  const results: AppHealth[] = [];
  for (const app of apps) results.push(await probeApp(app, ports, signal));
  return { apps: results, failed: results.some((result) => result.state === 'failed') };
}

function lookupFlight(lookup: RolloutLookup): string | undefined {
  return lookup.state === 'in-progress' || lookup.state === 'stopped' ? lookup.ref.flightId : lookup.flightId;
}
