/**
 * The watchdog's results, as plain values (see the Lambda contract, "What it returns").
 */

/** Every result a target can have, from worst to least severe (the order `outcome` uses). */
const RESULTS_BY_SEVERITY = [
  'failed',
  'would-halt',
  'halted',
  'already-halted',
  'no-active-rollout',
] as const;
export type TargetResultKind = (typeof RESULTS_BY_SEVERITY)[number];

/** One rollout the watchdog examined: an app's main rollout or one of its package flights. */
export interface TargetResult {
  readonly applicationId: string;
  readonly flightId?: string;
  readonly submissionId?: string;
  readonly result: TargetResultKind;
  /** The percentage that was live when the watchdog found the rollout. */
  readonly rolloutPercentage?: number;
  readonly fallbackSubmissionId?: string;
  /** For `failed`: a safe description of what went wrong (never a secret or token). */
  readonly error?: { readonly code: string; readonly message: string };
}

/** What the handler returns. */
export interface WatchdogResult {
  readonly ignored?: string;
  /**
   * Present (and true) when the delivery repeats an alarm transition that is handled or being handled
   * (the Lambda contract, "Duplicates and retries"): nothing was examined or published.
   */
  readonly duplicate?: true;
  /** Present (and true) when the drill alarm set the watchdog going: nothing was halted. */
  readonly drill?: true;
  readonly targets: readonly TargetResult[];
  /**
   * Apps of a storm this invocation did not reach within the tenant's request budget, handed on to the
   * next invocation (absent when none).
   */
  readonly pending?: readonly string[];
}

/** The worst result among the targets: `failed` > `would-halt` > `halted` > `already-halted` > `no-active-rollout`. */
export function worstResult(targets: readonly Pick<TargetResult, 'result'>[]): TargetResultKind | undefined {
  let worst: number | undefined;
  for (const target of targets) {
    const rank = RESULTS_BY_SEVERITY.indexOf(target.result);
    if (worst === undefined || rank < worst) worst = rank;
  }
  return worst === undefined ? undefined : RESULTS_BY_SEVERITY[worst];
}
