/**
 * The decision about one looked-up rollout, and the types the decision shares with the notification.
 */
import { SLOT_DEADLINE_CODE } from '../errors.ts';
import { definedProps } from '../optional.ts';
import { type Lesson, lessonFromLookup } from './memory.ts';
import type { RememberedRollout, RolloutLookup, RolloutMemory, RolloutPort } from './ports.ts';
import type { TargetResult } from './results.ts';
import type { RolloutRef } from './rollout.ts';
import { safeError } from './safe-error.ts';
import type { PlannedApp } from './targets.ts';

/** The few logger methods the decision uses; Powertools' `Logger` fits. */
export interface DecisionLogger {
  info(message: string, attributes: Record<string, unknown>): void;
  warn(message: string, attributes: Record<string, unknown>): void;
}

/** What the decision is handed. */
export interface DecisionPorts {
  readonly rollouts: RolloutPort;
  /** Milliseconds on any monotonic-enough clock (`Date.now`, `performance.now`); only differences are used. */
  readonly now: () => number;
  readonly logger?: DecisionLogger;
  /**
   * Each app's remembered live rollout (optional). With it, an enforced halt of a remembered rollout is
   * one POST; dry runs still read first, and what a read finds is remembered or forgotten.
   */
  readonly memory?: RolloutMemory;
  /** Wall-clock milliseconds, for when a rollout was seen. @default Date.now */
  readonly wallClock?: () => number;
}

/** What the notification needs to know about a target beyond its contract result. */
export interface TargetDetail {
  /** The planned app the target belongs to (name, mode, the alarms that named it). */
  readonly planned: PlannedApp;
  /** Milliseconds from the start of the decision until this target's result was known (for `halted`: time to halt). */
  readonly elapsedMs: number;
  /** For `no-active-rollout`: why there is nothing to halt, in words for a person. */
  readonly note?: string;
  /**
   * When the percentage was last seen (ISO 8601), for a rollout halted from memory with one POST: the
   * percentage is the remembered one, not read again.
   */
  readonly percentageSeenAt?: string;
  /**
   * For `failed`: the invocation ran out of time or of the tenant's request budget before this rollout
   * was decided, and nothing was changed for it (a read cut short, or a halt never sent). A storm hands
   * such an app on to the next invocation instead of failing it.
   */
  readonly outOfTime?: true;
  /**
   * For `failed`, when more than the target's own rollout went unexamined: `flights` (the app's list of
   * flights could not be read) or `app` (nothing of the app could be examined). A retry re-examines that.
   */
  readonly failedScope?: 'flights' | 'app';
}

/** A target and its detail. */
export type Decided = { readonly target: TargetResult; readonly detail: TargetDetail };

/**
 * Decides one looked-up rollout. `unanswered` is a remembered rollout whose halt POST got no clear
 * answer just before this lookup: found stopped, it is this invocation's halt.
 */
export async function decideRollout(
  planned: PlannedApp,
  lookup: RolloutLookup,
  ports: DecisionPorts,
  signal: AbortSignal,
  elapsed: () => number,
  lessons: (Lesson | undefined)[],
  unanswered?: RememberedRollout,
): Promise<Decided> {
  const done = (target: TargetResult, note?: string, percentageSeenAt?: string): Decided => {
    const detail: TargetDetail = {
      planned,
      elapsedMs: elapsed(),
      ...definedProps({ note, percentageSeenAt }),
    };
    lessons.push(lessonAfter(lookup, target, ports));
    // Logged as soon as known, so the log tells the story even if the invocation runs out of time.
    logDecision(ports.logger, target, detail);
    return { target, detail };
  };

  switch (lookup.state) {
    case 'failed': {
      const error = safeError(lookup.error);
      // A read changes nothing: one cut short by the deadline or the budget leaves the rollout as it was.
      // Not so after a halt POST without a clear answer: it may have halted the rollout, and only this
      // invocation knows that, so the target stays failed (a person is told) instead of being handed on.
      const outOfTime = READ_OUT_OF_TIME_CODES.has(error.code) && unanswered === undefined;
      const decided = withOutOfTime(
        done({
          applicationId: lookup.applicationId,
          ...definedProps({ flightId: lookup.flightId, submissionId: lookup.submissionId }),
          result: 'failed',
          error,
        }),
        outOfTime,
      );
      return lookup.flightList === true
        ? { ...decided, detail: { ...decided.detail, failedScope: 'flights' } }
        : decided;
    }
    case 'none':
      return done(
        {
          applicationId: lookup.applicationId,
          ...definedProps({ flightId: lookup.flightId, submissionId: lookup.submissionId }),
          result: 'no-active-rollout',
          // A package without a gradual rollout has no "live percentage" worth reporting.
          ...(lookup.rollout?.isPackageRollout === true
            ? {
                rolloutPercentage: lookup.rollout.packageRolloutPercentage,
                fallbackSubmissionId: lookup.rollout.fallbackSubmissionId,
              }
            : {}),
        },
        lookup.reason,
      );
    case 'stopped':
      if (unanswered !== undefined && unanswered.ref.submissionId === lookup.ref.submissionId) {
        return done(
          { ...found(lookup), result: 'halted', rolloutPercentage: unanswered.rolloutPercentage },
          'the halt request got no clear answer and the rollout is now stopped: this halt (or one made just before it) stopped it',
          unanswered.seenAt,
        );
      }
      return done({ ...found(lookup), result: 'already-halted' });
    case 'in-progress': {
      if (planned.dryRun) return done({ ...found(lookup), result: 'would-halt' });
      try {
        const outcome = await ports.rollouts.haltRollout(lookup, signal);
        // `rolloutPercentage` stays the one found: after a halt the Store reports 0.
        return done(
          {
            ...found(lookup),
            submissionId: outcome.ref.submissionId,
            result: outcome.result,
            fallbackSubmissionId: outcome.rollout.fallbackSubmissionId,
          },
          outcome.result === 'no-active-rollout'
            ? `the rollout was no longer in progress when the halt was sent (${outcome.rollout.packageRolloutStatus})`
            : undefined,
        );
      } catch (error) {
        const safe = safeError(error);
        return withOutOfTime(
          done({ ...found(lookup), result: 'failed', error: safe }),
          NOT_SENT_CODES.has(safe.code),
        );
      }
    }
  }
}

