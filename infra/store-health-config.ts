/**
 * The `storeHealth` part of the watchdog config (see docs/store-health.md): the top-level block and
 * each app's override (`apps[].storeHealth`: `false`, or a partial block), resolved per app.
 *
 * The probe publishes one data point per app per run, so its alarm's period is the schedule; the alarm
 * is named from the app's Store ID and listed among the app's alarms, halting (`action: "halt"`) or
 * notify-only (`action: "notify"`, the default until replay and a few rollouts have shown it right).
 * The package flights the app watches get their alarms too (`flightAlarms`), with the same action.
 */

import { ConfigurationError } from '../functions/commons/errors.ts';
import * as z from '../functions/commons/validation.ts';
import { MAX_WINDOW_HOURS } from '../functions/store-health/environment.ts';
import { STACK_NAME } from './stack-name.ts';

/** One day: CloudWatch's longest evaluation range (period × evaluation periods). */
const MAX_EVALUATION_RANGE_MINUTES = 1_440;

/** The defaults of the top-level block. */
export const STORE_HEALTH_DEFAULTS = {
  enabled: false,
  scheduleMinutes: 15,
  windowHours: 6,
  minCrashDevices: 5,
  minActiveDevices: 100,
  ratioThreshold: 3,
  evaluationPeriods: 2,
  action: 'notify',
} as const;

const fields = {
  /** Turn the Store health signal on for every app (an app may still say `false`). */
  enabled: z.boolean(),
  /** How often the probe runs and the alarm's period, in minutes (5 to 60). */
  scheduleMinutes: z.int().check(z.gte(5), z.lte(60)),
  /** The trailing window of hourly crash buckets (1 to 72 hours: hourly data covers 72 hours). */
  windowHours: z.int().check(z.gte(1), z.lte(MAX_WINDOW_HOURS)),
  /** Fewer rollout crash devices over the window is too little to judge. */
  minCrashDevices: z.number().check(z.gte(0)),
  /** Fewer rollout active devices (where usage is known) is too little to judge. */
  minActiveDevices: z.number().check(z.gte(0)),
  /** The alarm fires when the rollout's crash rate is more than this many times the fallback's. */
  ratioThreshold: z.number().check(z.gt(0)),
  /** Consecutive runs above the threshold before the alarm fires. */
  evaluationPeriods: z.int().check(z.gte(1)),
  /** `notify`: the alarm only tells people; `halt`: it halts the rollout like any watched alarm. */
  action: z.enum(['notify', 'halt']),
};

function checkRange(
  block: { scheduleMinutes?: number; evaluationPeriods?: number },
  ctx: z.core.$RefinementCtx,
) {
  const minutes = block.scheduleMinutes ?? STORE_HEALTH_DEFAULTS.scheduleMinutes;
  const periods = block.evaluationPeriods ?? STORE_HEALTH_DEFAULTS.evaluationPeriods;
  if (minutes * periods > MAX_EVALUATION_RANGE_MINUTES) {
    ctx.addIssue({
      code: 'custom',
      path: ['evaluationPeriods'],
      message: 'scheduleMinutes × evaluationPeriods must not exceed one day (1440 minutes)',
    });
  }
}

/** The top-level `storeHealth` block, defaults applied. */
export const storeHealthConfigSchema = z
  .strictObject({
    enabled: z._default(fields.enabled, STORE_HEALTH_DEFAULTS.enabled),
    scheduleMinutes: z._default(fields.scheduleMinutes, STORE_HEALTH_DEFAULTS.scheduleMinutes),
    windowHours: z._default(fields.windowHours, STORE_HEALTH_DEFAULTS.windowHours),
    minCrashDevices: z._default(fields.minCrashDevices, STORE_HEALTH_DEFAULTS.minCrashDevices),
    minActiveDevices: z._default(fields.minActiveDevices, STORE_HEALTH_DEFAULTS.minActiveDevices),
    ratioThreshold: z._default(fields.ratioThreshold, STORE_HEALTH_DEFAULTS.ratioThreshold),
    evaluationPeriods: z._default(fields.evaluationPeriods, STORE_HEALTH_DEFAULTS.evaluationPeriods),
    action: z._default(fields.action, STORE_HEALTH_DEFAULTS.action),
  })
  .check(z.superRefine(checkRange));

