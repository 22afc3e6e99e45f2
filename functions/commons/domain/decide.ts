/**
 * The decision: for each planned app, find its live rollouts and halt the ones in progress (or, in a dry
 * run, report that it would). Plain logic over the `RolloutPort`; it never imports an AWS or HTTP client.
 *
 * Apps are handled in parallel, and so are the rollouts of one app (the main rollout and its flights), so
 * a slow flight never delays the main halt. Store failures never escape: they become `failed` targets,
 * because a person must always be told what happened (see the Lambda contract, "Failure").
 */
import { describeError, SLOT_DEADLINE_CODE } from '../errors.ts';
import { applyLessons, type Lesson, lessonFromLookup, usableMemories } from './memory.ts';
import type { RememberedRollout, RolloutLookup, RolloutMemory, RolloutPort } from './ports.ts';
import type { TargetResult } from './results.ts';
import type { RolloutRef } from './rollout.ts';
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
  const { applicationId } = planned.app;
  const { scope } = planned;
  const flights = scope === undefined ? planned.app.flights : scope.flights;
  const lessons: (Lesson | undefined)[] = [];
  try {
    const haltFromMemory = ports.rollouts.haltRemembered?.bind(ports.rollouts);
    // A retry of failed targets (a `scope`) reads first: what failed before is looked at afresh.
    if (
      ports.memory !== undefined &&
      haltFromMemory !== undefined &&
      !planned.dryRun &&
      scope === undefined
    ) {
      const remembered = usableMemories(planned.app, await recall(ports.memory, applicationId, signal));
      if (remembered.length > 0) {
        return await decideFromMemory(planned, remembered, haltFromMemory, ports, signal, elapsed, lessons);
      }
    }
    let lookups: RolloutLookup[];
    try {
      lookups = await ports.rollouts.findLiveRollouts(
        scope === undefined ? { applicationId, flights } : { applicationId, flights, main: scope.main },
        signal,
      );
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
    return await Promise.all(
      lookups.map((lookup) => decideRollout(planned, lookup, ports, signal, elapsed, lessons)),
    );
  } finally {
    // Written after the decisions (never before a halt); awaited so that Lambda does not freeze them.
    if (ports.memory !== undefined) await applyLessons(ports.memory, lessons, signal);
  }
}

async function recall(
  memory: RolloutMemory,
  applicationId: string,
  signal: AbortSignal,
): Promise<readonly RememberedRollout[]> {
  try {
    return await memory.recall(applicationId, signal);
  } catch {
    // The adapter logs its own failures; without memory the halt reads first, as always.
    return [];
  }
}

/**
 * An enforced app with remembered rollouts: one POST per remembered rollout; a refused POST (the
 * submission is not live any more) costs one normal lookup of that rollout. Targets without a usable
 * memory (the main rollout when only a flight is remembered, flights not remembered) are looked up.
 */
async function decideFromMemory(
  planned: PlannedApp,
  remembered: readonly RememberedRollout[],
  haltFromMemory: HaltFromMemory,
  ports: DecisionPorts,
  signal: AbortSignal,
  elapsed: () => number,
  lessons: (Lesson | undefined)[],
): Promise<Decided[]> {
  const { applicationId, flights } = planned.app;
  const mainRemembered = remembered.some((entry) => entry.ref.flightId === undefined);
  const rememberedFlights = new Set(
    remembered.flatMap((entry) =>
      entry.ref.flightId === undefined ? [] : [entry.ref.flightId.toLowerCase()],
    ),
  );
  const otherFlights =
    flights === 'all' ? 'all' : flights?.filter((flightId) => !rememberedFlights.has(flightId.toLowerCase()));
  const lookupRest = async (): Promise<Decided[]> => {
    const restFlights = otherFlights === undefined || otherFlights.length === 0 ? undefined : otherFlights;
    if (mainRemembered && restFlights === undefined) return [];
    let lookups: RolloutLookup[];
    try {
      lookups = await ports.rollouts.findLiveRollouts(
        { applicationId, flights: restFlights, main: !mainRemembered },
        signal,
      );
    } catch (error) {
      return [failedApp(planned, safeError(error), ports, elapsed())];
    }
    return Promise.all(
      lookups.map((lookup) => decideRollout(planned, lookup, ports, signal, elapsed, lessons)),
    );
  };
  const [fromMemory, rest] = await Promise.all([
    Promise.all(
      remembered.map((entry) =>
        haltRemembered(planned, entry, haltFromMemory, ports, signal, elapsed, lessons),
      ),
    ),
    lookupRest(),
  ]);
  // The main rollout first, then the flights (the order a lookup gives).
  return [...fromMemory.flat(), ...rest].sort(
    (a, b) => Number(a.target.flightId !== undefined) - Number(b.target.flightId !== undefined),
  );
}

