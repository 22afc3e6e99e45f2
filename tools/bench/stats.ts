/**
 * Summary statistics for the benchmark's samples. Percentiles interpolate linearly between the two
 * nearest ranks (Hyndman & Fan type 7, the default of R, NumPy and spreadsheets), so the 50th percentile
 * of an even-sized sample is the mean of its two middle values.
 */

/** The `p`-th percentile (0 to 100) of `values`; `undefined` for an empty sample. */
export function computePercentile(values: readonly number[], p: number): number | undefined {
  if (!Number.isFinite(p) || p < 0 || p > 100) throw new RangeError(`percentile must be 0 to 100, got ${p}`);
  if (values.length === 0) return undefined;
  if (values.some((value) => !Number.isFinite(value))) throw new RangeError('samples must be finite numbers');
  const sorted = [...values].sort((a, b) => a - b);
  const rank = ((sorted.length - 1) * p) / 100;
  const below = Math.floor(rank);
  const lower = sorted[below] ?? 0;
  const upper = sorted[Math.min(below + 1, sorted.length - 1)] ?? lower;
  return lower + (rank - below) * (upper - lower);
}

/** The median of `values`; `undefined` for an empty sample. */
export function computeMedian(values: readonly number[]): number | undefined {
  return computePercentile(values, 50);
}

/** What the benchmark reports about a set of timings. */
export interface SampleSummary {
  readonly n: number;
  readonly min: number;
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
  readonly mean: number;
}

/** Summarizes a non-empty sample; `undefined` when it is empty. */
export function summarizeSample(values: readonly number[]): SampleSummary | undefined {
  const p50 = computePercentile(values, 50);
  const p99 = computePercentile(values, 99);
  if (p50 === undefined || p99 === undefined) return undefined;
  return {
    n: values.length,
    min: Math.min(...values),
    p50,
    p99,
    max: Math.max(...values),
    mean: values.reduce((sum, value) => sum + value, 0) / values.length,
  };
}