/** `apps[].storeHealth`: `false` turns it off for the app; a partial block overrides the top level (not the schedule). */
export const appStoreHealthSchema = z.union([
  z.literal(false),
  z.strictObject({
    enabled: z.optional(fields.enabled),
    windowHours: z.optional(fields.windowHours),
    minCrashDevices: z.optional(fields.minCrashDevices),
    minActiveDevices: z.optional(fields.minActiveDevices),
    ratioThreshold: z.optional(fields.ratioThreshold),
    evaluationPeriods: z.optional(fields.evaluationPeriods),
    action: z.optional(fields.action),
  }),
]);

export type StoreHealthConfig = z.output<typeof storeHealthConfigSchema>;
export type AppStoreHealth = z.output<typeof appStoreHealthSchema>;

/** The settings in effect for one app whose Store health signal is on. */
export interface ResolvedStoreHealth {
  readonly applicationId: string;
  readonly appName: string;
  readonly alarmName: string;
  readonly scheduleMinutes: number;
  readonly windowHours: number;
  readonly minCrashDevices: number;
  readonly minActiveDevices: number;
  readonly ratioThreshold: number;
  readonly evaluationPeriods: number;
  readonly action: 'notify' | 'halt';
  /**
   * The alarms on the package flights the app watches (`flights`), listed among the app's alarms like
   * the main one: one per listed flight (`flightId` set), or, for `"all"`, one over every flight of the
   * app (`flightId` absent; its flights are known only when the probe lists them).
   */
  readonly flightAlarms: readonly FlightAlarm[];
}

/** An alarm on a watched flight's `CrashRateRatio` (or, without `flightId`, on all of the app's flights). */
export interface FlightAlarm {
  readonly alarmName: string;
  readonly flightId?: string;
}

/**
 * The name of an app's Store health alarm: `<stack name>-store-health-<Store ID>` (after the config's
 * `alarmNamePrefix`, if any), so that two watchdog stacks in one account never share an alarm. The halt
 * path's notification quotes the name, so it says where the signal comes from.
 */
export function storeHealthAlarmName(
  applicationId: string,
  alarmNamePrefix = '',
  stackName: string = STACK_NAME,
): string {
  return `${alarmNamePrefix}${stackName}-store-health-${applicationId}`;
}

/**
 * The name of the Store health alarm on one watched flight of an app, or (with `"all"`) on every flight
 * of the app: `<stack name>-store-health-<Store ID>-flight-<flight ID>` or `…-flights`, after the
 * config's `alarmNamePrefix`, like the app's own.
 */
export function storeHealthFlightAlarmName(
  applicationId: string,
  flightId: string | 'all',
  alarmNamePrefix = '',
  stackName: string = STACK_NAME,
): string {
  const flight = flightId === 'all' ? 'flights' : `flight-${flightId.toLowerCase()}`;
  return `${storeHealthAlarmName(applicationId, alarmNamePrefix, stackName)}-${flight}`;
}

/**
 * The app's settings, or `undefined` when its Store health signal is off. With the config's
 * `alarmNamePrefix`, the alarm's name starts with it, so the prefix rule delivers it like any alarm.
 */
export function resolveStoreHealth(
  top: StoreHealthConfig | undefined,
  app: {
    readonly applicationId: string;
    readonly name?: string | undefined;
    readonly storeHealth?: AppStoreHealth | undefined;
    readonly flights?: 'all' | readonly string[] | undefined;
  },
  alarmNamePrefix?: string,
  stackName: string = STACK_NAME,
): ResolvedStoreHealth | undefined {
  const base = top ?? storeHealthConfigSchema.parse({});
  if (app.storeHealth === false) return undefined;
  const own = app.storeHealth ?? {};
  if (!(own.enabled ?? base.enabled)) return undefined;
  return {
    applicationId: app.applicationId,
    appName: app.name ?? app.applicationId,
    alarmName: storeHealthAlarmName(app.applicationId, alarmNamePrefix, stackName),
    scheduleMinutes: base.scheduleMinutes,
    windowHours: own.windowHours ?? base.windowHours,
    minCrashDevices: own.minCrashDevices ?? base.minCrashDevices,
    minActiveDevices: own.minActiveDevices ?? base.minActiveDevices,
    ratioThreshold: own.ratioThreshold ?? base.ratioThreshold,
    evaluationPeriods: own.evaluationPeriods ?? base.evaluationPeriods,
    action: own.action ?? base.action,
    flightAlarms:
      app.flights === undefined
        ? []
        : app.flights === 'all'
          ? [{ alarmName: storeHealthFlightAlarmName(app.applicationId, 'all', alarmNamePrefix, stackName) }]
          : app.flights.map((flightId) => ({
              alarmName: storeHealthFlightAlarmName(app.applicationId, flightId, alarmNamePrefix, stackName),
              flightId,
            })),
  };
}

