/**
 * The Store health judgement (functions/commons/domain/store-health.ts): crash devices per cohort over
 * the window, exposure from usage or the nominal rollout share, rates, the ratio (a clean fallback
 * counts as one crash device), and the insufficient-data rules of the contract. Pure: unit cases and
 * properties.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  assessStoreHealth,
  type CrashHour,
  type DailyUsage,
  DEFAULT_STORE_HEALTH_SETTINGS,
  latestActiveDevices,
  type StoreHealthInput,
  sumCrashDevices,
} from '../../../../functions/commons/domain/store-health.ts';

const HOUR = 3_600_000;
const NOW = Date.UTC(2026, 11, 2, 12, 0, 0);
const YESTERDAY = Date.UTC(2026, 11, 1);
const cohorts = { rollout: ['1.4.0.0'], fallback: ['1.3.0.0'], rolloutPercentage: 20 };

/** `perHour` crash devices on `version` in each of the last `hours` hours. */
function crashes(version: string, perHour: number, hours = 6): CrashHour[] {
  return Array.from({ length: hours }, (_, index) => ({
    hourStartMs: NOW - (index + 1) * HOUR,
    packageVersion: version,
    deviceCount: perHour,
  }));
}

function usage(version: string, devices: number, dayStartMs = YESTERDAY): DailyUsage {
  return { dayStartMs, packageVersion: version, dailyActiveDevices: devices };
}

function input(partial: Partial<StoreHealthInput>): StoreHealthInput {
  return {
    cohorts,
    crashes: [...crashes('1.4.0.0', 2), ...crashes('1.3.0.0', 8)],
    usage: [usage('1.4.0.0', 10_000), usage('1.3.0.0', 40_000)],
    nowMs: NOW,
    settings: DEFAULT_STORE_HEALTH_SETTINGS,
    ...partial,
  };
}

describe('store health: figures', () => {
  it('sums crash devices per cohort inside the window only (fractional counts kept)', () => {
    const rows: CrashHour[] = [
      { hourStartMs: NOW - HOUR, packageVersion: '1.4.0.0', deviceCount: 1.25 },
      { hourStartMs: NOW - 6 * HOUR, packageVersion: '1.4.0.0', deviceCount: 2.5 },
      { hourStartMs: NOW - 7 * HOUR, packageVersion: '1.4.0.0', deviceCount: 100 },
      { hourStartMs: NOW, packageVersion: '1.4.0.0', deviceCount: 100 },
      { hourStartMs: NOW - HOUR, packageVersion: '1.3.0.0', deviceCount: 100 },
    ];
    expect(sumCrashDevices(rows, ['1.4.0.0'], NOW - 6 * HOUR, NOW)).toBe(3.75);
  });

  it('takes usage from the latest day the cohort has, summed over its versions', () => {
    const rows = [
      usage('1.4.0.0', 50, YESTERDAY - 86_400_000),
      usage('1.4.0.0', 300),
      usage('1.4.1.0', 200),
      usage('1.3.0.0', 9_999),
    ];
    expect(latestActiveDevices(rows, ['1.4.0.0', '1.4.1.0'])).toEqual({
      devices: 500,
      dayStartMs: YESTERDAY,
    });
    expect(latestActiveDevices(rows, ['2.0.0.0'])).toBeUndefined();
  });

  it('a healthy rollout: equal rates, a ratio of 1, rates per active device × 100', () => {
    const result = assessStoreHealth(input({}));
    expect(result.verdict).toBe('sufficient');
    expect(result.rollout.crashDevices).toBe(12);
    expect(result.fallback.crashDevices).toBe(48);
    expect(result.rollout.crashRate).toBeCloseTo(0.12);
    expect(result.fallback.crashRate).toBeCloseTo(0.12);
    expect(result.rollout.exposure).toEqual({
      kind: 'active-devices',
      devices: 10_000,
      dayStartMs: YESTERDAY,
    });
    if (result.verdict === 'sufficient') expect(result.ratio).toBeCloseTo(1);
  });

  it('a crashing rollout: the ratio of the two rates', () => {
    const result = assessStoreHealth(
      input({ crashes: [...crashes('1.4.0.0', 12), ...crashes('1.3.0.0', 8)] }),
    );
    expect(result.verdict).toBe('sufficient');
    if (result.verdict === 'sufficient') expect(result.ratio).toBeCloseTo(6);
  });

  it('a fallback without crashes counts as one crash device, never a division by zero', () => {
    const result = assessStoreHealth(input({ crashes: crashes('1.4.0.0', 2) }));
    expect(result.fallback.crashDevices).toBe(0);
    expect(result.fallback.crashRate).toBe(0);
    expect(result.verdict).toBe('sufficient');
    // 12 / 10 000 against 1 / 40 000.
    if (result.verdict === 'sufficient') expect(result.ratio).toBeCloseTo(48);
  });

  it('without usage for a cohort, both fall back to the nominal rollout share', () => {
    const result = assessStoreHealth(input({ usage: [usage('1.3.0.0', 40_000)] }));
    expect(result.rollout.exposure).toEqual({ kind: 'rollout-share', percent: 20 });
    expect(result.fallback.exposure).toEqual({ kind: 'rollout-share', percent: 80 });
    expect(result.verdict).toBe('sufficient');
    // (12 / 20) / (48 / 80)
    if (result.verdict === 'sufficient') expect(result.ratio).toBeCloseTo(1);
  });
});

