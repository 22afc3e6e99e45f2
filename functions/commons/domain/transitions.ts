/**
 * The plain logic of the transition ledger: a transition's identity, whether a delivery is a duplicate,
 * the first handling or a retry, and what a retry re-examines (docs/reliability.md, "Why a ledger of our
 * own, not Powertools idempotency"). The table adapter is `aws/transition-ledger.ts`.
 */
import type { WatchdogRun } from './decide.ts';
import type { AlarmTransition } from './events.ts';
import type { TargetResult } from './results.ts';
import type { ActingPlan, PlannedApp, TargetScope } from './targets.ts';

/** A transition is attempted at most this many times in all, whatever the path. */
export const MAX_ATTEMPTS = 3;

/**
 * Seconds to wait before the automatic retry of failed targets, by the attempt it makes (2, then 3):
 * long enough for a Store hiccup (a 503, a throttled minute) to pass, short enough that a person who
 * acted on the FAILED message is not surprised hours later.
 */
export const RETRY_DELAYS_SECONDS: Readonly<Record<number, number>> = { 2: 30, 3: 120 };

/** The delay before `attempt`, in seconds (SQS accepts at most 900). */
export function retryDelaySeconds(attempt: number): number {
  return Math.min(900, RETRY_DELAYS_SECONDS[attempt] ?? 120);
}

const OFFSET_TIME = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2})?)(?:\.(\d+))?(Z|[+-]\d{2}:?\d{2})?$/i;

/**
 * The state-change time as epoch milliseconds, or `undefined` when it is not an ISO 8601 time. Accepts
 * `Z`, `+0000` and `+00:00` offsets (no offset is UTC) and any number of fraction digits (cut to
 * milliseconds), so the two delivery paths' spellings of one instant compare equal.
 */
export function transitionInstant(time: string): number | undefined {
  const match = OFFSET_TIME.exec(time.trim());
  if (match === null) return undefined;
  const [, base = '', fraction, offset] = match;
  const millis = (fraction ?? '').padEnd(3, '0').slice(0, 3);
  const zone =
    offset === undefined || offset.toUpperCase() === 'Z'
      ? 'Z'
      : offset.includes(':')
        ? offset
        : `${offset.slice(0, 3)}:${offset.slice(3)}`;
  const parsed = Date.parse(`${base.length === 16 ? `${base}:00` : base}.${millis}${zone}`);
  return Number.isFinite(parsed) ? parsed : undefined;
}

/** One transition's identity: `<alarm name>|<new state>|<epoch ms>` (the raw time when unparsable). */
export function transitionIdentity(transition: AlarmTransition): string {
  const instant = transitionInstant(transition.time);
  return `${transition.alarmName}|${transition.newState}|${instant === undefined ? transition.time.trim() : String(instant)}`;
}

/**
 * The identity of what an event asks to handle: its distinct transitions, sorted (an event carries one
 * in practice; several are handled as one unit). The same transition twice in one event counts once.
 */
export function handlingIdentity(transitions: readonly AlarmTransition[]): string {
  return [...new Set(transitions.map(transitionIdentity))].sort().join(' + ');
}

/** What the ledger holds about one transition (and storm part). */
export interface TransitionRecord {
  /** Attempts started so far (1 for the first handling). */
  readonly attempts: number;
  /** `running`: an attempt holds the claim; `failed`: the last attempt ended with failed targets; `done`. */
  readonly state: 'running' | 'failed' | 'done';
  /** Epoch ms after which a `running` claim cannot still be running (the function's timeout has passed). */
  readonly claimExpiresAtMs: number;
  /** The targets the running (or last) attempt examined (`TargetKey`s); absent: every target of the plan. */
  readonly examining?: readonly string[];
  /** The targets that failed in the last attempt (`TargetKey`s), for `failed`. */
  readonly failedTargets?: readonly string[];
}

/** What a delivery knows about itself. */
export interface Delivery {
  /** A scheduled retry says which attempt it was scheduled to make. */
  readonly scheduledAttempt?: number;
}

