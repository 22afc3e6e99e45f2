/**
 * The decision: for each planned app, find its live rollouts and halt those in progress (or, in a dry
 * run, report that it would), apps and rollouts in parallel. Store failures become `failed` targets,
 * never exceptions (docs/lambda-contract.md, "Failure").
 */
import { definedProps } from '../optional.ts';
import {
  type Decided,
  type DecisionPorts,
  decideRollout,
  failedApp,
  logDecision,
  NOT_SENT_CODES,
  type TargetDetail,
} from './decide-rollout.ts';
import { applyLessons, type Lesson, usableMemories } from './memory.ts';
import type { RememberedRollout, RolloutLookup, RolloutMemory, RolloutPort } from './ports.ts';
import type { TargetResult } from './results.ts';
import { safeError } from './safe-error.ts';
import type { ActingPlan, PlannedApp } from './targets.ts';

export type { DecisionLogger, DecisionPorts, TargetDetail } from './decide-rollout.ts';
export { redactTokens, safeError } from './safe-error.ts';

/** The outcome of one decision. */
export interface WatchdogRun {
  /** Exactly the contract's `targets` (see "What it returns"), ready for the handler's return value. */
  readonly targets: readonly TargetResult[];
  /** One per target, in the same order as `targets`. */
  readonly details: readonly TargetDetail[];
  /** Milliseconds from the start of the decision until every target was settled. */
  readonly elapsedMs: number;
}

/**
 * Runs the decision for an acting plan. Never rejects: a lookup or halt that fails, or even a port that
 * throws, becomes a `failed` target with a safe description of the error.
 */
export async function runWatchdog(
  plan: ActingPlan,
  ports: DecisionPorts,
  signal: AbortSignal,
): Promise<WatchdogRun> {
  const startedAt = ports.now();
  const elapsed = (): number => Math.max(0, ports.now() - startedAt);

  const perApp = await Promise.all(plan.apps.map((planned) => decideApp(planned, ports, signal, elapsed)));
  const decided = perApp.flat();

  return {
    targets: decided.map(({ target }) => target),
    details: decided.map(({ detail }) => detail),
    elapsedMs: elapsed(),
  };
}

async function decideApp(
  planned: PlannedApp,
  ports: DecisionPorts,
  signal: AbortSignal,
  elapsed: () => number,
): Promise<Decided[]> {
  const { applicationId } = planned.app;
  const { scope } = planned;
  const flights = scope === undefined ? planned.app.flights : scope.flights;
  const lessons: (Lesson | undefined)[] = [];
  try {
    const haltFromMemory = ports.rollouts.haltRemembered?.bind(ports.rollouts);
    // A retry of failed targets (a `scope`) reads first: what failed before is looked at afresh.
    if (
      ports.memory !== undefined &&
      haltFromMemory !== undefined &&
      !planned.dryRun &&
      scope === undefined
    ) {
      const remembered = usableMemories(planned.app, await recall(ports.memory, applicationId, signal));
      if (remembered.length > 0) {
        return await decideFromMemory(planned, remembered, haltFromMemory, ports, signal, elapsed, lessons);
      }
    }
    let lookups: RolloutLookup[];
    try {
      lookups = await ports.rollouts.findLiveRollouts(
        scope === undefined ? { applicationId, flights } : { applicationId, flights, main: scope.main },
        signal,
      );
    } catch (error) {
      // The port promises not to reject for Store failures; anything else still must reach a person.
      return [failedApp(planned, safeError(error), ports, elapsed())];
    }
    if (lookups.length === 0) {
      return [
        failedApp(
          planned,
          { code: 'NO_ROLLOUT_EXAMINED', message: 'the Store adapter examined no rollout for this app' },
          ports,
          elapsed(),
        ),
      ];
    }
    return await Promise.all(
      lookups.map((lookup) => decideRollout(planned, lookup, ports, signal, elapsed, lessons)),
    );
  } finally {
    // Written after the decisions (never before a halt); awaited so that Lambda does not freeze them.
    if (ports.memory !== undefined) await applyLessons(ports.memory, lessons, signal);
  }
}

async function recall(
  memory: RolloutMemory,
  applicationId: string,
  signal: AbortSignal,
): Promise<readonly RememberedRollout[]> {
  try {
    return await memory.recall(applicationId, signal);
  } catch {
    // The adapter logs its own failures; without memory the halt reads first, as always.
    return [];
  }
}

/**
 * An enforced app with remembered rollouts: one POST per remembered rollout; a refused POST (the
 * submission is not live any more) costs one normal lookup of that rollout. Targets without a usable
 * memory (the main rollout when only a flight is remembered, flights not remembered) are looked up.
 */
