/**
 * What an invocation produced, and the error it throws when a target failed.
 */
import type { WatchdogRun } from '../commons/domain/decide.ts';
import type { Notification } from '../commons/domain/notification.ts';
import type { TargetResult, WatchdogResult } from '../commons/domain/results.ts';
import type { ActingPlan } from '../commons/domain/targets.ts';
import { WatchdogError } from '../commons/errors.ts';

/** What an invocation produced, for the handler's metrics and the local run's story. */
export interface InvocationReport {
  readonly result: WatchdogResult;
  readonly plan?: ActingPlan;
  readonly run?: WatchdogRun;
  readonly notification?: Notification;
}

/**
 * Thrown after the notification went out when at least one target failed, so the event is kept (the
 * failure destination, or the queue's redelivery); the failed targets' retry is scheduled separately.
 */
export class TargetsFailedError extends WatchdogError {
  readonly report: InvocationReport;

  constructor(report: InvocationReport, failed: number) {
    super(
      'upstream',
      'TARGETS_FAILED',
      `${failed} of ${report.result.targets.length} rollout(s) could not be handled: ${describeFailures(report.result.targets)}; see the notification`,
      { retryable: true },
    );
    this.name = 'TargetsFailedError';
    this.report = report;
  }
}

/** Longest list of causes in the error message; the notification and the result hold every one. */
const MAX_FAILURE_CAUSES_LENGTH = 2000;

/**
 * The cause of each failed target, `code: message` (already safe: see `safeError`), grouped so a cause
 * shared by every rollout (a malformed secret) is said once, with the rollouts it stopped.
 */
export function describeFailures(targets: readonly TargetResult[]): string {
  const byCause = new Map<string, string[]>();
  for (const target of targets) {
    if (target.result !== 'failed') continue;
    const cause =
      target.error === undefined
        ? 'UNKNOWN: no cause was recorded'
        : `${target.error.code}: ${target.error.message}`;
    const where = `${target.applicationId} ${target.flightId === undefined ? 'main rollout' : `flight ${target.flightId}`}`;
    byCause.set(cause, [...(byCause.get(cause) ?? []), where]);
  }
  const text = [...byCause].map(([cause, where]) => `${where.join(', ')}: ${cause}`).join('; ');
  return text.length > MAX_FAILURE_CAUSES_LENGTH ? `${text.slice(0, MAX_FAILURE_CAUSES_LENGTH - 1)}…` : text;
}
