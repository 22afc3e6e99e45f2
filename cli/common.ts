/**
 * What the commands share: the common options, argument checks, the Store wiring (the Lambda's own
 * `createStoreAccess`) and the words for a rollout's state.
 */
import { safeError } from '../functions/commons/domain/decide.ts';
import { assertApplicationId, assertFlightId } from '../functions/commons/domain/ids.ts';
import type { RolloutLookup } from '../functions/commons/domain/ports.ts';
import { definedProps } from '../functions/commons/optional.ts';
import { createStoreAccess, type StoreAccess } from '../functions/commons/store/store-access.ts';
import { READER_THROTTLE } from '../functions/commons/store/throttle.ts';
import type { CliConfig, ConfigOptions } from './config.ts';
import { type CliCredentials, resolveCliCredentials } from './credentials.ts';
import { UsageError } from './io.ts';

/** The options every command takes. */
export const COMMON_OPTIONS = {
  config: { type: 'string' },
  'secret-id': { type: 'string' },
  'store-url': { type: 'string' },
  authority: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

export const COMMON_HELP = `Common options:
  --config FILE     the cdk.json whose "watchdog" context lists the apps (default: ./cdk.json,
                    or WATCHDOG_APPS when it is set)
  --secret-id ID    read the Store credentials from this Secrets Manager secret (default:
                    STORE_TENANT_ID, STORE_CLIENT_ID and STORE_CLIENT_SECRET, else STORE_CREDENTIALS_SECRET_ID)
  --store-url URL   the Store API base (default: STORE_API_BASE_URL, else Microsoft's)
  --authority URL   the Azure AD authority (default: AZURE_AD_AUTHORITY, else Microsoft's)
  -h, --help        show this help
`;

/** Runs `node:util` `parseArgs`; anything it rejects becomes a `UsageError` with the command's help. */
export function parseOrUsage<T>(parse: () => T, help: string): T {
  try {
    return parse();
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error), help);
  }
}

/** The common options as `loadCliConfig` and `resolveCliCredentials` take them. */
export function readCommonOptions(values: {
  readonly config?: string | undefined;
  readonly 'secret-id'?: string | undefined;
  readonly 'store-url'?: string | undefined;
  readonly authority?: string | undefined;
}): ConfigOptions & { readonly secretId?: string } {
  return {
    ...definedProps({
      configFile: values.config,
      storeUrl: values['store-url'],
      authority: values.authority,
      secretId: values['secret-id'],
    }),
  };
}

/** `--app ID`: required and well-formed, else a usage error. */
export function readAppId(value: string | undefined, help: string): string {
  if (value === undefined) throw new UsageError('--app ID is required', help);
  try {
    // Store IDs are upper case; a person may type them in any case.
    return assertApplicationId(value.toUpperCase());
  } catch {
    throw new UsageError(
      `--app: must be the app's Store ID, 12 letters and digits (e.g. 9NBLGGH4R315); got ${JSON.stringify(value)}`,
      help,
    );
  }
}

/** `--flight ID`: a GUID, else a usage error. */
export function readFlightId(value: string, help: string): string {
  try {
    return assertFlightId(value);
  } catch (error) {
    throw new UsageError(`--flight: ${safeError(error).message}`, help);
  }
}

/** The Lambda's Store wiring, pointed where the config says, with the chosen credentials. */
export function createCliStore(
  config: CliConfig,
  credentials: CliCredentials,
  options: { readonly reader?: boolean } = {},
): StoreAccess {
  const { refresh, getClientAssertion } = credentials;
  return createStoreAccess({
    baseUrl: config.storeApiBaseUrl,
    authority: config.azureAdAuthority,
    getCredentials: (signal) => credentials.get(signal),
    ...(refresh === undefined ? {} : { refreshCredentials: (signal: AbortSignal) => refresh(signal) }),
    ...(getClientAssertion === undefined
      ? {}
      : { getClientAssertion: (signal: AbortSignal) => getClientAssertion(signal) }),
    // A reader that never halts keeps to half the tenant's budget, leaving the rest to the stack's halts.
    ...(options.reader === true ? { throttle: READER_THROTTLE } : {}),
  });
}

/**
 * The credentials, read once up front so that a missing or unreadable secret is one clear error before
 * any Store call (rather than the same failure on every rollout), and the Store wiring over them.
 */
export async function openCliStore(
  config: CliConfig,
  options: { readonly secretId?: string },
  env: Readonly<Record<string, string | undefined>>,
  signal: AbortSignal,
  access: { readonly reader?: boolean } = {},
): Promise<{ readonly store: StoreAccess; readonly credentials: CliCredentials }> {
  const credentials = await resolveCliCredentials(
    {
      ...definedProps({ secretId: options.secretId, configSecretId: config.configSecretId }),
    },
    env,
  );
  try {
    await credentials.get(signal);
  } catch (error) {
    credentials.close();
    throw error;
  }
  return { store: createCliStore(config, credentials, access), credentials };
}

/** Closes the keep-alive connections and the AWS client, so the process can end. */
export async function closeCliStore(store: StoreAccess, credentials: CliCredentials): Promise<void> {
  credentials.close();
  await store.dispatcher.close();
}

/**
 * `main rollout`, `package flight {id}`, or `package flights` for a failure to list them. The Store
 * adapter examines an app's main rollout first (`index` 0), then its flights.
 */
export function describeTarget(target: { readonly flightId?: string | undefined }, index: number): string {
  if (target.flightId !== undefined) return `package flight ${target.flightId}`;
  return index === 0 ? 'main rollout' : 'package flights';
}

/** A rollout's state in a few words, e.g. `IN PROGRESS at 20%, submission 1152…, fallback 1152…`. */
export function describeLookup(lookup: RolloutLookup): string {
  switch (lookup.state) {
    case 'in-progress':
      return (
        `IN PROGRESS at ${formatPercent(lookup.rollout.packageRolloutPercentage)}, submission ${lookup.ref.submissionId}` +
        `, fallback ${lookup.rollout.fallbackSubmissionId}`
      );
    case 'stopped':
      return `HALTED, submission ${lookup.ref.submissionId}, fallback ${lookup.rollout.fallbackSubmissionId}`;
    case 'none':
      return `no active rollout: ${lookup.reason}`;
    case 'failed': {
      const { code, message } = safeError(lookup.error);
      return `COULD NOT READ: ${code}: ${message}`;
    }
  }
}

/** The target a lookup is about (`flightId` is absent for the main rollout). */
export function lookupTarget(lookup: RolloutLookup): { readonly flightId?: string } {
  const flightId =
    lookup.state === 'in-progress' || lookup.state === 'stopped' ? lookup.ref.flightId : lookup.flightId;
  return definedProps({ flightId });
}

export function formatPercent(percentage: number): string {
  return `${Number.isInteger(percentage) ? percentage : Number(percentage.toFixed(2))}%`;
}
