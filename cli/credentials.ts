/**
 * Where the CLI gets the Store credentials: `--secret-id`, then `STORE_TENANT_ID` / `STORE_CLIENT_ID` /
 * `STORE_CLIENT_SECRET`, then `STORE_CREDENTIALS_SECRET_ID`, then the secret the stack's config names.
 * A secret is read with the Lambda's own `createCredentialsSource` and the AWS SDK's standard
 * configuration (so `AWS_REGION`, `AWS_PROFILE` and `AWS_ENDPOINT_URL` apply). Nothing here ever puts the
 * client secret into a message.
 */
import { ConfigurationError } from '../functions/commons/errors.ts';
import type { ClientAssertion, ClientCredentials } from '../functions/commons/store/token-provider.ts';

/** The variables that carry the credentials themselves. */
export const CREDENTIAL_VARIABLES = ['STORE_TENANT_ID', 'STORE_CLIENT_ID', 'STORE_CLIENT_SECRET'] as const;

export interface CliCredentials {
  /** Where they come from, in words (never a value but the secret's id). */
  readonly origin: string;
  get(signal: AbortSignal): Promise<ClientCredentials>;
  /** Re-reads a secret after Azure AD rejected the cached value; absent for the environment. */
  refresh?(signal: AbortSignal): Promise<{ credentials: ClientCredentials; changed: boolean }>;
  /**
   * For a secret that says `"credential": "aws-federation"`: a web identity token of the AWS identity
   * running the CLI (STS `GetWebIdentityToken`, the SDK's standard configuration). Absent for the
   * environment.
   */
  getClientAssertion?(signal: AbortSignal): Promise<ClientAssertion>;
  /** Releases the AWS client, if any. */
  close(): void;
}

/**
 * Chooses the credentials source. Throws `ConfigurationError` (`NO_CREDENTIALS`,
 * `INCOMPLETE_CREDENTIALS`) when there is none or only part of the environment trio.
 */
export async function resolveCliCredentials(
  options: { readonly secretId?: string; readonly configSecretId?: string },
  env: Readonly<Record<string, string | undefined>>,
): Promise<CliCredentials> {
  if (options.secretId !== undefined) return readSecret(options.secretId, '--secret-id');

  const given = CREDENTIAL_VARIABLES.filter((name) => (env[name] ?? '').trim() !== '');
  if (given.length === CREDENTIAL_VARIABLES.length) {
    const credentials = {
      tenantId: (env.STORE_TENANT_ID ?? '').trim(),
      clientId: (env.STORE_CLIENT_ID ?? '').trim(),
      clientSecret: env.STORE_CLIENT_SECRET ?? '',
    };
    return {
      origin: `from ${CREDENTIAL_VARIABLES.join(', ')}`,
      get: async () => credentials,
      close: () => {},
    };
  }
  if (given.length > 0) {
    const missing = CREDENTIAL_VARIABLES.filter((name) => !given.includes(name));
    throw new ConfigurationError(
      'INCOMPLETE_CREDENTIALS',
      `${missing.join(' and ')} ${missing.length === 1 ? 'is' : 'are'} not set (${given.join(' and ')} ${given.length === 1 ? 'is' : 'are'}): ` +
        'set all three, or none and use a secret',
    );
  }

  const secretId = (env.STORE_CREDENTIALS_SECRET_ID ?? '').trim();
  if (secretId !== '') return readSecret(secretId, 'STORE_CREDENTIALS_SECRET_ID');
  if (options.configSecretId !== undefined)
    return readSecret(options.configSecretId, 'the config\'s "secret"');
  throw new ConfigurationError(
    'NO_CREDENTIALS',
    `no Store credentials: set ${CREDENTIAL_VARIABLES.join(', ')}, or name the Secrets Manager secret with ` +
      '--secret-id or STORE_CREDENTIALS_SECRET_ID',
  );
}

async function readSecret(secretId: string, named: string): Promise<CliCredentials> {
  // Loaded only when a secret is used: the SDK is the slowest import of the CLI.
  const [{ SecretsManagerClient }, { createCredentialsSource }, { lazyClientAssertionSource }] =
    await Promise.all([
      import('@aws-sdk/client-secrets-manager'),
      import('../functions/commons/aws/credentials.ts'),
      import('../functions/commons/aws/lazy-web-identity.ts'),
    ]);
  const client = new SecretsManagerClient({});
  const source = createCredentialsSource(client, secretId);
  // STS only when the secret is federated; loaded on first use.
  const assertions = lazyClientAssertionSource();
  return {
    origin: `from Secrets Manager secret ${secretId} (${named})`,
    get: (signal) => source.get(signal),
    refresh: (signal) => source.refresh(signal),
    getClientAssertion: (signal) => assertions(signal),
    close: () => {
      client.destroy();
      assertions.close();
    },
  };
}
