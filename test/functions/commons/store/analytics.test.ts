/**
 * The analytics reads of the Store adapter (functions/commons/store/analytics.ts) against the Store
 * simulator: the documented query, paging with top/skip until TotalCount (not the relative @nextLink),
 * fractional counts kept as doubles, rows outside the window dropped, and the same token, retries with
 * Retry-After and typed errors as the submission calls. Also the cohort versions, read once per
 * container.
 */
import { describe, expect, it } from 'vitest';
import { StoreApiError } from '../../../../functions/commons/errors.ts';
import { createAnalyticsReader, parseStoreDate } from '../../../../functions/commons/store/analytics.ts';
import { createPackageVersionReader } from '../../../../functions/commons/store/cohorts.ts';
import {
  SAMPLE_APP_ID,
  SAMPLE_FALLBACK_SUBMISSION_ID,
  SAMPLE_PUBLISHED_SUBMISSION_ID,
} from '../../../../tools/store-simulator/sample-state.ts';
import { connect, recordingSleep, rejectionOf, roomySignal, startSimulator } from './support.ts';

const HOUR = 3_600_000;

function lastHours(hours: number) {
  const endMs = Date.now();
  return { startMs: endMs - hours * HOUR, endMs };
}

function analyticsCalls(simulator: Awaited<ReturnType<typeof startSimulator>>) {
  return simulator.control.requests
    .filter((request) => request.path.includes('/analytics/'))
    .map((request) => ({
      path: request.path,
      query: new URLSearchParams(request.query),
      status: request.status,
    }));
}

describe('analytics: failurehits', () => {
  it('asks for hourly crash hits grouped by version and event type, and returns fractional device counts', async () => {
    const simulator = await startSimulator();
    const reader = createAnalyticsReader(connect(simulator).client);

    const rows = await reader.getCrashHours(SAMPLE_APP_ID, lastHours(6), roomySignal());

    const [call] = analyticsCalls(simulator);
    expect(call?.path).toBe('/v1.0/my/analytics/failurehits');
    expect(call?.query.get('applicationId')).toBe(SAMPLE_APP_ID);
    expect(call?.query.get('aggregationLevel')).toBe('hour');
    expect(call?.query.get('groupby')).toBe('packageVersion,eventType');
    expect(call?.query.get('filter')).toBe("eventType eq 'crash'");
    expect(call?.query.get('startDate')).toMatch(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/);
    expect(new Set(rows.map((row) => row.packageVersion))).toEqual(new Set(['1.3.0.0', '1.4.0.0']));
    // The simulator's counts vary ±20 % around 2 and 8 per hour, as fractions.
    expect(rows.some((row) => !Number.isInteger(row.deviceCount))).toBe(true);
    for (const row of rows) expect(row.deviceCount).toBeGreaterThan(1.5);
    const window = lastHours(6);
    for (const row of rows) {
      expect(row.hourStartMs).toBeGreaterThanOrEqual(window.startMs - 60_000);
      expect(row.hourStartMs).toBeLessThan(window.endMs);
    }
  });

  it('pages with top and skip until skip reaches TotalCount, whatever @nextLink says', async () => {
    const simulator = await startSimulator();
    const reader = createAnalyticsReader(connect(simulator).client, { pageSize: 3 });

    const rows = await reader.getCrashHours(SAMPLE_APP_ID, lastHours(6), roomySignal());

    const calls = analyticsCalls(simulator);
    // 5 or 6 full hours reported (the newest is still lagging) × 2 versions.
    expect(rows.length).toBeGreaterThanOrEqual(10);
    expect(calls.length).toBe(Math.ceil(rows.length / 3));
    expect(calls.map((call) => call.query.get('skip'))).toEqual(calls.map((_, index) => String(index * 3)));
    expect(calls.every((call) => call.query.get('top') === '3')).toBe(true);
    // Every page kept the hourly date format, not the nextLink's yyyy/mm/dd.
    expect(calls.every((call) => call.query.get('startDate')?.includes('-'))).toBe(true);
  });

  it('an unknown app is an empty answer, not an error (empty is not healthy: the domain decides)', async () => {
    const simulator = await startSimulator();
    const reader = createAnalyticsReader(connect(simulator).client);
    expect(await reader.getCrashHours('9WZDNCRFJ3TJ', lastHours(6), roomySignal())).toEqual([]);
  });

  it('sees a crash spike started on a version', async () => {
    const simulator = await startSimulator();
    simulator.control.startCrashSpike({
      applicationId: SAMPLE_APP_ID,
      packageVersion: '1.4.0.0',
      crashDevicesPerHour: 50,
    });
    const reader = createAnalyticsReader(connect(simulator).client);

    const rows = await reader.getCrashHours(SAMPLE_APP_ID, lastHours(6), roomySignal());

    const spiking = rows.filter((row) => row.packageVersion === '1.4.0.0');
    expect(spiking.length).toBeGreaterThan(0);
    for (const row of spiking) expect(row.deviceCount).toBeGreaterThan(50);
  });

  it('retries a 429 after its Retry-After, with the same token', async () => {
    const simulator = await startSimulator();
    simulator.control.failNext({ status: 429, retryAfter: '2', match: { path: '/analytics/' } });
    const sleep = recordingSleep();
    const reader = createAnalyticsReader(connect(simulator, { environment: { sleep } }).client);

    const rows = await reader.getCrashHours(SAMPLE_APP_ID, lastHours(6), roomySignal());

    expect(rows.length).toBeGreaterThan(0);
    expect(analyticsCalls(simulator).map((call) => call.status)).toEqual([429, 200]);
    expect(sleep.calls).toContain(2_000);
    expect(simulator.control.requests.filter((request) => request.kind === 'token')).toHaveLength(1);
  });

  it('a Store error is a typed StoreApiError naming the request, without the token', async () => {
    const simulator = await startSimulator();
    simulator.control.failNext({
      status: 403,
      match: { path: '/analytics/' },
      body: {
        code: 'Forbidden',
        message: 'Access to the requested resource is forbidden.',
        source: 'AnalyticsAPI',
      },
    });
    const reader = createAnalyticsReader(connect(simulator).client);

    const error = await rejectionOf(reader.getCrashHours(SAMPLE_APP_ID, lastHours(6), roomySignal()));

    expect(error).toBeInstanceOf(StoreApiError);
    expect(error).toMatchObject({
      code: 'STORE_FORBIDDEN',
      status: 403,
      request: 'GET analytics/failurehits',
    });
  });

  it('an answer that is not the documented envelope is a bad response naming the field', async () => {
    const simulator = await startSimulator();
    simulator.control.failNext({ status: 200, match: { path: '/analytics/' }, body: { value: [] } });
    const reader = createAnalyticsReader(connect(simulator).client);

    const error = await rejectionOf(reader.getCrashHours(SAMPLE_APP_ID, lastHours(6), roomySignal()));

    expect(error).toMatchObject({ code: 'STORE_BAD_RESPONSE' });
    expect(String(error)).toContain('Value');
  });

  it('refuses a page size above the documented 10000', async () => {
    const client = connect(await startSimulator()).client;
    expect(() => createAnalyticsReader(client, { pageSize: 10_001 })).toThrow(/pageSize/);
    expect(() => createAnalyticsReader(client, { pageSize: 10_000 })).not.toThrow();
  });
});

