/**
 * Bounded retries with exponential backoff and full jitter, honouring `Retry-After` and the caller's
 * deadline. Whether a failure may be retried is decided by the caller per attempt (a POST that timed
 * out must not be retried blind; see `rollouts.ts`), never here.
 */
import { deadlineExceeded, deadlineOf, fitsBeforeDeadline, type Sleep, sleep } from './deadline.ts';

export interface RetryPolicy {
  /** Attempts in all, the first one included. @default 4 */
  readonly maxAttempts: number;
  /** Backoff cap before jitter for the first retry; doubles for each retry after it. @default 250 */
  readonly baseDelayMs: number;
  /** Upper bound of any backoff wait. @default 4_000 */
  readonly maxDelayMs: number;
  /** Longest `Retry-After` honoured when the signal has no known deadline. @default 30_000 */
  readonly maxRetryAfterMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  maxAttempts: 4,
  baseDelayMs: 250,
  maxDelayMs: 4_000,
  maxRetryAfterMs: 30_000,
};

/** Time and chance, injectable so tests can run the loop without waiting. */
export interface RetryEnvironment {
  readonly now: () => number;
  readonly sleep: Sleep;
  /** Uniform in [0, 1). */
  readonly random: () => number;
}

export const REAL_RETRY_ENVIRONMENT: RetryEnvironment = { now: Date.now, sleep, random: Math.random };

/** The outcome of one attempt: a value, or a failure that says whether (and when) to try again. */
export type AttemptResult<T> =
  | { readonly ok: true; readonly value: T }
  | {
      readonly ok: false;
      readonly error: Error;
      readonly retryable: boolean;
      /** The server's `Retry-After`, in milliseconds, when it gave one. */
      readonly retryAfterMs?: number;
    };

/**
 * Parses a `Retry-After` header: delay-seconds or an HTTP date (RFC 9110 §10.2.3). Returns
 * milliseconds from `nowMs` (never negative), or `undefined` when absent or unreadable.
 */
export function parseRetryAfter(value: string | string[] | undefined, nowMs: number): number | undefined {
  const text = (Array.isArray(value) ? value[0] : value)?.trim();
  if (text === undefined || text === '') return undefined;
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  // HTTP dates always name the day or month; this keeps `Date.parse` from reading "-5" as a year.
  const at = /[a-z]/i.test(text) ? Date.parse(text) : Number.NaN;
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - nowMs);
}

/**
 * Full-jitter backoff before retry number `retry` (1 for the first retry): uniform in
 * [0, min(maxDelayMs, baseDelayMs * 2^(retry-1))).
 */
export function computeBackoffDelay(retry: number, policy: RetryPolicy, random: () => number): number {
  const cap = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.max(0, retry - 1));
  return Math.floor(random() * cap);
}

export interface RetryOptions {
  readonly policy: RetryPolicy;
  readonly environment: RetryEnvironment;
  /** The caller's deadline; no wait is started that would end after it. */
  readonly signal: AbortSignal;
  /** What is being done, for the deadline error ("GET applications/9NBLGGH4R315"). */
  readonly what: string;
}

/**
 * Runs `attempt` until it succeeds, fails for good, runs out of attempts, or the next wait would pass
 * the deadline. Throws the last failure's error, or `DeadlineExceededError` when the deadline cut a
 * wait short.
 */
export async function runWithRetries<T>(
  attempt: (attemptNumber: number) => Promise<AttemptResult<T>>,
  options: RetryOptions,
): Promise<T> {
  const { policy, environment, signal, what } = options;
  for (let attemptNumber = 1; ; attemptNumber++) {
    const result = await attempt(attemptNumber);
    if (result.ok) return result.value;
    if (!result.retryable || attemptNumber >= policy.maxAttempts) throw result.error;

    const wait = result.retryAfterMs ?? computeBackoffDelay(attemptNumber, policy, environment.random);
    const tooLongWithoutDeadline =
      result.retryAfterMs !== undefined &&
      deadlineOf(signal) === undefined &&
      result.retryAfterMs > policy.maxRetryAfterMs;
    // Sleeping past the deadline would only turn a clear error into a vague timeout.
    if (tooLongWithoutDeadline || !fitsBeforeDeadline(signal, environment.now(), wait)) throw result.error;
    try {
      await environment.sleep(wait, signal);
    } catch {
      throw deadlineExceeded(what, result.error);
    }
  }
}
