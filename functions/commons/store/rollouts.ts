/**
 * The Store side of the halt path (`RolloutPort`): which rollout is live (`findLiveRollout`, the rule on
 * the Lambda contract page), and halting it so that a repeated or ambiguous halt never turns into a
 * failure or a second halt.
 */

import { assertApplicationId, assertFlightId, assertSubmissionId } from '../domain/ids.ts';
import type {
  FlightSelection,
  HaltOutcome,
  NotLive,
  RememberedRollout,
  RolloutLookup,
  RolloutPort,
} from '../domain/ports.ts';
import { StoreApiError, WatchdogError } from '../errors.ts';
import { fitsBeforeDeadline } from '../http/deadline.ts';
import {
  computeBackoffDelay,
  DEFAULT_RETRY_POLICY,
  REAL_RETRY_ENVIRONMENT,
  type RetryEnvironment,
  type RetryPolicy,
} from '../http/retry.ts';
import { definedProps } from '../optional.ts';
import type { PackageRollout, RolloutRef, SubmissionRef } from './model.ts';
import type { StoreClient } from './store-client.ts';
import { isAmbiguousFailure, STORE_ERROR_CODES } from './store-errors.ts';

export interface RolloutPortOptions {
  /** Bounds the halt POSTs after ambiguous failures (`maxAttempts` POSTs at most) and their backoff. */
  readonly retry?: Partial<RetryPolicy>;
  readonly environment?: Partial<RetryEnvironment>;
}

type InProgress = Extract<RolloutLookup, { state: 'in-progress' }>;
/** The app, or one of its flights. */
export type Target = { readonly applicationId: string; readonly flightId?: string };

/**
 * Gradual rollout on and running: the only state the halt POST accepts (Microsoft's "Halt the rollout
 * for an app submission").
 */
function isRolloutInProgress(rollout: PackageRollout): boolean {
  return rollout.isPackageRollout && rollout.packageRolloutStatus === 'PackageRolloutInProgress';
}

/** The two submissions the Store names for an app or a flight (`lastPublished…` and `pending…`). */
export interface TargetSubmissionIds {
  readonly lastPublishedId?: string | undefined;
  readonly pendingId?: string | undefined;
}

/**
 * Where the live rollout search ended: the live rollout; none (with the last published submission's
 * rollout, when there is one); or a read that failed, naming the submission it was about.
 */
export type LiveRolloutSearch =
  | { readonly state: 'live'; readonly ref: RolloutRef; readonly rollout: PackageRollout }
  | { readonly state: 'idle'; readonly last?: { readonly ref: RolloutRef; readonly rollout: PackageRollout } }
  | { readonly state: 'failed'; readonly submissionId: string; readonly error: unknown };

/**
 * Finds the live rollout of an app or a flight: the last published submission's rollout when it is in
 * progress; else the pending submission's, when it is itself `Published` and its rollout in progress.
 * The one rule of the halt path and the Store health probe.
 */
export async function findLiveRollout(
  store: Pick<StoreClient, 'getPackageRollout' | 'getSubmission'>,
  target: Target,
  submissions: TargetSubmissionIds,
  signal: AbortSignal,
): Promise<LiveRolloutSearch> {
  const { lastPublishedId, pendingId } = submissions;
  let last: { ref: RolloutRef; rollout: PackageRollout } | undefined;
  if (lastPublishedId !== undefined) {
    const ref = refOf(target, lastPublishedId);
    try {
      const rollout = await store.getPackageRollout(ref, signal);
      if (isRolloutInProgress(rollout)) return { state: 'live', ref, rollout };
      last = { ref, rollout };
    } catch (error) {
      return { state: 'failed', submissionId: lastPublishedId, error };
    }
  }
  if (pendingId !== undefined && pendingId !== lastPublishedId) {
    try {
      const live = await readPendingRollout(store, refOf(target, pendingId), signal);
      if (live !== undefined) return live;
    } catch (error) {
      return { state: 'failed', submissionId: pendingId, error };
    }
  }
  return last === undefined ? { state: 'idle' } : { state: 'idle', last };
}

/** The pending submission's rollout when it is the live one (published, in progress); else `undefined`. */
async function readPendingRollout(
  store: Pick<StoreClient, 'getPackageRollout' | 'getSubmission'>,
  ref: RolloutRef,
  signal: AbortSignal,
): Promise<Extract<LiveRolloutSearch, { state: 'live' }> | undefined> {
  try {
    const submission = await store.getSubmission(ref, signal);
    if (submission.status !== 'Published') return undefined;
  } catch (error) {
    // Deleted since the app was read: there is no pending submission any more.
    if (error instanceof StoreApiError && error.code === STORE_ERROR_CODES.notFound) return undefined;
    throw error;
  }
  const rollout = await store.getPackageRollout(ref, signal);
  return isRolloutInProgress(rollout) ? { state: 'live', ref, rollout } : undefined;
}

