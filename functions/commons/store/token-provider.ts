/**
 * Azure AD access tokens for the Store API, cached in memory and renewed early. One provider, two ways
 * for the application to prove who it is:
 * - its key: the v1 client-credentials flow [create-and-manage-submissions-using-windows-store-services.md];
 * - federated (`credential: "aws-federation"`): a web identity token AWS STS issued to the function's
 *   role, presented as the `client_assertion` of the v2 client-credentials flow
 *   (docs/federated-credentials.md).
 *
 * Neither the client secret, the assertion nor a token ever goes into an error message: messages name
 * the tenant, the client ID, the issuer and subject presented, the HTTP status and Azure AD's `error`
 * code and description only.
 */
import type { Dispatcher } from 'undici';
import {
  AWS_FEDERATION,
  aadstsCodeOf,
  fixAssertionRefusal,
  JWT_BEARER_ASSERTION_TYPE,
  type PresentedIdentity,
} from '../domain/federation.ts';
import { AuthError, ConfigurationError, type WatchdogError } from '../errors.ts';
import { deadlineExceeded } from '../http/deadline.ts';
import {
  type AttemptResult,
  DEFAULT_RETRY_POLICY,
  parseRetryAfter,
  REAL_RETRY_ENVIRONMENT,
  type RetryEnvironment,
  type RetryPolicy,
  runWithRetries,
} from '../http/retry.ts';
import { classifyFailure, readHeader, sendHttpRequest } from '../http/transport.ts';
import * as z from '../validation.ts';
import type { ClientAssertion } from './client-assertion.ts';

/** The `resource` the Store API tokens are issued for. */
export const STORE_API_RESOURCE = 'https://manage.devcenter.microsoft.com';

export { ClientAssertion } from './client-assertion.ts';

/** The v2 scope that stands for the Store API (the v1 `resource` plus `/.default`). */
export const STORE_API_SCOPE = `${STORE_API_RESOURCE}/.default`;

/**
 * The Azure AD application's credentials (Partner Center: tenant ID, client ID, and either its key or
 * `credential: "aws-federation"`).
 */
export interface ClientCredentials {
  readonly tenantId: string;
  readonly clientId: string;
  /** The application's key; absent when it signs in federated. */
  readonly clientSecret?: string | undefined;
  /** `aws-federation`: no key; the function presents an AWS web identity token instead. */
  readonly credential?: typeof AWS_FEDERATION | undefined;
  /** The version of the secret they come from, when known (see `sameCredentials`). */
  readonly versionId?: string;
}

/**
 * Whether a token issued for `issuedFor` may still be used while the credentials are `current`: the
 * same secret version (when both know theirs) and the same tenant, client, key and way of signing in.
 */
export function sameCredentials(issuedFor: ClientCredentials, current: ClientCredentials): boolean {
  return (
    issuedFor.versionId === current.versionId &&
    issuedFor.tenantId === current.tenantId &&
    issuedFor.clientId === current.clientId &&
    issuedFor.clientSecret === current.clientSecret &&
    issuedFor.credential === current.credential
  );
}

/** A bearer token and the tenant it was issued in. Logs and serializes without its value. */
export class AccessToken {
  readonly tenantId: string;
  readonly #value: string;

  constructor(value: string, tenantId: string) {
    this.#value = value;
    this.tenantId = tenantId;
  }

  /** The token itself, for the `Authorization` header only. */
  get value(): string {
    return this.#value;
  }

  toJSON(): { tenantId: string; value: string } {
    return { tenantId: this.tenantId, value: '[redacted]' };
  }

  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return `AccessToken { tenantId: '${this.tenantId}', value: [redacted] }`;
  }
}

export interface TokenProvider {
  /** A valid token: the cached one, or a new one (concurrent callers share one request). */
  getToken(signal: AbortSignal): Promise<AccessToken>;
  /** Forgets `token` if it is still the cached one (the Store answered 401 to it). */
  invalidate(token: AccessToken): void;
}

