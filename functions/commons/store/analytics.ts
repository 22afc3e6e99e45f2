/**
 * The Store analytics reads of the Store health probe (hourly crash devices per version from
 * `failurehits`, daily active devices per version from `usagedaily`), over the same Store client as
 * the submission calls. Pages are asked for with `top`/`skip` and sized to fit the response cap
 * (docs/store-health.md, "Page sizes"); the Store's relative `@nextLink` is not followed (its dates
 * change format and the desktop one is malformed), and rows outside the asked window are dropped.
 */
import { assertApplicationId } from '../domain/ids.ts';
import type { CrashHour, DailyUsage } from '../domain/store-health.ts';
import { MAX_RESPONSE_BYTES } from '../http/transport.ts';
import * as z from '../validation.ts';
import type { StoreClient } from './store-client.ts';
import { createBadResponseError } from './store-errors.ts';

/** The largest page the analytics API serves ("top parameter cannot be more than 10000"). */
export const MAX_ANALYTICS_PAGE_SIZE = 10_000;
/**
 * The most a row of these queries can take on the wire: its fields are a date, the Store ID, the app's
 * name (at most 256 characters, 3 bytes each in UTF-8), a package version or name, an event type, two
 * counts and the undocumented fields the Store sends as null (about 600 bytes in all).
 */
const MAX_ANALYTICS_ROW_BYTES = 2_000;
/**
 * Rows asked for per page: the most whose page cannot pass the response cap (`MAX_RESPONSE_BYTES`, with
 * 16 KB for the envelope and `@nextLink`). A page of 10,000 rows (the Store's default) passes it: an app
 * with many package versions over a long window would fail on every run.
 */
const SAFE_ANALYTICS_PAGE_SIZE = Math.floor((MAX_RESPONSE_BYTES - 16_384) / MAX_ANALYTICS_ROW_BYTES);
/** 100 pages of 500 rows: 50,000 rows, far more than 72 hours × the versions of any app. */
const DEFAULT_MAX_PAGES = 100;
const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

const countSchema = z.number().check(z.gte(0));

const failureRowSchema = z.object({
  date: z.string(),
  packageVersion: z.nullish(z.string()),
  eventType: z.nullish(z.string()),
  deviceCount: z.nullish(countSchema),
  eventCount: z.nullish(countSchema),
});

const usageRowSchema = z.object({
  date: z.nullish(z.string()),
  packageVersion: z.nullish(z.string()),
  dailyActiveDevices: z.nullish(countSchema),
});

function pageSchema<R extends z.ZodMiniType>(row: R) {
  return z.object({
    Value: z.array(row),
    '@nextLink': z.nullish(z.string()),
    TotalCount: z.nullish(z.number().check(z.gte(0))),
  });
}

const failurePageSchema = pageSchema(failureRowSchema);
const usagePageSchema = pageSchema(usageRowSchema);

export interface AnalyticsReaderOptions {
  /** Rows asked for per page (`top`). @default `SAFE_ANALYTICS_PAGE_SIZE` (a page always fits the response cap) */
  readonly pageSize?: number;
  /** More pages than this is a bad answer (a runaway `TotalCount`). @default 100 */
  readonly maxPages?: number;
}

export interface TimeWindow {
  /** Inclusive, epoch milliseconds. */
  readonly startMs: number;
  /** Exclusive, epoch milliseconds. */
  readonly endMs: number;
}

/** The analytics the probe reads, as domain rows. Failures are `StoreApiError`s / `DeadlineExceededError`s. */
export interface AnalyticsReader {
  /**
   * Crash devices per package version and hour whose bucket starts inside the window (hourly data
   * exists for the previous 72 hours only). An empty list means the Store returned no rows.
   */
  getCrashHours(applicationId: string, window: TimeWindow, signal: AbortSignal): Promise<CrashHour[]>;
  /** Daily active devices per package version and day whose date falls inside the window. */
  getDailyUsage(applicationId: string, window: TimeWindow, signal: AbortSignal): Promise<DailyUsage[]>;
}

