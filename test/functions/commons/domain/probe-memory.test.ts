/**
 * The probe's pure decisions of what to read again (functions/commons/domain/probe-memory.ts): a
 * settled target under the same two submissions is not read, anything else is; usage once a UTC day
 * (and again for a new cohort); crash rows once per hourly slot, phased by app; an idle app's flights
 * hourly; apps worth watching first.
 */
import { describe, expect, it } from 'vitest';
import {
  type AppMemory,
  crashesAreDue,
  emptyAppMemory,
  flightsAreDue,
  hourlySlot,
  isSettledRollout,
  keepCohorts,
  needsRolloutRead,
  orderForReading,
  rememberCrashes,
  rememberTarget,
  rememberUsage,
  sameMemory,
  usageIsDue,
} from '../../../../functions/commons/domain/probe-memory.ts';

const HOUR = 3_600_000;
const NOON = Date.UTC(2026, 11, 7, 12, 0);

describe('needsRolloutRead', () => {
  const settled = rememberTarget({ lastPublishedId: '1', pendingId: '2' }, { kind: 'settled' }, NOON);

  it('skips a settled target the Store still names with the same two submissions', () => {
    expect(needsRolloutRead(settled, { lastPublishedId: '1', pendingId: '2' })).toBe(false);
  });

  it('reads a target never seen, or whose last published or pending submission changed', () => {
    expect(needsRolloutRead(undefined, { lastPublishedId: '1' })).toBe(true);
    expect(needsRolloutRead(settled, { lastPublishedId: '3', pendingId: '2' })).toBe(true);
    expect(needsRolloutRead(settled, { lastPublishedId: '1' })).toBe(true);
    expect(needsRolloutRead(settled, { lastPublishedId: '1', pendingId: '4' })).toBe(true);
  });

  it('reads a live or unsettled target on every run', () => {
    const live = rememberTarget({ lastPublishedId: '1' }, { kind: 'live' }, NOON);
    const unsettled = rememberTarget({ lastPublishedId: '1' }, { kind: 'unsettled' }, NOON);
    expect(live.state).toBe('watch');
    expect(unsettled.state).toBe('watch');
    expect(needsRolloutRead(live, { lastPublishedId: '1' })).toBe(true);
    expect(needsRolloutRead(unsettled, { lastPublishedId: '1' })).toBe(true);
  });
});

describe('isSettledRollout', () => {
  it('complete, halted and non-gradual rollouts cannot change; in progress and not started can', () => {
    const of = (status: string, gradual = true) => ({
      isPackageRollout: gradual,
      packageRolloutStatus: status,
    });
    expect(isSettledRollout(of('PackageRolloutComplete'))).toBe(true);
    expect(isSettledRollout(of('PackageRolloutStopped'))).toBe(true);
    expect(isSettledRollout(of('PackageRolloutNotStarted', false))).toBe(true);
    expect(isSettledRollout(of('PackageRolloutInProgress'))).toBe(false);
    expect(isSettledRollout(of('PackageRolloutNotStarted'))).toBe(false);
  });
});

describe('usageIsDue', () => {
  const rows = [
    { dayStartMs: NOON - 36 * HOUR, packageVersion: '2.0', dailyActiveDevices: 100 },
    { dayStartMs: NOON - 36 * HOUR, packageVersion: '9.9', dailyActiveDevices: 7 },
  ];

  it('is due when never read, and once per UTC day', () => {
    const usage = rememberUsage(rows, ['2.0', '1.0'], NOON);
    expect(usageIsDue(undefined, ['2.0'], NOON)).toBe(true);
    expect(usageIsDue(usage, ['2.0', '1.0'], NOON + 11 * HOUR)).toBe(false);
    expect(usageIsDue(usage, ['2.0', '1.0'], NOON + 12 * HOUR)).toBe(true);
  });

  it('is due again the same day for a cohort whose versions the read did not cover', () => {
    const usage = rememberUsage(rows, ['2.0', '1.0'], NOON);
    expect(usageIsDue(usage, ['2.0', '3.0'], NOON + HOUR)).toBe(true);
  });

  it('keeps only the rows of the versions asked for', () => {
    expect(rememberUsage(rows, ['2.0'], NOON).rows).toEqual([rows[0]]);
  });
});

