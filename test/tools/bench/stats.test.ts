import { describe, expect, it } from 'vitest';
import { computeMedian, computePercentile, summarizeSample } from '../../../tools/bench/stats.ts';

describe('computePercentile', () => {
  it('interpolates linearly between the two nearest ranks (type 7)', () => {
    const values = [10, 20, 30, 40];

    expect(computePercentile(values, 0)).toBe(10);
    expect(computePercentile(values, 100)).toBe(40);
    // rank (4 - 1) * 0.5 = 1.5: halfway between 20 and 30
    expect(computePercentile(values, 50)).toBe(25);
    // rank 3 * 0.99 = 2.97: 30 + 0.97 * 10
    expect(computePercentile(values, 99)).toBeCloseTo(39.7, 10);
    // rank 3 * 0.25 = 0.75
    expect(computePercentile(values, 25)).toBeCloseTo(17.5, 10);
  });

  it('sorts a copy: the order of the samples does not matter and the input is left alone', () => {
    const values = [40, 10, 30, 20];

    expect(computePercentile(values, 50)).toBe(25);
    expect(values).toEqual([40, 10, 30, 20]);
  });

  it('gives the value itself for a single sample, and undefined for none', () => {
    expect(computePercentile([7], 99)).toBe(7);
    expect(computePercentile([], 50)).toBeUndefined();
  });

  it('takes the 99th percentile of 250 samples between the 248th and 249th smallest', () => {
    const values = Array.from({ length: 250 }, (_, index) => index + 1);

    // rank 249 * 0.99 = 246.51 (zero-based): 247 + 0.51
    expect(computePercentile(values, 99)).toBeCloseTo(247.51, 10);
  });

  it('refuses percentiles outside 0 to 100 and samples that are not finite', () => {
    expect(() => computePercentile([1], -1)).toThrow(RangeError);
    expect(() => computePercentile([1], 101)).toThrow(RangeError);
    expect(() => computePercentile([1, Number.NaN], 50)).toThrow(RangeError);
    expect(() => computePercentile([1, Number.POSITIVE_INFINITY], 50)).toThrow(RangeError);
  });
});

describe('computeMedian', () => {
  it('is the middle value of an odd sample and the mean of the two middle values of an even one', () => {
    expect(computeMedian([3, 1, 2])).toBe(2);
    expect(computeMedian([4, 1, 3, 2])).toBe(2.5);
  });
});

describe('summarizeSample', () => {
  it('reports count, min, p50, p99, max and mean', () => {
    expect(summarizeSample([2, 4, 6, 8])).toEqual({ n: 4, min: 2, p50: 5, p99: 7.94, max: 8, mean: 5 });
  });

  it('has no summary for an empty sample', () => {
    expect(summarizeSample([])).toBeUndefined();
  });
});
