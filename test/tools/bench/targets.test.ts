import { describe, expect, it } from 'vitest';
import { describeCounts } from '../../../tools/bench/report.ts';
import {
  checkTargets,
  computeFloorMs,
  computeWarmLimitMs,
  TARGETS,
  type TargetFigures,
} from '../../../tools/bench/targets.ts';

const format = {
  ms: (ms: number) => `${ms} ms`,
  bytes: (bytes: number) => `${bytes} B`,
  mib: (bytes: number) => `${bytes} B`,
};

const passing: TargetFigures = {
  warm: [{ latencyMs: 100, p50Ms: 320, label: 'steady' }],
  overheadP50Ms: 2,
  artifactBytes: 900_000,
  artifactImportP50Ms: 125,
  referenceImportP50Ms: 100,
  peakRssBytes: 128 * 1024 * 1024,
};

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

describe('checkTargets', () => {
  it('passes every figure exactly at its limit', () => {
    const checks = checkTargets(passing, format);

    expect(checks.map((check) => check.pass)).toEqual([true, true, true, true, true]);
    expect(checks.map((check) => check.target)).toEqual([
      'warm time to halt at L = 100 ms, steady',
      'handler overhead p50 at L = 0',
      'artifact size (index.mjs)',
      'artifact import time / reference bundle',
      'peak memory (max RSS, deployed artifact)',
    ]);
  });

  it('fails each figure just over its limit', () => {
    const checks = checkTargets(
      {
        warm: [{ latencyMs: 100, p50Ms: 320.1, label: 'steady' }],
        overheadP50Ms: 2.01,
        artifactBytes: TARGETS.artifactBytes + 1,
        artifactImportP50Ms: 125.1,
        referenceImportP50Ms: 100,
        peakRssBytes: TARGETS.peakRssBytes + 1,
      },
      format,
    );

    expect(checks.map((check) => check.pass)).toEqual([false, false, false, false, false]);
  });

  it('checks each warm figure on its own latency', () => {
    const checks = checkTargets(
      {
        ...passing,
        warm: [
          { latencyMs: 0, p50Ms: 5.5, label: 'a' },
          { latencyMs: 25, p50Ms: 83, label: 'a' },
        ],
      },
      format,
    );

    expect(checks.slice(0, 2).map((check) => check.pass)).toEqual([false, true]);
  });

  it('fails the import ratio when the reference time is unknown (zero)', () => {
    const [, , , importCheck] = checkTargets({ ...passing, referenceImportP50Ms: 0 }, format);

    expect(importCheck?.pass).toBe(false);
    expect(importCheck?.figure).toBe('—');
  });
});

describe('describeCounts', () => {
  it('gives the count when all agree, else the range and the median', () => {
    expect(describeCounts([3, 3, 3])).toBe('3');
    expect(describeCounts([5, 3, 4, 3])).toBe('3–5 (median 3)');
    expect(describeCounts([])).toBe('—');
  });
});
