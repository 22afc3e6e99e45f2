/**
 * The PagerDuty routing key (the Events API v2 integration key), read from Secrets Manager and cached for
 * the life of the container. The secret holds the key itself, or JSON `{"routingKey": "..."}`. No error
 * ever quotes the value.
 */
import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { ConfigurationError, WatchdogError } from '../commons/errors.ts';

/** Events API v2 integration keys are 32 letters and digits. */
const ROUTING_KEY_PATTERN = /^[A-Za-z0-9]{32}$/;

export interface RoutingKeySource {
  get(signal: AbortSignal): Promise<string>;
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

export function createRoutingKeySource(client: SecretsManagerClient, secretId: string): RoutingKeySource {
  let cached: string | undefined;
  return {
    async get(signal) {
      if (cached !== undefined) return cached;
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
      cached = parseRoutingKey(output.SecretString, secretId);
      return cached;
    },
  };
}
