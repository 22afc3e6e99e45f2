/**
 * A fake `RolloutPort` (a plain object over tables) and builders for the decision and notification
 * tests. The decision logic is tested over plain data; the real Store adapter is tested against the
 * Store simulator.
 */
import { indexAppsByAlarm } from '../../../../functions/commons/config/env.ts';
import type { HaltOutcome, RolloutLookup, RolloutPort } from '../../../../functions/commons/domain/ports.ts';
import type { TargetConfig } from '../../../../functions/commons/domain/targets.ts';
import type { WatchedApp } from '../../../../functions/commons/domain/watched-apps.ts';
import type { PackageRollout, RolloutRef } from '../../../../functions/commons/store/model.ts';

export const FALLBACK_ID = '1152921504621086517';
export const PHOTOS_SUBMISSION = '1152921504621243680';
export const FLIGHT_ID = '7bfc11d5-f710-47c5-8a67-5a5f0ea1b6f9';
export const FLIGHT_SUBMISSION = '1152921504621243999';

export const PHOTOS: WatchedApp = {
  applicationId: '9NBLGGH4R315',
  name: 'Contoso Photos',
  alarmNames: ['contoso-photos-crash-rate'],
  notifyAlarmNames: [],
  flights: 'all',
  mode: 'enforce',
};

export function configOf(apps: WatchedApp[], dryRun = false): TargetConfig {
  return { apps, alarmIndex: indexAppsByAlarm(apps), dryRun };
}

export function rollout(
  status: PackageRollout['packageRolloutStatus'],
  percentage: number,
  fallbackSubmissionId = FALLBACK_ID,
): PackageRollout {
  return {
    isPackageRollout: true,
    packageRolloutPercentage: percentage,
    packageRolloutStatus: status,
    fallbackSubmissionId,
  };
}

export function inProgress(
  ref: RolloutRef,
  percentage = 20,
): Extract<RolloutLookup, { state: 'in-progress' }> {
  return { state: 'in-progress', ref, rollout: rollout('PackageRolloutInProgress', percentage) };
}

export function mainRef(applicationId = PHOTOS.applicationId, submissionId = PHOTOS_SUBMISSION): RolloutRef {
  return { applicationId, submissionId };
}

export function flightRef(applicationId = PHOTOS.applicationId): RolloutRef {
  return { applicationId, flightId: FLIGHT_ID, submissionId: FLIGHT_SUBMISSION };
}

/** What the fake does when asked to halt a submission. */
export type HaltBehaviour = HaltOutcome['result'] | Error;

export interface FakeRollouts extends RolloutPort {
  /** Every call, in order: `find:<app>`, `found:<app>`, `halt:<submission>`, `halted:<submission>`. */
  readonly events: string[];
  readonly signals: AbortSignal[];
}

/**
 * A fake port. `lookups` per app (or an Error to throw); `halts` per submission ID (default: halted).
 * Each call yields to the event loop before answering, so a sequential caller would show up in `events`.
 * `clock.now` advances by 100 ms per lookup and 250 ms per halt.
 */
export function fakeRollouts(
  lookups: Record<string, RolloutLookup[] | Error>,
  halts: Record<string, HaltBehaviour> = {},
  clock: { t: number } = { t: 0 },
): FakeRollouts {
  const events: string[] = [];
  const signals: AbortSignal[] = [];
  return {
    events,
    signals,
    async findLiveRollouts(request, signal) {
      events.push(`find:${request.applicationId}`);
      signals.push(signal);
      await yieldToEventLoop();
      clock.t += 100;
      events.push(`found:${request.applicationId}`);
      const answer = lookups[request.applicationId];
      if (answer === undefined) throw new Error(`fake: no lookups for ${request.applicationId}`);
      if (answer instanceof Error) throw answer;
      return answer;
    },
    async haltRollout(found, signal) {
      const id = found.ref.submissionId;
      events.push(`halt:${id}`);
      signals.push(signal);
      await yieldToEventLoop();
      clock.t += 250;
      events.push(`halted:${id}`);
      const behaviour = halts[id] ?? 'halted';
      if (behaviour instanceof Error) throw behaviour;
      switch (behaviour) {
        case 'halted':
          return { result: 'halted', ref: found.ref, rollout: { ...found.rollout, ...stopped() } };
        case 'already-halted':
          return { result: 'already-halted', ref: found.ref, rollout: { ...found.rollout, ...stopped() } };
        case 'no-active-rollout':
          return {
            result: 'no-active-rollout',
            ref: found.ref,
            rollout: rollout('PackageRolloutComplete', 100, found.rollout.fallbackSubmissionId),
          };
      }
    },
  };
}

function stopped(): Pick<PackageRollout, 'packageRolloutPercentage' | 'packageRolloutStatus'> {
  return { packageRolloutPercentage: 0, packageRolloutStatus: 'PackageRolloutStopped' };
}

function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
