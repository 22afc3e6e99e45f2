/**
 * The self-check's environment: the halt-rollout function's variables that it shares, parsed by the
 * same `parseEnvironment` (same rules, same messages). The self-check publishes nothing and halts
 * nothing, so `NOTIFICATION_TOPIC_ARN` and `DRY_RUN` are neither required nor read: whatever they hold
 * is replaced before parsing.
 */
import { parseEnvironment, type WatchdogEnvironment } from '../commons/config/env.ts';
import { ConfigurationError } from '../commons/errors.ts';
import type { SlicePlan } from './slices.ts';

/**
 * The `service` of the self-check's logs and metrics; the stack sets the same in
 * `POWERTOOLS_SERVICE_NAME`. Here, in a module without side effects, so the infrastructure can import it.
 */
export const SELF_CHECK_SERVICE_NAME = 'store-rollout-watchdog-self-check';

/** What the self-check reads from its environment. */
export type SelfCheckEnvironment = Pick<
  WatchdogEnvironment,
  'storeCredentialsSecretId' | 'apps' | 'storeApiBaseUrl' | 'azureAdAuthority'
> & {
  /**
   * `SELF_CHECK_SLICES` and `SELF_CHECK_PERIOD_MINUTES` (set by the stack, `./slices.ts`): a run reads
   * one slice of the apps. @default one slice: every app on every run
   */
  readonly slicePlan: SlicePlan;
};

/** Stands in for the topic the self-check never publishes to, so `parseEnvironment` does not ask for it. */
const UNUSED_TOPIC = 'arn:aws:sns:none:000000000000:unused-by-the-self-check';

/**
 * Parses `STORE_CREDENTIALS_SECRET_ID`, `WATCHDOG_APPS`, `STORE_API_BASE_URL` and
 * `AZURE_AD_AUTHORITY`; throws the `ConfigurationError` of `parseEnvironment` naming each bad one.
 */
export function parseSelfCheckEnvironment(
  env: Readonly<Record<string, string | undefined>>,
): SelfCheckEnvironment {
  const problems: string[] = [];
  let config: WatchdogEnvironment | undefined;
  try {
    config = parseEnvironment({ ...env, NOTIFICATION_TOPIC_ARN: UNUSED_TOPIC, DRY_RUN: undefined });
  } catch (error) {
    if (!(error instanceof ConfigurationError)) throw error;
    problems.push(error.message.replace(/^Invalid environment: /, ''));
  }
  const slices = readPositiveInteger(env, 'SELF_CHECK_SLICES', problems);
  const periodMinutes = readPositiveInteger(env, 'SELF_CHECK_PERIOD_MINUTES', problems);
  if (slices !== undefined && slices > 1 && periodMinutes === undefined) {
    problems.push('SELF_CHECK_PERIOD_MINUTES is required when SELF_CHECK_SLICES is more than 1');
  }
  if (config === undefined || problems.length > 0) {
    throw new ConfigurationError('INVALID_ENVIRONMENT', `Invalid environment: ${problems.join('; ')}`);
  }
  return {
    storeCredentialsSecretId: config.storeCredentialsSecretId,
    apps: config.apps,
    storeApiBaseUrl: config.storeApiBaseUrl,
    azureAdAuthority: config.azureAdAuthority,
    slicePlan: { slices: slices ?? 1, periodMinutes: periodMinutes ?? 1 },
  };
}

/** An optional whole number ≥ 1; a bad value is a problem naming the variable. */
function readPositiveInteger(
  env: Readonly<Record<string, string | undefined>>,
  name: string,
  problems: string[],
): number | undefined {
  const value = env[name]?.trim();
  if (value === undefined || value === '') return undefined;
  if (/^[1-9]\d{0,5}$/.test(value)) return Number(value);
  problems.push(`${name} must be a whole number from 1`);
  return undefined;
}
