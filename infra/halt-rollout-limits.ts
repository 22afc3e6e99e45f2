/**
 * The halt-rollout function's limits as plain numbers: the stack sets them (`watchdog-stack.ts`,
 * `constructs/storm-continuation.ts`), and the storm benchmark models the deployed stack with the same
 * values. No CDK import here, so a reader of these numbers does not load the CDK.
 */

/** How long one halt-rollout invocation may run, in seconds (5 minutes). */
export const HALT_ROLLOUT_TIMEOUT_SECONDS = 300;

/** The most halt-rollout invocations that run at once (reserved concurrency). */
export const DEFAULT_HALT_ROLLOUT_CONCURRENCY = 10;

/** How many continuations the queue may run at once (SQS event sources allow 2 at least). */
export const CONTINUATION_MAX_CONCURRENCY = 2;

/**
 * How long Lambda keeps an asynchronous alarm event that finds every halt slot busy before it goes to
 * the failure queue, in seconds: Lambda's most, 6 hours. A storm of 500 looked-up halts needs about 75
 * minutes of the tenant's budget; an hour (Lambda's default) dropped its last alarms.
 */
export const HALT_ROLLOUT_MAX_EVENT_AGE_SECONDS = 6 * 3600;