export interface TokenProviderOptions {
  /**
   * e.g. `https://login.microsoftonline.com`; the token URL is `{authority}/{tenantId}/oauth2/token`
   * (key) or `{authority}/{tenantId}/oauth2/v2.0/token` (federated).
   */
  readonly authority: string;
  readonly dispatcher: Dispatcher;
  /** The current credentials (the Lambda reads them from Secrets Manager and caches them). */
  readonly getCredentials: (signal: AbortSignal) => Promise<ClientCredentials>;
  /**
   * Reads the credentials again after the token endpoint rejected them, in case the secret was
   * rotated; the request is retried once when they `changed`. Without it, a rejection is final.
   */
  readonly refreshCredentials?: (
    signal: AbortSignal,
  ) => Promise<{ readonly credentials: ClientCredentials; readonly changed: boolean }>;
  /**
   * Obtains a fresh assertion of the function's identity (`GetWebIdentityToken`), for credentials that
   * say `credential: "aws-federation"`. Without it such credentials are a configuration error.
   */
  readonly getClientAssertion?: (signal: AbortSignal) => Promise<ClientAssertion>;
  /** Told about every rejection (for a log line or a metric), before any re-read. */
  readonly onCredentialsRejected?: (error: AuthError) => void;
  /** Renew this long before expiry (at most half the token's lifetime). @default 300_000 */
  readonly renewBeforeMs?: number;
  readonly retry?: Partial<RetryPolicy>;
  readonly environment?: Partial<RetryEnvironment>;
}

/** Codes of the `AuthError`s this module throws. */
export const AUTH_ERROR_CODES = {
  rejected: 'AUTH_REJECTED',
  throttled: 'AUTH_THROTTLED',
  unavailable: 'AUTH_UNAVAILABLE',
  failed: 'AUTH_FAILED',
  timeout: 'AUTH_TIMEOUT',
  network: 'AUTH_NETWORK',
  badResponse: 'AUTH_BAD_RESPONSE',
} as const;

/** Azure AD v1 returns `expires_in` as a string of digits, v2 as a number. */
const tokenResponseSchema = z.object({
  access_token: z.string().check(z.minLength(1)),
  token_type: z.optional(z.string()),
  expires_in: z.optional(
    z.union([
      z.number().check(z.positive()),
      z.pipe(z.string().check(z.regex(/^\d+$/)), z.transform(Number)),
    ]),
  ),
});

const azureErrorSchema = z.object({
  error: z.optional(z.string()),
  error_description: z.optional(z.string()),
});

/** A token request's endpoint below the tenant and its form, and what no message may contain. */
interface SignIn {
  /** `oauth2/token` (v1, key) or `oauth2/v2.0/token` (v2, assertion). */
  readonly endpoint: string;
  readonly form: Readonly<Record<string, string>>;
  /** The key or the assertion. */
  readonly hide: string;
  /** What a federated sign-in presented (for messages), `undefined` for a key. */
  readonly presented: PresentedIdentity | undefined;
}

/** Used when Azure AD does not say how long the token lives (StoreBroker assumes the same). */
const DEFAULT_LIFETIME_SECONDS = 59 * 60;

/** A token with when to renew it and the credentials it was issued for. */
interface CachedToken {
  readonly token: AccessToken;
  readonly renewAt: number;
  readonly issuedFor: ClientCredentials;
}

