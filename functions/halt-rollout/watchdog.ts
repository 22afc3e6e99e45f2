/**
 * One watchdog invocation, from event to result, as a line of stages: parse, resolve targets, claim,
 * decide, hand on, notify, settle. Shared by the Lambda handler and the local run, which hand in their
 * own ports.
 */
import type { WatchdogEnvironment } from '../commons/config/env.ts';
import { type DecisionPorts, runWatchdog } from '../commons/domain/decide.ts';
import { parseHaltEvent, type ResolvedEvent, resolveHaltEvent } from '../commons/domain/halt-event.ts';
import { buildNotification } from '../commons/domain/notification.ts';
import type { WatchdogResult } from '../commons/domain/results.ts';
import type { ActingPlan, Plan } from '../commons/domain/targets.ts';
import { type AttemptInfo, MAX_ATTEMPTS, wholeAppKeys } from '../commons/domain/transitions.ts';
import { describeError } from '../commons/errors.ts';
import { definedProps } from '../commons/optional.ts';
import { type Attempt, claimTransition, settle } from './claim.ts';
import { type InvocationReport, TargetsFailedError } from './failures.ts';
import { type HandedOn, handOnAndRetry, scheduleRetry } from './hand-on.ts';
import type { InvocationBudget, WatchdogPorts } from './ports.ts';

export { type InvocationReport, TargetsFailedError } from './failures.ts';
export { budgetFromRemaining, type InvocationBudget, type WatchdogPorts } from './ports.ts';

/** Why a retry whose targets' apps the config no longer holds does nothing. */
const RETRY_IGNORED = 'the targets to retry belong to apps the config no longer pairs with the alarm';

/**
 * Handles one event. Returns the contract's result; throws `BadInputError` for a rejected event (nothing
 * called, nothing published), the publish error when the notification could not be sent, and
 * `TargetsFailedError` (after publishing) when any target failed.
 *
 * @param onReport - called with what the invocation produced, before it publishes
 */
export async function handleWatchdogEvent(
  event: unknown,
  config: WatchdogEnvironment,
  ports: WatchdogPorts,
  budget: InvocationBudget,
  onReport?: (report: InvocationReport) => void,
): Promise<WatchdogResult> {
  const finish = (report: InvocationReport): WatchdogResult => {
    onReport?.(report);
    return report.result;
  };
  const wallClock = ports.wallClock ?? Date.now;

  const resolved = resolveHaltEvent(parseHaltEvent(event), config, () => new Date(wallClock()).toISOString());
  const plan = logResolved(resolved, ports);
  if (plan.kind === 'ignored') return finish({ result: { ignored: plan.ignored, targets: [] } });

  const claimed = await claimTransition(plan, resolved, ports, budget);
  if (claimed.kind === 'duplicate') return finish({ result: { duplicate: true, targets: [] } });
  const acting = claimed.plan;
  if (acting.apps.length === 0) {
    ports.logger.warn('retry ignored', { ignored: RETRY_IGNORED });
    await settle(claimed, [], ports, budget);
    return finish({ result: { ignored: RETRY_IGNORED, targets: [] } });
  }

  const decided = await runWatchdog(acting, decisionPorts(ports), budget.decideSignal);
  const handed = await handOnAndRetry(acting, decided, resolved.storm, claimed, ports, budget);
  if (handed.run.targets.length === 0 && handed.pending !== undefined && resolved.leftOut.length === 0) {
    // Every app waited for the budget in vain and was handed on: the part that decides them announces.
    ports.logger.info('nothing decided: every app handed on, no notification (the next part announces)', {
      pending: handed.pending.applicationIds,
      nextPart: handed.pending.nextPart,
    });
    await settle(claimed, [], ports, budget);
    return finish({ result: resultOf(acting, handed), plan: acting, run: handed.run });
  }

  const report = await notify(acting, handed, resolved, claimed, ports, budget, onReport);
  await settle(claimed, handed.failedKeys, ports, budget);
  const failed = handed.run.targets.filter((target) => target.result === 'failed').length;
  if (failed > 0) throw new TargetsFailedError(report, failed);
  return report.result;
}

/** Logs what the event resolved to, and returns its plan. */
function logResolved(resolved: ResolvedEvent, { logger }: WatchdogPorts): Plan {
  const { plan, leftOut, continuationPart } = resolved;
  if (leftOut.length > 0) {
    logger.warn('continuation apps left out: the config no longer pairs them with its alarms', {
      leftOut,
      continuationPart,
    });
  }
  if (plan.kind === 'ignored') {
    (plan.warn ? logger.warn : logger.info).call(logger, 'event ignored', { ignored: plan.ignored });
    return plan;
  }
  logger.appendKeys?.({
    trigger: plan.trigger.kind,
    ...(plan.trigger.kind === 'alarm'
      ? { alarmNames: plan.trigger.alarms.map((alarm) => alarm.alarmName) }
      : {}),
  });
  logger.info('event accepted', {
    apps: plan.apps.map((planned) => ({ applicationId: planned.app.applicationId, dryRun: planned.dryRun })),
    ...definedProps({ continuationPart }),
  });
  if (plan.unmatchedAlarms.length > 0) {
    logger.warn('alarms in ALARM that no app lists were ignored', { alarmNames: plan.unmatchedAlarms });
  }
  return plan;
}

function decisionPorts({ rollouts, now, logger, memory }: WatchdogPorts): DecisionPorts {
  return { rollouts, now, logger, ...definedProps({ memory }) };
}

function resultOf(plan: ActingPlan, { run, pending }: HandedOn): WatchdogResult {
  return {
    ...(plan.drill === true ? { drill: true } : {}),
    targets: run.targets,
    ...definedProps({ pending: pending?.applicationIds }),
  };
}

/**
 * Builds and publishes the invocation's one notification. When publishing fails, the halts stand but
 * nobody was told: every app examined is retried (the ledger's list says what), and the error is thrown.
 */
async function notify(
  plan: ActingPlan,
  handed: HandedOn,
  resolved: ResolvedEvent,
  claimed: Attempt,
  ports: WatchdogPorts,
  budget: InvocationBudget,
  onReport: ((report: InvocationReport) => void) | undefined,
): Promise<InvocationReport> {
  const { run, pending, nextInSeconds } = handed;
  const attempt: AttemptInfo | undefined =
    claimed.kind === 'claimed'
      ? {
          attempt: claimed.attempt,
          of: MAX_ATTEMPTS,
          retry: claimed.attempt > 1,
          ...definedProps({ nextInSeconds }),
        }
      : undefined;
  const notification = buildNotification(plan, run, {
    ...definedProps({ pending, attempt }),
    leftOut: resolved.leftOut,
  });
  const report: InvocationReport = { result: resultOf(plan, handed), plan, run, notification };
  onReport?.(report);
  try {
    await ports.publish(notification, budget.notifySignal);
  } catch (error) {
    ports.logger.error('notification not published', {
      error: describeError(error),
      outcome: notification.outcome,
    });
    if (claimed.kind === 'claimed') {
      const everyApp = wholeAppKeys(plan);
      if (nextInSeconds === undefined)
        await scheduleRetry(plan, everyApp, resolved.storm, claimed, ports, budget);
      await settle(claimed, everyApp, ports, budget);
    }
    throw error;
  }
  return report;
}