describe('hourly slots', () => {
  it('change once an hour per app, at a minute of the hour that depends on the app', () => {
    const app = '9NBLGGH4R315';
    for (let quarter = 0; quarter < 8; quarter++) {
      const now = NOON + quarter * 15 * 60_000;
      expect(hourlySlot(app, now + HOUR)).toBe(hourlySlot(app, now) + 1);
    }
    const hour = [0, 1, 2, 3].map((quarter) => hourlySlot(app, NOON + quarter * 15 * 60_000));
    expect(new Set(hour).size).toBeLessThanOrEqual(2);
    // Over 500 apps the slot changes are spread over the hour, not on one run.
    const changes = new Map<number, number>();
    for (let index = 0; index < 500; index++) {
      const id = `9NPRB${String(index).padStart(7, '0')}`;
      for (let quarter = 1; quarter <= 4; quarter++) {
        const now = NOON + quarter * 15 * 60_000;
        if (hourlySlot(id, now) !== hourlySlot(id, now - 15 * 60_000))
          changes.set(quarter, (changes.get(quarter) ?? 0) + 1);
      }
    }
    expect([...changes.values()].reduce((a, b) => a + b, 0)).toBe(500);
    for (const count of changes.values()) expect(count).toBeLessThan(200);
  });

  it('crash rows are due in a new slot, or for versions the slot read did not cover', () => {
    const app = '9NBLGGH4R315';
    const crashes = rememberCrashes(
      [
        { hourStartMs: NOON - HOUR, packageVersion: '2.0', deviceCount: 3.5 },
        { hourStartMs: NOON - HOUR, packageVersion: '0.1', deviceCount: 1 },
      ],
      app,
      ['2.0', '1.0'],
      NOON,
    );
    expect(crashes.rows).toHaveLength(1);
    expect(crashes.storeRows).toBe(2);
    expect(crashesAreDue(undefined, app, ['2.0'], NOON)).toBe(true);
    const sameSlot = [0, 1, 2, 3]
      .map((q) => NOON + q * 15 * 60_000)
      .filter((t) => hourlySlot(app, t) === crashes.slot);
    const laterSlot = NOON + 2 * HOUR;
    expect(sameSlot.length).toBeGreaterThan(0);
    for (const now of sameSlot) expect(crashesAreDue(crashes, app, ['2.0', '1.0'], now)).toBe(false);
    expect(crashesAreDue(crashes, app, ['2.0', '3.0'], NOON)).toBe(true);
    expect(crashesAreDue(crashes, app, ['2.0'], laterSlot)).toBe(true);
  });

  it("an app's flights are read every run while one is worth watching, else once per slot", () => {
    const app = '9NBLGGH4R315';
    const settledFlight = rememberTarget({ lastPublishedId: '5' }, { kind: 'settled' }, NOON);
    const quiet: AppMemory = {
      ...emptyAppMemory(app),
      flights: { f: settledFlight },
      flightsSlot: hourlySlot(app, NOON),
    };
    expect(flightsAreDue(undefined, NOON)).toBe(true);
    expect(flightsAreDue(emptyAppMemory(app), NOON)).toBe(true);
    expect(flightsAreDue(quiet, NOON)).toBe(false);
    expect(flightsAreDue(quiet, NOON + HOUR)).toBe(true);
    const watched: AppMemory = {
      ...quiet,
      flights: { f: rememberTarget({ lastPublishedId: '5' }, { kind: 'live' }, NOON) },
    };
    expect(flightsAreDue(watched, NOON)).toBe(true);
  });
});

describe('memory housekeeping', () => {
  it('keeps only the cohorts in use', () => {
    expect(keepCohorts({ 'main/1': ['1.0'], 'main/2': ['2.0'] }, new Set(['main/2']))).toEqual({
      'main/2': ['2.0'],
    });
  });

  it('reads apps with a rollout worth watching first, in their order, then the rest', () => {
    const live = (id: string): AppMemory => ({
      ...emptyAppMemory(id),
      main: rememberTarget({ lastPublishedId: '1' }, { kind: 'live' }, NOON),
    });
    const settled = (id: string): AppMemory => ({
      ...emptyAppMemory(id),
      main: rememberTarget({ lastPublishedId: '1' }, { kind: 'settled' }, NOON),
    });
    const flightLive: AppMemory = {
      ...settled('D'),
      flights: { f: rememberTarget({ lastPublishedId: '2' }, { kind: 'live' }, NOON) },
    };
    const memory = new Map([
      ['B', live('B')],
      ['C', settled('C')],
      ['D', flightLive],
    ]);
    const apps = ['A', 'B', 'C', 'D', 'E'].map((applicationId) => ({ applicationId }));
    expect(orderForReading(apps, memory).map((app) => app.applicationId)).toEqual(['B', 'D', 'A', 'C', 'E']);
  });

  it('tells an unchanged memory (whatever the key order) from a changed one', () => {
    const a: AppMemory = { ...emptyAppMemory('A'), cohorts: { x: ['1'], y: ['2'] } };
    const b: AppMemory = { applicationId: 'A', cohorts: { y: ['2'], x: ['1'] }, flights: {} };
    expect(sameMemory(a, b)).toBe(true);
    expect(sameMemory(undefined, b)).toBe(false);
    expect(sameMemory(a, { ...b, cohorts: { x: ['1'] } })).toBe(false);
  });
});