/** Creates a token provider. One per process: its cache is what makes warm invocations fast. */
export function createTokenProvider(options: TokenProviderOptions): TokenProvider {
  const policy: RetryPolicy = { ...DEFAULT_RETRY_POLICY, ...options.retry };
  const environment: RetryEnvironment = { ...REAL_RETRY_ENVIRONMENT, ...options.environment };
  const renewBeforeMs = options.renewBeforeMs ?? 300_000;
  const authority = options.authority.replace(/\/+$/, '');
  let cached: CachedToken | undefined;

  /** How this application proves who it is, as the token request's path and form. */
  const prepareSignIn = async (credentials: ClientCredentials, signal: AbortSignal): Promise<SignIn> => {
    if (credentials.credential === AWS_FEDERATION) {
      if (options.getClientAssertion === undefined) {
        throw new ConfigurationError(
          'FEDERATION_UNAVAILABLE',
          `the secret of client ${credentials.clientId} says "credential": "${AWS_FEDERATION}", but this program cannot obtain an AWS identity token: store the clientSecret instead`,
        );
      }
      const assertion = await options.getClientAssertion(signal);
      return {
        endpoint: 'oauth2/v2.0/token',
        form: {
          grant_type: 'client_credentials',
          client_id: credentials.clientId,
          client_assertion: assertion.value,
          client_assertion_type: JWT_BEARER_ASSERTION_TYPE,
          scope: STORE_API_SCOPE,
        },
        hide: assertion.value,
        presented: { issuer: assertion.issuer, subject: assertion.subject },
      };
    }
    if (credentials.clientSecret === undefined || credentials.clientSecret === '') {
      throw new ConfigurationError(
        'SECRET_MALFORMED',
        `the credentials of client ${credentials.clientId} have neither clientSecret nor "credential": "${AWS_FEDERATION}"`,
      );
    }
    return {
      endpoint: 'oauth2/token',
      form: {
        grant_type: 'client_credentials',
        client_id: credentials.clientId,
        client_secret: credentials.clientSecret,
        resource: STORE_API_RESOURCE,
      },
      hide: credentials.clientSecret,
      presented: undefined,
    };
  };

  const requestToken = async (credentials: ClientCredentials, signal: AbortSignal) => {
    const signIn = await prepareSignIn(credentials, signal);
    const what = `POST ${credentials.tenantId}/${signIn.endpoint}`;
    const url = new URL(`${authority}/${encodeURIComponent(credentials.tenantId)}/${signIn.endpoint}`);
    const body = new URLSearchParams(signIn.form).toString();
    const attempt = async (): Promise<AttemptResult<{ token: AccessToken; lifetimeMs: number }>> => {
      try {
        const response = await sendHttpRequest(options.dispatcher, {
          method: 'POST',
          url,
          headers: {
            'content-type': 'application/x-www-form-urlencoded; charset=utf-8',
            accept: 'application/json',
          },
          body,
          signal,
        });
        if (response.status === 200) {
          return { ok: true, value: parseTokenResponse(response.text, credentials.tenantId) };
        }
        const error = createAuthErrorFromResponse(response.status, response.text, credentials, signIn);
        const retryAfterMs = parseRetryAfter(readHeader(response.headers, 'Retry-After'), environment.now());
        return {
          ok: false,
          error,
          retryable: error.retryable,
          ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
        };
      } catch (caught) {
        if (caught instanceof AuthError) return { ok: false, error: caught, retryable: false };
        const error = createAuthErrorFromFailure(caught, signal, what);
        return { ok: false, error, retryable: error.retryable };
      }
    };
    return runWithRetries(attempt, { policy, environment, signal, what });
  };

  const fetchToken = async (signal: AbortSignal) => {
    const credentials = await options.getCredentials(signal);
    try {
      return { ...(await requestToken(credentials, signal)), issuedFor: credentials };
    } catch (error) {
      if (!(error instanceof AuthError) || error.code !== AUTH_ERROR_CODES.rejected) throw error;
      options.onCredentialsRejected?.(error);
      if (options.refreshCredentials === undefined) throw error;
      const refreshed = await options.refreshCredentials(signal);
      if (!refreshed.changed) throw error;
      return { ...(await requestToken(refreshed.credentials, signal)), issuedFor: refreshed.credentials };
    }
  };

  /**
   * Whether the cached token was issued for the credentials in effect now. The credentials source
   * answers from its cache and re-reads the secret when that is stale, so a rotated secret (a new
   * version) stops the old token within the source's cache time. A halt never waits for that re-read:
   * an answer not ready at once (Secrets Manager being asked) keeps the token for this call, and the
   * re-read, when it finds another version, drops the token for the calls after it. When the secret
   * cannot be read, the token is kept: it is still valid for Azure AD.
   */
  const stillCurrent = async (entry: CachedToken, signal: AbortSignal): Promise<boolean> => {
    const check = options.getCredentials(signal).then(
      (current) => {
        const same = sameCredentials(entry.issuedFor, current);
        if (!same && cached === entry) cached = undefined;
        return same;
      },
      () => true,
    );
    const notReadyYet = new Promise<boolean>((resolve) => setImmediate(() => resolve(true)));
    return Promise.race([check, notReadyYet]);
  };

  /** The token request under way, and the signal it runs under (its first caller's). */
  let inFlight: { readonly token: Promise<AccessToken>; readonly signal: AbortSignal } | undefined;

  const start = (signal: AbortSignal): { token: Promise<AccessToken>; signal: AbortSignal } => {
    if (inFlight !== undefined && !inFlight.signal.aborted) return inFlight;
    const request = {
      signal,
      token: fetchToken(signal)
        .then(({ token, lifetimeMs, issuedFor }) => {
          cached = {
            token,
            issuedFor,
            renewAt: environment.now() + lifetimeMs - Math.min(renewBeforeMs, lifetimeMs / 2),
          };
          return token;
        })
        .finally(() => {
          if (inFlight === request) inFlight = undefined;
        }),
    };
    inFlight = request;
    return request;
  };

  return {
    async getToken(signal) {
      const entry = cached;
      if (entry !== undefined && environment.now() < entry.renewAt) {
        if (await stillCurrent(entry, signal)) return entry.token;
        // The secret was rotated: the token of the old version is not used again.
        if (cached === entry) cached = undefined;
      }
      const shared = inFlight;
      if (shared !== undefined) {
        try {
          return await shared.token;
        } catch (error) {
          // The shared request ran under another caller's signal (the init-phase warm-up's, say). When
          // that caller gave up, this one still has time: ask again under its own signal.
          if (!shared.signal.aborted || signal.aborted) throw error;
        }
      }
      return start(signal).token;
    },
    invalidate(token) {
      if (cached?.token === token) cached = undefined;
    },
  };
}

