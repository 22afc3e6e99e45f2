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
      /** The app's list of package flights could not be read (so no flight was examined). */
      readonly flightList?: true;
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
   * Every rollout to examine for one app: the main rollout first (unless `main` is `false`), then each
   * watched flight. Never rejects for a Store failure: a target that could not be read is a `failed` lookup.
   */
  findLiveRollouts(
    request: {
      readonly applicationId: string;
      readonly flights: FlightSelection;
      /** Look at the main rollout too. @default true */
      readonly main?: boolean;
    },
    signal: AbortSignal,
  ): Promise<RolloutLookup[]>;
  /** Halts the rollout found in progress; resolves ambiguous failures by reading the state again. */
  haltRollout(
    found: Extract<RolloutLookup, { state: 'in-progress' }>,
    signal: AbortSignal,
  ): Promise<HaltOutcome>;
  /**
   * Halts a remembered rollout with one POST, without reading first: it halts the live rollout or is
   * refused (`not-live`; why it cannot halt the wrong thing: docs/contributing/storms.md). Optional: a
   * port without it never halts from memory.
   */
  haltRemembered?(remembered: RememberedRollout, signal: AbortSignal): Promise<HaltOutcome | NotLive>;
}

/** The Store refused to halt a remembered submission: it is not (or no longer) the live rollout. */
export interface NotLive {
  readonly result: 'not-live';
  /** Why, in words for a person (the Store's refusal). */
  readonly reason: string;
  /**
   * The POST failed ambiguously (no clear answer): it may have halted the remembered submission. A
   * lookup that then finds that submission stopped reports `halted`.
   */
  readonly uncertain: boolean;
}

/** The app's main rollout (no `flightId`) or one of its package flights. */
export interface RolloutTarget {
  readonly applicationId: string;
  readonly flightId?: string;
}

/** A rollout seen in progress, remembered so that a later halt can be a single POST. */
export interface RememberedRollout {
  readonly ref: RolloutRef;
  /** The percentage that was live when it was seen. */
  readonly rolloutPercentage: number;
  readonly fallbackSubmissionId: string;
  /** When it was seen in progress (ISO 8601). */
  readonly seenAt: string;
}

/**
 * Durable memory of each app's (and flight's) live rollout, written by whoever reads the Store (the
 * self-check, a dry run, a lookup) and read by the halt path. A stale entry costs one refused POST and a
 * normal lookup, never a wrong halt (see `RolloutPort.haltRemembered`). Implementations never reject:
 * memory is an optimization, so a failure is logged and treated as "nothing remembered".
 */
export interface RolloutMemory {
  /** Every remembered rollout of the app (main and flights). */
  recall(applicationId: string, signal: AbortSignal): Promise<readonly RememberedRollout[]>;
  remember(rollout: RememberedRollout, signal: AbortSignal): Promise<void>;
  /** Forgets the target's entry; with `submissionId`, only while it still names that submission. */
  forget(target: RolloutTarget, submissionId: string | undefined, signal: AbortSignal): Promise<void>;
}
