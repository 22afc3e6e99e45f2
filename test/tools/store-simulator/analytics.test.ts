/**
 * The simulator's analytics endpoints (tools/store-simulator/analytics-model.ts) over HTTP: the
 * documented envelope, hourly crash rows per version for the last 72 hours (the newest still lagging),
 * daily usage up to yesterday, paging with a relative @nextLink, the analytics error envelope, empty
 * rows for an app the tenant cannot see, the crash-spike control, and the usual auth and faults.
 */
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { SAMPLE_APP_ID } from '../../../tools/store-simulator/sample-state.ts';
import { callStore, getToken, parseBody, startSimulator } from './support.ts';

const HOUR = 3_600_000;
/** The simulator's analytics clock, fixed (mid-hour) so that no hour or day turns between two reads. */
const NOW = Date.parse('2026-12-02T10:30:00.000Z');
const clock = { now: () => NOW };
const pageSchema = z.object({
  Value: z.array(z.record(z.string(), z.unknown())),
  '@nextLink': z.string().nullable(),
  TotalCount: z.number(),
});

function hourly(query: Record<string, string> = {}) {
  const end = new Date(NOW);
  const start = new Date(end.getTime() - 6 * HOUR);
  const format = (date: Date) => date.toISOString().slice(0, 19).replace('T', ' ');
  return new URLSearchParams({
    applicationId: SAMPLE_APP_ID,
    aggregationLevel: 'hour',
    startDate: format(start),
    endDate: format(end),
    groupby: 'packageVersion,eventType',
    filter: "eventType eq 'crash'",
    ...query,
  }).toString();
}

