/**
 * The simulated Store analytics API: `GET analytics/failurehits` and `GET analytics/usagedaily`
 * (Microsoft's "Get error reporting data" and "Get app usage daily"), generated on demand from each
 * app's per-version health figures so that the data is always "the last 72 hours".
 *
 * - Hourly crash rows per package version: the baseline, varied by a deterministic ±20 % (seeded by
 *   version and hour, so two reads agree), plus a spike from `startCrashSpike`; the newest `lagHours`
 *   hours are not reported yet (the Store's lag is undocumented).
 * - Daily usage per package version up to yesterday.
 * - Paging with `top` (at most 10000) and `skip`, `TotalCount`, a relative `@nextLink`; an unknown app
 *   answers 200 with no rows; bad parameters answer 400 in the analytics error envelope ("Access
 *   analytics data using Store services").
 */
import type { SimApp, SimulatorState } from './types.ts';

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;
const HOURLY_DAYS_MS = 72 * HOUR_MS;
const MAX_TOP = 10_000;

export type AnalyticsEndpoint = 'failurehits' | 'usagedaily';

export interface AnalyticsReply {
  readonly status: number;
  readonly body: unknown;
}

/** `analytics/failurehits` or `analytics/usagedaily` below `/v1.0/my/`, else `undefined`. */
export function matchAnalyticsRoute(method: string, path: string): AnalyticsEndpoint | undefined {
  if (method !== 'GET') return undefined;
  const match = /^\/v1\.0\/my\/analytics\/(failurehits|usagedaily)\/?$/.exec(path);
  const endpoint = match?.[1];
  return endpoint === 'failurehits' || endpoint === 'usagedaily' ? endpoint : undefined;
}

function badRequest(message: string): AnalyticsReply {
  return {
    status: 400,
    body: {
      code: 'BadRequest',
      data: [],
      details: [],
      innererror: { code: 'InvalidQueryParameters', data: [], details: [], message, source: 'AnalyticsAPI' },
      message: 'The calling client sent a bad request to the service.',
      source: 'AnalyticsAPI',
    },
  };
}

/** Lenient like the Store: `mm/dd/yyyy`, `yyyy-mm-dd`, `yyyy/mm/dd`, with an optional ` hh:mm:ss`. */
export function parseQueryDate(text: string): number | undefined {
  const iso = /^(\d{4})[-/](\d{1,2})[-/](\d{1,2})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2}))?)?$/.exec(text.trim());
  const us = /^(\d{1,2})\/(\d{1,2})\/(\d{4})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2}))?)?$/.exec(text.trim());
  const parts = iso
    ? { y: iso[1], m: iso[2], d: iso[3], h: iso[4], mi: iso[5], s: iso[6] }
    : us
      ? { y: us[3], m: us[1], d: us[2], h: us[4], mi: us[5], s: us[6] }
      : undefined;
  if (parts === undefined) return undefined;
  const ms = Date.UTC(
    Number(parts.y),
    Number(parts.m) - 1,
    Number(parts.d),
    Number(parts.h ?? 0),
    Number(parts.mi ?? 0),
    Number(parts.s ?? 0),
  );
  return Number.isNaN(ms) ? undefined : ms;
}

function formatHour(ms: number): string {
  return new Date(ms).toISOString().slice(0, 19).replace('T', ' ');
}

function formatDay(ms: number, separator = '-'): string {
  return new Date(ms).toISOString().slice(0, 10).replaceAll('-', separator);
}

/** A deterministic number in [0, 1) from a string (FNV-1a). */
function unit(seed: string): number {
  let hash = 0x811c9dc5;
  for (let index = 0; index < seed.length; index++) {
    hash ^= seed.charCodeAt(index);
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0) / 0x1_0000_0000;
}

/** The hourly crash rows of an app in `[startMs, endMs]` (bucket starts), at `nowMs`. */
export function crashRows(
  app: SimApp,
  startMs: number,
  endMs: number,
  nowMs: number,
): Record<string, unknown>[] {
  const rows: Record<string, unknown>[] = [];
  const lagHours = app.analyticsLagHours ?? 1;
  const newest = Math.floor(nowMs / HOUR_MS) * HOUR_MS - lagHours * HOUR_MS;
  const oldest = Math.max(
    Math.floor((nowMs - HOURLY_DAYS_MS) / HOUR_MS) * HOUR_MS,
    Math.ceil(startMs / HOUR_MS) * HOUR_MS,
  );
  for (let hour = oldest; hour <= Math.min(newest, endMs); hour += HOUR_MS) {
    for (const version of app.health ?? []) {
      const spike =
        version.spike !== undefined && hour >= version.spike.fromMs ? version.spike.crashDevicesPerHour : 0;
      const base = version.crashDevicesPerHour * (0.8 + 0.4 * unit(`${version.packageVersion}@${hour}`));
      const deviceCount = base + spike;
      if (deviceCount <= 0) continue;
      rows.push({
        date: formatHour(hour),
        applicationId: app.id,
        applicationName: app.primaryName,
        eventType: 'crash',
        packageVersion: version.packageVersion,
        deviceCount,
        eventCount: deviceCount * 1.3,
      });
    }
  }
  return rows;
}

