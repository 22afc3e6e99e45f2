/**
 * Request intervals, as recorded by the simulator and the AWS stand-in (server side) or by the network
 * probe in the handler's process (client side), and the two things the benchmark derives from them:
 * how many round trips had to happen one after another, and how much of a time window was spent
 * waiting on the network.
 */

/** One request, from when it started to when it ended; `endedAt` is absent for a request that never ended. */
export interface RequestInterval {
  readonly startedAt: number;
  readonly endedAt?: number | undefined;
}

/**
 * The number of round trips that happened strictly one after another: the longest chain of requests in
 * which each one started after the one before it had ended (the most requests that pairwise do not
 * overlap). Parallel requests count once. Requests that never ended are left out.
 *
 * From server-side records this is only meaningful when every request takes a while (an injected
 * latency above zero): at zero latency two parallel requests may be served one after the other.
 */
export function countSequentialRoundTrips(intervals: readonly RequestInterval[]): number {
  // Earliest end first is the optimal greedy choice for the most non-overlapping intervals.
  const ended = intervals
    .flatMap((interval) =>
      interval.endedAt === undefined ? [] : [{ startedAt: interval.startedAt, endedAt: interval.endedAt }],
    )
    .sort((a, b) => a.endedAt - b.endedAt);
  let count = 0;
  let lastEnd = Number.NEGATIVE_INFINITY;
  for (const interval of ended) {
    // A request that starts exactly when the previous one ended did wait for it.
    if (interval.startedAt >= lastEnd) {
      count += 1;
      lastEnd = interval.endedAt;
    }
  }
  return count;
}

/**
 * How long, within `[from, to]`, at least one request was in flight (the length of the union of the
 * intervals, clipped to the window). Requests that never ended count until `to`.
 */
export function measureBusyTime(intervals: readonly RequestInterval[], from: number, to: number): number {
  if (!(to > from)) return 0;
  const clipped = intervals
    .map((interval) => ({
      start: Math.max(from, interval.startedAt),
      end: Math.min(to, interval.endedAt ?? to),
    }))
    .filter((interval) => interval.end > interval.start)
    .sort((a, b) => a.start - b.start);
  let busy = 0;
  let currentStart = Number.NaN;
  let currentEnd = Number.NEGATIVE_INFINITY;
  for (const interval of clipped) {
    if (interval.start > currentEnd) {
      if (currentEnd > currentStart) busy += currentEnd - currentStart;
      currentStart = interval.start;
      currentEnd = interval.end;
    } else {
      currentEnd = Math.max(currentEnd, interval.end);
    }
  }
  if (currentEnd > currentStart) busy += currentEnd - currentStart;
  return busy;
}
