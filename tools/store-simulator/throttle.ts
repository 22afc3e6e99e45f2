/**
 * Per-tenant sliding-window throttle, like the Store's "20 requests per minute per tenant"
 * (Microsoft documents no figure; StoreBroker's usage guide says 20 a minute). Only admitted requests count: a 429 spends nothing.
 */
import type { ThrottleSettings } from './types.ts';

const DEFAULT_WINDOW_MS = 60_000;

export type ThrottleVerdict =
  | { readonly admitted: true }
  | { readonly admitted: false; readonly retryAfterSeconds: number };

export class SlidingWindowThrottle {
  #settings: ThrottleSettings | null;
  readonly #admitted = new Map<string, number[]>();
  readonly #now: () => number;

  constructor(settings: ThrottleSettings | null, now: () => number = () => performance.now()) {
    this.#settings = settings;
    this.#now = now;
  }

  /** Turns the throttle on with new settings (forgetting past requests), or off with `null`. */
  configure(settings: ThrottleSettings | null): void {
    this.#settings = settings;
    this.#admitted.clear();
  }

  /** Admits (and counts) one request of `tenantId`, or says how many whole seconds to wait. */
  admit(tenantId: string): ThrottleVerdict {
    const settings = this.#settings;
    if (settings === null) return { admitted: true };
    const windowMs = settings.windowMs ?? DEFAULT_WINDOW_MS;
    const now = this.#now();
    const recent = (this.#admitted.get(tenantId) ?? []).filter((at) => now - at < windowMs);
    this.#admitted.set(tenantId, recent);
    const oldest = recent[0];
    if (recent.length >= settings.limit && oldest !== undefined) {
      return { admitted: false, retryAfterSeconds: Math.max(1, Math.ceil((oldest + windowMs - now) / 1000)) };
    }
    if (settings.limit <= 0)
      return { admitted: false, retryAfterSeconds: Math.max(1, Math.ceil(windowMs / 1000)) };
    recent.push(now);
    return { admitted: true };
  }
}
