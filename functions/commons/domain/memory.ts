/**
 * What the watchdog learns about live rollouts from what it reads, for the rollout memory
 * (`RolloutMemory`): a rollout seen in progress is remembered, a target seen without one is forgotten.
 * Plain logic; the memory itself is an adapter (`functions/commons/aws/rollout-memory.ts`).
 */

import type { RememberedRollout, RolloutLookup, RolloutMemory, RolloutPort, RolloutTarget } from './ports.ts';
import type { WatchedApp } from './watched-apps.ts';

/** A change to the memory. */
export type Lesson =
  | { readonly kind: 'remember'; readonly rollout: RememberedRollout }
  | { readonly kind: 'forget'; readonly target: RolloutTarget; readonly submissionId?: string };

/** What one lookup teaches: an in-progress rollout to remember, or a target with nothing live to forget. */
export function lessonFromLookup(lookup: RolloutLookup, seenAt: string): Lesson | undefined {
  switch (lookup.state) {
    case 'in-progress':
      return {
        kind: 'remember',
        rollout: {
          ref: lookup.ref,
          rolloutPercentage: lookup.rollout.packageRolloutPercentage,
          fallbackSubmissionId: lookup.rollout.fallbackSubmissionId,
          seenAt,
        },
      };
    case 'stopped':
      return { kind: 'forget', target: targetOf(lookup.ref) };
    case 'none':
      return { kind: 'forget', target: targetOf(lookup) };
    case 'failed':
      // Nothing was learned; an entry stays until a read says otherwise.
      return undefined;
  }
}

/** Applies lessons; never rejects (the memory promises it, and an optimization must not fail a run). */
export async function applyLessons(
  memory: RolloutMemory,
  lessons: readonly (Lesson | undefined)[],
  signal: AbortSignal,
): Promise<void> {
  await Promise.all(
    lessons.map(async (lesson) => {
      if (lesson === undefined) return;
      try {
        if (lesson.kind === 'remember') await memory.remember(lesson.rollout, signal);
        else await memory.forget(lesson.target, lesson.submissionId, signal);
      } catch {
        // The adapter logs its own failures.
      }
    }),
  );
}

/**
 * The remembered rollouts a warm halt may use for a watched app: the main rollout's, and those of the
 * flights the app lists by ID. With `flights: "all"` the flights are still listed (a flight that started
 * rolling out since it was remembered would otherwise be missed), so their entries are not used.
 */
export function usableMemories(
  app: Pick<WatchedApp, 'applicationId' | 'flights'>,
  remembered: readonly RememberedRollout[],
): RememberedRollout[] {
  const listed = Array.isArray(app.flights)
    ? new Set(app.flights.map((flightId) => flightId.toLowerCase()))
    : new Set<string>();
  const seen = new Set<string>();
  return remembered.filter((entry) => {
    if (entry.ref.applicationId !== app.applicationId) return false;
    const key = entry.ref.flightId === undefined ? '' : entry.ref.flightId.toLowerCase();
    if (seen.has(key)) return false;
    const usable = key === '' || listed.has(key);
    if (usable) seen.add(key);
    return usable;
  });
}

function targetOf(target: RolloutTarget): RolloutTarget {
  return target.flightId === undefined
    ? { applicationId: target.applicationId }
    : { applicationId: target.applicationId, flightId: target.flightId };
}

/**
 * `findLiveRollouts` that also teaches the memory what it read (for the self-check, which only reads):
 * rollouts in progress are remembered, targets without one are forgotten.
 */
export function rememberingLookups(
  find: RolloutPort['findLiveRollouts'],
  memory: RolloutMemory,
  wallClock: () => number = Date.now,
): RolloutPort['findLiveRollouts'] {
  return async (request, signal) => {
    const lookups = await find(request, signal);
    const seenAt = new Date(wallClock()).toISOString();
    await applyLessons(
      memory,
      lookups.map((lookup) => lessonFromLookup(lookup, seenAt)),
      signal,
    );
    return lookups;
  };
}