type HaltFromMemory = NonNullable<RolloutPort['haltRemembered']>;

async function haltRemembered(
  planned: PlannedApp,
  entry: RememberedRollout,
  haltFromMemory: HaltFromMemory,
  ports: DecisionPorts,
  signal: AbortSignal,
  elapsed: () => number,
  lessons: (Lesson | undefined)[],
): Promise<Decided[]> {
  const { ref } = entry;
  const target = { applicationId: ref.applicationId, ...optional('flightId', ref.flightId) };
  let outcome: Awaited<ReturnType<HaltFromMemory>>;
  try {
    outcome = await haltFromMemory(entry, signal);
  } catch (error) {
    const failed: TargetResult = {
      ...target,
      submissionId: ref.submissionId,
      result: 'failed',
      rolloutPercentage: entry.rolloutPercentage,
      fallbackSubmissionId: entry.fallbackSubmissionId,
      error: safeError(error),
    };
    const detail: TargetDetail = {
      planned,
      elapsedMs: elapsed(),
      percentageSeenAt: entry.seenAt,
      ...(NOT_SENT_CODES.has(failed.error?.code ?? '') ? { outOfTime: true as const } : {}),
    };
    logDecision(ports.logger, failed, detail);
    return [{ target: failed, detail }];
  }
  if (outcome.result !== 'not-live') {
    lessons.push({ kind: 'forget', target, submissionId: ref.submissionId });
    const decided: TargetResult = {
      ...target,
      submissionId: outcome.ref.submissionId,
      result: outcome.result,
      rolloutPercentage: entry.rolloutPercentage,
      fallbackSubmissionId: outcome.rollout.fallbackSubmissionId,
    };
    const detail: TargetDetail = { planned, elapsedMs: elapsed(), percentageSeenAt: entry.seenAt };
    logDecision(ports.logger, decided, detail);
    return [{ target: decided, detail }];
  }
  // Not the live rollout any more (or no clear answer): read the state as a halt without memory would.
  ports.logger?.info('remembered rollout not live; looking it up', { ...target, reason: outcome.reason });
  lessons.push({ kind: 'forget', target, submissionId: ref.submissionId });
  let lookups: RolloutLookup[];
  try {
    lookups = await ports.rollouts.findLiveRollouts(
      {
        applicationId: ref.applicationId,
        flights: ref.flightId === undefined ? undefined : [ref.flightId],
        main: ref.flightId === undefined,
      },
      signal,
    );
  } catch (error) {
    return [failedApp(planned, safeError(error), ports, elapsed())];
  }
  return Promise.all(
    lookups.map((lookup) =>
      decideRollout(planned, lookup, ports, signal, elapsed, lessons, outcome.uncertain ? entry : undefined),
    ),
  );
}

/**
 * Decides one looked-up rollout. `unanswered` is a remembered rollout whose halt POST got no clear
 * answer just before this lookup: found stopped, it is this invocation's halt.
 */
async function decideRollout(
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
      ...optional('note', note),
      ...optional('percentageSeenAt', percentageSeenAt),
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
          ...optional('flightId', lookup.flightId),
          ...optional('submissionId', lookup.submissionId),
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
const NOT_SENT_CODES: ReadonlySet<string> = new Set(['STORE_BUDGET_EXHAUSTED', SLOT_DEADLINE_CODE]);
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
  return { applicationId: ref.applicationId, ...optional('flightId', ref.flightId) };
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
  const detail: TargetDetail = { planned, elapsedMs, failedScope: 'app' };
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
