/** The token endpoint's answers, read: a token and its lifetime, or an error that says what went wrong. */
import { aadstsCodeOf, fixAssertionRefusal, type PresentedIdentity } from '../domain/federation.ts';
import { AuthError, type WatchdogError } from '../errors.ts';
import { deadlineExceeded } from '../http/deadline.ts';
import { classifyFailure } from '../http/transport.ts';
import { definedProps } from '../optional.ts';
import * as z from '../validation.ts';
import type { ClientCredentials } from './client-credentials.ts';

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

/** Codes of the `AuthError`s the token provider throws. */
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

/** Used when Azure AD does not say how long the token lives (StoreBroker assumes the same). */
const DEFAULT_LIFETIME_SECONDS = 59 * 60;

/** What no message about a sign-in may contain, and what a federated one presented. */
export interface SignInSecrets {
  /** The key or the assertion. */
  readonly hide: string;
  /** What a federated sign-in presented (for messages), `undefined` for a key. */
  readonly presented: PresentedIdentity | undefined;
}

/** The token and its lifetime from a 200 answer; an `AuthError` (`AUTH_BAD_RESPONSE`) when unreadable. */
export function parseTokenResponse(
  text: string,
  tenantId: string,
): { token: AccessToken; lifetimeMs: number } {
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

/** The `AuthError` for a token endpoint's refusal, with Azure AD's own code and description. */
export function createAuthErrorFromResponse(
  status: number,
  text: string,
  credentials: ClientCredentials,
  signIn: SignInSecrets,
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
    ...definedProps({ storeCode: code, storeMessage: description }),
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

/** The error for a token request that got no answer: out of time, timed out, or unreachable. */
export function createAuthErrorFromFailure(error: unknown, signal: AbortSignal, what: string): WatchdogError {
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
