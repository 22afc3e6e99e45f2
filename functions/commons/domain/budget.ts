/**
 * The decisions of the tenant's Store request budget, shared by the whole stack: a sliding window of
 * grants that halts may fill and readers only while half of it stays free (docs/storms.md, "The shared
 * budget"). Storage is `aws/store-budget.ts`.
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
