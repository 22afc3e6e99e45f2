/**
 * The claim and settle stages of the halt path: the transition ledger's record of an alarm transition
 * (see the Lambda contract, "Duplicates and retries").
 */
import type { ResolvedEvent } from '../commons/domain/halt-event.ts';
import type { ActingPlan } from '../commons/domain/targets.ts';
import {
  handlingIdentity,
  MAX_ATTEMPTS,
  narrowToTargets,
  type TargetKey,
} from '../commons/domain/transitions.ts';
import type { InvocationBudget, WatchdogPorts } from './ports.ts';

/** The outcome of the claim, with the plan the attempt examines. */
export type Claimed =
  | { readonly kind: 'duplicate' }
  | {
      readonly kind: 'claimed';
      readonly plan: ActingPlan;
      readonly identity: string;
      readonly part: number;
      readonly attempt: number;
    }
  /**
   * No ledger, a manual event, or the ledger unavailable: handled on its own. `attempt` is the one a
   * scheduled retry was to make, else 1.
   */
  | { readonly kind: 'unclaimed'; readonly plan: ActingPlan; readonly attempt: number };

/** A delivery that is not a duplicate: the attempt it makes and the plan it examines. */
export type Attempt = Exclude<Claimed, { readonly kind: 'duplicate' }>;

/**
 * Claims the transition(s) of an alarm plan in the ledger. A duplicate is logged with the transition
 * it repeats; a retry narrows the plan to the targets to re-examine, and so does a scheduled retry
 * without the ledger.
 */
export async function claimTransition(
  plan: ActingPlan,
  { storm: { part }, retry: scheduled }: Pick<ResolvedEvent, 'storm' | 'retry'>,
  ports: WatchdogPorts,
  budget: InvocationBudget,
): Promise<Claimed> {
  const unclaimed = (): Attempt => ({
    kind: 'unclaimed',
    attempt: scheduled?.attempt ?? 1,
    plan: scheduled === undefined ? plan : narrowToTargets(plan, scheduled.targets),
  });
  if (ports.ledger === undefined || plan.trigger.kind !== 'alarm') return unclaimed();
  const transitions = plan.trigger.alarms;
  const identity = handlingIdentity(transitions);
  const nowMs = (ports.wallClock ?? Date.now)();
  const outcome = await ports.ledger.claim(
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
    transitions: transitions.map(({ alarmName, newState, time, source }) => ({
      alarmName,
      newState,
      time,
      source,
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

/**
 * Records how the attempt ended (a no-op without a claim).
 * @param failedTargets - the targets to retry; empty: done; `undefined`: everything examined
 */
export async function settle(
  claimed: Attempt,
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
