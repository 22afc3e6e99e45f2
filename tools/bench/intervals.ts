/**
 * Request intervals, as recorded by the simulator and the AWS stand-in (server side), and how many round
 * trips among them had to happen one after another.
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
