/**
 * The rollout model the decision logic reasons about: a gradual package rollout and where it lives.
 * The domain owns these words; the Store adapter (`functions/commons/store/model.ts`) parses the wire
 * format into them, and its schema is checked against them at compile time.
 */

/** The states of a gradual package rollout (Microsoft's "Get rollout info for an app submission"). */
export const ROLLOUT_STATUSES = [
  'PackageRolloutNotStarted',
  'PackageRolloutInProgress',
  'PackageRolloutComplete',
  'PackageRolloutStopped',
] as const;
export type PackageRolloutStatus = (typeof ROLLOUT_STATUSES)[number];

/** A submission's package rollout, as the Store reports it. */
export interface PackageRollout {
  readonly isPackageRollout: boolean;
  /** 0 to 100. */
  readonly packageRolloutPercentage: number;
  readonly packageRolloutStatus: PackageRolloutStatus;
  /** The submission that customers outside the rollout get. */
  readonly fallbackSubmissionId: string;
}

/** Where a rollout lives: the main rollout of an app (no `flightId`) or a package flight's. */
export interface RolloutRef {
  readonly applicationId: string;
  readonly flightId?: string;
  readonly submissionId: string;
}
