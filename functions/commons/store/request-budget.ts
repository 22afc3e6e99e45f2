/**
 * What every budget of Store requests offers the Store client: the in-process throttle (`throttle.ts`)
 * and the stack's shared budget (`aws/store-budget.ts`).
 */
import { DeadlineExceededError, SLOT_DEADLINE_CODE } from '../errors.ts';

/**
 * What a request is for, most important first:
 *
 * - `halt`: POST `haltpackagerollout` (the point of the whole invocation);
 * - `rollout`: GET a submission or its `packagerollout` (what decides the halt);
 * - `discovery`: GET an app, `listflights`, GET a flight (where the submissions are).
 */
export type RequestPriority = 'halt' | 'rollout' | 'discovery';

/** Lower is served first. */
export const PRIORITY_RANK: Readonly<Record<RequestPriority, number>> = { halt: 0, rollout: 1, discovery: 2 };

/** Puts `waiter` after the last waiter of its rank: most important first, first come first served within a rank. */
export function enqueueByRank<W extends { readonly rank: number }>(queue: W[], waiter: W): void {
  const before = queue.findIndex((queued) => queued.rank > waiter.rank);
  queue.splice(before < 0 ? queue.length : before, 0, waiter);
}

/** Grants the right to send one request. */
export interface RequestBudget {
  /**
   * Resolves when a request may be sent: at once, or when a slot frees and no more important (nor
   * earlier, same priority) request waits for it. Rejects with a retryable `StoreApiError`
   * (`STORE_BUDGET_EXHAUSTED`) as soon as, as things stand, its slot comes after the signal's deadline
   * (`deadlineOf`; never without one), and with `DeadlineExceededError` when the signal aborts first.
   * @param what - the request, for the error ("GET applications/9NBLGGH4R315")
   * @param priority - what the request is for
   */
  acquire(signal: AbortSignal, what: string, priority: RequestPriority): Promise<void>;
}

/**
 * The error of a request never sent because its deadline passed `before` it could wait for a slot or
 * `while` it waited: said apart from a request cut short in flight, which may have taken effect.
 */
export function slotDeadlineError(
  signal: AbortSignal,
  what: string,
  when: 'before' | 'while',
): DeadlineExceededError {
  return new DeadlineExceededError(
    when === 'before'
      ? `the deadline passed before ${what} could wait for a request slot: not sent`
      : `the deadline passed before waiting for a request slot for ${what} finished: not sent`,
    { cause: signal.reason, code: SLOT_DEADLINE_CODE },
  );
}
