import { describe, expect, it } from 'vitest';
import type { WatchedApp } from '../../../functions/commons/domain/watched-apps.ts';
import { ConfigurationError } from '../../../functions/commons/errors.ts';
import { scheduledTimeOf } from '../../../functions/self-check/handler.ts';
import {
  CHECK_EVERY_APP_WITHIN_MINUTES,
  countSlices,
  DEFAULT_SCHEDULE_MINUTES,
  deriveScheduleMinutes,
  estimateStoreRequests,
  fitsOneRun,
  planSlices,
  runCapacity,
  SELF_CHECK_STORE_REQUESTS_PER_MINUTE,
  selectSlice,
  sliceBounds,
} from '../../../functions/self-check/slices.ts';

function catalog(count: number): WatchedApp[] {
  return Array.from({ length: count }, (_, i) => ({
    applicationId: `9NCAT${String(i).padStart(7, '0')}`,
    alarmNames: [`crash-${i}`],
    notifyAlarmNames: [],
    mode: 'enforce' as const,
    ...(i % 5 === 0 ? { flights: 'all' as const } : {}),
  }));
}

const FIFTEEN_MINUTES = 15 * 60;

describe('estimateStoreRequests', () => {
  it('counts the app and its rollout, two per listed flight, and the list plus assumed flights for "all"', () => {
    const [app] = catalog(2).slice(1);
    if (app === undefined) throw new Error('no app');
    expect(estimateStoreRequests(app)).toBe(2);
    expect(estimateStoreRequests({ ...app, flights: ['a', 'b'] })).toBe(6);
    expect(estimateStoreRequests({ ...app, flights: 'all' })).toBe(9);
  });
});