/** `STORE_HEALTH_APP_SETTINGS` for the probe: each app's judgement settings. */
export function deriveProbeAppSettings(apps: readonly ResolvedStoreHealth[]): ProbeSettings {
  const settingsOf = (app: ResolvedStoreHealth) => ({
    windowHours: app.windowHours,
    minCrashDevices: app.minCrashDevices,
    minActiveDevices: app.minActiveDevices,
  });
  // The settings most apps share go into the probe's own variables; only the apps that differ are
  // listed, so a catalog of hundreds of apps with the top-level settings fits the Lambda environment.
  const counts = new Map<string, number>();
  for (const app of apps) {
    const key = JSON.stringify(settingsOf(app));
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  const [commonKey = '{}'] = [...counts.entries()].sort((a, b) => b[1] - a[1]).map(([key]) => key);
  const common = apps.map(settingsOf).find((settings) => JSON.stringify(settings) === commonKey);
  const overrides = Object.fromEntries(
    apps
      .filter((app) => JSON.stringify(settingsOf(app)) !== commonKey)
      .map((app) => [app.applicationId, settingsOf(app)]),
  );
  const appSettings = JSON.stringify(overrides);
  if (appSettings.length > MAX_PROBE_APP_SETTINGS_LENGTH) {
    throw new ConfigurationError(
      'INVALID_WATCHDOG_CONFIG',
      `invalid watchdog config: watchdog.apps[].storeHealth: ${Object.keys(overrides).length} apps have Store health settings of their own (windowHours, minCrashDevices, minActiveDevices), ${appSettings.length} characters, over the ${MAX_PROBE_APP_SETTINGS_LENGTH} that fit in the probe's environment; give most apps the top-level settings`,
    );
  }
  return {
    environment: {
      ...(common === undefined
        ? {}
        : {
            STORE_HEALTH_WINDOW_HOURS: String(common.windowHours),
            STORE_HEALTH_MIN_CRASH_DEVICES: String(common.minCrashDevices),
            STORE_HEALTH_MIN_ACTIVE_DEVICES: String(common.minActiveDevices),
          }),
      STORE_HEALTH_APP_SETTINGS: appSettings,
    },
  };
}

/** The probe's tuning variables, as the stack sets them. */
export interface ProbeSettings {
  readonly environment: Readonly<Record<string, string>>;
}

/** Room for per-app settings in the probe's environment (Lambda allows 4 KB for all variables). */
export const MAX_PROBE_APP_SETTINGS_LENGTH = 2_048;

/** Every app whose Store health signal is on, in config order (alarm names for the stack `stackName`). */
export function listStoreHealthApps(
  config: {
    readonly storeHealth?: StoreHealthConfig | undefined;
    readonly alarmNamePrefix?: string | undefined;
    readonly apps: readonly {
      readonly applicationId: string;
      readonly name?: string | undefined;
      readonly storeHealth?: AppStoreHealth | undefined;
      readonly flights?: 'all' | readonly string[] | undefined;
    }[];
  },
  stackName: string = STACK_NAME,
): ResolvedStoreHealth[] {
  return config.apps.flatMap((app) => {
    const resolved = resolveStoreHealth(config.storeHealth, app, config.alarmNamePrefix, stackName);
    return resolved === undefined ? [] : [resolved];
  });
}