describe('store health: insufficient data is never a ratio', () => {
  it('no crash rows from the Store', () => {
    const result = assessStoreHealth(input({ crashes: [] }));
    expect(result.verdict).toBe('insufficient');
    if (result.verdict === 'insufficient')
      expect(result.reasons).toContain('the Store returned no crash rows for the app in the window');
  });

  it('fewer rollout crash devices than the minimum', () => {
    const result = assessStoreHealth(
      input({ crashes: [...crashes('1.4.0.0', 0.8), ...crashes('1.3.0.0', 8)] }),
    );
    expect(result.verdict).toBe('insufficient');
    if (result.verdict === 'insufficient') expect(result.reasons.join()).toContain('fewer than 5');
  });

  it('fewer rollout active devices than the minimum, where usage is known', () => {
    const result = assessStoreHealth(input({ usage: [usage('1.4.0.0', 99), usage('1.3.0.0', 40_000)] }));
    expect(result.verdict).toBe('insufficient');
    if (result.verdict === 'insufficient') expect(result.reasons.join()).toContain('99 active devices');
  });

  it('a cohort without package versions, or a rollout at 100 % without usage', () => {
    expect(assessStoreHealth(input({ cohorts: { ...cohorts, rollout: [] } })).verdict).toBe('insufficient');
    expect(
      assessStoreHealth(input({ cohorts: { ...cohorts, rolloutPercentage: 100 }, usage: [] })).verdict,
    ).toBe('insufficient');
  });
});

describe('store health: properties', () => {
  const row = (versions: readonly string[]) =>
    fc.record({
      hourStartMs: fc.integer({ min: NOW - 80 * HOUR, max: NOW + 2 * HOUR }),
      packageVersion: fc.constantFrom(...versions),
      deviceCount: fc.double({ min: 0, max: 1_000, noNaN: true }),
    });
  const versions = ['1.3.0.0', '1.4.0.0', '9.9.9.9'];
  const arbitraryInput = fc.record({
    crashes: fc.array(row(versions), { maxLength: 60 }),
    usage: fc.array(
      fc.record({
        dayStartMs: fc.constantFrom(YESTERDAY, YESTERDAY - 86_400_000),
        packageVersion: fc.constantFrom(...versions),
        dailyActiveDevices: fc.double({ min: 0, max: 1e6, noNaN: true }),
      }),
      { maxLength: 6 },
    ),
    rolloutPercentage: fc.double({ min: 0, max: 100, noNaN: true }),
    windowHours: fc.integer({ min: 1, max: 72 }),
    minCrashDevices: fc.double({ min: 0, max: 50, noNaN: true }),
    minActiveDevices: fc.double({ min: 0, max: 1_000, noNaN: true }),
  });

  it('a ratio is published only with enough data, and is then finite and non-negative', () => {
    fc.assert(
      fc.property(arbitraryInput, (generated) => {
        const result = assessStoreHealth({
          cohorts: {
            rollout: ['1.4.0.0'],
            fallback: ['1.3.0.0'],
            rolloutPercentage: generated.rolloutPercentage,
          },
          crashes: generated.crashes,
          usage: generated.usage,
          nowMs: NOW,
          settings: generated,
        });
        if (result.verdict === 'insufficient') {
          expect(result.reasons.length).toBeGreaterThan(0);
          return;
        }
        expect(generated.crashes.length).toBeGreaterThan(0);
        expect(result.rollout.crashDevices).toBeGreaterThanOrEqual(generated.minCrashDevices);
        if (result.rollout.exposure.kind === 'active-devices')
          expect(result.rollout.exposure.devices).toBeGreaterThanOrEqual(generated.minActiveDevices);
        expect(Number.isFinite(result.ratio)).toBe(true);
        expect(result.ratio).toBeGreaterThanOrEqual(0);
      }),
    );
  });

  it('more rollout crashes never lower the ratio; more fallback crashes never raise it', () => {
    fc.assert(
      fc.property(
        arbitraryInput,
        fc.double({ min: 0, max: 500, noNaN: true }),
        fc.constantFrom('1.4.0.0', '1.3.0.0'),
        (generated, extra, version) => {
          const base = {
            cohorts: {
              rollout: ['1.4.0.0'],
              fallback: ['1.3.0.0'],
              rolloutPercentage: generated.rolloutPercentage,
            },
            usage: generated.usage,
            nowMs: NOW,
            settings: { ...generated, minCrashDevices: 0, minActiveDevices: 0 },
          };
          const before = assessStoreHealth({
            ...base,
            crashes: [...generated.crashes, ...crashes(version, 1, 1)],
          });
          const after = assessStoreHealth({
            ...base,
            crashes: [...generated.crashes, ...crashes(version, 1 + extra, 1)],
          });
          if (before.verdict !== 'sufficient' || after.verdict !== 'sufficient') return;
          if (version === '1.4.0.0') expect(after.ratio).toBeGreaterThanOrEqual(before.ratio * (1 - 1e-9));
          else expect(after.ratio).toBeLessThanOrEqual(before.ratio * (1 + 1e-9));
        },
      ),
    );
  });
});