/** Creates the analytics reader over a Store client (e.g. `StoreAccess.client`). */
export function createAnalyticsReader(
  client: StoreClient,
  options: AnalyticsReaderOptions = {},
): AnalyticsReader {
  const pageSize = options.pageSize ?? SAFE_ANALYTICS_PAGE_SIZE;
  const maxPages = options.maxPages ?? DEFAULT_MAX_PAGES;
  if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > MAX_ANALYTICS_PAGE_SIZE)
    throw new RangeError(`analytics pageSize must be an integer from 1 to ${MAX_ANALYTICS_PAGE_SIZE}`);

  /** Every row of a query, page by page with `top`/`skip` until `skip >= TotalCount`. */
  const readAll = async <R extends z.ZodMiniType>(
    path: string,
    query: Record<string, string>,
    schema: z.ZodMiniType<{ Value: z.output<R>[]; TotalCount?: number | null | undefined }>,
    signal: AbortSignal,
  ): Promise<z.output<R>[]> => {
    const rows: z.output<R>[] = [];
    for (let skip = 0, page = 0; ; skip += pageSize, page++) {
      if (page >= maxPages) {
        throw createBadResponseError(`GET ${path}`, 200, `more than ${maxPages} pages of rows`);
      }
      const answer = await client.getResource(
        { path, query: { ...query, top: String(pageSize), skip: String(skip) }, schema },
        signal,
      );
      rows.push(...answer.Value);
      const total = answer.TotalCount ?? 0;
      // A short page is the last one whatever TotalCount says; an empty one cannot move forward.
      if (skip + pageSize >= total || answer.Value.length === 0) return rows;
    }
  };

  return {
    async getCrashHours(applicationId, window, signal) {
      const path = 'analytics/failurehits';
      const rows = await readAll<typeof failureRowSchema>(
        path,
        {
          applicationId: assertApplicationId(applicationId),
          aggregationLevel: 'hour',
          startDate: formatHour(window.startMs),
          endDate: formatHour(window.endMs),
          groupby: 'packageVersion,eventType',
          filter: "eventType eq 'crash'",
        },
        failurePageSchema,
        signal,
      );
      const hours: CrashHour[] = [];
      for (const row of rows) {
        if (row.eventType !== undefined && row.eventType !== null && row.eventType !== 'crash') continue;
        const hourStartMs = parseStoreDate(row.date);
        if (hourStartMs === undefined)
          throw createBadResponseError(
            `GET ${path}`,
            200,
            'a row has a date that is not yyyy-mm-dd[ hh:mm:ss]',
          );
        if (hourStartMs < window.startMs || hourStartMs >= window.endMs) continue;
        if (row.packageVersion === undefined || row.packageVersion === null) continue;
        hours.push({ hourStartMs, packageVersion: row.packageVersion, deviceCount: row.deviceCount ?? 0 });
      }
      return hours;
    },

    async getDailyUsage(applicationId, window, signal) {
      const path = 'analytics/usagedaily';
      const rows = await readAll<typeof usageRowSchema>(
        path,
        {
          applicationId: assertApplicationId(applicationId),
          startDate: formatDay(window.startMs),
          endDate: formatDay(window.endMs),
          groupby: 'date,packageVersion',
        },
        usagePageSchema,
        signal,
      );
      const days: DailyUsage[] = [];
      for (const row of rows) {
        // Fields that do not apply come back as null (e.g. Xbox has no packageVersion): not usage we can use.
        if (row.date === undefined || row.date === null) continue;
        if (row.packageVersion === undefined || row.packageVersion === null) continue;
        if (row.dailyActiveDevices === undefined || row.dailyActiveDevices === null) continue;
        const dayStartMs = parseStoreDate(row.date);
        if (dayStartMs === undefined)
          throw createBadResponseError(`GET ${path}`, 200, 'a row has a date that is not yyyy-mm-dd');
        if (dayStartMs < window.startMs - DAY_MS || dayStartMs >= window.endMs) continue;
        days.push({
          dayStartMs,
          packageVersion: row.packageVersion,
          dailyActiveDevices: row.dailyActiveDevices,
        });
      }
      return days;
    },
  };
}

/** `yyyy-mm-dd hh:mm:ss` in UTC (the hourly form; the buckets' timezone is undocumented, UTC assumed). */
function formatHour(ms: number): string {
  return new Date(ms).toISOString().slice(0, 19).replace('T', ' ');
}

/** `yyyy-mm-dd` in UTC. */
function formatDay(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

/** `yyyy-mm-dd` or `yyyy-mm-dd hh:mm:ss` (also with `T` or `/`) as UTC epoch ms; `undefined` otherwise. */
export function parseStoreDate(text: string): number | undefined {
  const match = /^(\d{4})[-/](\d{2})[-/](\d{2})(?:[ T](\d{2}):(\d{2})(?::(\d{2}))?)?$/.exec(text.trim());
  if (match === null) return undefined;
  const [, year, month, day, hour, minute, second] = match;
  const ms = Date.UTC(
    Number(year),
    Number(month) - 1,
    Number(day),
    Number(hour ?? 0),
    Number(minute ?? 0),
    Number(second ?? 0),
  );
  const check = new Date(ms);
  // Rejects 2026-02-30 and 25:00, which Date.UTC would roll over.
  if (check.getUTCDate() !== Number(day) || check.getUTCHours() !== Number(hour ?? 0)) return undefined;
  return ms;
}