describe('simulator analytics: failurehits', () => {
  it('serves hourly crash rows per version with fractional counts, the newest hour still lagging', async () => {
    const simulator = await startSimulator(clock);
    const token = await getToken(simulator);

    const page = parseBody(
      await callStore(simulator, 'GET', `analytics/failurehits?${hourly()}`, token),
      pageSchema,
    );

    expect(page.TotalCount).toBe(page.Value.length);
    const versions = new Set(page.Value.map((row) => row.packageVersion));
    expect(versions).toEqual(new Set(['1.3.0.0', '1.4.0.0']));
    const newest = Math.max(...page.Value.map((row) => Date.parse(`${String(row.date).replace(' ', 'T')}Z`)));
    const currentHour = Math.floor(NOW / HOUR) * HOUR;
    expect(newest).toBe(currentHour - HOUR);
    for (const row of page.Value) {
      expect(row.eventType).toBe('crash');
      expect(typeof row.deviceCount).toBe('number');
    }
  });

  it('pages with top and skip, with a relative @nextLink in the documented yyyy/mm/dd form', async () => {
    const simulator = await startSimulator(clock);
    const token = await getToken(simulator);

    const first = parseBody(
      await callStore(simulator, 'GET', `analytics/failurehits?${hourly({ top: '4' })}`, token),
      pageSchema,
    );
    const last = parseBody(
      await callStore(
        simulator,
        'GET',
        `analytics/failurehits?${hourly({ top: '4', skip: String(first.TotalCount - 1) })}`,
        token,
      ),
      pageSchema,
    );

    expect(first.Value).toHaveLength(4);
    expect(first['@nextLink']).toMatch(/^failurehits\?.*skip=4/);
    expect(first['@nextLink']).toMatch(/startDate=\d{4}%2F\d{2}%2F\d{2}/);
    expect(last.Value).toHaveLength(1);
    expect(last['@nextLink']).toBeNull();
  });

  it('answers bad parameters with the analytics error envelope', async () => {
    const simulator = await startSimulator(clock);
    const token = await getToken(simulator);

    const tooMany = await callStore(
      simulator,
      'GET',
      `analytics/failurehits?${hourly({ top: '10001' })}`,
      token,
    );
    const noApp = await callStore(simulator, 'GET', 'analytics/usagedaily?groupby=date', token);

    expect(tooMany.status).toBe(400);
    expect(tooMany.body).toMatchObject({
      code: 'BadRequest',
      innererror: { code: 'InvalidQueryParameters', message: 'top parameter cannot be more than 10000' },
      source: 'AnalyticsAPI',
    });
    expect(noApp.status).toBe(400);
  });

  it('answers an app the tenant cannot see with no rows (empty is not healthy)', async () => {
    const simulator = await startSimulator(clock);
    const token = await getToken(simulator);
    const page = parseBody(
      await callStore(
        simulator,
        'GET',
        `analytics/failurehits?${hourly({ applicationId: '9WZDNCRFJ3TJ' })}`,
        token,
      ),
      pageSchema,
    );
    expect(page).toEqual({ Value: [], '@nextLink': null, TotalCount: 0 });
  });

  it('a crash spike adds devices to a version from the given hour on, and only to it', async () => {
    const simulator = await startSimulator(clock);
    const token = await getToken(simulator);
    const before = parseBody(
      await callStore(simulator, 'GET', `analytics/failurehits?${hourly()}`, token),
      pageSchema,
    );

    simulator.control.startCrashSpike({
      applicationId: SAMPLE_APP_ID,
      packageVersion: '1.4.0.0',
      crashDevicesPerHour: 100,
      hoursAgo: 3,
    });
    const after = parseBody(
      await callStore(simulator, 'GET', `analytics/failurehits?${hourly()}`, token),
      pageSchema,
    );

    const key = (row: Record<string, unknown>) => `${row.date} ${row.packageVersion}`;
    const was = new Map(before.Value.map((row) => [key(row), Number(row.deviceCount)]));
    const spikeFrom = (Math.floor(NOW / HOUR) - 3) * HOUR;
    for (const row of after.Value) {
      const delta = Number(row.deviceCount) - (was.get(key(row)) ?? 0);
      const inSpike =
        row.packageVersion === '1.4.0.0' && Date.parse(`${String(row.date).replace(' ', 'T')}Z`) >= spikeFrom;
      expect(delta).toBeCloseTo(inSpike ? 100 : 0);
    }
    expect(() =>
      simulator.control.startCrashSpike({
        applicationId: 'ZZZZZZZZZZZZ',
        packageVersion: '1.0',
        crashDevicesPerHour: 1,
      }),
    ).toThrow(/No app/);
  });

  it('needs a token like every Store call, and takes injected faults', async () => {
    const simulator = await startSimulator(clock);
    expect((await callStore(simulator, 'GET', `analytics/failurehits?${hourly()}`, undefined)).status).toBe(
      401,
    );
    const token = await getToken(simulator);
    simulator.control.failNext({ status: 503, match: { path: '/analytics/' } });
    expect((await callStore(simulator, 'GET', `analytics/failurehits?${hourly()}`, token)).status).toBe(503);
    expect((await callStore(simulator, 'GET', `analytics/failurehits?${hourly()}`, token)).status).toBe(200);
  });
});

describe('simulator analytics: usagedaily', () => {
  it('serves daily active devices per version up to yesterday', async () => {
    const simulator = await startSimulator(clock);
    const token = await getToken(simulator);
    const today = new Date(NOW).toISOString().slice(0, 10);
    const weekAgo = new Date(NOW - 7 * 24 * HOUR).toISOString().slice(0, 10);

    const page = parseBody(
      await callStore(
        simulator,
        'GET',
        `analytics/usagedaily?applicationId=${SAMPLE_APP_ID}&startDate=${weekAgo}&endDate=${today}&groupby=date,packageVersion`,
        token,
      ),
      pageSchema,
    );

    const dates = [...new Set(page.Value.map((row) => String(row.date)))].sort();
    expect(dates).toHaveLength(7);
    expect(dates.at(-1)).toBe(new Date(NOW - 24 * HOUR).toISOString().slice(0, 10));
    expect(page.Value.find((row) => row.packageVersion === '1.4.0.0')?.dailyActiveDevices).toBe(10_000);
  });
});
