/**
 * The Store credentials from Secrets Manager: a key (`{"tenantId","clientId","clientSecret"}`) or
 * federation (`"credential": "aws-federation"`, docs/federated-credentials.md). Cached for `ttlMs`, each
 * read carrying the secret's `VersionId` so a rotated secret stops the old token (the Lambda contract
 * page). Malformed secrets are described by field name only, never by value.
 */
import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { AWS_FEDERATION } from '../domain/federation.ts';
import { ConfigurationError, WatchdogError } from '../errors.ts';
import { definedProps } from '../optional.ts';
import * as z from '../validation.ts';
import { awsErrorDetail, describeAwsFailure, httpStatusOf } from './aws-errors.ts';

/** Azure AD tenant: a GUID or a domain name. It goes into the token URL's path, so nothing else is allowed. */
const TENANT_ID_PATTERN =
  /^(?:[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}|[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}\.)+[A-Za-z]{2,63})$/;

const credentialsSchema = z.object({
  tenantId: z
    .string()
    .check(z.regex(TENANT_ID_PATTERN, 'must be the Azure AD tenant ID (a GUID) or its domain name')),
  clientId: z.string().check(z.minLength(1, 'must not be empty')),
  clientSecret: z.optional(z.string().check(z.minLength(1, 'must not be empty'))),
  credential: z.optional(z.literal(AWS_FEDERATION, `must be "${AWS_FEDERATION}"`)),
});

/** The shapes the secret may have, for messages. */
const SECRET_SHAPES = `{"tenantId","clientId","clientSecret"} or {"tenantId","clientId","credential":"${AWS_FEDERATION}"}`;

/** How the function signs in: with the key in the secret, or with its AWS identity (no key). */
export type CredentialMode = 'client-secret' | typeof AWS_FEDERATION;

/**
 * Credentials for the Azure AD client-credentials flow: a key, or `credential: "aws-federation"`.
 * Serializes and inspects without the secret.
 */
export class AzureAdCredentials {
  readonly tenantId: string;
  readonly clientId: string;
  /** `aws-federation` when the secret holds no key; absent for a key. */
  readonly credential: typeof AWS_FEDERATION | undefined;
  readonly #clientSecret: string | undefined;
  /**
   * The secret's version they were read from (Secrets Manager's `VersionId`), when known: a token is
   * only used with the version it was issued for, so a rotated secret stops the old token.
   */
  readonly versionId?: string;

  constructor(
    value:
      | { tenantId: string; clientId: string; clientSecret: string }
      | { tenantId: string; clientId: string; credential: typeof AWS_FEDERATION },
    versionId?: string,
  ) {
    this.tenantId = value.tenantId;
    this.clientId = value.clientId;
    this.credential = 'credential' in value ? value.credential : undefined;
    this.#clientSecret = 'clientSecret' in value ? value.clientSecret : undefined;
    if (versionId !== undefined) this.versionId = versionId;
  }

  get clientSecret(): string | undefined {
    return this.#clientSecret;
  }

  get mode(): CredentialMode {
    return this.credential ?? 'client-secret';
  }

  toJSON(): { tenantId: string; clientId: string; clientSecret?: string; credential?: string } {
    return {
      tenantId: this.tenantId,
      clientId: this.clientId,
      ...(this.credential === undefined ? { clientSecret: '[redacted]' } : { credential: this.credential }),
    };
  }

  [Symbol.for('nodejs.util.inspect.custom')](): string {
    const how =
      this.credential === undefined ? 'clientSecret: [redacted]' : `credential: '${this.credential}'`;
    return `AzureAdCredentials { tenantId: '${this.tenantId}', clientId: '${this.clientId}', ${how} }`;
  }
}

/**
 * Parses the secret's `SecretString`. Throws `ConfigurationError` (`SECRET_MALFORMED`) naming the
 * missing or malformed field, never a value.
 */
