/** Counting requests in sliding windows, for tests of the Store's request budget. */

/** The most of `times` (sorted or not) that fall in any window of `windowMs` (`[from, from + windowMs)`). */
export function mostInAnyWindow(times: readonly number[], windowMs: number): number {
  const sorted = [...times].sort((a, b) => a - b);
  let most = 0;
  let start = 0;
  for (const [end, at] of sorted.entries()) {
    while ((sorted[start] ?? at) + windowMs <= at) start += 1;
    most = Math.max(most, end - start + 1);
  }
  return most;
}
