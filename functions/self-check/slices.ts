/**
 * The self-check at catalog scale: how many slices the apps are cut into, and which slice a run checks,
 * from its scheduled time alone (no state; the rules: docs/catalog.md, "Self-check"). Side-effect free,
 * so the infrastructure imports it to plan the slices at synth.
 */
import type { WatchedApp } from '../commons/domain/watched-apps.ts';
import { ConfigurationError } from '../commons/errors.ts';

/**
 * The pace the self-check's slices are planned at: the scheduled readers' half of the tenant's budget
 * (about 20 a minute). The function takes its slots from the stack's shared budget, where readers
 * never hold more than half of any window (see `functions/commons/domain/budget.ts`).
 */
export const SELF_CHECK_STORE_REQUESTS_PER_MINUTE = 10;

/** Minutes in a day: every app is checked at least once in this many. */
export const CHECK_EVERY_APP_WITHIN_MINUTES = 24 * 60;

/**
 * Flights assumed for an app that watches `"all"` (the count is known only to the Store). An app with
 * more makes its slice take longer; the run's deadline still bounds it, and an app not reached in time
 * fails its check (so the self-check alarm says so) rather than going unchecked silently.
 */
const ASSUMED_FLIGHTS_FOR_ALL = 3;

/** The share of a run's time planned for Store requests: room for slow answers and retries. */
const PLANNED_SHARE_OF_RUN = 0.8;

/**
 * Store requests to read one app's live rollouts (`findLiveRollouts`): the app and its published
 * submission's rollout (2), and the same for each watched flight (2 each), plus the flight list for
 * `"all"`. A pending submission being probed adds 2 more, which the planned share leaves room for.
 */
export function estimateStoreRequests(app: WatchedApp): number {
  if (app.flights === undefined) return 2;
  if (app.flights === 'all') return 2 + 1 + 2 * ASSUMED_FLIGHTS_FOR_ALL;
  return 2 + 2 * app.flights.length;
}

/** How the apps are spread over the runs. */
export interface SlicePlan {
  /** How many slices (runs) it takes to check every app once. */
  readonly slices: number;
  /** The schedule period, in minutes. */
  readonly periodMinutes: number;
}

export interface SlicePlanInput {
  readonly apps: readonly WatchedApp[];
  /** The schedule period in whole minutes. */
  readonly periodMinutes: number;
  /** How long one run may take (its timeout), in seconds. */
  readonly runSeconds: number;
  /** @default SELF_CHECK_STORE_REQUESTS_PER_MINUTE */
  readonly requestsPerMinute?: number;
}

/** The Store requests one run can plan for: its share of the run's time at its pace, less the token. */
export function runCapacity(runSeconds: number, requestsPerMinute: number): number {
  return Math.floor((requestsPerMinute * runSeconds * PLANNED_SHARE_OF_RUN) / 60) - 1;
}

/**
 * The fewest slices whose every slice fits one run's capacity, checked against the schedule: the
 * slices × the period must not exceed a day. Throws a `ConfigurationError` naming
 * `watchdog.selfCheck.scheduleHours` and the longest schedule that works.
 */
export function planSlices(input: SlicePlanInput): SlicePlan {
  const rate = input.requestsPerMinute ?? SELF_CHECK_STORE_REQUESTS_PER_MINUTE;
  const capacity = runCapacity(input.runSeconds, rate);
  const costs = input.apps.map(estimateStoreRequests);
  const costliest = Math.max(0, ...costs);
  const runMinutes = Math.round(input.runSeconds / 60);
  if (costliest > capacity) {
    throw new ConfigurationError(
      'INVALID_WATCHDOG_CONFIG',
      `invalid watchdog config: watchdog.apps: one app needs about ${costliest} Store requests, more than a self-check run of ${runMinutes} minutes at ${rate} a minute can make (${capacity})`,
    );
  }
  const slices = countSlices(input.apps, input.runSeconds, rate);
  if (slices * input.periodMinutes > CHECK_EVERY_APP_WITHIN_MINUTES) {
    const longest = Math.floor(CHECK_EVERY_APP_WITHIN_MINUTES / slices);
    const advice =
      longest >= 15
        ? `set watchdog.selfCheck.scheduleHours to at most ${Math.floor((longest / 60) * 100) / 100} (every ${longest} minutes)`
        : 'no schedule of 15 minutes or more can: that is more apps than one self-check can read in a day';
    throw new ConfigurationError(
      'INVALID_WATCHDOG_CONFIG',
      `invalid watchdog config: watchdog.selfCheck.scheduleHours: the self-check cannot read all ${input.apps.length} apps at least once a day: a run of ${runMinutes} minutes makes at most ${capacity} Store requests (${rate} a minute, its share of the tenant's budget), so the apps take ${slices} runs, and a run every ${input.periodMinutes} minutes makes ${Math.floor(CHECK_EVERY_APP_WITHIN_MINUTES / input.periodMinutes)} a day; ${advice}`,
    );
  }
  return { slices, periodMinutes: input.periodMinutes };
}

