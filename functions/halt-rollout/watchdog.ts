/**
 * One watchdog invocation, from event to result: parse, resolve, decide, notify, and fail when a target
 * failed. Shared by the Lambda handler and the local run, which hand in their own ports (the handler:
 * Secrets Manager, the Store API and SNS; the local run: the simulator and the terminal).
 */
import type { WatchdogConfig } from '../commons/config/env.ts';
import {
  type Continuation,
  continuationFor,
  type PendingApps,
  readContinuation,
  resolveContinuation,
  splitPending,
} from '../commons/domain/continuation.ts';
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
  /**
   * Hands the apps of a storm this invocation could not reach on to the next invocation (a durable
   * queue that invokes the function); absent: they are reported `failed`, and Lambda retries the event.
   */
  readonly handOn?: (continuation: Continuation, signal: AbortSignal) => Promise<void>;
  /** Wall-clock milliseconds (when a storm started). @default Date.now */
  readonly wallClock?: () => number;
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
 * Hands on the apps the tenant's budget could not serve before the deadline, when the storm may go on:
 * the continuation is durable (the queue accepted it) before their results are dropped from this run.
 * Without a queue, past the last part, when nothing at all was decided (no progress), or when the queue
 * refuses, they stay `failed`, so the invocation fails and Lambda retries the whole event.
 */
async function handOnPending(
  plan: ActingPlan,
  decided: WatchdogRun,
  storm: { readonly part: number; readonly stormStartedAt: string },
  ports: WatchdogPorts,
  budget: InvocationBudget,
): Promise<{ run: WatchdogRun; pending?: PendingApps }> {
  if (ports.handOn === undefined) return { run: decided };
  const split = splitPending(decided);
  if (split.applicationIds.length === 0 || split.run.targets.length === 0) return { run: decided };
  const next = continuationFor(plan, split.applicationIds, storm);
  if (next === undefined) return { run: decided };
  try {
    await ports.handOn(next, budget.notifySignal);
  } catch (error) {
    ports.logger.error('continuation not handed on; the apps it holds are failed', {
      error: describeError(error),
      pending: next.applicationIds,
    });
    return { run: decided };
  }
  ports.logger.info('apps handed on to the next invocation', {
    part: next.part,
    pending: next.applicationIds,
  });
  return { run: split.run, pending: { applicationIds: next.applicationIds, nextPart: next.part } };
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
  const continuation = readContinuation(event);
  const plan =
    continuation === undefined
      ? resolveTargets(parseEvent(event), config)
      : resolveContinuation(continuation, config);
  const storm = continuation ?? {
    part: 1,
    stormStartedAt: new Date((ports.wallClock ?? Date.now)()).toISOString(),
  };
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
    ...(continuation === undefined ? {} : { continuationPart: continuation.part }),
  });
  if (plan.unmatchedAlarms.length > 0) {
    ports.logger.warn('alarms in ALARM that no app lists were ignored', { alarmNames: plan.unmatchedAlarms });
  }

  const decided = await runWatchdog(
    plan,
    {
      rollouts: ports.rollouts,
      now: ports.now,
      logger: ports.logger,
      ...(ports.memory === undefined ? {} : { memory: ports.memory }),
    },
    budget.decideSignal,
  );
  const { run, pending } = await handOnPending(plan, decided, storm, ports, budget);
  const result: WatchdogResult = {
    ...(plan.drill === true ? { drill: true } : {}),
    targets: run.targets,
    ...(pending === undefined ? {} : { pending: pending.applicationIds }),
  };
  const notification = buildNotification(plan, run, pending);
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