/** What to do with a delivery. */
export type ClaimDecision =
  | { readonly kind: 'first' }
  | {
      readonly kind: 'retry';
      /** The attempt this delivery makes (2 or 3). */
      readonly attempt: number;
      /** What to re-examine: the targets that failed (or that a lapsed attempt was examining), or all. */
      readonly reexamine: readonly string[] | 'all';
      /** The previous attempt's claim lapsed (it cannot still be running): taken over as if it had failed. */
      readonly lapsed: boolean;
    }
  | { readonly kind: 'duplicate'; readonly why: string };

/** Decides what a delivery of a transition does, given its record (or none) at `nowMs`. */
export function decideClaim(
  record: TransitionRecord | undefined,
  delivery: Delivery,
  nowMs: number,
): ClaimDecision {
  if (record === undefined) return { kind: 'first' };
  const { attempts, state } = record;
  if (state === 'done') return { kind: 'duplicate', why: `already handled (attempt ${attempts})` };
  const lapsed = state === 'running' && nowMs >= record.claimExpiresAtMs;
  const scheduled = delivery.scheduledAttempt;
  // The retry the running attempt scheduled: that attempt's Store work is over (it schedules after it),
  // so a record still running means its settling was lost; the retry must not be lost with it.
  const scheduledByRunning = scheduled !== undefined && scheduled === attempts + 1;
  if (state === 'running' && !lapsed && !scheduledByRunning) {
    return {
      kind: 'duplicate',
      why: `being handled now by attempt ${attempts} (its claim holds until ${new Date(record.claimExpiresAtMs).toISOString()})`,
    };
  }
  if (attempts >= MAX_ATTEMPTS) {
    return { kind: 'duplicate', why: `attempted ${attempts} times already, the most a transition gets` };
  }
  // A scheduled retry whose attempt was made already (by another delivery) is a duplicate; the one
  // redelivered after its own attempt died takes over.
  if (scheduled !== undefined && (attempts > scheduled || (attempts === scheduled && !lapsed))) {
    return { kind: 'duplicate', why: `attempt ${scheduled} was made already (${attempts} so far)` };
  }
  const reexamine = lapsed
    ? (record.examining ?? 'all')
    : (record.failedTargets ?? record.examining ?? 'all');
  return { kind: 'retry', attempt: attempts + 1, reexamine, lapsed };
}

// ---------------------------------------------------------------------------------------------------
// Targets: which rollouts failed, and what a retry re-examines

/**
 * A target's key in the ledger: `<app>` + `#main`, `#flight#<id in lower case>`, `#flights` (the list
 * of flights could not be read) or `#app` (nothing of the app could be examined).
 */
export type TargetKey = string;

/** What a target key looks like (a Store ID, then what of the app). */
export const TARGET_KEY_PATTERN = /^[0-9A-Z]{12}#(main|flights|app|flight#[0-9a-z-]{1,64})$/;

export function targetKey(applicationId: string, what: 'main' | 'flights' | 'app' | { flightId: string }) {
  return typeof what === 'string'
    ? `${applicationId}#${what}`
    : `${applicationId}#flight#${what.flightId.toLowerCase()}`;
}

/** The keys of the failed targets of a run. */
export function failedTargetKeys(run: WatchdogRun): TargetKey[] {
  const keys = run.targets.flatMap((target: TargetResult, index): TargetKey[] => {
    if (target.result !== 'failed') return [];
    const scope = run.details[index]?.failedScope;
    if (scope !== undefined) return [targetKey(target.applicationId, scope)];
    return [
      target.flightId === undefined
        ? targetKey(target.applicationId, 'main')
        : targetKey(target.applicationId, { flightId: target.flightId }),
    ];
  });
  return [...new Set(keys)];
}

/**
 * Narrows a plan to the given targets: only apps with one of them, each examining only those (its main
 * rollout, named flights, its whole list of flights, or everything). Target keys of apps the plan does
 * not hold any more (the config changed) are dropped.
 */
export function narrowToTargets(plan: ActingPlan, keys: readonly TargetKey[]): ActingPlan {
  const apps = plan.apps.flatMap((planned): PlannedApp[] => {
    const scope = scopeOf(planned, keys);
    return scope === undefined ? [] : [{ ...planned, scope }];
  });
  return { ...plan, apps };
}