/** Codes of a request the tenant's budget refused or that was still waiting for a slot: never sent. */
export const NOT_SENT_CODES: ReadonlySet<string> = new Set(['STORE_BUDGET_EXHAUSTED', SLOT_DEADLINE_CODE]);
/** Codes of a read cut short by time: refused, never sent, or cut off in flight (a read changes nothing). */
const READ_OUT_OF_TIME_CODES: ReadonlySet<string> = new Set([...NOT_SENT_CODES, 'DEADLINE_EXCEEDED']);

function withOutOfTime(decided: Decided, outOfTime: boolean): Decided {
  return outOfTime ? { ...decided, detail: { ...decided.detail, outOfTime: true } } : decided;
}

/** What the memory learns from a lookup and what was done with it. */
function lessonAfter(lookup: RolloutLookup, target: TargetResult, ports: DecisionPorts): Lesson | undefined {
  if (ports.memory === undefined) return undefined;
  if (lookup.state === 'in-progress' && target.result !== 'would-halt' && target.result !== 'failed') {
    // Halted (or found not live after all): nothing live to remember on this submission.
    return { kind: 'forget', target: targetOfRef(lookup.ref), submissionId: lookup.ref.submissionId };
  }
  if (lookup.state === 'in-progress' && target.result === 'failed') return undefined;
  return lessonFromLookup(lookup, new Date((ports.wallClock ?? Date.now)()).toISOString());
}

function targetOfRef(ref: RolloutRef) {
  return { applicationId: ref.applicationId, ...definedProps({ flightId: ref.flightId }) };
}

/** The fields every target found with a rollout shares. */
function found(lookup: Extract<RolloutLookup, { state: 'in-progress' | 'stopped' }>) {
  return {
    applicationId: lookup.ref.applicationId,
    ...definedProps({ flightId: lookup.ref.flightId }),
    submissionId: lookup.ref.submissionId,
    rolloutPercentage: lookup.rollout.packageRolloutPercentage,
    fallbackSubmissionId: lookup.rollout.fallbackSubmissionId,
  };
}

export function failedApp(
  planned: PlannedApp,
  error: { code: string; message: string },
  ports: DecisionPorts,
  elapsedMs: number,
): Decided {
  const target: TargetResult = { applicationId: planned.app.applicationId, result: 'failed', error };
  const detail: TargetDetail = { planned, elapsedMs, failedScope: 'app' };
  logDecision(ports.logger, target, detail);
  return { target, detail };
}

export function logDecision(
  logger: DecisionLogger | undefined,
  target: TargetResult,
  detail: TargetDetail,
): void {
  if (logger === undefined) return;
  const { applicationId, flightId, submissionId, result, rolloutPercentage, fallbackSubmissionId, error } =
    target;
  const attributes = definedProps({
    applicationId,
    flightId,
    submissionId,
    result,
    rolloutPercentage,
    fallbackSubmissionId,
    dryRun: detail.planned.dryRun,
    elapsedMs: detail.elapsedMs,
    note: detail.note,
    error,
  });
  if (target.result === 'failed') logger.warn('rollout decision failed', attributes);
  else logger.info('rollout decision', attributes);
}
