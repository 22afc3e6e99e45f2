/**
 * One watchdog invocation, from event to result: parse, resolve, decide, notify, and fail when a target
 * failed. Shared by the Lambda handler and the local run, which hand in their own ports (the handler:
 * Secrets Manager, the Store API and SNS; the local run: the simulator and the terminal).
 */
import type { WatchdogEnvironment } from '../commons/config/env.ts';
import {
  type Continuation,
  continuationFor,
  type PendingApps,
  readContinuation,
  resolveContinuation,
  retryContinuation,
  STALLED_HAND_ON_DELAY_SECONDS,
  splitPending,
} from '../commons/domain/continuation.ts';
import { type DecisionLogger, runWatchdog, type WatchdogRun } from '../commons/domain/decide.ts';
import { parseEvent } from '../commons/domain/events.ts';
import { buildNotification, type Notification } from '../commons/domain/notification.ts';
import type { RolloutMemory, RolloutPort } from '../commons/domain/ports.ts';
import type { TargetResult, WatchdogResult } from '../commons/domain/results.ts';
import { type ActingPlan, type Plan, resolveTargets } from '../commons/domain/targets.ts';
import {
  type AttemptInfo,
  type ClaimOutcome,
  failedTargetKeys,
  handlingIdentity,
  MAX_ATTEMPTS,
  narrowToTargets,
  retryDelaySeconds,
  type TargetKey,
  type TransitionLedger,
  wholeAppKeys,
} from '../commons/domain/transitions.ts';
import { describeError, WatchdogError } from '../commons/errors.ts';
import { createDeadline } from '../commons/http/deadline.ts';

/** Where the invocation's work goes; everything the flow touches outside plain data. */
export interface WatchdogPorts {
  readonly rollouts: RolloutPort;
  /** Each app's remembered live rollout (`ROLLOUT_MEMORY_TABLE`); absent: every halt reads first. */
  readonly memory?: RolloutMemory;
  /**
   * Hands the apps of a storm this invocation could not reach on to the next invocation (a durable
   * queue that invokes the function), and schedules the retry of failed targets on it (delayed);
   * absent: such apps are reported `failed`, and no retry is scheduled.
   */
  readonly handOn?: (continuation: Continuation, signal: AbortSignal, delaySeconds?: number) => Promise<void>;
  /**
   * The record of handled alarm transitions (`ROLLOUT_MEMORY_TABLE`): duplicates are dropped, retries
   * re-examine only failed targets, at most three attempts. Absent: every delivery on its own (v2).
   */
  readonly ledger?: TransitionLedger;
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
  /**
   * Milliseconds until the Lambda's timeout: after that this invocation cannot still be running, so its
   * claim on a transition lapses. @default 900 000 (Lambda's longest timeout)
   */
  readonly remainingMs?: number;
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
    remainingMs,
  };
}

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
 * A rollout never sent to the Store because the budget had no slot is not a failure, even when nothing
 * at all was decided (`stalled`: every slot went to other invocations): such a hand-on is delayed by a
 * Store window (`STALLED_HAND_ON_DELAY_SECONDS`), so a saturated budget cannot spin the storm through
 * its parts, and the storm stays bounded by `MAX_CONTINUATION_PART`. Without a queue, past the last
 * part, in a retry (its part's first attempt may have handed on already: a second continuation of the
 * same part would be answered as a duplicate), or when the queue refuses, they stay `failed`, so the
 * next attempt re-examines them (or people are told).
 */
