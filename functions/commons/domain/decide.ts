/**
 * The decision: for each planned app, find its live rollouts and halt the ones in progress (or, in a dry
 * run, report that it would). Plain logic over the `RolloutPort`; it never imports an AWS or HTTP client.
 *
 * Apps are handled in parallel, and so are the rollouts of one app (the main rollout and its flights), so
 * a slow flight never delays the main halt. Store failures never escape: they become `failed` targets,
 * because a person must always be told what happened (see the Lambda contract, "Failure").
 */
import { describeError } from '../errors.ts';
import type { RolloutLookup, RolloutPort } from './ports.ts';
import type { TargetResult } from './results.ts';
import type { ActingPlan, PlannedApp } from './targets.ts';

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
}

/** What the notification needs to know about a target beyond its contract result. */
export interface TargetDetail {
  /** The planned app the target belongs to (name, mode, the alarms that named it). */
  readonly planned: PlannedApp;
  /** Milliseconds from the start of the decision until this target's result was known (for `halted`: time to halt). */
  readonly elapsedMs: number;
  /** For `no-active-rollout`: why there is nothing to halt, in words for a person. */
  readonly note?: string;
}

/** The outcome of one decision. */
export interface WatchdogRun {
  /** Exactly the contract's `targets` (see "What it returns"), ready for the handler's return value. */
  readonly targets: readonly TargetResult[];
  /** One per target, in the same order as `targets`. */
  readonly details: readonly TargetDetail[];
  /** Milliseconds from the start of the decision until every target was settled. */
  readonly elapsedMs: number;
}

/** Longest error message kept in a result (results go into logs, the return value and the notification). */
const MAX_ERROR_MESSAGE_LENGTH = 500;

type Decided = { readonly target: TargetResult; readonly detail: TargetDetail };

/**
 * Runs the decision for an acting plan. Never rejects: a lookup or halt that fails, or even a port that
 * throws, becomes a `failed` target with a safe description of the error.
 */
export async function runWatchdog(
  plan: ActingPlan,
  ports: DecisionPorts,
  signal: AbortSignal,
): Promise<WatchdogRun> {
  const startedAt = ports.now();
  const elapsed = (): number => Math.max(0, ports.now() - startedAt);

  const perApp = await Promise.all(plan.apps.map((planned) => decideApp(planned, ports, signal, elapsed)));
  const decided = perApp.flat();

  return {
    targets: decided.map(({ target }) => target),
    details: decided.map(({ detail }) => detail),
    elapsedMs: elapsed(),
  };
}

async function decideApp(
  planned: PlannedApp,
  ports: DecisionPorts,
  signal: AbortSignal,
  elapsed: () => number,
): Promise<Decided[]> {
  const { applicationId, flights } = planned.app;
  let lookups: RolloutLookup[];
  try {
    lookups = await ports.rollouts.findLiveRollouts({ applicationId, flights }, signal);
  } catch (error) {
    // The port promises not to reject for Store failures; anything else still must reach a person.
    return [failedApp(planned, safeError(error), ports, elapsed())];
  }
  if (lookups.length === 0) {
    return [
      failedApp(
        planned,
        { code: 'NO_ROLLOUT_EXAMINED', message: 'the Store adapter examined no rollout for this app' },
        ports,
        elapsed(),
      ),
    ];
  }
  return Promise.all(lookups.map((lookup) => decideRollout(planned, lookup, ports, signal, elapsed)));
}

async function decideRollout(
  planned: PlannedApp,
  lookup: RolloutLookup,
  ports: DecisionPorts,
  signal: AbortSignal,
  elapsed: () => number,
): Promise<Decided> {
  const done = (target: TargetResult, note?: string): Decided => {
    const detail: TargetDetail = { planned, elapsedMs: elapsed(), ...optional('note', note) };
    // Logged as soon as known, so the log tells the story even if the invocation runs out of time.
    logDecision(ports.logger, target, detail);
    return { target, detail };
  };

  switch (lookup.state) {
    case 'failed':
      return done({
        applicationId: lookup.applicationId,
        ...optional('flightId', lookup.flightId),
        ...optional('submissionId', lookup.submissionId),
        result: 'failed',
        error: safeError(lookup.error),
      });
    case 'none':
      return done(
        {
          applicationId: lookup.applicationId,
          ...optional('flightId', lookup.flightId),
          ...optional('submissionId', lookup.submissionId),
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
        return done({ ...found(lookup), result: 'failed', error: safeError(error) });
      }
    }
  }
}

/** The fields every target found with a rollout shares. */
function found(lookup: Extract<RolloutLookup, { state: 'in-progress' | 'stopped' }>) {
  return {
    applicationId: lookup.ref.applicationId,
    ...optional('flightId', lookup.ref.flightId),
    submissionId: lookup.ref.submissionId,
    rolloutPercentage: lookup.rollout.packageRolloutPercentage,
    fallbackSubmissionId: lookup.rollout.fallbackSubmissionId,
  };
}

function failedApp(
  planned: PlannedApp,
  error: { code: string; message: string },
  ports: DecisionPorts,
  elapsedMs: number,
): Decided {
  const target: TargetResult = { applicationId: planned.app.applicationId, result: 'failed', error };
  const detail: TargetDetail = { planned, elapsedMs };
  logDecision(ports.logger, target, detail);
  return { target, detail };
}

/**
 * `describeError`, shortened, with anything shaped like a bearer token or JWT masked. Our own errors
 * never carry one; this guards against a message from elsewhere that might.
 */
export function safeError(error: unknown): { code: string; message: string } {
  const { code, message } = describeError(error);
  const masked = redactTokens(message);
  return {
    code: redactTokens(code).slice(0, 100),
    message:
      masked.length > MAX_ERROR_MESSAGE_LENGTH ? `${masked.slice(0, MAX_ERROR_MESSAGE_LENGTH - 1)}…` : masked,
  };
}

/** Masks JWTs (Azure AD access tokens are JWTs) and `Bearer …` credentials. */
export function redactTokens(text: string): string {
  return text
    .replace(/\beyJ[\w-]*\.[\w-]+\.[\w-]*/g, '[redacted token]')
    .replace(/\b(Bearer)\s+[\w\-.~+/]+=*/gi, '$1 [redacted]');
}

function optional<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  const result: { [P in K]?: V } = {};
  if (value !== undefined) result[key] = value;
  return result;
}

function logDecision(logger: DecisionLogger | undefined, target: TargetResult, detail: TargetDetail): void {
  if (logger === undefined) return;
  const attributes = {
    applicationId: target.applicationId,
    ...optional('flightId', target.flightId),
    ...optional('submissionId', target.submissionId),
    result: target.result,
    ...optional('rolloutPercentage', target.rolloutPercentage),
    ...optional('fallbackSubmissionId', target.fallbackSubmissionId),
    dryRun: detail.planned.dryRun,
    elapsedMs: detail.elapsedMs,
    ...optional('note', detail.note),
    ...optional('error', target.error),
  };
  if (target.result === 'failed') logger.warn('rollout decision failed', attributes);
  else logger.info('rollout decision', attributes);
}
