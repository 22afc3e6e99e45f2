/**
 * A client-side request budget per tenant. The submission API reportedly allows a tenant about 20
 * requests per minute and answers 429 above that (CONTRACT §8, StoreBroker USAGE.md); waiting for a
 * free slot here costs less than provoking a 429 and its `Retry-After`.
 */
import { StoreApiError } from '../errors.ts';
import { deadlineExceeded, fitsBeforeDeadline, type Sleep, sleep } from './deadline.ts';

export interface ThrottleOptions {
  /** Requests allowed in any window. @default 20 */
  readonly limit?: number;
  /** The sliding window, in milliseconds. @default 60_000 */
  readonly windowMs?: number;
  /**
   * Extra spacing added to the window, so that network jitter cannot make two requests that left a
   * window apart arrive inside one window at the server. @default 250
   */
  readonly marginMs?: number;
  /** Clock, for tests. @default Date.now */
  readonly now?: () => number;
  /** Sleep, for tests. @default the real one */
  readonly sleep?: Sleep;
}

/** Grants the right to send one request. */
export interface RequestBudget {
  /**
   * Resolves when a request may be sent (at once, or after waiting for a slot). Rejects with a
   * retryable `StoreApiError` (`STORE_BUDGET_EXHAUSTED`) when the next slot comes after the
   * signal's deadline, or with `DeadlineExceededError` when the signal aborts while waiting.
   *
   * @param what the request, for the error ("GET applications/9NBLGGH4R315")
   */
  acquire(signal: AbortSignal, what: string): Promise<void>;
}

/** A sliding-window budget: at most `limit` grants in any `windowMs` (plus margin). */
export function createThrottle(options: ThrottleOptions = {}): RequestBudget {
  const limit = options.limit ?? 20;
  const windowMs = options.windowMs ?? 60_000;
  const spacingMs = windowMs + (options.marginMs ?? 250);
  const now = options.now ?? Date.now;
  const wait = options.sleep ?? sleep;
  if (!Number.isInteger(limit) || limit < 1)
    throw new RangeError('throttle limit must be a positive integer');
  // Times at which requests were (or will be) allowed out, never decreasing: each one is the later of
  // "now" and "a window after the grant `limit` places back", and both only grow.
  const grants: number[] = [];

  return {
    async acquire(signal, what) {
      const at = now();
      while (grants.length > 0 && (grants[0] ?? 0) + spacingMs <= at) grants.shift();
      const blocking = grants.length >= limit ? grants[grants.length - limit] : undefined;
      const slot = blocking === undefined ? at : Math.max(at, blocking + spacingMs);
      const delay = slot - at;
      if (delay > 0 && !fitsBeforeDeadline(signal, at, delay)) {
        throw new StoreApiError(
          'STORE_BUDGET_EXHAUSTED',
          `${what} not sent: this tenant's request budget (${limit} per ${windowMs} ms) has no free slot ` +
            `before the deadline (next in ${delay} ms)`,
          { request: what },
          { retryable: true },
        );
      }
      grants.push(slot);
      if (delay === 0) return;
      try {
        await wait(delay, signal);
      } catch (error) {
        // Give the slot back; later reservations keep their (now slightly pessimistic) times.
        const index = grants.indexOf(slot);
        if (index >= 0) grants.splice(index, 1);
        throw deadlineExceeded(`waiting for a request slot for ${what}`, error);
      }
    },
  };
}

const tenantThrottles = new Map<string, RequestBudget>();

/**
 * The process-wide budget of one tenant, shared by every client and concurrent call in the process
 * (the Store counts per tenant, not per client). The options of the first call for a tenant win.
 */
export function getTenantThrottle(tenantId: string, options: ThrottleOptions = {}): RequestBudget {
  let throttle = tenantThrottles.get(tenantId);
  if (throttle === undefined) {
    throttle = createThrottle(options);
    tenantThrottles.set(tenantId, throttle);
  }
  return throttle;
}
