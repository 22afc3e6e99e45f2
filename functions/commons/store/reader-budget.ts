/**
 * How the tenant's Store request budget (about 20 a minute, CONTRACT §8) is shared. The halt path may
 * use all of it; the scheduled readers (the self-check and the Store health probe, each its own
 * function and process) together never use more than half, so a halt always finds room at once.
 *
 * Each reader's process enforces its share with its own tenant budget (`getTenantThrottle`): every
 * one of its requests is a `background` request capped at its share per window. Each reader runs one
 * invocation at a time (reserved concurrency 1), so the shares add up across processes.
 */

/** The tenant's budget the watchdog assumes (CONTRACT §8). */
export const TENANT_REQUESTS_PER_MINUTE = 20;

/** Requests per minute each scheduled reader may send; together at most half the tenant's budget. */
export const SCHEDULED_READER_SHARES = {
  selfCheck: 5,
  storeHealth: 5,
} as const;

/** The throttle options of a scheduled reader's process: its share, all of it `background`, no room kept for halts it never sends. */
export function scheduledReaderThrottle(share: number): {
  readonly limit: number;
  readonly backgroundLimit: number;
  readonly followUpMs: number;
} {
  return { limit: share, backgroundLimit: share, followUpMs: 0 };
}
