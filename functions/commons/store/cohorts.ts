/**
 * The package versions of a submission (`applicationPackages[].version`, or `flightPackages[].version`
 * for a flight submission), read once per container:
 * a published submission never changes, and the probe asks for the same two submissions of every
 * live rollout on every run. A failed read is not cached.
 */
import type { RolloutRef } from '../domain/rollout.ts';
import type { StoreClient } from './store-client.ts';

export interface PackageVersionReader {
  /** The distinct package versions of the submission, in the Store's order. */
  getPackageVersions(ref: RolloutRef, signal: AbortSignal): Promise<readonly string[]>;
  /** How many submissions are cached (for tests and logs). */
  readonly cached: number;
}

/** Creates the reader; build it at module scope so the cache lives as long as the container. */
export function createPackageVersionReader(client: StoreClient): PackageVersionReader {
  const cache = new Map<string, Promise<readonly string[]>>();
  return {
    getPackageVersions(ref, signal) {
      const key = `${ref.applicationId}/${ref.flightId ?? ''}/${ref.submissionId}`;
      const known = cache.get(key);
      if (known !== undefined) return known;
      const read = client.getSubmission(ref, signal).then((submission) => {
        const packages = [...(submission.applicationPackages ?? []), ...(submission.flightPackages ?? [])];
        const versions = packages
          .map((item) => item.version)
          .filter((version): version is string => typeof version === 'string' && version !== '');
        return [...new Set(versions)];
      });
      cache.set(key, read);
      read.catch(() => cache.delete(key));
      return read;
    },
    get cached() {
      return cache.size;
    },
  };
}