function scopeOf(planned: PlannedApp, keys: readonly TargetKey[]): TargetScope | undefined {
  const prefix = `${planned.app.applicationId}#`;
  const own = keys.filter((key) => key.startsWith(prefix)).map((key) => key.slice(prefix.length));
  if (own.length === 0) return undefined;
  const watched = planned.app.flights;
  if (own.includes('app')) return { main: true, flights: watched };
  const listing = own.includes('flights') && watched === 'all';
  const named = own.flatMap((key) => (key.startsWith('flight#') ? [key.slice('flight#'.length)] : []));
  const flights = listing
    ? ('all' as const)
    : named.length === 0
      ? undefined
      : named.map((lower) => originalFlightId(watched, lower));
  const main = own.includes('main');
  // A key the config no longer explains (its flights changed): look at the whole app again.
  if (!main && flights === undefined) return { main: true, flights: watched };
  return { main, flights };
}

/** The flight ID as the config spells it (keys hold it in lower case). */
function originalFlightId(watched: PlannedApp['app']['flights'], lower: string): string {
  if (!Array.isArray(watched)) return lower;
  return watched.find((flightId) => flightId.toLowerCase() === lower) ?? lower;
}

/** Every key a plan examines, for a record's `examining` (absent from the record means all). */
export function examinedKeys(plan: ActingPlan): TargetKey[] | undefined {
  if (plan.apps.every((planned) => planned.scope === undefined)) return undefined;
  return plan.apps.flatMap((planned) => {
    const id = planned.app.applicationId;
    const scope = planned.scope;
    if (scope === undefined) return [targetKey(id, 'app')];
    return [
      ...(scope.main ? [targetKey(id, 'main')] : []),
      ...(scope.flights === 'all'
        ? [targetKey(id, 'flights')]
        : (scope.flights ?? []).map((flightId) => targetKey(id, { flightId }))),
    ];
  });
}

/** Which attempt a message is about, for people. */
export interface AttemptInfo {
  readonly attempt: number;
  readonly of: number;
  /** When failed targets remain and another attempt was scheduled: in how many seconds. */
  readonly nextInSeconds?: number;
  /** For a retry: the earlier attempts' failures are re-examined alone. */
  readonly retry: boolean;
}

/** A claim on one handling of a transition (one storm part). */
export interface ClaimRequest {
  /** `handlingIdentity` of the transitions. */
  readonly identity: string;
  /** The storm part (1: the alarm event itself). */
  readonly part: number;
  readonly delivery: Delivery;
  /** Wall-clock epoch ms now. */
  readonly nowMs: number;
  /** Epoch ms after which this invocation cannot still be running (now + the Lambda's remaining time). */
  readonly claimUntilMs: number;
  /** For people reading the table: the alarm names. */
  readonly alarmNames: readonly string[];
}

/** What a claim came to. */
export type ClaimOutcome =
  | {
      readonly kind: 'claimed';
      readonly attempt: number;
      /** What to examine: everything (`all`), or only these targets (a retry). */
      readonly reexamine: readonly TargetKey[] | 'all';
      /** The previous attempt's claim lapsed and was taken over. */
      readonly lapsed: boolean;
    }
  | { readonly kind: 'duplicate'; readonly why: string; readonly attempts: number }
  /** The ledger could not be read or written: the delivery is handled on its own (version 2). */
  | { readonly kind: 'unavailable' };

/** How an attempt ended. */
export interface SettleRequest {
  readonly identity: string;
  readonly part: number;
  readonly attempt: number;
  /** The targets that failed; empty: done. Absent: everything this attempt examined is to be retried. */
  readonly failedTargets: readonly TargetKey[] | undefined;
  readonly nowMs: number;
}

/**
 * The durable record of handled transitions (in the state table). `claim` never rejects (a failure
 * is `unavailable`); `settle` never rejects either and says whether the record took it (false: the
 * claim lapsed and another delivery took the transition over).
 */
export interface TransitionLedger {
  claim(request: ClaimRequest, signal: AbortSignal): Promise<ClaimOutcome>;
  settle(request: SettleRequest, signal: AbortSignal): Promise<boolean>;
}

/** The keys of every app of a plan (`#app`: the whole app), for a retry of everything examined. */
export function wholeAppKeys(plan: ActingPlan): TargetKey[] {
  return plan.apps.map((planned) => targetKey(planned.app.applicationId, 'app'));
}
