/**
 * The PagerDuty routing key (the Events API v2 integration key), read from Secrets Manager and cached
 * for a few minutes (`maxAgeMs`), so that a key replaced in the secret is used within that time. When
 * PagerDuty refuses the key ("Invalid routing key"), the secret is read again at once: a rotated key
 * is picked up by the very delivery that found the old one refused. The secret holds the key itself,
 * or JSON `{"routingKey": "..."}`. No error ever quotes the value.
 */
import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { ConfigurationError, WatchdogError } from '../commons/errors.ts';

/** Events API v2 integration keys are 32 letters and digits. */
const ROUTING_KEY_PATTERN = /^[A-Za-z0-9]{32}$/;

export interface RoutingKeySource {
  /** The cached key, or a fresh read when none is cached or it is older than `maxAgeMs`. */
  get(signal: AbortSignal): Promise<string>;
  /**
   * PagerDuty refused `key`: reads the secret again (unless a newer key is cached already) and says
   * whether the key changed, so the caller knows if sending again can help.
   */
  refused(key: string, signal: AbortSignal): Promise<{ readonly key: string; readonly changed: boolean }>;
}

export interface RoutingKeySourceOptions {
  /** How long a read is trusted before the secret is read again. @default 300_000 (5 minutes) */
  readonly maxAgeMs?: number;
  /** Clock, for tests. @default Date.now */
  readonly now?: () => number;
}

/** Parses the secret's value; throws `ConfigurationError` (`PAGER_SECRET_MALFORMED`) naming the secret only. */
export function parseRoutingKey(secretString: string | undefined, secretId: string): string {
  const expected = `secret ${secretId} must hold the 32-character PagerDuty Events API v2 integration key, or {"routingKey": "<key>"}`;
  let value = secretString?.trim() ?? '';
  if (value.startsWith('{')) {
    let json: unknown;
    try {
      json = JSON.parse(value);
    } catch {
      throw new ConfigurationError('PAGER_SECRET_MALFORMED', `${expected}; it is not valid JSON`);
    }
    const key =
      typeof json === 'object' && json !== null && 'routingKey' in json ? json.routingKey : undefined;
    if (typeof key !== 'string') {
      throw new ConfigurationError('PAGER_SECRET_MALFORMED', `${expected}; the field routingKey is missing`);
    }
    value = key.trim();
  }
  if (!ROUTING_KEY_PATTERN.test(value)) {
    throw new ConfigurationError('PAGER_SECRET_MALFORMED', `${expected}; the value is not such a key`);
  }
  return value;
}

export function createRoutingKeySource(
  client: SecretsManagerClient,
  secretId: string,
  options: RoutingKeySourceOptions = {},
): RoutingKeySource {
  const maxAgeMs = options.maxAgeMs ?? 300_000;
  const now = options.now ?? Date.now;
  let cached: { readonly key: string; readonly readAt: number } | undefined;
  const read = async (signal: AbortSignal): Promise<string> => {
    const output = await client
      .send(new GetSecretValueCommand({ SecretId: secretId }), { abortSignal: signal })
      .catch((error: unknown) => {
        const name = error instanceof Error ? error.name : 'Unknown';
        throw new WatchdogError(
          'upstream',
          'PAGER_SECRET_UNREADABLE',
          `reading secret ${secretId} failed (${name})`,
          {
            cause: error,
            retryable: true,
          },
        );
      });
    const key = parseRoutingKey(output.SecretString, secretId);
    cached = { key, readAt: now() };
    return key;
  };
  return {
    async get(signal) {
      if (cached !== undefined && now() - cached.readAt < maxAgeMs) return cached.key;
      return read(signal);
    },
    async refused(key, signal) {
      // Another delivery may have read the new key already.
      if (cached !== undefined && cached.key !== key) return { key: cached.key, changed: true };
      const fresh = await read(signal);
      return { key: fresh, changed: fresh !== key };
    },
  };
}
