/**
 * The CLI's configuration: the watched apps from the stack's own config (the `watchdog` context of
 * `cdk.json`, checked with `infra/config.ts`) or from `WATCHDOG_APPS`, and the Store endpoints. Both end in
 * the Lambda's own environment parser, so the CLI accepts exactly what the deployed function would.
 */
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { parseEnvironment } from '../functions/commons/config/env.ts';
import type { WatchedApp } from '../functions/commons/domain/watched-apps.ts';
import { ConfigurationError } from '../functions/commons/errors.ts';
import { definedProps } from '../functions/commons/optional.ts';
import * as z from '../functions/commons/validation.ts';
import { deriveWatchedApps, parseWatchdogConfig, WATCHDOG_CONTEXT_KEY } from '../infra/config.ts';
import type { CliIo } from './io.ts';

/** What the commands need to know about the watchdog's configuration. */
export interface CliConfig {
  /** The watched apps, exactly as the deployed function reads them (`WATCHDOG_APPS`). */
  readonly apps: readonly WatchedApp[];
  /** The global dry run of the watchdog (`dryRun` in cdk.json, or `DRY_RUN`). */
  readonly dryRun: boolean;
  /** Where the apps came from, in words: `cdk.json (/path/cdk.json)` or `WATCHDOG_APPS`. */
  readonly source: string;
  readonly storeApiBaseUrl: string;
  readonly azureAdAuthority: string;
  /** The credentials secret the stack's config names (`watchdog.secret`), if it names one. */
  readonly configSecretId?: string;
}

export interface ConfigOptions {
  /** `--config FILE`: a cdk.json. */
  readonly configFile?: string;
  /** `--store-url`: overrides `STORE_API_BASE_URL`. */
  readonly storeUrl?: string;
  /** `--authority`: overrides `AZURE_AD_AUTHORITY`. */
  readonly authority?: string;
}

const cdkJsonSchema = z.object({ context: z.optional(z.record(z.string(), z.unknown())) });

/**
 * Loads the config: `--config FILE` first, then `WATCHDOG_APPS`, then `./cdk.json`. Throws
 * `ConfigurationError` naming the file, the variable or the field that is wrong.
 */
export async function loadCliConfig(options: ConfigOptions, io: CliIo): Promise<CliConfig> {
  const env = io.env;
  let appsJson: string | undefined;
  let dryRun: string | undefined;
  let source: string;
  let configSecretId: string | undefined;

  const fromEnv = env.WATCHDOG_APPS !== undefined && env.WATCHDOG_APPS.trim() !== '';
  if (options.configFile === undefined && fromEnv) {
    appsJson = env.WATCHDOG_APPS;
    dryRun = env.DRY_RUN;
    source = 'WATCHDOG_APPS';
  } else {
    const file = resolve(io.cwd ?? process.cwd(), options.configFile ?? 'cdk.json');
    const config = parseWatchdogConfig(await readWatchdogContext(file, options.configFile === undefined));
    appsJson = JSON.stringify(deriveWatchedApps(config));
    dryRun = String(config.dryRun);
    source = `cdk.json (${file})`;
    configSecretId = config.secret?.arn ?? config.secret?.name;
  }

  const parsed = parseEnvironment({
    // Not used by the CLI; the Lambda's parser requires them.
    STORE_CREDENTIALS_SECRET_ID: 'not-used-by-the-cli',
    NOTIFICATION_TOPIC_ARN: 'not-used-by-the-cli',
    WATCHDOG_APPS: appsJson,
    DRY_RUN: dryRun,
    STORE_API_BASE_URL: options.storeUrl ?? env.STORE_API_BASE_URL,
    AZURE_AD_AUTHORITY: options.authority ?? env.AZURE_AD_AUTHORITY,
  });
  return {
    apps: parsed.apps,
    dryRun: parsed.dryRun,
    source,
    storeApiBaseUrl: parsed.storeApiBaseUrl,
    azureAdAuthority: parsed.azureAdAuthority,
    ...definedProps({ configSecretId }),
  };
}

/** The `watchdog` context of a cdk.json, as written (an object, or a JSON string from `-c`). */
async function readWatchdogContext(file: string, isDefault: boolean): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    const code = error instanceof Error && 'code' in error ? String(error.code) : 'unreadable';
    throw new ConfigurationError(
      'CONFIG_UNREADABLE',
      isDefault
        ? `no watchdog config: ${file} cannot be read (${code}); run from the project folder, pass --config FILE, or set WATCHDOG_APPS`
        : `--config ${file} cannot be read (${code})`,
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new ConfigurationError('CONFIG_MALFORMED', `${file} is not JSON`);
  }
  const parsed = cdkJsonSchema.safeParse(json);
  const raw = parsed.success ? parsed.data.context?.[WATCHDOG_CONTEXT_KEY] : undefined;
  if (raw === undefined) {
    throw new ConfigurationError(
      'CONFIG_MALFORMED',
      `${file} has no context "${WATCHDOG_CONTEXT_KEY}" (the watchdog's config; see docs/configure.md)`,
    );
  }
  if (typeof raw !== 'string') return raw;
  try {
    return JSON.parse(raw);
  } catch {
    throw new ConfigurationError(
      'CONFIG_MALFORMED',
      `${file}: context "${WATCHDOG_CONTEXT_KEY}" is a string that is not JSON`,
    );
  }
}

/** The watched app with this ID, or a `ConfigurationError` that lists the watched ones. */
export function findWatchedApp(config: CliConfig, applicationId: string): WatchedApp {
  const app = config.apps.find((candidate) => candidate.applicationId === applicationId);
  if (app !== undefined) return app;
  const listed = config.apps.map((candidate) => describeApp(candidate)).join(', ');
  throw new ConfigurationError(
    'APP_NOT_WATCHED',
    `${applicationId} is not a watched app in ${config.source}; only watched apps can be halted ` +
      `(watched: ${listed}). Add an entry for it to "apps" in the watchdog config and deploy first.`,
  );
}

/** `Contoso Photos (9NBLGGH4R315)`, or the ID alone when the app has no name. */
export function describeApp(app: WatchedApp): string {
  return app.name === undefined ? app.applicationId : `${app.name} (${app.applicationId})`;
}
