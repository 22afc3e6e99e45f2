/**
 * The function's AWS identity as a signed token for Entra ID (IAM outbound identity federation): STS
 * `GetWebIdentityToken` with the audience Entra ID requires, RS256, for at most 300 s, at the SDK's
 * regional STS endpoint (`AWS_ENDPOINT_URL_STS` or `AWS_ENDPOINT_URL` point it at a local stand-in).
 *
 * The token is never logged and never put into a message: only its issuer and subject are read (without
 * verifying it; Entra ID does that), to tell the user what the function presented.
 */
import { GetWebIdentityTokenCommand, STSClient } from '@aws-sdk/client-sts';
import {
  ASSERTION_LIFETIME_SECONDS,
  ASSERTION_SIGNING_ALGORITHM,
  ENTRA_TOKEN_EXCHANGE_AUDIENCE,
  fixWebIdentityFailure,
  type PresentedIdentity,
  WEB_IDENTITY_ERROR_CODES,
} from '../domain/federation.ts';
import { ConfigurationError, DeadlineExceededError, WatchdogError } from '../errors.ts';
import { ClientAssertion } from '../store/client-assertion.ts';

/**
 * An STS client for the functions: the SDK's regional endpoint and standard configuration, a few
 * bounded attempts, and timeouts so that a stuck connection cannot eat the invocation.
 */
export function createStsClient(): STSClient {
  return new STSClient({
    maxAttempts: 3,
    requestHandler: { connectionTimeout: 2_000, requestTimeout: 5_000 },
  });
}

/** The issuer and subject of a JWT, read without verifying it; `undefined` when it is not a JWT. */
export function readPresentedIdentity(token: string): PresentedIdentity | undefined {
  const payload = token.split('.')[1];
  if (payload === undefined) return undefined;
  let claims: unknown;
  try {
    claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
  } catch {
    return undefined;
  }
  // Two string claims: read by hand (this module is loaded lazily, and stays out of zod's module graph).
  if (typeof claims !== 'object' || claims === null || !('iss' in claims) || !('sub' in claims))
    return undefined;
  const { iss, sub } = claims;
  return typeof iss === 'string' && iss !== '' && typeof sub === 'string' && sub !== ''
    ? { issuer: iss, subject: sub }
    : undefined;
}

/** Obtains a fresh assertion of the caller's AWS identity for Entra ID (`getClientAssertion`). */
export function createClientAssertionSource(
  sts: STSClient,
): (signal: AbortSignal) => Promise<ClientAssertion> {
  return async (signal) => {
    const output = await sts
      .send(
        new GetWebIdentityTokenCommand({
          Audience: [ENTRA_TOKEN_EXCHANGE_AUDIENCE],
          SigningAlgorithm: ASSERTION_SIGNING_ALGORITHM,
          DurationSeconds: ASSERTION_LIFETIME_SECONDS,
        }),
        { abortSignal: signal },
      )
      .catch((error: unknown) => {
        throw describeStsError(error, signal);
      });
    const token = output.WebIdentityToken ?? '';
    const presented = readPresentedIdentity(token);
    if (presented === undefined) {
      throw new WatchdogError(
        'upstream',
        WEB_IDENTITY_ERROR_CODES.failed,
        'AWS STS answered GetWebIdentityToken without a web identity token that has an issuer and a subject',
        { retryable: true },
      );
    }
    return new ClientAssertion(token, presented);
  };
}

/** A clear error for a failed `GetWebIdentityToken`, with what to do about it. */
function describeStsError(error: unknown, signal: AbortSignal): WatchdogError {
  if (signal.aborted) {
    return new DeadlineExceededError('the deadline passed while asking AWS STS for a web identity token', {
      cause: error,
    });
  }
  const name = error instanceof Error ? error.name : 'Unknown';
  if (name === 'OutboundWebIdentityFederationDisabledException') {
    return new ConfigurationError(
      WEB_IDENTITY_ERROR_CODES.disabled,
      'AWS STS will not issue a web identity token: outbound identity federation is switched off in this AWS account',
      { cause: error, fix: fixWebIdentityFailure(WEB_IDENTITY_ERROR_CODES.disabled) },
    );
  }
  if (name === 'AccessDenied' || name === 'AccessDeniedException') {
    return new ConfigurationError(
      WEB_IDENTITY_ERROR_CODES.denied,
      `this AWS identity may not call sts:GetWebIdentityToken (${name})`,
      { cause: error, fix: fixWebIdentityFailure(WEB_IDENTITY_ERROR_CODES.denied) },
    );
  }
  return new WatchdogError(
    'upstream',
    WEB_IDENTITY_ERROR_CODES.failed,
    `asking AWS STS for a web identity token failed (${name})`,
    { cause: error, retryable: true, fix: fixWebIdentityFailure(WEB_IDENTITY_ERROR_CODES.failed) },
  );
}