describe('analytics: usagedaily', () => {
  it('asks for daily usage by date and version, and returns the daily active devices', async () => {
    const simulator = await startSimulator();
    const reader = createAnalyticsReader(connect(simulator).client);

    const rows = await reader.getDailyUsage(SAMPLE_APP_ID, lastHours(4 * 24), roomySignal());

    const [call] = analyticsCalls(simulator);
    expect(call?.path).toBe('/v1.0/my/analytics/usagedaily');
    expect(call?.query.get('groupby')).toBe('date,packageVersion');
    expect(call?.query.get('startDate')).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    const yesterday = Math.floor(Date.now() / 86_400_000) * 86_400_000 - 86_400_000;
    expect(rows).toContainEqual({
      dayStartMs: yesterday,
      packageVersion: '1.4.0.0',
      dailyActiveDevices: 10_000,
    });
    expect(rows).toContainEqual({
      dayStartMs: yesterday,
      packageVersion: '1.3.0.0',
      dailyActiveDevices: 40_000,
    });
  });
});

describe('analytics: dates', () => {
  it('parses the Store forms as UTC and refuses impossible dates', () => {
    expect(parseStoreDate('2022-07-21')).toBe(Date.UTC(2022, 6, 21));
    expect(parseStoreDate('2022-07-21 13:00:00')).toBe(Date.UTC(2022, 6, 21, 13));
    expect(parseStoreDate('2022/07/21')).toBe(Date.UTC(2022, 6, 21));
    expect(parseStoreDate('2022-02-30')).toBeUndefined();
    expect(parseStoreDate('2022-07-21 25:00:00')).toBeUndefined();
    expect(parseStoreDate('yesterday')).toBeUndefined();
  });
});

describe('cohorts: package versions of a submission', () => {
  it('reads applicationPackages[].version once per container', async () => {
    const simulator = await startSimulator();
    const versions = createPackageVersionReader(connect(simulator).client);
    const rollout = { applicationId: SAMPLE_APP_ID, submissionId: SAMPLE_PUBLISHED_SUBMISSION_ID };
    const fallback = { applicationId: SAMPLE_APP_ID, submissionId: SAMPLE_FALLBACK_SUBMISSION_ID };

    expect(await versions.getPackageVersions(rollout, roomySignal())).toEqual(['1.4.0.0']);
    expect(await versions.getPackageVersions(fallback, roomySignal())).toEqual(['1.3.0.0']);
    expect(await versions.getPackageVersions(rollout, roomySignal())).toEqual(['1.4.0.0']);

    const submissionReads = simulator.control.requests.filter((request) =>
      /\/submissions\/\d+$/.test(request.path),
    );
    expect(submissionReads).toHaveLength(2);
  });

  it('does not cache a failed read', async () => {
    const simulator = await startSimulator();
    simulator.control.failNext({ status: 404, match: { path: '/submissions/' } });
    const versions = createPackageVersionReader(connect(simulator).client);
    const rollout = { applicationId: SAMPLE_APP_ID, submissionId: SAMPLE_PUBLISHED_SUBMISSION_ID };

    await rejectionOf(versions.getPackageVersions(rollout, roomySignal()));
    expect(await versions.getPackageVersions(rollout, roomySignal())).toEqual(['1.4.0.0']);
  });
});
