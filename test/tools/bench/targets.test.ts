import { describe, expect, it } from 'vitest';
import { describeCounts } from '../../../tools/bench/format.ts';
import {
  checkArtifactSize,
  checkImportRatio,
  checkPeakRss,
  checkWarm,
  computeFloorMs,
  computeWarmLimitMs,
  TARGETS,
} from '../../../tools/bench/targets.ts';

describe('round-trip floors', () => {
  it('are 3 × L warm and 5 × L cold (secret and token before the three Store calls)', () => {
    expect(computeFloorMs('warm', 25)).toBe(75);
    expect(computeFloorMs('cold', 25)).toBe(125);
    expect(computeFloorMs('cold', 0)).toBe(0);
  });

  it('allow a warm time to halt of 1.05 × the floor + 5 ms', () => {
    expect(computeWarmLimitMs(0)).toBe(5);
    expect(computeWarmLimitMs(25)).toBeCloseTo(83.75, 10);
    expect(computeWarmLimitMs(100)).toBeCloseTo(320, 10);
  });
});

describe('target checks', () => {
  it('pass every figure exactly at its limit', () => {
    const checks = [
      checkWarm(100, 320, 'steady'),
      checkArtifactSize(TARGETS.artifactBytes),
      checkImportRatio(125, 100),
      checkPeakRss(TARGETS.peakRssBytes),
    ];

    expect(checks.map((check) => check.pass)).toEqual([true, true, true, true]);
    expect(checks.map((check) => check.target)).toEqual([
      'warm time to halt at L = 100 ms, steady',
      'artifact size (index.mjs)',
      'artifact import time / reference bundle',
      'peak memory (max RSS, deployed artifact)',
    ]);
  });

  it('fail each figure just over its limit', () => {
    const checks = [
      checkWarm(100, 320.1, 'steady'),
      checkArtifactSize(TARGETS.artifactBytes + 1),
      checkImportRatio(125.1, 100),
      checkPeakRss(TARGETS.peakRssBytes + 1),
    ];

    expect(checks.map((check) => check.pass)).toEqual([false, false, false, false]);
  });

  it('check each warm figure on its own latency', () => {
    expect([checkWarm(0, 5.5, 'a').pass, checkWarm(25, 83, 'a').pass]).toEqual([false, true]);
  });

  it('fail the import ratio when the reference time is unknown (zero)', () => {
    const check = checkImportRatio(100, 0);

    expect(check.pass).toBe(false);
    expect(check.figure).toBe('—');
  });
});

describe('describeCounts', () => {
  it('gives the count when all agree, else the range and the median', () => {
    expect(describeCounts([3, 3, 3])).toBe('3');
    expect(describeCounts([5, 3, 4, 3])).toBe('3–5 (median 3)');
    expect(describeCounts([])).toBe('—');
  });
});
