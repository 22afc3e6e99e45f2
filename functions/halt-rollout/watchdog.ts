/**
 * One watchdog invocation, from event to result: parse, resolve, decide, notify, and fail when a target
 * failed. Shared by the Lambda handler and the local run, which hand in their own ports (the handler:
 * Secrets Manager, the Store API and SNS; the local run: the simulator and the terminal).
 */
import type { WatchdogConfig } from '../commons/config/env.ts';
import { type DecisionLogger, runWatchdog, type WatchdogRun } from '../commons/domain/decide.ts';
import { parseEvent } from '../commons/domain/events.ts';
import { buildNotification, type Notification } from '../commons/domain/notification.ts';
import type { RolloutMemory, RolloutPort } from '../commons/domain/ports.ts';
import type { TargetResult, WatchdogResult } from '../commons/domain/results.ts';
import { type ActingPlan, resolveTargets } from '../commons/domain/targets.ts';
import { describeError, WatchdogError } from '../commons/errors.ts';
import { createDeadline } from '../commons/store/deadline.ts';

/** Where the invocation's work goes; everything the flow touches outside plain data. */
export interface WatchdogPorts {
  readonly rollouts: RolloutPort;
  /** Each app's remembered live rollout (`ROLLOUT_MEMORY_TABLE`); absent: every halt reads first. */
  readonly memory?: RolloutMemory;
  /** Publishes the one notification of an acting invocation. */
  readonly publish: (notification: Notification, signal: AbortSignal) => Promise<void>;
  readonly now: () => number;
  readonly logger: DecisionLogger & {
    error(message: string, attributes: Record<string, unknown>): void;
    /** Adds keys to every later log line of the invocation (Powertools' `Logger` has it). */
    appendKeys?(attributes: Record<string, unknown>): void;
  };
}

/** Time limits of one invocation, from the Lambda context. */
export interface InvocationBudget {
  /** Aborts the Store work: retries stop here so there is time left to notify. */
  readonly decideSignal: AbortSignal;
  /** Aborts the notification: just before the Lambda's own timeout. */
  readonly notifySignal: AbortSignal;
}

/** Splits the time left into the Store work and a reserve for the notification. */
export function budgetFromRemaining(remainingMs: number): InvocationBudget {
  // Keep the larger of 3 s or a fifth of the time for publishing, and a last 500 ms for Lambda itself.
  const notifyReserveMs = Math.max(3000, Math.floor(remainingMs / 5));
  const decideMs = Math.max(0, remainingMs - notifyReserveMs);
  const notifyMs = Math.max(0, remainingMs - 500);
  // Deadline signals remember when they fire, so retries and the throttle refuse waits that would pass them.
  return {
    decideSignal: createDeadline({ timeoutMs: decideMs }),
    notifySignal: createDeadline({ timeoutMs: notifyMs }),
  };
}

/** What an invocation produced, for the handler's metrics and the local run's story. */
export interface InvocationReport {
  readonly result: WatchdogResult;
  readonly plan?: ActingPlan;
  readonly run?: WatchdogRun;
  readonly notification?: Notification;
}

/** Thrown after the notification went out when at least one target failed, so Lambda retries the event. */
export class TargetsFailedError extends WatchdogError {
  readonly report: InvocationReport;

  constructor(report: InvocationReport, failed: number) {
    super(
      'upstream',
      'TARGETS_FAILED',
      `${failed} of ${report.result.targets.length} rollout(s) could not be handled: ${describeFailures(report.result.targets)}; see the notification`,
      {
        retryable: true,
      },
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

/**
 * Handles one event. Returns the contract's result; throws `BadInputError` for a rejected event (nothing
 * called, nothing published), the publish error when the notification could not be sent, and
 * `TargetsFailedError` (after publishing) when any target failed.
 */
export async function handleWatchdogEvent(
  event: unknown,
  config: WatchdogConfig,
  ports: WatchdogPorts,
  budget: InvocationBudget,
  onReport?: (report: InvocationReport) => void,
): Promise<WatchdogResult> {
  const intake = parseEvent(event);
  const plan = resolveTargets(intake, config);
  if (plan.kind === 'ignored') {
    const log = plan.warn ? ports.logger.warn : ports.logger.info;
    log.call(ports.logger, 'event ignored', { ignored: plan.ignored });
    const report = { result: { ignored: plan.ignored, targets: [] } };
    onReport?.(report);
    return report.result;
  }
  ports.logger.appendKeys?.({
    trigger: plan.trigger.kind,
    ...(plan.trigger.kind === 'alarm'
      ? { alarmNames: plan.trigger.alarms.map((alarm) => alarm.alarmName) }
      : {}),
  });
  ports.logger.info('event accepted', {
    apps: plan.apps.map((planned) => ({ applicationId: planned.app.applicationId, dryRun: planned.dryRun })),
  });
  if (plan.unmatchedAlarms.length > 0) {
    ports.logger.warn('alarms in ALARM that no app lists were ignored', { alarmNames: plan.unmatchedAlarms });
  }

  const run = await runWatchdog(
    plan,
    {
      rollouts: ports.rollouts,
      now: ports.now,
      logger: ports.logger,
      ...(ports.memory === undefined ? {} : { memory: ports.memory }),
    },
    budget.decideSignal,
  );
  const result: WatchdogResult = { targets: run.targets };
  const notification = buildNotification(plan, run);
  const report: InvocationReport = { result, plan, run, notification };
  onReport?.(report);

  try {
    await ports.publish(notification, budget.notifySignal);
  } catch (error) {
    // The halts stand; failing makes Lambda retry the event, and the retry reports `already-halted`.
    ports.logger.error('notification not published', {
      error: describeError(error),
      outcome: notification.outcome,
    });
    throw error;
  }

  const failed = run.targets.filter((target) => target.result === 'failed').length;
  if (failed > 0) throw new TargetsFailedError(report, failed);
  return result;
}