async function handOnPending(
  plan: ActingPlan,
  decided: WatchdogRun,
  storm: { readonly part: number; readonly stormStartedAt: string },
  attempt: number,
  ports: WatchdogPorts,
  budget: InvocationBudget,
): Promise<{ run: WatchdogRun; pending?: PendingApps }> {
  if (ports.handOn === undefined || attempt > 1) return { run: decided };
  const split = splitPending(decided);
  if (split.applicationIds.length === 0) return { run: decided };
  const next = continuationFor(plan, split.applicationIds, storm);
  if (next === undefined) return { run: decided };
  const stalled = split.run.targets.length === 0;
  try {
    await ports.handOn(next, budget.notifySignal, stalled ? STALLED_HAND_ON_DELAY_SECONDS : undefined);
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
    ...(stalled ? { stalled: true, delaySeconds: STALLED_HAND_ON_DELAY_SECONDS } : {}),
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
  config: WatchdogEnvironment,
  ports: WatchdogPorts,
  budget: InvocationBudget,
  onReport?: (report: InvocationReport) => void,
): Promise<WatchdogResult> {
  const continuation = readContinuation(event);
  const wallClock = ports.wallClock ?? Date.now;
  let resolved: Plan;
  let leftOut: readonly string[] = [];
  if (continuation === undefined) {
    resolved = resolveTargets(parseEvent(event), config);
  } else {
    const fromContinuation = resolveContinuation(continuation, config);
    resolved = fromContinuation.plan;
    leftOut = fromContinuation.dropped;
    if (leftOut.length > 0) {
      ports.logger.warn('continuation apps left out: the config no longer pairs them with its alarms', {
        leftOut,
        continuationPart: continuation.part,
      });
    }
  }
  const storm = continuation ?? {
    part: 1,
    stormStartedAt: new Date(wallClock()).toISOString(),
  };
  const plan = resolved;
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

  const claimed = await claimTransition(plan, continuation, storm.part, ports, budget);
  if (claimed.kind === 'duplicate') {
    const report = { result: { duplicate: true as const, targets: [] } };
    onReport?.(report);
    return report.result;
  }
  const acting = claimed.plan;
  if (acting.apps.length === 0) {
    // A retry whose targets' apps the config no longer holds: nothing is left to examine.
    const ignored = 'the targets to retry belong to apps the config no longer pairs with the alarm';
    ports.logger.warn('retry ignored', { ignored });
    await settle(claimed, [], ports, budget);
    const report = { result: { ignored, targets: [] } };
    onReport?.(report);
    return report.result;
  }

  const decided = await runWatchdog(
    acting,
    {
      rollouts: ports.rollouts,
      now: ports.now,
      logger: ports.logger,
      ...(ports.memory === undefined ? {} : { memory: ports.memory }),
    },
    budget.decideSignal,
  );
  const { run, pending } = await handOnPending(
    acting,
    decided,
    storm,
    claimed.kind === 'claimed' ? claimed.attempt : 1,
    ports,
    budget,
  );
  if (run.targets.length === 0 && pending !== undefined && leftOut.length === 0) {
    // Nothing happened here: every app waited for the budget in vain and was handed on. No message
    // (the part that decides them announces them, once); the part is done, its continuation is new.
    ports.logger.info('nothing decided: every app handed on, no notification (the next part announces)', {
      pending: pending.applicationIds,
      nextPart: pending.nextPart,
    });
    await settle(claimed, [], ports, budget);
    const result: WatchdogResult = {
      ...(acting.drill === true ? { drill: true } : {}),
      targets: [],
      pending: pending.applicationIds,
    };
    onReport?.({ result, plan: acting, run });
    return result;
  }
  const failedKeys = failedTargetKeys(run);
  const nextInSeconds =
    failedKeys.length > 0
      ? await scheduleRetry(acting, failedKeys, storm, claimed, ports, budget)
      : undefined;
  const attempt: AttemptInfo | undefined =
    claimed.kind === 'claimed'
      ? {
          attempt: claimed.attempt,
          of: MAX_ATTEMPTS,
          retry: claimed.attempt > 1,
          ...(nextInSeconds === undefined ? {} : { nextInSeconds }),
        }
      : undefined;
  const result: WatchdogResult = {
    ...(acting.drill === true ? { drill: true } : {}),
    targets: run.targets,
    ...(pending === undefined ? {} : { pending: pending.applicationIds }),
  };
  const notification = buildNotification(acting, run, {
    ...(pending === undefined ? {} : { pending }),
    ...(attempt === undefined ? {} : { attempt }),
    leftOut,
  });
  const report: InvocationReport = { result, plan: acting, run, notification };
  onReport?.(report);

  try {
    await ports.publish(notification, budget.notifySignal);
  } catch (error) {
    // The halts stand, but nobody was told: the next attempt re-examines every app this attempt
    // examined (and reports `already-halted`), whether its retry was scheduled for the failed targets
    // already or is scheduled now: the ledger's list, not the retry message's, says what it re-examines.
    ports.logger.error('notification not published', {
      error: describeError(error),
      outcome: notification.outcome,
    });
    if (claimed.kind === 'claimed') {
      const everyApp = wholeAppKeys(acting);
      if (nextInSeconds === undefined) await scheduleRetry(acting, everyApp, storm, claimed, ports, budget);
      await settle(claimed, everyApp, ports, budget);
    }
    throw error;
  }
  await settle(claimed, failedKeys, ports, budget);

  const failed = run.targets.filter((target) => target.result === 'failed').length;
  if (failed > 0) throw new TargetsFailedError(report, failed);
  return result;
}

/** The outcome of the claim, with the plan the attempt examines. */
type Claimed =
  | { readonly kind: 'duplicate' }
  | {
      readonly kind: 'claimed';
      readonly plan: ActingPlan;
      readonly identity: string;
      readonly part: number;
      readonly attempt: number;
    }
  /** No ledger, a manual event, or the ledger unavailable: handled on its own. */
  | { readonly kind: 'unclaimed'; readonly plan: ActingPlan };

/**
 * Claims the transition(s) of an alarm plan in the ledger (see the Lambda contract, "Duplicates and
 * retries"). A duplicate is logged with the transition it repeats; a retry narrows the plan to the
 * targets to re-examine.
 */
async function claimTransition(
  plan: ActingPlan,
  continuation: Continuation | undefined,
  part: number,
  ports: WatchdogPorts,
  budget: InvocationBudget,
): Promise<Claimed> {
  const scheduled = continuation?.retry;
  const unclaimed = (): Claimed => ({
    kind: 'unclaimed',
    // Without the ledger, a scheduled retry still re-examines only what it carries.
    plan: scheduled === undefined ? plan : narrowToTargets(plan, scheduled.targets),
  });
  if (ports.ledger === undefined || plan.trigger.kind !== 'alarm') return unclaimed();
  const transitions = plan.trigger.alarms;
  const identity = handlingIdentity(transitions);
  const nowMs = (ports.wallClock ?? Date.now)();
  const outcome: ClaimOutcome = await ports.ledger.claim(
    {
      identity,
      part,
      delivery: scheduled === undefined ? {} : { scheduledAttempt: scheduled.attempt },
      nowMs,
      claimUntilMs: nowMs + (budget.remainingMs ?? 900_000),
      alarmNames: [...new Set(transitions.map((alarm) => alarm.alarmName))],
    },
    budget.decideSignal,
  );
  const about = {
    transition: identity,
    part,
    transitions: transitions.map((alarm) => ({
      alarmName: alarm.alarmName,
      newState: alarm.newState,
      time: alarm.time,
      source: alarm.source,
    })),
  };
  switch (outcome.kind) {
    case 'unavailable':
      return unclaimed();
    case 'duplicate':
      ports.logger.info('duplicate delivery of an alarm transition: nothing done', {
        ...about,
        repeats: `${identity} (part ${part})`,
        why: outcome.why,
      });
      return { kind: 'duplicate' };
    case 'claimed': {
      const reexamine: readonly TargetKey[] | 'all' =
        outcome.reexamine === 'all' && scheduled !== undefined ? scheduled.targets : outcome.reexamine;
      if (outcome.attempt > 1) {
        ports.logger.info('retrying an alarm transition', {
          ...about,
          attempt: outcome.attempt,
          of: MAX_ATTEMPTS,
          lapsed: outcome.lapsed,
          reexamine,
        });
      }
      return {
        kind: 'claimed',
        plan: reexamine === 'all' ? plan : narrowToTargets(plan, reexamine),
        identity,
        part,
        attempt: outcome.attempt,
      };
    }
  }
}

/** Records how the attempt ended (a no-op without a claim). */
async function settle(
  claimed: Claimed,
  failedTargets: readonly TargetKey[] | undefined,
  ports: WatchdogPorts,
  budget: InvocationBudget,
): Promise<void> {
  if (claimed.kind !== 'claimed' || ports.ledger === undefined) return;
  await ports.ledger.settle(
    {
      identity: claimed.identity,
      part: claimed.part,
      attempt: claimed.attempt,
      failedTargets,
      nowMs: (ports.wallClock ?? Date.now)(),
    },
    budget.notifySignal,
  );
}

/**
 * Schedules the next attempt at the failed targets alone, delayed (backoff), on the continuation queue:
 * only with the ledger (it counts the attempts) and a queue, and only while attempts remain. Resolves
 * to the delay in seconds, or `undefined` when no retry was scheduled.
 */
async function scheduleRetry(
  plan: ActingPlan,
  targets: readonly TargetKey[],
  storm: { readonly part: number; readonly stormStartedAt: string },
  claimed: Claimed,
  ports: WatchdogPorts,
  budget: InvocationBudget,
): Promise<number | undefined> {
  if (claimed.kind !== 'claimed' || ports.handOn === undefined) return undefined;
  const attempt = claimed.attempt + 1;
  if (attempt > MAX_ATTEMPTS) return undefined;
  const retry = retryContinuation(plan, targets, storm, attempt);
  if (retry === undefined) return undefined;
  const delaySeconds = retryDelaySeconds(attempt);
  try {
    await ports.handOn(retry, budget.notifySignal, delaySeconds);
  } catch (error) {
    ports.logger.error('retry of the failed targets not scheduled', {
      error: describeError(error),
      attempt,
      targets,
    });
    return undefined;
  }
  ports.logger.info('retry of the failed targets scheduled', {
    attempt,
    of: MAX_ATTEMPTS,
    delaySeconds,
    targets,
  });
  return delaySeconds;
}
