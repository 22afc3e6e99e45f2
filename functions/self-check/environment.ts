/**
 * The self-check's environment: the halt-rollout function's variables that it shares, parsed by the
 * same `parseEnvironment` (same rules, same messages). The self-check publishes nothing and halts
 * nothing, so `NOTIFICATION_TOPIC_ARN` and `DRY_RUN` are neither required nor read: whatever they hold
 * is replaced before parsing.
 */
import { parseEnvironment, type WatchdogConfig } from '../commons/config/env.ts';

/**
 * The `service` of the self-check's logs and metrics; the stack sets the same in
 * `POWERTOOLS_SERVICE_NAME`. Here, in a module without side effects, so the infrastructure can import it.
 */
export const SELF_CHECK_SERVICE_NAME = 'store-rollout-watchdog-self-check';

/** What the self-check reads from its environment. */
export type SelfCheckEnvironment = Pick<
  WatchdogConfig,
  'storeCredentialsSecretId' | 'apps' | 'storeApiBaseUrl' | 'azureAdAuthority'
>;

/** Stands in for the topic the self-check never publishes to, so `parseEnvironment` does not ask for it. */
const UNUSED_TOPIC = 'arn:aws:sns:none:000000000000:unused-by-the-self-check';

/**
 * Parses `STORE_CREDENTIALS_SECRET_ID`, `WATCHDOG_APPS`, `STORE_API_BASE_URL` and
 * `AZURE_AD_AUTHORITY`; throws the `ConfigurationError` of `parseEnvironment` naming each bad one.
 */
export function parseSelfCheckEnvironment(
  env: Readonly<Record<string, string | undefined>>,
): SelfCheckEnvironment {
  const config = parseEnvironment({ ...env, NOTIFICATION_TOPIC_ARN: UNUSED_TOPIC, DRY_RUN: undefined });
  return {
    storeCredentialsSecretId: config.storeCredentialsSecretId,
    apps: config.apps,
    storeApiBaseUrl: config.storeApiBaseUrl,
    azureAdAuthority: config.azureAdAuthority,
  };
}