/** Creates the `RolloutPort` over a Store client. */
export function createRolloutPort(client: StoreClient, options: RolloutPortOptions = {}): RolloutPort {
  const policy: RetryPolicy = { ...DEFAULT_RETRY_POLICY, ...options.retry };
  const environment: RetryEnvironment = { ...REAL_RETRY_ENVIRONMENT, ...options.environment };

  /** Finds the live rollout of one app or flight, given its two submission references. */
  const examine = async (
    target: Target,
    lastPublished: SubmissionRef | null | undefined,
    pending: SubmissionRef | null | undefined,
    signal: AbortSignal,
  ): Promise<RolloutLookup> => {
    const submissions = { lastPublishedId: lastPublished?.id, pendingId: pending?.id };
    const search = await findLiveRollout(client, target, submissions, signal);
    if (search.state === 'live') return { state: 'in-progress', ref: search.ref, rollout: search.rollout };
    if (search.state === 'failed') {
      return { state: 'failed', ...target, submissionId: search.submissionId, error: search.error };
    }
    const { last } = search;
    if (last === undefined) {
      const reason =
        `the ${target.flightId === undefined ? 'app' : 'flight'} has no published submission` +
        (pending
          ? ` (pending submission ${pending.id} is not a published one with a rollout in progress)`
          : '');
      return { state: 'none', ...target, reason };
    }
    if (last.rollout.packageRolloutStatus === 'PackageRolloutStopped') {
      return { state: 'stopped', ref: last.ref, rollout: last.rollout };
    }
    return {
      state: 'none',
      ...target,
      submissionId: last.ref.submissionId,
      rollout: last.rollout,
      reason: describeIdleRollout(last.ref.submissionId, last.rollout),
    };
  };

  const lookupMain = async (applicationId: string, signal: AbortSignal): Promise<RolloutLookup> => {
    const target = { applicationId };
    try {
      const app = await client.getApplication(applicationId, signal);
      return await examine(
        target,
        app.lastPublishedApplicationSubmission,
        app.pendingApplicationSubmission,
        signal,
      );
    } catch (error) {
      return { state: 'failed', ...target, error };
    }
  };

  const lookupFlights = async (
    applicationId: string,
    flights: FlightSelection,
    signal: AbortSignal,
  ): Promise<RolloutLookup[]> => {
    if (flights === undefined) return [];
    if (flights === 'all') {
      let listed: Awaited<ReturnType<StoreClient['listFlights']>>;
      try {
        listed = await client.listFlights(applicationId, signal);
      } catch (error) {
        const message = `the package flights of ${applicationId} could not be listed`;
        return [{ state: 'failed', applicationId, error: addContext(error, message), flightList: true }];
      }
      // Paging can repeat a flight when the list changes between pages: examine (and halt) each once.
      const unique = [...new Map(listed.map((flight) => [flight.flightId.toLowerCase(), flight])).values()];
      return Promise.all(
        unique.map((flight) =>
          examine(
            { applicationId, flightId: flight.flightId },
            flight.lastPublishedFlightSubmission,
            flight.pendingFlightSubmission,
            signal,
          ).catch(
            (error: unknown): RolloutLookup => ({
              state: 'failed',
              applicationId,
              flightId: flight.flightId,
              error,
            }),
          ),
        ),
      );
    }
    return Promise.all(
      flights.map(async (flightId): Promise<RolloutLookup> => {
        const target = { applicationId, flightId };
        try {
          const flight = await client.getFlight(applicationId, flightId, signal);
          return await examine(
            target,
            flight.lastPublishedFlightSubmission,
            flight.pendingFlightSubmission,
            signal,
          );
        } catch (error) {
          return { state: 'failed', ...target, error };
        }
      }),
    );
  };

  /** The state after a halt POST failed, or `undefined` when it cannot be read. */
  const readAfterFailure = async (ref: RolloutRef, signal: AbortSignal) => {
    try {
      return await client.getPackageRollout(ref, signal);
    } catch {
      return undefined;
    }
  };

  return {
    async findLiveRollouts(request, signal) {
      // Malformed IDs are the caller's mistake: reject before any request.
      const applicationId = assertApplicationId(request.applicationId);
      if (Array.isArray(request.flights)) request.flights.forEach(assertFlightId);
      const main = request.main === false ? undefined : lookupMain(applicationId, signal);
      const flights = lookupFlights(applicationId, request.flights, signal);
      return main === undefined ? flights : [await main, ...(await flights)];
    },

    async haltRemembered(remembered: RememberedRollout, signal): Promise<HaltOutcome | NotLive> {
      // A remembered entry comes from durable state: its IDs are checked like any other input.
      const ref = refOf(
        {
          applicationId: assertApplicationId(remembered.ref.applicationId),
          ...(remembered.ref.flightId === undefined
            ? {}
            : { flightId: assertFlightId(remembered.ref.flightId) }),
        },
        assertSubmissionId(remembered.ref.submissionId),
      );
      const seen: PackageRollout = {
        isPackageRollout: true,
        packageRolloutPercentage: remembered.rolloutPercentage,
        packageRolloutStatus: 'PackageRolloutInProgress',
        fallbackSubmissionId: remembered.fallbackSubmissionId,
      };
      try {
        // The Store halts only a published submission whose rollout is in progress, one per app and
        // per flight: a success means this was the live rollout.
        const after = await client.haltPackageRollout(ref, signal);
        return {
          result: 'halted',
          ref,
          rollout: { ...seen, fallbackSubmissionId: after.fallbackSubmissionId },
        };
      } catch (error) {
        const refused =
          error instanceof StoreApiError &&
          (error.code === STORE_ERROR_CODES.conflict || error.code === STORE_ERROR_CODES.notFound);
        if (refused) {
          return {
            result: 'not-live',
            reason: `the Store refused to halt remembered submission ${ref.submissionId} (${error.status ?? error.code}): it is not the live rollout any more`,
            uncertain: false,
          };
        }
        // An answer that may hide a halt that worked: never POST again blind. The caller reads the state
        // (a normal lookup) before anything else.
        if (isAmbiguousFailure(error) || isUnreadableSuccess(error)) {
          return {
            result: 'not-live',
            reason: `the halt of remembered submission ${ref.submissionId} got no clear answer; the state was read again`,
            uncertain: true,
          };
        }
        throw error;
      }
    },

    async haltRollout(found: InProgress, signal): Promise<HaltOutcome> {
      const { ref } = found;
      // Set once a POST failed in a way that may have taken effect: a later "Stopped" is then ours.
      let mayHaveHalted = false;
      for (let post = 1; ; post++) {
        try {
          await client.haltPackageRollout(ref, signal);
          return { result: 'halted', ref, rollout: found.rollout };
        } catch (error) {
          // A success whose body could not be read may well have halted: read before anything else.
          const ambiguous = isAmbiguousFailure(error) || isUnreadableSuccess(error);
          const conflict = error instanceof StoreApiError && error.code === STORE_ERROR_CODES.conflict;
          if (!ambiguous && !conflict) throw error;
          mayHaveHalted ||= ambiguous;
          // Never POST twice without reading in between (a halt answered 503 can have worked).
          const now = await readAfterFailure(ref, signal);
          if (now === undefined) throw error;
          if (now.packageRolloutStatus === 'PackageRolloutStopped') {
            return mayHaveHalted
              ? { result: 'halted', ref, rollout: found.rollout }
              : { result: 'already-halted', ref, rollout: now };
          }
          if (!isRolloutInProgress(now)) return { result: 'no-active-rollout', ref, rollout: now };
          // Still in progress: a 409 is about something else (a foreign submission, an unsupported
          // feature) and carries the Store's message; an ambiguous failure did not take effect.
          if (conflict || post >= policy.maxAttempts) throw error;
          const wait = computeBackoffDelay(post, policy, environment.random);
          if (!fitsBeforeDeadline(signal, environment.now(), wait)) throw error;
          try {
            await environment.sleep(wait, signal);
          } catch {
            throw error;
          }
        }
      }
    },
  };
}

