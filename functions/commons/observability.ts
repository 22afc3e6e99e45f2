/**
 * One logger and one metrics object per function, attached as middy middleware by the handler.
 * Logs are structured JSON (Powertools Logger); metrics use the embedded metric format (Powertools
 * Metrics), so they need no CloudWatch API permission.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { WatchdogRun } from './domain/decide.ts';
import type { TargetResult } from './domain/results.ts';

const DEFAULT_SERVICE_NAME = 'store-rollout-watchdog';
const DEFAULT_METRICS_NAMESPACE = 'StoreRolloutWatchdog';

export interface Observability {
  readonly logger: Logger;
  readonly metrics: Metrics;
}

/** The logger and metrics for one function (`POWERTOOLS_*` environment variables override the defaults). */
export function createObservability(serviceName = DEFAULT_SERVICE_NAME): Observability {
  const logger = new Logger({ serviceName });
  const metrics = new Metrics({
    serviceName,
    namespace: process.env.POWERTOOLS_METRICS_NAMESPACE ?? DEFAULT_METRICS_NAMESPACE,
  });
  return { logger, metrics };
}

/** Metric name per target result (see the README, "Observe"). */
const METRIC_BY_RESULT: Record<TargetResult['result'], string> = {
  halted: 'Halts',
  'would-halt': 'WouldHalts',
  'already-halted': 'AlreadyHalted',
  'no-active-rollout': 'NoActiveRollout',
  failed: 'Failures',
};

/** Records one count per target result, and the time to halt of each rollout this invocation halted. */
export function recordRun(metrics: Metrics, run: WatchdogRun): void {
  for (const [result, name] of Object.entries(METRIC_BY_RESULT)) {
    const count = run.targets.filter((target) => target.result === result).length;
    metrics.addMetric(name, MetricUnit.Count, count);
  }
  run.targets.forEach((target, index) => {
    const detail = run.details[index];
    if (target.result === 'halted' && detail !== undefined) {
      metrics.addMetric('TimeToHalt', MetricUnit.Milliseconds, detail.elapsedMs);
    }
  });
}