function parseTokenResponse(text: string, tenantId: string): { token: AccessToken; lifetimeMs: number } {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new AuthError(
      AUTH_ERROR_CODES.badResponse,
      'the token endpoint answered 200 with a body that is not JSON',
      {
        status: 200,
      },
    );
  }
  const parsed = tokenResponseSchema.safeParse(json);
  if (!parsed.success) {
    const field = parsed.error.issues[0]?.path.map(String).join('.') ?? '(body)';
    throw new AuthError(
      AUTH_ERROR_CODES.badResponse,
      `the token endpoint answered 200 with an unexpected body: field ${field || '(body)'} is missing or malformed`,
      { status: 200 },
    );
  }
  const seconds = parsed.data.expires_in ?? DEFAULT_LIFETIME_SECONDS;
  return { token: new AccessToken(parsed.data.access_token, tenantId), lifetimeMs: seconds * 1000 };
}

/**
 * Keeps a text Azure AD sent (its `error` code or `error_description`) to its first line, short, and free
 * of the secret (Azure AD never echoes it, but be sure). The secret goes first, so that a cut cannot
 * leave part of it.
 */
function cleanAzureText(text: string, secret: string, maxLength: number): string {
  const redacted = secret === '' ? text : text.split(secret).join('[redacted]');
  return (redacted.split(/\r?\n/)[0] ?? '').slice(0, maxLength);
}

function createAuthErrorFromResponse(
  status: number,
  text: string,
  credentials: ClientCredentials,
  signIn: SignIn,
): AuthError {
  let body: z.infer<typeof azureErrorSchema> = {};
  try {
    const parsed = azureErrorSchema.safeParse(JSON.parse(text));
    if (parsed.success) body = parsed.data;
  } catch {
    // Not JSON: the status alone has to do.
  }
  const code = body.error === undefined ? undefined : cleanAzureText(body.error, signIn.hide, 100);
  const description =
    body.error_description === undefined
      ? undefined
      : cleanAzureText(body.error_description, signIn.hide, 300);
  const details = {
    status,
    ...(code === undefined ? {} : { storeCode: code }),
    ...(description === undefined ? {} : { storeMessage: description }),
  };
  const said = [code, description].filter((part) => part !== undefined).join(': ');
  const suffix = said === '' ? '' : ` (${said})`;
  if ((status === 400 || status === 401) && signIn.presented !== undefined) {
    const { issuer, subject } = signIn.presented;
    return new AuthError(
      AUTH_ERROR_CODES.rejected,
      `the token endpoint refused the AWS identity token of client ${credentials.clientId} in tenant ` +
        `${credentials.tenantId} (issuer ${issuer}, subject ${subject}): ${status}${suffix}`,
      details,
      { fix: fixAssertionRefusal(aadstsCodeOf(description), credentials, signIn.presented) },
    );
  }
  if (status === 400 || status === 401) {
    return new AuthError(
      AUTH_ERROR_CODES.rejected,
      `the token endpoint rejected the credentials of client ${credentials.clientId} in tenant ` +
        `${credentials.tenantId}: ${status}${suffix}`,
      details,
    );
  }
  if (status === 429) {
    return new AuthError(AUTH_ERROR_CODES.throttled, `the token endpoint answered 429${suffix}`, details, {
      retryable: true,
    });
  }
  if (status >= 500) {
    return new AuthError(
      AUTH_ERROR_CODES.unavailable,
      `the token endpoint answered ${status}${suffix}`,
      details,
      {
        retryable: true,
      },
    );
  }
  return new AuthError(AUTH_ERROR_CODES.failed, `the token endpoint answered ${status}${suffix}`, details);
}

function createAuthErrorFromFailure(error: unknown, signal: AbortSignal, what: string): WatchdogError {
  const failure = classifyFailure(error, signal);
  switch (failure.kind) {
    case 'deadline':
      return deadlineExceeded(what, error);
    case 'timeout':
      return new AuthError(
        AUTH_ERROR_CODES.timeout,
        `the token endpoint gave no answer in time (${failure.detail})`,
        {},
        {
          cause: error,
          retryable: true,
        },
      );
    case 'network':
      return new AuthError(
        AUTH_ERROR_CODES.network,
        `the token endpoint could not be reached (${failure.detail})`,
        {},
        { cause: error, retryable: failure.retryable },
      );
  }
}