/** A success whose body could not be read: it may well have halted. */
function isUnreadableSuccess(error: unknown): boolean {
  return (
    error instanceof StoreApiError &&
    error.code === STORE_ERROR_CODES.badResponse &&
    error.status !== undefined &&
    error.status >= 200 &&
    error.status < 300
  );
}

function refOf(target: Target, submissionId: string): RolloutRef {
  return target.flightId === undefined
    ? { applicationId: target.applicationId, submissionId }
    : { applicationId: target.applicationId, flightId: target.flightId, submissionId };
}

/** Why a submission's rollout is not one to halt (or to probe): not gradual, halted, not started, complete. */
export function describeIdleRollout(submissionId: string, rollout: PackageRollout): string {
  if (!rollout.isPackageRollout) return `submission ${submissionId} does not use a gradual rollout`;
  switch (rollout.packageRolloutStatus) {
    case 'PackageRolloutStopped':
      return 'the rollout is halted';
    case 'PackageRolloutNotStarted':
      return `the rollout of submission ${submissionId} has not started`;
    case 'PackageRolloutComplete':
      return `the rollout of submission ${submissionId} is complete (finalized)`;
    default:
      return `the rollout of submission ${submissionId} is ${rollout.packageRolloutStatus}`;
  }
}

/** The same error, its message prefixed with what was being done (code, kind and details kept). */
export function addContext(error: unknown, context: string): WatchdogError {
  const message = `${context}: ${error instanceof Error ? error.message : String(error)}`;
  if (error instanceof StoreApiError) {
    return new StoreApiError(
      error.code,
      message,
      definedProps({
        status: error.status,
        storeCode: error.storeCode,
        storeMessage: error.storeMessage,
        correlationId: error.correlationId,
        request: error.request,
      }),
      { cause: error, retryable: error.retryable },
    );
  }
  if (error instanceof WatchdogError) {
    return new WatchdogError(error.kind, error.code, message, { cause: error, retryable: error.retryable });
  }
  return new WatchdogError('upstream', 'FLIGHTS_NOT_LISTED', message, { cause: error });
}
