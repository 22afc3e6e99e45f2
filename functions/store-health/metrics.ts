/**
 * The probe's figures as CloudWatch metrics (embedded metric format on stdout), per the Store health
 * contract: namespace `StoreRolloutWatchdog/StoreHealth`, dimension `ApplicationId` only for the main
 * rollout (no `service` dimension, so an alarm on `CrashRateRatio` names exactly one app), and
 * `ApplicationId` with `FlightId` for a package flight's rollout.
 */
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { AppHealth } from './probe.ts';

export const STORE_HEALTH_NAMESPACE = 'StoreRolloutWatchdog/StoreHealth';
export const STORE_HEALTH_DIMENSION = 'ApplicationId';
/** The second dimension of a package flight's figures. */
export const STORE_HEALTH_FLIGHT_DIMENSION = 'FlightId';

/** The metric names of the contract. */
export const STORE_HEALTH_METRICS = {
  rolloutCrashDevices: 'RolloutCrashDevices',
  fallbackCrashDevices: 'FallbackCrashDevices',
  rolloutCrashRate: 'RolloutCrashRate',
  fallbackCrashRate: 'FallbackCrashRate',
  crashRateRatio: 'CrashRateRatio',
  insufficientData: 'InsufficientData',
} as const;

/**
 * A metrics object for one rollout's figures: the namespace, `ApplicationId`, and `FlightId` for a
 * package flight's rollout (its ID as configured, or as the Store lists it for `"all"`).
 */
function createAppMetrics(applicationId: string, flightId?: string): Metrics {
  const metrics = new Metrics({ namespace: STORE_HEALTH_NAMESPACE });
  metrics.clearDefaultDimensions();
  metrics.addDimension(STORE_HEALTH_DIMENSION, applicationId);
  if (flightId !== undefined) metrics.addDimension(STORE_HEALTH_FLIGHT_DIMENSION, flightId);
  return metrics;
}

/**
 * Adds one app's figures to `target` (see `createAppMetrics`); returns whether it added any. An app
 * without a live rollout, or that failed, gets none: no ratio, no insufficient-data count.
 */
function recordAppHealth(target: Metrics, app: AppHealth): boolean {
  if (app.state !== 'assessed') return false;
  const { assessment } = app;
  const names = STORE_HEALTH_METRICS;
  target.addMetric(names.rolloutCrashDevices, MetricUnit.Count, assessment.rollout.crashDevices);
  target.addMetric(names.fallbackCrashDevices, MetricUnit.Count, assessment.fallback.crashDevices);
  if (assessment.rollout.crashRate !== undefined)
    target.addMetric(names.rolloutCrashRate, MetricUnit.Percent, assessment.rollout.crashRate);
  if (assessment.fallback.crashRate !== undefined)
    target.addMetric(names.fallbackCrashRate, MetricUnit.Percent, assessment.fallback.crashRate);
  if (assessment.verdict === 'sufficient') {
    target.addMetric(names.crashRateRatio, MetricUnit.NoUnit, assessment.ratio);
    target.addMetric(names.insufficientData, MetricUnit.Count, 0);
  } else {
    target.addMetric(names.insufficientData, MetricUnit.Count, 1);
  }
  return true;
}

/** Publishes every rollout's figures, one EMF document per app and flight. */
export function publishStoreHealth(apps: readonly AppHealth[], create = createAppMetrics): void {
  for (const app of apps) {
    const metrics = create(app.applicationId, app.flightId);
    if (recordAppHealth(metrics, app)) metrics.publishStoredMetrics();
  }
}
