/**
 * The Lambda's environment, parsed once at start-up into a typed config (see the Lambda contract,
 * "Environment"). A missing or malformed variable is a `ConfigurationError` whose message names the
 * variable and what was expected; it never echoes a value that could be long or sensitive.
 */

import { type WatchedApp, watchedAppsSchema } from '../domain/watched-apps.ts';
import { DEFAULT_AZURE_AD_AUTHORITY, DEFAULT_STORE_BASE_URL } from '../endpoints.ts';
import { ConfigurationError } from '../errors.ts';
import { definedProps } from '../optional.ts';
import { formatIssues } from '../validation.ts';

/** Hosts that may be reached over plain `http://` (local runs and tests only). */
const LOOPBACK_HOSTS: ReadonlySet<string> = new Set(['127.0.0.1', 'localhost', '[::1]']);

/** The watchdog's settings, read from the Lambda environment (the stack's `watchdog` config becomes these variables). */
export interface WatchdogEnvironment {
  /** `STORE_CREDENTIALS_SECRET_ID`: Secrets Manager id or ARN of the Store credentials. */
  readonly storeCredentialsSecretId: string;
  /** `NOTIFICATION_TOPIC_ARN`: the SNS topic that receives every decision. */
  readonly notificationTopicArn: string;
  /** `WATCHDOG_APPS`, validated, defaults applied. */
  readonly apps: readonly WatchedApp[];
  /**
   * Alarm name → the apps that list it, in `alarmNames` or `notifyAlarmNames` (an alarm may watch several
   * apps), in `WATCHDOG_APPS` order.
   */
  readonly alarmIndex: ReadonlyMap<string, readonly WatchedApp[]>;
  /** `DRY_RUN`: decide and notify, never halt. @default false */
  readonly dryRun: boolean;
  /**
   * `STORE_API_BASE_URL`, always ending in `/` so relative paths resolve under it
   * (`new URL('applications/…', base)`). @default DEFAULT_STORE_BASE_URL (Microsoft's)
   */
  readonly storeApiBaseUrl: string;
  /**
   * `AZURE_AD_AUTHORITY`, without a trailing `/`: the token URL is `{authority}/{tenantId}/oauth2/token`.
   * @default DEFAULT_AZURE_AD_AUTHORITY
   */
  readonly azureAdAuthority: string;
  /** `DRILL_ALARM_NAME`: the drill alarm, whose transitions into ALARM are dry runs (contract "Drill"). */
  readonly drillAlarmName?: string;
}

type Env = Readonly<Record<string, string | undefined>>;

/**
 * The value of `WATCHDOG_APPS` that selects the app list built into the artifact at synth (contract v2),
 * for configs too large for the Lambda environment (4 KB for all variables).
 */
export const BUNDLED_APPS = 'bundled';

/**
 * The app list `cdk synth` builds into the artifact: a JSON string that esbuild's `inject` puts in place
 * of this global (see `infra/bundling.ts`). Absent when the sources run unbundled (tests, local runs)
 * or were bundled without a list.
 */
declare const __WATCHDOG_BUNDLED_APPS__: unknown;

/** What the artifact carries besides the environment. */
export interface BuiltInConfig {
  /** The bundled `WATCHDOG_APPS` JSON, or `undefined` when the artifact carries none. */
  readonly bundledApps: string | undefined;
}

/** The bundled app list of this artifact, if it was built with one. */
function readBuiltInConfig(): BuiltInConfig {
  return {
    bundledApps: typeof __WATCHDOG_BUNDLED_APPS__ === 'string' ? __WATCHDOG_BUNDLED_APPS__ : undefined,
  };
}

/**
 * Parses the Lambda environment. Every problem is reported at once, one `VARIABLE: what is wrong`
 * clause each, in a single `ConfigurationError` with code `INVALID_ENVIRONMENT`.
 *
 * An empty (or blank) optional variable counts as unset, so a stack may pass `DRY_RUN: ''`.
 * `WATCHDOG_APPS=bundled` reads the list `builtIn` carries (by default the artifact's own), checked
 * with the same schema as a list in the variable.
 */
export function parseEnvironment(
  env: Env,
  builtIn: BuiltInConfig = readBuiltInConfig(),
): WatchdogEnvironment {
  const problems: string[] = [];
  const collect = <T>(parse: () => T): T | undefined => {
    try {
      return parse();
    } catch (error) {
      if (!(error instanceof ConfigurationError)) throw error;
      problems.push(error.message);
      return undefined;
    }
  };

  const storeCredentialsSecretId = collect(() => readRequired(env, 'STORE_CREDENTIALS_SECRET_ID'));
  const notificationTopicArn = collect(() => readRequired(env, 'NOTIFICATION_TOPIC_ARN'));
  const apps = collect(() => parseAppsVariable(readRequired(env, 'WATCHDOG_APPS'), builtIn.bundledApps));
  const dryRun = collect(() => parseBoolean(env, 'DRY_RUN', false));
  const storeApiBaseUrl = collect(() =>
    withTrailingSlash(parseServiceUrl(env, 'STORE_API_BASE_URL', DEFAULT_STORE_BASE_URL)),
  );
  const azureAdAuthority = collect(() =>
    withoutTrailingSlash(parseServiceUrl(env, 'AZURE_AD_AUTHORITY', DEFAULT_AZURE_AD_AUTHORITY)),
  );
  const drillAlarmName = collect(() => parseDrillAlarmName(env));

  if (
    problems.length > 0 ||
    storeCredentialsSecretId === undefined ||
    notificationTopicArn === undefined ||
    apps === undefined ||
    dryRun === undefined ||
    storeApiBaseUrl === undefined ||
    azureAdAuthority === undefined
  ) {
    throw new ConfigurationError('INVALID_ENVIRONMENT', `Invalid environment: ${problems.join('; ')}`);
  }

  return {
    storeCredentialsSecretId,
    notificationTopicArn,
    apps,
    alarmIndex: indexAppsByAlarm(apps),
    dryRun,
    storeApiBaseUrl,
    azureAdAuthority,
    ...definedProps({ drillAlarmName }),
  };
}