/**
 * The fewest contiguous slices of `apps` that each fit one run of `runSeconds` at `requestsPerMinute`
 * (no check against the schedule; `planSlices` makes that). An app that alone exceeds a run counts as
 * its own slice.
 */
export function countSlices(
  apps: readonly WatchedApp[],
  runSeconds: number,
  requestsPerMinute: number = SELF_CHECK_STORE_REQUESTS_PER_MINUTE,
): number {
  const capacity = runCapacity(runSeconds, requestsPerMinute);
  const costs = apps.map(estimateStoreRequests);
  let slices = 1;
  while (slices < costs.length && costOfLargestSlice(costs, slices) > capacity) slices++;
  return slices;
}

/** The schedule while one short run reads every app: every 6 hours. */
export const DEFAULT_SCHEDULE_MINUTES = 6 * 60;

/** A short run (5 minutes), while it reads every app; else Lambda's longest (15 minutes). */
const SHORT_RUN_SECONDS = 5 * 60;
const LONG_RUN_SECONDS = 15 * 60;

/** The shortest schedule the self-check takes (more often spends Store requests for nothing). */
const MIN_SCHEDULE_MINUTES = 15;

/**
 * The schedule that follows from the catalog when none is configured: every 6 hours while one short
 * run reads every app; else runs of 15 minutes, as often as it takes for the slices to cover every app
 * at least once a day (never more often than needed, never less often than every 6 hours). Throws a
 * `ConfigurationError` when even a run every 15 minutes cannot read every app daily.
 */
export function deriveScheduleMinutes(
  apps: readonly WatchedApp[],
  requestsPerMinute: number = SELF_CHECK_STORE_REQUESTS_PER_MINUTE,
): number {
  if (fitsOneRun(apps, SHORT_RUN_SECONDS, requestsPerMinute)) return DEFAULT_SCHEDULE_MINUTES;
  const slices = countSlices(apps, LONG_RUN_SECONDS, requestsPerMinute);
  const longest = Math.floor(CHECK_EVERY_APP_WITHIN_MINUTES / slices);
  if (longest < MIN_SCHEDULE_MINUTES) {
    throw new ConfigurationError(
      'INVALID_WATCHDOG_CONFIG',
      `invalid watchdog config: watchdog.apps: the self-check cannot read all ${apps.length} apps at least once a day: at ${requestsPerMinute} Store requests a minute (its share of the tenant's budget) they take ${slices} runs of 15 minutes, more than a run every 15 minutes makes in a day; watch fewer apps (or fewer flights) per stack`,
    );
  }
  return Math.min(DEFAULT_SCHEDULE_MINUTES, longest);
}

/** Whether one run of `runSeconds` reads every app (no slicing needed). */
export function fitsOneRun(
  apps: readonly WatchedApp[],
  runSeconds: number,
  requestsPerMinute: number = SELF_CHECK_STORE_REQUESTS_PER_MINUTE,
): boolean {
  return costOfLargestSlice(apps.map(estimateStoreRequests), 1) <= runCapacity(runSeconds, requestsPerMinute);
}

/** The bounds of slice `index` of `count` over `length` apps: contiguous, sizes differing by one at most. */
export function sliceBounds(length: number, count: number, index: number): { start: number; end: number } {
  return {
    start: Math.floor((index * length) / count),
    end: Math.floor(((index + 1) * length) / count),
  };
}

function costOfLargestSlice(costs: readonly number[], count: number): number {
  let largest = 0;
  for (let index = 0; index < count; index++) {
    const { start, end } = sliceBounds(costs.length, count, index);
    largest = Math.max(
      largest,
      costs.slice(start, end).reduce((sum, cost) => sum + cost, 0),
    );
  }
  return largest;
}

/** One run's share of the apps. */
export interface Slice {
  /** 0-based. */
  readonly index: number;
  readonly count: number;
  readonly apps: readonly WatchedApp[];
}

/**
 * The slice a run scheduled at `scheduledAt` (ms since the epoch) checks: run number
 * `floor(minutes since the epoch ÷ period)`, modulo the slice count.
 */
export function selectSlice(apps: readonly WatchedApp[], plan: SlicePlan, scheduledAt: number): Slice {
  if (plan.slices <= 1) return { index: 0, count: 1, apps };
  const run = Math.floor(Math.floor(scheduledAt / 60_000) / plan.periodMinutes);
  const index = ((run % plan.slices) + plan.slices) % plan.slices;
  const { start, end } = sliceBounds(apps.length, plan.slices, index);
  return { index, count: plan.slices, apps: apps.slice(start, end) };
}
