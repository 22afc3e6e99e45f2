/**
 * The tenant's Store request budget, shared by the whole stack: the decisions, without storage.
 *
 * The Store's gateway allows a tenant about 20 requests in any 60 seconds (a sliding window) and
 * answers 429 above that. Every function that calls the Store (the halt function, its continuations,
 * the self-check and the Store health probe) takes a slot from one budget before each request. The
 * budget is the list of times slots were granted in the last window; a slot is granted when the
 * window has room:
 *
 * - the halt path (`halt`: every request of the halt function) may use all of it;
 * - a scheduled reader (`reader`: the self-check, the Store health probe) takes a slot only while at
 *   least half the window stays free after its grant, so readers never hold more than half and halts
 *   always have at least half of the window to themselves.
 *
 * A grant counts for `spacingMs` (the window plus a small margin for network jitter, so that two
 * requests granted a window apart cannot arrive inside one window at the gateway). A request that
 * finds no room learns when room frees (when the grant it waits on leaves the window): grants only
 * ever join the window, so room can never come earlier than that.
 */

/** Who asks for a slot. */
export type BudgetClass = 'halt' | 'reader';

export interface BudgetRules {
  /** Requests allowed in any window, e.g. 20. */
  readonly limit: number;
  /** How long a grant occupies its slot: the gateway's window plus the jitter margin, in ms. */
  readonly spacingMs: number;
}

export type BudgetDecision =
  /** Send now; `grants` is the window to store (pruned, with this grant at the end). */
  | { readonly granted: true; readonly grants: readonly number[] }
  /** No room: ask again at `retryAt` (when the grant it waits on leaves the window). */
  | { readonly granted: false; readonly retryAt: number };

/** The most slots a class may see used, this grant included: all for halts, half for readers. */
export function classCeiling(rules: BudgetRules, budgetClass: BudgetClass): number {
  return budgetClass === 'halt' ? rules.limit : Math.floor(rules.limit / 2);
}

/** The grants still in the window at `now`, oldest first. */
export function pruneGrants(grants: readonly number[], now: number, rules: BudgetRules): number[] {
  return grants.filter((granted) => granted + rules.spacingMs > now).sort((a, b) => a - b);
}

/**
 * Whether a request of `budgetClass` may be sent at `now`, given the grants of the stored window
 * (in any order, possibly with expired ones).
 */
export function decideGrant(
  grants: readonly number[],
  now: number,
  budgetClass: BudgetClass,
  rules: BudgetRules,
): BudgetDecision {
  if (!Number.isInteger(rules.limit) || rules.limit < 2)
    throw new RangeError('the budget limit must be an integer of at least 2');
  const window = pruneGrants(grants, now, rules);
  const ceiling = classCeiling(rules, budgetClass);
  if (window.length + 1 <= ceiling) return { granted: true, grants: [...window, now] };
  // Room for this grant once `window.length + 1 - ceiling` of the oldest grants have left.
  const waitedOn = window[window.length - ceiling] ?? now;
  return { granted: false, retryAt: waitedOn + rules.spacingMs };
}
