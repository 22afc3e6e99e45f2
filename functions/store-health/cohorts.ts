/** The two cohorts of a live rollout: the package versions of its submission and of its fallback. */

import { cohortKey } from '../commons/domain/probe-memory.ts';
import type { PackageRollout, RolloutRef } from '../commons/domain/rollout.ts';
import type { Cohorts } from '../commons/domain/store-health.ts';
import { StoreApiError } from '../commons/errors.ts';
import type { PackageVersionReader } from '../commons/store/cohorts.ts';
import { STORE_ERROR_CODES } from '../commons/store/store-errors.ts';

/**
 * Reads (or recalls from `known`) a live rollout's cohorts; each submission read is added to `known`
 * and marked in `inUse`.
 */
export async function readCohorts(
  ref: RolloutRef,
  rollout: PackageRollout,
  known: Record<string, readonly string[]>,
  inUse: Set<string>,
  reader: PackageVersionReader,
  signal: AbortSignal,
): Promise<Cohorts> {
  const rolloutVersions = await cohortOf(ref, known, inUse, reader, signal);
  const fallbackVersions = await fallbackCohortOf(ref, rollout, known, inUse, reader, signal);
  return {
    // A version in both submissions cannot tell the cohorts apart: it counts for the fallback only.
    rollout: rolloutVersions.filter((version) => !fallbackVersions.includes(version)),
    fallback: fallbackVersions,
    rolloutPercentage: rollout.packageRolloutPercentage,
  };
}

/** A submission's package versions: remembered, or read once (and remembered). */
async function cohortOf(
  ref: RolloutRef,
  cohorts: Record<string, readonly string[]>,
  inUse: Set<string>,
  reader: PackageVersionReader,
  signal: AbortSignal,
): Promise<readonly string[]> {
  const key = cohortKey(ref);
  const known = cohorts[key];
  inUse.add(key);
  if (known !== undefined) return known;
  const versions = await reader.getPackageVersions(ref, signal);
  cohorts[key] = versions;
  return versions;
}

/**
 * The fallback cohort: the `fallbackSubmissionId` of the rollout. For a flight it is looked for among
 * the flight's submissions, then (when the Store does not know it there) among the app's.
 */
async function fallbackCohortOf(
  ref: RolloutRef,
  rollout: PackageRollout,
  cohorts: Record<string, readonly string[]>,
  inUse: Set<string>,
  reader: PackageVersionReader,
  signal: AbortSignal,
): Promise<readonly string[]> {
  const appRef: RolloutRef = { applicationId: ref.applicationId, submissionId: rollout.fallbackSubmissionId };
  if (ref.flightId === undefined) return cohortOf(appRef, cohorts, inUse, reader, signal);
  const flightRef: RolloutRef = { ...appRef, flightId: ref.flightId };
  if (cohorts[cohortKey(appRef)] !== undefined && cohorts[cohortKey(flightRef)] === undefined)
    return cohortOf(appRef, cohorts, inUse, reader, signal);
  try {
    return await cohortOf(flightRef, cohorts, inUse, reader, signal);
  } catch (error) {
    if (!(error instanceof StoreApiError && error.code === STORE_ERROR_CODES.notFound)) throw error;
    inUse.delete(cohortKey(flightRef));
    return cohortOf(appRef, cohorts, inUse, reader, signal);
  }
}
