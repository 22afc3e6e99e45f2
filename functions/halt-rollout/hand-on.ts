/**
 * The hand-on stage of the halt path: the apps a storm did not reach go on to its next part, and the
 * failed targets' retry is scheduled (docs/storms.md, "How a storm is handled"; docs/lambda-contract.md,
 * "Duplicates and retries").
 */
import {
  type PendingApps,
  retryContinuation,
  STALLED_HAND_ON_DELAY_SECONDS,
  type StormPart,
  splitHandOn,
} from '../commons/domain/continuation.ts';
import type { WatchdogRun } from '../commons/domain/decide.ts';
import type { ActingPlan } from '../commons/domain/targets.ts';
import {
  failedTargetKeys,
  MAX_ATTEMPTS,
  retryDelaySeconds,
  type TargetKey,
} from '../commons/domain/transitions.ts';
import { describeError } from '../commons/errors.ts';
import { definedProps } from '../commons/optional.ts';
import type { Attempt } from './claim.ts';
import type { InvocationBudget, WatchdogPorts } from './ports.ts';

/** A run after the hand-on stage. */
export interface HandedOn {
  /** The run without the targets handed on. */
  readonly run: WatchdogRun;
  /** The apps handed on to the next part of the storm. */
  readonly pending?: PendingApps;
  /** The keys of the failed targets of `run`. */
  readonly failedKeys: readonly TargetKey[];
  /** Seconds until the scheduled retry of the failed targets; absent: none scheduled. */
  readonly nextInSeconds?: number;
}

/** Hands on what is pending, then schedules the retry of what failed. */
export async function handOnAndRetry(
  plan: ActingPlan,
  decided: WatchdogRun,
  storm: StormPart,
  claimed: Attempt,
  ports: WatchdogPorts,
  budget: InvocationBudget,
): Promise<HandedOn> {
  const { run, pending } = await handOnPending(plan, decided, storm, claimed, ports, budget);
  const failedKeys = failedTargetKeys(run);
  const nextInSeconds =
    failedKeys.length > 0 ? await scheduleRetry(plan, failedKeys, storm, claimed, ports, budget) : undefined;
  return { run, failedKeys, ...definedProps({ pending, nextInSeconds }) };
}

/**
 * Hands on the apps the tenant's budget could not serve before the deadline: the continuation is
 * durable (the queue accepted it) before their results are dropped from the run. When nothing at all
 * was decided (`stalled`) it waits a Store window first. Without a queue, in a retry (claimed or
 * scheduled: its part may have handed on already), or when the queue refuses, the apps stay `failed`.
 */
async function handOnPending(
  plan: ActingPlan,
  decided: WatchdogRun,
  storm: StormPart,
  claimed: Attempt,
  ports: WatchdogPorts,
  budget: InvocationBudget,
): Promise<{ readonly run: WatchdogRun; readonly pending?: PendingApps }> {
  if (ports.handOn === undefined || claimed.attempt > 1) return { run: decided };
  const split = splitHandOn(plan, decided, storm);
  if (split === undefined) return { run: decided };
  const { next, stalled } = split;
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
 * Schedules the next attempt at `targets` alone, delayed, on the continuation queue: only with a claim
 * (the ledger counts the attempts) and a queue, and only while attempts remain.
 * @returns the delay in seconds, or `undefined` when no retry was scheduled
 */
export async function scheduleRetry(
  plan: ActingPlan,
  targets: readonly TargetKey[],
  storm: StormPart,
  claimed: Attempt,
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