/**
 * Alarm name → the apps that list it (halting or notify-only: target resolution tells them apart), in
 * the order of `apps`. An app that lists the same alarm twice appears once.
 */
export function indexAppsByAlarm(apps: readonly WatchedApp[]): ReadonlyMap<string, readonly WatchedApp[]> {
  const index = new Map<string, WatchedApp[]>();
  for (const app of apps) {
    for (const alarmName of new Set([...app.alarmNames, ...app.notifyAlarmNames])) {
      const listed = index.get(alarmName);
      if (listed === undefined) index.set(alarmName, [app]);
      else listed.push(app);
    }
  }
  return index;
}

function readOptional(env: Env, name: string): string | undefined {
  const value = env[name];
  return value === undefined || value.trim() === '' ? undefined : value.trim();
}

function readRequired(env: Env, name: string): string {
  const value = readOptional(env, name);
  if (value === undefined) throw new ConfigurationError('INVALID_ENVIRONMENT', `${name} is required`);
  return value;
}

/** `WATCHDOG_APPS`: a JSON list, or `bundled` for the list the artifact carries. */
function parseAppsVariable(value: string, bundledApps: string | undefined): WatchedApp[] {
  if (value !== BUNDLED_APPS) return parseWatchedApps(value, 'WATCHDOG_APPS');
  if (bundledApps === undefined) {
    throw new ConfigurationError(
      'INVALID_ENVIRONMENT',
      `WATCHDOG_APPS is "${BUNDLED_APPS}", but this artifact carries no bundled app list (only the artifact cdk synth builds from the watchdog config does): deploy that artifact, or set WATCHDOG_APPS to a JSON array of watched apps`,
    );
  }
  return parseWatchedApps(bundledApps, `WATCHDOG_APPS (${BUNDLED_APPS})`);
}

function parseWatchedApps(json: string, name: string): WatchedApp[] {
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch {
    // The SyntaxError's message quotes the input, so neither it nor the cause is passed on.
    throw new ConfigurationError(
      'INVALID_ENVIRONMENT',
      `${name} must be a JSON array of watched apps; it is not valid JSON (or "${BUNDLED_APPS}" for the list built into the artifact)`,
    );
  }
  const parsed = watchedAppsSchema.safeParse(raw);
  if (!parsed.success) {
    throw new ConfigurationError('INVALID_ENVIRONMENT', formatIssues(name, parsed.error));
  }
  return parsed.data;
}

/** CloudWatch alarm names are 1 to 255 characters. */
function parseDrillAlarmName(env: Env): string | undefined {
  const value = readOptional(env, 'DRILL_ALARM_NAME');
  if (value !== undefined && value.length > 255) {
    throw new ConfigurationError(
      'INVALID_ENVIRONMENT',
      'DRILL_ALARM_NAME must be a CloudWatch alarm name (at most 255 characters)',
    );
  }
  return value;
}

function parseBoolean(env: Env, name: string, fallback: boolean): boolean {
  const value = readOptional(env, name);
  if (value === undefined) return fallback;
  const lower = value.toLowerCase();
  if (lower === 'true') return true;
  if (lower === 'false') return false;
  throw new ConfigurationError('INVALID_ENVIRONMENT', `${name} must be "true" or "false" (any case)`);
}

/** An `https://` URL, or `http://` on a loopback host; never with credentials in it. */
function parseServiceUrl(env: Env, name: string, fallback: string): URL {
  const value = readOptional(env, name) ?? fallback;
  const expected = `${name} must be an https:// URL (http:// only for 127.0.0.1, localhost or [::1])`;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ConfigurationError('INVALID_ENVIRONMENT', `${expected}; it is not a URL`);
  }
  if (url.username !== '' || url.password !== '') {
    throw new ConfigurationError('INVALID_ENVIRONMENT', `${name} must not contain a user name or password`);
  }
  if (url.search !== '' || url.hash !== '') {
    throw new ConfigurationError('INVALID_ENVIRONMENT', `${name} must not have a query or a fragment`);
  }
  const loopback = LOOPBACK_HOSTS.has(url.hostname);
  if (url.protocol === 'https:' || (url.protocol === 'http:' && loopback)) return url;
  if (url.protocol === 'http:') {
    throw new ConfigurationError('INVALID_ENVIRONMENT', `${expected}; http:// is allowed only on loopback`);
  }
  throw new ConfigurationError('INVALID_ENVIRONMENT', `${expected}; got the scheme ${url.protocol}`);
}

function withTrailingSlash(url: URL): string {
  return url.href.endsWith('/') ? url.href : `${url.href}/`;
}

function withoutTrailingSlash(url: URL): string {
  return url.href.replace(/\/+$/, '');
}
