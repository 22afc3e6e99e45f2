/**
 * How the tenant's Store request budget (about 20 a minute; see docs/storms.md) is shared. The halt path may
 * use all of it; the scheduled readers (the self-check and the Store health probe, each its own
 * function and process) together never use more than half, so a halt always finds room at once.
 *
 * Each reader's process enforces its share with its own tenant budget (`getTenantThrottle`); each
 * reader runs one invocation at a time, so the shares add up across processes. Alone, the self-check
 * may use the whole half; with the probe deployed beside it, the stack gives each its share through
 * `STORE_REQUESTS_PER_MINUTE` (`SCHEDULED_READER_SHARES`).
 */
import { ConfigurationError } from '../errors.ts';

/** The tenant's budget the watchdog assumes (see docs/storms.md, "The budget bound"). */
export const TENANT_REQUESTS_PER_MINUTE = 20;

/** What all scheduled readers together may use: half the tenant's budget. */
export const SCHEDULED_READERS_REQUESTS_PER_MINUTE = TENANT_REQUESTS_PER_MINUTE / 2;

/** Each reader's share when both are deployed; together at most `SCHEDULED_READERS_REQUESTS_PER_MINUTE`. */
export const SCHEDULED_READER_SHARES = {
  selfCheck: 5,
  storeHealth: 5,
} as const;

/** The variable through which the stack hands a scheduled reader its share (requests per minute). */
export const READER_SHARE_VARIABLE = 'STORE_REQUESTS_PER_MINUTE';

/**
 * The reader's share from `STORE_REQUESTS_PER_MINUTE` (1 to the readers' half), else `fallback`.
 * Throws a `ConfigurationError` naming the variable.
 */
export function readReaderShare(env: Readonly<Record<string, string | undefined>>, fallback: number): number {
  const text = env[READER_SHARE_VARIABLE]?.trim();
  if (text === undefined || text === '') return fallback;
  const value = Number(text);
  if (!/^\d+$/.test(text) || value < 1 || value > SCHEDULED_READERS_REQUESTS_PER_MINUTE) {
    throw new ConfigurationError(
      'INVALID_ENVIRONMENT',
      `Invalid environment: ${READER_SHARE_VARIABLE} must be a whole number from 1 to ${SCHEDULED_READERS_REQUESTS_PER_MINUTE}`,
    );
  }
  return value;
}

/**
 * The throttle options of a scheduled reader's process that never halts: its share, all of it
 * `background`, no room kept for follow-up halts.
 */
export function scheduledReaderThrottle(share: number): {
  readonly limit: number;
  readonly backgroundLimit: number;
  readonly followUpMs: number;
} {
  return { limit: share, backgroundLimit: share, followUpMs: 0 };
}
