/**
 * Deadlines as plain `AbortSignal`s. The signal aborts the in-flight request when time is up; the
 * deadline's timestamp is remembered beside it so the retry loop and the throttle can refuse to start
 * a wait that would end after it (an `AbortSignal` alone cannot say when it will fire).
 */
import { setTimeout as delay } from 'node:timers/promises';
import { DeadlineExceededError } from '../errors.ts';
import { definedProps } from '../optional.ts';

/** Each deadline's timestamp and the clock it is expressed in. */
const deadlines = new WeakMap<AbortSignal, { readonly at: number; readonly clock: Clock }>();

/** The clock of a deadline. */
interface Clock {
  readonly now: () => number;
  readonly sleep?: Sleep;
}

export interface DeadlineOptions {
  /** Milliseconds from now until the deadline. */
  readonly timeoutMs: number;
  /** A signal to follow as well (e.g. the caller's), so either one aborts the work. */
  readonly signal?: AbortSignal;
  /** Clock the deadline timestamp is expressed in. @default Date.now */
  readonly now?: () => number;
  /** What times the abort, on the clock of `now` (a test's virtual clock). @default Node's timers */
  readonly sleep?: Sleep;
}

/** The clock of every deadline a process creates unless its options say otherwise (see `setDeadlineDefaults`). */
let processDefaults: Pick<DeadlineOptions, 'now' | 'sleep'> = {};

/**
 * Sets the clock (`now`, `sleep`) of every deadline created afterwards in this process unless its
 * options say otherwise: the handlers never call it; a test injects a virtual clock before it invokes a
 * handler, as it does for the Store budget (`setDurableBudgetDefaults`).
 */
export function setDeadlineDefaults(defaults: Pick<DeadlineOptions, 'now' | 'sleep'>): void {
  processDefaults = { ...defaults };
}

/**
 * A signal that aborts `timeoutMs` from now (or when `signal` aborts), whose deadline `deadlineOf`
 * can read back.
 */
export function createDeadline(options: DeadlineOptions): AbortSignal {
  const now = options.now ?? processDefaults.now ?? Date.now;
  const sleepFor = options.sleep ?? processDefaults.sleep;
  const timeoutMs = Math.max(0, options.timeoutMs);
  // Node's timers take whole milliseconds.
  const timer =
    sleepFor === undefined
      ? AbortSignal.timeout(Math.ceil(timeoutMs))
      : timeoutOn(sleepFor, timeoutMs, options.signal);
  const signal = options.signal === undefined ? timer : AbortSignal.any([timer, options.signal]);
  const parent = options.signal === undefined ? undefined : deadlineOf(options.signal);
  const at = now() + timeoutMs;
  deadlines.set(signal, {
    at: parent === undefined ? at : Math.min(at, parent),
    clock: { now, ...definedProps({ sleep: sleepFor }) },
  });
  return signal;
}

/**
 * A deadline `reserveMs` before `signal`'s (on its clock), but never taking more than half the time
 * left: what waits on it (a request's slot in the budget) leaves the rest to the request itself, so a
 * request is not sent only to be cut off in flight. `signal` itself when it has no known deadline.
 */
export function deadlineLeaving(signal: AbortSignal, reserveMs: number): AbortSignal {
  const deadline = deadlines.get(signal);
  if (deadline === undefined || signal.aborted) return signal;
  const left = deadline.at - deadline.clock.now();
  return createDeadline({
    timeoutMs: Math.floor(left - Math.min(reserveMs, left / 2)),
    signal,
    ...deadline.clock,
  });
}

/** Like `AbortSignal.timeout`, timed by `sleep` (which stops early, unused, when `follow` aborts). */
function timeoutOn(sleep: Sleep, timeoutMs: number, follow: AbortSignal | undefined): AbortSignal {
  const controller = new AbortController();
  sleep(timeoutMs, follow ?? controller.signal).then(
    () => controller.abort(new DOMException('The operation was aborted due to timeout', 'TimeoutError')),
    () => {
      // `follow` aborted first: the deadline's signal follows it already.
    },
  );
  return controller.signal;
}

/** The deadline (in the clock given to `createDeadline`) of a signal made by it, else `undefined`. */
export function deadlineOf(signal: AbortSignal): number | undefined {
  return deadlines.get(signal)?.at;
}

/**
 * Whether a wait of `ms` from `now` would still end before the signal's deadline. A signal with no
 * known deadline allows any wait (it can still abort the wait).
 */
export function fitsBeforeDeadline(signal: AbortSignal, now: number, ms: number): boolean {
  if (signal.aborted) return false;
  const deadline = deadlineOf(signal);
  return deadline === undefined || now + ms < deadline;
}

/** Sleeps `ms`, rejecting (with the abort reason) as soon as `signal` aborts. */
export type Sleep = (ms: number, signal: AbortSignal) => Promise<void>;

/** The real sleep, on Node's timers. */
export const sleep: Sleep = async (ms, signal) => {
  await delay(ms, undefined, { signal });
};

/** The error for work cut short by the deadline, naming what was cut short. */
export function deadlineExceeded(what: string, cause?: unknown): DeadlineExceededError {
  return new DeadlineExceededError(`the deadline passed before ${what} finished`, definedProps({ cause }));
}
