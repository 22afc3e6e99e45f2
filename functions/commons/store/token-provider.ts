/**
 * Azure AD access tokens for the Store API, cached in memory and renewed early: with the application's
 * key (v1 client-credentials flow; Microsoft's "Create and manage submissions") or federated, with a
 * web identity token from AWS STS as the `client_assertion` (v2; docs/federated-credentials.md).
 * No secret, assertion or token ever goes into a message.
 */
import type { Dispatcher } from 'undici';
import { AWS_FEDERATION, JWT_BEARER_ASSERTION_TYPE } from '../domain/federation.ts';
import { AuthError, ConfigurationError } from '../errors.ts';
import {
  type AttemptResult,
  DEFAULT_RETRY_POLICY,
  parseRetryAfter,
  REAL_RETRY_ENVIRONMENT,
  type RetryEnvironment,
  type RetryPolicy,
  runWithRetries,
} from '../http/retry.ts';
import { readHeader, sendHttpRequest } from '../http/transport.ts';
import { definedProps } from '../optional.ts';
import type { ClientAssertion } from './client-assertion.ts';
import { type ClientCredentials, sameCredentials } from './client-credentials.ts';
import {
  type AccessToken,
  AUTH_ERROR_CODES,
  createAuthErrorFromFailure,
  createAuthErrorFromResponse,
  parseTokenResponse,
  type SignInSecrets,
} from './token-response.ts';

/** The `resource` the Store API tokens are issued for. */
const STORE_API_RESOURCE = 'https://manage.devcenter.microsoft.com';

export { ClientAssertion } from './client-assertion.ts';
export type { ClientCredentials } from './client-credentials.ts';
export { AccessToken, AUTH_ERROR_CODES } from './token-response.ts';

/** The v2 scope that stands for the Store API (the v1 `resource` plus `/.default`). */
const STORE_API_SCOPE = `${STORE_API_RESOURCE}/.default`;

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

/** A token request's endpoint below the tenant and its form, and what no message may contain. */
interface SignIn extends SignInSecrets {
  /** `oauth2/token` (v1, key) or `oauth2/v2.0/token` (v2, assertion). */
  readonly endpoint: string;
  readonly form: Readonly<Record<string, string>>;
}

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
          ...definedProps({ retryAfterMs }),
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
   * Whether the cached token was issued for the credentials in effect now (rotation: the Lambda contract
   * page). A halt never waits for a re-read of the secret: an answer not ready at once keeps the token
   * for this call; an unreadable secret keeps it too (it is still valid for Azure AD).
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