/** The daily usage rows of an app for the days in `[startMs, endMs]`, up to yesterday at `nowMs`. */
export function usageRows(
  app: SimApp,
  startMs: number,
  endMs: number,
  nowMs: number,
): Record<string, unknown>[] {
  const rows: Record<string, unknown>[] = [];
  const yesterday = Math.floor(nowMs / DAY_MS) * DAY_MS - DAY_MS;
  const first = Math.max(Math.floor(startMs / DAY_MS) * DAY_MS, yesterday - 89 * DAY_MS);
  for (let day = first; day <= Math.min(yesterday, endMs); day += DAY_MS) {
    for (const version of app.health ?? []) {
      if (version.dailyActiveDevices === undefined) continue;
      rows.push({
        date: formatDay(day),
        applicationId: app.id,
        applicationName: app.primaryName,
        packageVersion: version.packageVersion,
        deviceType: 'All',
        market: 'All',
        dailyActiveDevices: version.dailyActiveDevices,
        dailyActiveUsers: version.dailyActiveDevices,
        dailySessionCount: version.dailyActiveDevices * 3,
      });
    }
  }
  return rows;
}

/** Runs one analytics call for `tenantId` at `nowMs`. */
export function executeAnalytics(
  state: SimulatorState,
  tenantId: string,
  endpoint: AnalyticsEndpoint,
  query: URLSearchParams,
  nowMs: number,
): AnalyticsReply {
  const applicationId = query.get('applicationId');
  if (applicationId === null || applicationId === '') return badRequest('applicationId is required');
  const top = Number(query.get('top') ?? MAX_TOP);
  const skip = Number(query.get('skip') ?? 0);
  if (!Number.isInteger(top) || top < 1) return badRequest('top must be a positive integer');
  if (top > MAX_TOP) return badRequest(`top parameter cannot be more than ${MAX_TOP}`);
  if (!Number.isInteger(skip) || skip < 0) return badRequest('skip must be a non-negative integer');
  const today = Math.floor(nowMs / DAY_MS) * DAY_MS;
  const start = query.get('startDate');
  const end = query.get('endDate');
  const startMs = start === null ? today : parseQueryDate(start);
  const endMs = end === null ? nowMs : parseQueryDate(end);
  if (startMs === undefined) return badRequest('startDate is not a date');
  if (endMs === undefined) return badRequest('endDate is not a date');
  const filter = query.get('filter');
  if (filter !== null && !/^\s*eventType\s+eq\s+'[a-z]+'\s*$/.test(filter))
    return badRequest("the simulator understands only the filter eventType eq '...'");
  const level = query.get('aggregationLevel') ?? 'day';
  if (endpoint === 'failurehits' && level !== 'hour')
    return badRequest('the simulator serves failurehits with aggregationLevel=hour only');

  const owner = (candidate: SimApp) => (candidate.tenantId ?? state.tenants[0]?.tenantId) === tenantId;
  const app = state.apps.find((candidate) => candidate.id === applicationId && owner(candidate));
  let rows: Record<string, unknown>[] = [];
  if (app !== undefined) {
    if (endpoint === 'failurehits') {
      const wanted = filter === null ? undefined : /'([a-z]+)'/.exec(filter)?.[1];
      rows = crashRows(app, startMs, endMs, nowMs).filter(
        (row) => wanted === undefined || row.eventType === wanted,
      );
    } else {
      // A date-only endDate means the whole day.
      rows = usageRows(app, startMs, endMs, nowMs);
    }
  }
  const page = rows.slice(skip, skip + top);
  const nextSkip = skip + top;
  const next = new URLSearchParams(query);
  next.set('skip', String(nextSkip));
  next.set('top', String(top));
  // The documented nextLink rewrites the dates as yyyy/mm/dd (and drops the time).
  next.set('startDate', formatDay(startMs, '/'));
  next.set('endDate', formatDay(endMs, '/'));
  return {
    status: 200,
    body: {
      Value: page,
      '@nextLink': nextSkip < rows.length ? `${endpoint}?${next.toString()}` : null,
      TotalCount: rows.length,
    },
  };
}
