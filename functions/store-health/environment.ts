/**
 * The probe's environment: the halt-rollout variables it shares (same `parseEnvironment`), plus
 * `STORE_HEALTH_WINDOW_HOURS` (6, 1 to 72), `STORE_HEALTH_MIN_CRASH_DEVICES` (5),
 * `STORE_HEALTH_MIN_ACTIVE_DEVICES` (100), `STORE_HEALTH_APP_SETTINGS` (per-app overrides,
 * `{"<Store ID>": {"windowHours": 12, ...}}`) and the optional `ROLLOUT_MEMORY_TABLE`. It never reads
 * `NOTIFICATION_TOPIC_ARN` or `DRY_RUN`: the probe notifies and halts nothing.
 */
import { parseEnvironment, type WatchdogEnvironment } from '../commons/config/env.ts';
import { parseStateTable } from '../commons/config/state-table.ts';
import { APPLICATION_ID_PATTERN } from '../commons/domain/ids.ts';
import { DEFAULT_STORE_HEALTH_SETTINGS, type StoreHealthSettings } from '../commons/domain/store-health.ts';
import { ConfigurationError } from '../commons/errors.ts';
import { definedProps } from '../commons/optional.ts';
import * as z from '../commons/validation.ts';
import { formatIssues } from '../commons/validation.ts';
import type { ProbedApp } from './probe.ts';

/** The `service` of the probe's logs; the stack sets the same in `POWERTOOLS_SERVICE_NAME`. */
export const STORE_HEALTH_SERVICE_NAME = 'store-rollout-watchdog-store-health';

export interface StoreHealthEnvironment
  extends Pick<WatchdogEnvironment, 'storeCredentialsSecretId' | 'storeApiBaseUrl' | 'azureAdAuthority'> {
  /** Every app of `WATCHDOG_APPS`, with its settings and the flights it watches. */
  readonly apps: readonly ProbedApp[];
  /** The state table (`ROLLOUT_MEMORY_TABLE`), when set. */
  readonly stateTable?: string;
}

const UNUSED_TOPIC = 'arn:aws:sns:none:000000000000:unused-by-the-store-health-probe';

/** Hourly data exists for the previous 72 hours only. */
export const MAX_WINDOW_HOURS = 72;

const storeHealthSettingsSchema = z.strictObject({
  windowHours: z.optional(z.int().check(z.gte(1), z.lte(MAX_WINDOW_HOURS))),
  minCrashDevices: z.optional(z.number().check(z.gte(0))),
  minActiveDevices: z.optional(z.number().check(z.gte(0))),
});
const appSettingsSchema = z.record(
  z.string().check(z.regex(APPLICATION_ID_PATTERN, 'must be a Store ID')),
  storeHealthSettingsSchema,
);

type Env = Readonly<Record<string, string | undefined>>;

/** Parses the environment; throws one `ConfigurationError` naming every bad variable. */
export function parseStoreHealthEnvironment(env: Env): StoreHealthEnvironment {
  const problems: string[] = [];
  let config: WatchdogEnvironment | undefined;
  try {
    config = parseEnvironment({ ...env, NOTIFICATION_TOPIC_ARN: UNUSED_TOPIC, DRY_RUN: undefined });
  } catch (error) {
    if (!(error instanceof ConfigurationError)) throw error;
    problems.push(error.message.replace(/^Invalid environment: /, ''));
  }
  const defaults: StoreHealthSettings = {
    windowHours: readNumber(
      env,
      'STORE_HEALTH_WINDOW_HOURS',
      DEFAULT_STORE_HEALTH_SETTINGS.windowHours,
      problems,
      {
        integer: true,
        min: 1,
        max: MAX_WINDOW_HOURS,
      },
    ),
    minCrashDevices: readNumber(
      env,
      'STORE_HEALTH_MIN_CRASH_DEVICES',
      DEFAULT_STORE_HEALTH_SETTINGS.minCrashDevices,
      problems,
      { min: 0 },
    ),
    minActiveDevices: readNumber(
      env,
      'STORE_HEALTH_MIN_ACTIVE_DEVICES',
      DEFAULT_STORE_HEALTH_SETTINGS.minActiveDevices,
      problems,
      { min: 0 },
    ),
  };
  const perApp = readAppSettings(env, problems);
  let stateTable: string | undefined;
  try {
    stateTable = parseStateTable(env);
  } catch (error) {
    if (!(error instanceof ConfigurationError)) throw error;
    problems.push(error.message.replace(/^Invalid environment: /, ''));
  }
  if (problems.length > 0 || config === undefined) {
    throw new ConfigurationError('INVALID_ENVIRONMENT', `Invalid environment: ${problems.join('; ')}`);
  }
  const apps = config.apps.map((app): ProbedApp => {
    const own = perApp[app.applicationId] ?? {};
    return {
      applicationId: app.applicationId,
      ...definedProps({ name: app.name, flights: app.flights }),
      settings: {
        windowHours: own.windowHours ?? defaults.windowHours,
        minCrashDevices: own.minCrashDevices ?? defaults.minCrashDevices,
        minActiveDevices: own.minActiveDevices ?? defaults.minActiveDevices,
      },
    };
  });
  return {
    storeCredentialsSecretId: config.storeCredentialsSecretId,
    storeApiBaseUrl: config.storeApiBaseUrl,
    azureAdAuthority: config.azureAdAuthority,
    apps,
    ...definedProps({ stateTable }),
  };
}

function readNumber(
  env: Env,
  name: string,
  fallback: number,
  problems: string[],
  rule: { readonly integer?: boolean; readonly min: number; readonly max?: number },
): number {
  const text = env[name]?.trim();
  if (text === undefined || text === '') return fallback;
  const value = Number(text);
  const ok =
    /^\d+(\.\d+)?$/.test(text) &&
    (rule.integer !== true || Number.isInteger(value)) &&
    value >= rule.min &&
    (rule.max === undefined || value <= rule.max);
  if (ok) return value;
  const kind = rule.integer === true ? 'an integer' : 'a number';
  const range = rule.max === undefined ? `of at least ${rule.min}` : `from ${rule.min} to ${rule.max}`;
  problems.push(`${name} must be ${kind} ${range}`);
  return fallback;
}

function readAppSettings(env: Env, problems: string[]): z.output<typeof appSettingsSchema> {
  const text = env.STORE_HEALTH_APP_SETTINGS?.trim();
  if (text === undefined || text === '') return {};
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    problems.push(
      'STORE_HEALTH_APP_SETTINGS must be a JSON object of per-app settings; it is not valid JSON',
    );
    return {};
  }
  const parsed = appSettingsSchema.safeParse(raw);
  if (!parsed.success) {
    problems.push(formatIssues('STORE_HEALTH_APP_SETTINGS', parsed.error));
    return {};
  }
  return parsed.data;
}