export function parseStoreCredentials(
  secretString: string | undefined,
  secretId: string,
  versionId?: string,
): AzureAdCredentials {
  if (secretString === undefined || secretString.trim() === '') {
    throw new ConfigurationError(
      'SECRET_EMPTY',
      `secret ${secretId} has no value yet: store ${SECRET_SHAPES} in it (see README, "Fill the secret", and docs/federated-credentials.md)`,
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(secretString);
  } catch {
    throw new ConfigurationError(
      'SECRET_MALFORMED',
      `secret ${secretId} is not JSON: expected ${SECRET_SHAPES}`,
    );
  }
  const parsed = credentialsSchema.safeParse(json);
  if (!parsed.success) {
    const present =
      typeof json === 'object' && json !== null ? new Set(Object.keys(json)) : new Set<string>();
    const fields = parsed.error.issues.map((issue) => {
      const field = issue.path.join('.');
      if (field === '') return 'the value must be a JSON object';
      if (!present.has(field)) return `the field ${field} is missing`;
      return `the field ${field} ${issue.code === 'invalid_type' ? 'must be a string' : issue.message}`;
    });
    throw new ConfigurationError('SECRET_MALFORMED', `secret ${secretId} is malformed: ${fields.join('; ')}`);
  }
  const { tenantId, clientId, clientSecret, credential } = parsed.data;
  if (clientSecret !== undefined && credential !== undefined) {
    throw new ConfigurationError(
      'SECRET_MALFORMED',
      `secret ${secretId} is malformed: it has both clientSecret and credential; keep clientSecret to sign in with the key, or credential ("${AWS_FEDERATION}") to sign in without one (then remove clientSecret)`,
    );
  }
  if (clientSecret !== undefined)
    return new AzureAdCredentials({ tenantId, clientId, clientSecret }, versionId);
  if (credential !== undefined) return new AzureAdCredentials({ tenantId, clientId, credential }, versionId);
  throw new ConfigurationError(
    'SECRET_MALFORMED',
    `secret ${secretId} is malformed: it has neither clientSecret nor credential; add clientSecret (the application's key) or "credential": "${AWS_FEDERATION}" (docs/federated-credentials.md)`,
  );
}

/** The AWS error names Secrets Manager uses, mapped to a clear watchdog error. */
function describeSecretsManagerError(error: unknown, secretId: string): WatchdogError {
  const name = error instanceof Error ? error.name : 'Unknown';
  // A 403 whose body the SDK could not read as Secrets Manager's JSON (an IAM denial from a proxy or an
  // emulator) is still a denial.
  const status = httpStatusOf(error);
  switch (status === 403 ? 'AccessDeniedException' : name) {
    case 'ResourceNotFoundException':
      return new ConfigurationError('SECRET_NOT_FOUND', `secret ${secretId} does not exist`, {
        cause: error,
      });
    case 'AccessDeniedException':
      return new ConfigurationError(
        'SECRET_ACCESS_DENIED',
        `not allowed to read secret ${secretId}${awsErrorDetail(error, 'secretsmanager:GetSecretValue on it')}`,
        { cause: error },
      );
    case 'DecryptionFailure':
      return new ConfigurationError('SECRET_DECRYPTION_FAILED', `cannot decrypt secret ${secretId}`, {
        cause: error,
      });
    case 'InvalidRequestException':
      return new ConfigurationError('SECRET_UNAVAILABLE', `secret ${secretId} cannot be read (${name})`, {
        cause: error,
      });
    default:
      return new WatchdogError(
        'upstream',
        'SECRET_READ_FAILED',
        describeAwsFailure(`reading secret ${secretId}`, error, 'secretsmanager:GetSecretValue on it'),
        {
          cause: error,
          retryable: true,
        },
      );
  }
}

export interface CredentialsSourceOptions {
  /** How long a read is trusted before the secret is read again. @default 300_000 (5 minutes) */
  readonly ttlMs?: number;
  /** Clock, for tests. @default Date.now */
  readonly now?: () => number;
}

/** Reads and caches the Store credentials. */
export interface CredentialsSource {
  /** The cached credentials, or a fresh read when none are cached or the cache is stale. */
  get(signal?: AbortSignal): Promise<AzureAdCredentials>;
  /**
   * Reads the secret again (once per rejected value: concurrent callers share one read) and reports
   * whether the value changed, so a caller knows if retrying with it can help.
   */
  refresh(signal?: AbortSignal): Promise<{ credentials: AzureAdCredentials; changed: boolean }>;
}

/** Creates a credentials source reading `secretId` with the given Secrets Manager client. */
export function createCredentialsSource(
  client: SecretsManagerClient,
  secretId: string,
  options: CredentialsSourceOptions = {},
): CredentialsSource {
  const ttlMs = options.ttlMs ?? 300_000;
  const now = options.now ?? Date.now;
  let cached: { credentials: AzureAdCredentials; versionId: string | undefined; readAt: number } | undefined;
  let inFlight: Promise<{ credentials: AzureAdCredentials; versionId: string | undefined }> | undefined;

  const read = (signal?: AbortSignal) => {
    inFlight ??= (async () => {
      try {
        const output = await client
          .send(new GetSecretValueCommand({ SecretId: secretId }), definedProps({ abortSignal: signal }))
          .catch((error: unknown) => {
            throw describeSecretsManagerError(error, secretId);
          });
        const credentials = parseStoreCredentials(output.SecretString, secretId, output.VersionId);
        cached = { credentials, versionId: output.VersionId, readAt: now() };
        return { credentials, versionId: output.VersionId };
      } finally {
        inFlight = undefined;
      }
    })();
    return inFlight;
  };

  return {
    async get(signal) {
      if (cached !== undefined && now() - cached.readAt < ttlMs) return cached.credentials;
      return (await read(signal)).credentials;
    },
    async refresh(signal) {
      const before = cached;
      const fresh = await read(signal);
      const changed =
        before === undefined ||
        fresh.versionId !== before.versionId ||
        fresh.credentials.clientId !== before.credentials.clientId ||
        fresh.credentials.clientSecret !== before.credentials.clientSecret ||
        fresh.credentials.credential !== before.credentials.credential ||
        fresh.credentials.tenantId !== before.credentials.tenantId;
      return { credentials: fresh.credentials, changed };
    },
  };
}