describe('planSlices', () => {
  it('keeps a small config in one slice: every app on every run, as before', () => {
    expect(planSlices({ apps: catalog(3), periodMinutes: 360, runSeconds: 300 })).toEqual({
      slices: 1,
      periodMinutes: 360,
    });
  });

  it('spreads 500 apps over the fewest slices that each fit one run, and every app is checked within a day', () => {
    const apps = catalog(500);

    const plan = planSlices({ apps, periodMinutes: 60, runSeconds: FIFTEEN_MINUTES });

    expect(plan.slices).toBeGreaterThan(1);
    expect(plan.slices * plan.periodMinutes).toBeLessThanOrEqual(24 * 60);
    const capacity = runCapacity(FIFTEEN_MINUTES, SELF_CHECK_STORE_REQUESTS_PER_MINUTE);
    const costOf = (count: number, index: number) => {
      const { start, end } = sliceBounds(apps.length, count, index);
      return apps.slice(start, end).reduce((sum, app) => sum + estimateStoreRequests(app), 0);
    };
    const costs = Array.from({ length: plan.slices }, (_, index) => costOf(plan.slices, index));
    // Within the run's share of the budget, and no fewer slices would do.
    expect(Math.max(...costs)).toBeLessThanOrEqual(capacity);
    const fewer = Array.from({ length: plan.slices - 1 }, (_, index) => costOf(plan.slices - 1, index));
    expect(Math.max(...fewer)).toBeGreaterThan(capacity);
  });

  it('refuses a schedule that cannot check every app daily, naming the field and the schedule that can', () => {
    const apps = catalog(500);
    let error: unknown;
    try {
      planSlices({ apps, periodMinutes: 360, runSeconds: FIFTEEN_MINUTES });
    } catch (caught) {
      error = caught;
    }

    expect(error).toBeInstanceOf(ConfigurationError);
    const message = error instanceof Error ? error.message : '';
    expect(message).toMatch(
      /watchdog\.selfCheck\.scheduleHours: the self-check cannot read all 500 apps at least once a day: .* a run every 360 minutes makes 4 a day; set watchdog\.selfCheck\.scheduleHours to at most [\d.]+ \(every (\d+) minutes\)/,
    );
    // The advice works.
    const minutes = Number(/every (\d+) minutes\)/.exec(message)?.[1]);
    expect(() => planSlices({ apps, periodMinutes: minutes, runSeconds: FIFTEEN_MINUTES })).not.toThrow();
  });

  it('refuses an app that alone needs more than one run can read, naming the apps', () => {
    const [app] = catalog(1);
    if (app === undefined) throw new Error('no app');
    const flights = Array.from(
      { length: 20 },
      (_, i) => `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
    );

    expect(fitsOneRun([{ ...app, flights }], 300)).toBe(false);
    expect(() => planSlices({ apps: [{ ...app, flights }], periodMinutes: 360, runSeconds: 300 })).toThrow(
      /watchdog\.apps: one app needs about 42 Store requests, more than a self-check run of 5 minutes at 10 a minute can make \(39\)/,
    );
    expect(
      planSlices({ apps: [{ ...app, flights }], periodMinutes: 360, runSeconds: FIFTEEN_MINUTES }).slices,
    ).toBe(1);
  });

  it('uses a slower share of the budget when given one: more slices', () => {
    const apps = catalog(200);
    expect(countSlices(apps, FIFTEEN_MINUTES, 5)).toBeGreaterThan(countSlices(apps, FIFTEEN_MINUTES, 10));
  });
});

describe('deriveScheduleMinutes', () => {
  it('keeps every 6 hours while one short run reads every app', () => {
    expect(deriveScheduleMinutes(catalog(10))).toBe(DEFAULT_SCHEDULE_MINUTES);
  });

  it('runs a catalog as often as its slices need to cover every app daily, and planSlices accepts that schedule', () => {
    for (const [apps, share] of [
      [500, SELF_CHECK_STORE_REQUESTS_PER_MINUTE],
      [500, 5],
      [120, 5],
    ] as const) {
      const minutes = deriveScheduleMinutes(catalog(apps), share);
      const slices = countSlices(catalog(apps), FIFTEEN_MINUTES, share);
      expect(minutes).toBe(
        Math.min(DEFAULT_SCHEDULE_MINUTES, Math.floor(CHECK_EVERY_APP_WITHIN_MINUTES / slices)),
      );
      expect(minutes).toBeGreaterThanOrEqual(15);
      const plan = planSlices({
        apps: catalog(apps),
        periodMinutes: minutes,
        runSeconds: FIFTEEN_MINUTES,
        requestsPerMinute: share,
      });
      expect(plan.slices * plan.periodMinutes).toBeLessThanOrEqual(CHECK_EVERY_APP_WITHIN_MINUTES);
      // Not needlessly often: one minute longer would miss the day.
      if (minutes < DEFAULT_SCHEDULE_MINUTES) {
        expect(slices * (minutes + 1)).toBeGreaterThan(CHECK_EVERY_APP_WITHIN_MINUTES);
      }
    }
  });

  it('refuses a catalog no schedule of 15 minutes or more can check daily, saying so', () => {
    expect(() => deriveScheduleMinutes(catalog(5_000), 5)).toThrow(ConfigurationError);
    expect(() => deriveScheduleMinutes(catalog(5_000), 5)).toThrow(
      /watchdog\.apps: the self-check cannot read all 5000 apps at least once a day: .* runs of 15 minutes, more than a run every 15 minutes makes in a day/,
    );
  });
});

describe('selectSlice', () => {
  const apps = catalog(23);
  const plan = { slices: 4, periodMinutes: 90 };
  const start = Date.parse('2026-12-02T00:30:00Z');
  const period = plan.periodMinutes * 60_000;

  it('checks every app exactly once over as many consecutive scheduled runs as there are slices', () => {
    const seen = Array.from({ length: plan.slices }, (_, run) =>
      selectSlice(apps, plan, start + run * period),
    );

    expect(new Set(seen.map((slice) => slice.index)).size).toBe(plan.slices);
    expect(seen.flatMap((slice) => slice.apps.map((app) => app.applicationId)).toSorted()).toEqual(
      apps.map((app) => app.applicationId).toSorted(),
    );
    // And the next cycle starts over with the first run's slice.
    expect(selectSlice(apps, plan, start + plan.slices * period).index).toBe(seen[0]?.index);
  });

  it('gives a retried delivery of the same scheduled event the same slice', () => {
    const first = selectSlice(apps, plan, start + 3 * period);
    expect(selectSlice(apps, plan, start + 3 * period)).toEqual(first);
  });

  it('with one slice, reads every app', () => {
    expect(selectSlice(apps, { slices: 1, periodMinutes: 360 }, start).apps).toEqual(apps);
  });
});

describe('scheduledTimeOf', () => {
  it("takes the scheduled event's time, and now for a manual invoke", () => {
    expect(scheduledTimeOf({ 'detail-type': 'Scheduled Event', time: '2026-12-02T06:00:00Z' }, 5)).toBe(
      Date.parse('2026-12-02T06:00:00Z'),
    );
    expect(scheduledTimeOf({}, 5)).toBe(5);
    expect(scheduledTimeOf({ time: 'not a time' }, 5)).toBe(5);
  });
});
