/**
 * What the decision logic needs from the outside world, as plain types. The Store adapter
 * (`functions/commons/store/rollouts.ts`) implements the Store side; the handler wires them.
 */
import type { PackageRollout, RolloutRef } from './rollout.ts';

/** The state of one rollout the watchdog examined (an app's main rollout or one package flight's). */
export type RolloutLookup =
  /** A published submission whose rollout is `PackageRolloutInProgress`: the only thing that may be halted. */
  | { readonly state: 'in-progress'; readonly ref: RolloutRef; readonly rollout: PackageRollout }
  /** The live submission's rollout is already `PackageRolloutStopped`. */
  | { readonly state: 'stopped'; readonly ref: RolloutRef; readonly rollout: PackageRollout }
  /** Nothing to halt: no published submission, no rollout, not started, or complete. */
  | {
      readonly state: 'none';
      readonly applicationId: string;
      readonly flightId?: string;
      readonly submissionId?: string;
      readonly rollout?: PackageRollout;
      /** Why there is nothing to halt, in words for a person. */
      readonly reason: string;
    }
  /** The state could not be established. */
  | {
      readonly state: 'failed';
      readonly applicationId: string;
      readonly flightId?: string;
      readonly submissionId?: string;
      readonly error: unknown;
    };

/** The typed result of a halt request. Failures are thrown (`StoreApiError`, `DeadlineExceededError`). */
export type HaltOutcome =
  /** This request stopped the rollout. */
  | { readonly result: 'halted'; readonly ref: RolloutRef; readonly rollout: PackageRollout }
  /** The rollout was already stopped (a duplicate delivery, another invocation, or a person). */
  | { readonly result: 'already-halted'; readonly ref: RolloutRef; readonly rollout: PackageRollout }
  /** The rollout turned out not to be in progress (not started, or complete). */
  | { readonly result: 'no-active-rollout'; readonly ref: RolloutRef; readonly rollout: PackageRollout };

/** Which package flights of an app are watched (the main rollout always is). */
export type FlightSelection = 'all' | readonly string[] | undefined;

/** The Store side of the halt path. */
export interface RolloutPort {
  /**
   * Every rollout to examine for one app: the main rollout first, then each watched flight. Never
   * rejects for a Store failure: a target that could not be read is a `failed` lookup.
   */
  findLiveRollouts(
    request: { readonly applicationId: string; readonly flights: FlightSelection },
    signal: AbortSignal,
  ): Promise<RolloutLookup[]>;
  /** Halts the rollout found in progress; resolves ambiguous failures by reading the state again. */
  haltRollout(
    found: Extract<RolloutLookup, { state: 'in-progress' }>,
    signal: AbortSignal,
  ): Promise<HaltOutcome>;
}