async function decideFromMemory(
  planned: PlannedApp,
  remembered: readonly RememberedRollout[],
  haltFromMemory: HaltFromMemory,
  ports: DecisionPorts,
  signal: AbortSignal,
  elapsed: () => number,
  lessons: (Lesson | undefined)[],
): Promise<Decided[]> {
  const { applicationId, flights } = planned.app;
  const mainRemembered = remembered.some((entry) => entry.ref.flightId === undefined);
  const rememberedFlights = new Set(
    remembered.flatMap((entry) =>
      entry.ref.flightId === undefined ? [] : [entry.ref.flightId.toLowerCase()],
    ),
  );
  const otherFlights =
    flights === 'all' ? 'all' : flights?.filter((flightId) => !rememberedFlights.has(flightId.toLowerCase()));
  const lookupRest = async (): Promise<Decided[]> => {
    const restFlights = otherFlights === undefined || otherFlights.length === 0 ? undefined : otherFlights;
    if (mainRemembered && restFlights === undefined) return [];
    let lookups: RolloutLookup[];
    try {
      lookups = await ports.rollouts.findLiveRollouts(
        { applicationId, flights: restFlights, main: !mainRemembered },
        signal,
      );
    } catch (error) {
      return [failedApp(planned, safeError(error), ports, elapsed())];
    }
    return Promise.all(
      lookups.map((lookup) => decideRollout(planned, lookup, ports, signal, elapsed, lessons)),
    );
  };
  const [fromMemory, rest] = await Promise.all([
    Promise.all(
      remembered.map((entry) =>
        haltRemembered(planned, entry, haltFromMemory, ports, signal, elapsed, lessons),
      ),
    ),
    lookupRest(),
  ]);
  // The main rollout first, then the flights (the order a lookup gives).
  return [...fromMemory.flat(), ...rest].sort(
    (a, b) => Number(a.target.flightId !== undefined) - Number(b.target.flightId !== undefined),
  );
}

type HaltFromMemory = NonNullable<RolloutPort['haltRemembered']>;

async function haltRemembered(
  planned: PlannedApp,
  entry: RememberedRollout,
  haltFromMemory: HaltFromMemory,
  ports: DecisionPorts,
  signal: AbortSignal,
  elapsed: () => number,
  lessons: (Lesson | undefined)[],
): Promise<Decided[]> {
  const { ref } = entry;
  const target = { applicationId: ref.applicationId, ...definedProps({ flightId: ref.flightId }) };
  let outcome: Awaited<ReturnType<HaltFromMemory>>;
  try {
    outcome = await haltFromMemory(entry, signal);
  } catch (error) {
    const failed: TargetResult = {
      ...target,
      submissionId: ref.submissionId,
      result: 'failed',
      rolloutPercentage: entry.rolloutPercentage,
      fallbackSubmissionId: entry.fallbackSubmissionId,
      error: safeError(error),
    };
    const detail: TargetDetail = {
      planned,
      elapsedMs: elapsed(),
      percentageSeenAt: entry.seenAt,
      ...(NOT_SENT_CODES.has(failed.error?.code ?? '') ? { outOfTime: true as const } : {}),
    };
    logDecision(ports.logger, failed, detail);
    return [{ target: failed, detail }];
  }
  if (outcome.result !== 'not-live') {
    lessons.push({ kind: 'forget', target, submissionId: ref.submissionId });
    const decided: TargetResult = {
      ...target,
      submissionId: outcome.ref.submissionId,
      result: outcome.result,
      rolloutPercentage: entry.rolloutPercentage,
      fallbackSubmissionId: outcome.rollout.fallbackSubmissionId,
    };
    const detail: TargetDetail = { planned, elapsedMs: elapsed(), percentageSeenAt: entry.seenAt };
    logDecision(ports.logger, decided, detail);
    return [{ target: decided, detail }];
  }
  // Not the live rollout any more (or no clear answer): read the state as a halt without memory would.
  ports.logger?.info('remembered rollout not live; looking it up', { ...target, reason: outcome.reason });
  lessons.push({ kind: 'forget', target, submissionId: ref.submissionId });
  let lookups: RolloutLookup[];
  try {
    lookups = await ports.rollouts.findLiveRollouts(
      {
        applicationId: ref.applicationId,
        flights: ref.flightId === undefined ? undefined : [ref.flightId],
        main: ref.flightId === undefined,
      },
      signal,
    );
  } catch (error) {
    return [failedApp(planned, safeError(error), ports, elapsed())];
  }
  return Promise.all(
    lookups.map((lookup) =>
      decideRollout(planned, lookup, ports, signal, elapsed, lessons, outcome.uncertain ? entry : undefined),
    ),
  );
}
