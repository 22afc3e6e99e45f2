/**
 * The simulated Azure AD token endpoints (client credentials): v1 with the key, and v2 with the key or
 * a federated client assertion, verified like Entra ID does (signature via the issuer's JWKS, then the
 * issuer, subject and audience against the application's federated credentials, then the expiry); and
 * the registry of tokens they issued. The secret is compared, never stored in a reply or echoed in an
 * error; an assertion is never echoed either.
 */
import { randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { decodeJwt, verifyJwtSignature } from './federation.ts';
import type { SimTenant, SimulatorState } from './types.ts';

/** The `resource` the Store API requires (create-and-manage-submissions-using-windows-store-services.md). */
export const STORE_RESOURCE = 'https://manage.devcenter.microsoft.com';
/** The v2 scope that stands for the Store API. */
export const STORE_SCOPE = `${STORE_RESOURCE}/.default`;
const JWT_BEARER = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
/** How much clock skew Entra ID tolerates on an assertion's `exp` and `nbf`. */
const ASSERTION_LEEWAY_SECONDS = 0;

export interface TokenReply {
  readonly status: number;
  readonly body: unknown;
}

interface IssuedToken {
  readonly tenantId: string;
  expiresAtMs: number;
}

/** The tokens issued so far and the tenant each belongs to. */
export class TokenRegistry {
  readonly #tokens = new Map<string, IssuedToken>();
  readonly #now: () => number;

  constructor(now: () => number = Date.now) {
    this.#now = now;
  }

  /** Issues a random opaque token for `tenantId` valid for `lifetimeSeconds`. */
  issue(tenantId: string, lifetimeSeconds: number): { readonly token: string; readonly expiresAtMs: number } {
    const token = randomBytes(32).toString('base64url');
    const expiresAtMs = this.#now() + lifetimeSeconds * 1000;
    this.#tokens.set(token, { tenantId, expiresAtMs });
    return { token, expiresAtMs };
  }

  /** The tenant a token was issued for, expired or not (the throttle counts per tenant), or `undefined`. */
  findTenant(token: string): string | undefined {
    return this.#tokens.get(token)?.tenantId;
  }

  /** The tenant of a token that is known and not expired, else `undefined`. */
  validate(token: string): string | undefined {
    const issued = this.#tokens.get(token);
    return issued !== undefined && this.#now() < issued.expiresAtMs ? issued.tenantId : undefined;
  }

  /** Every token issued so far (expired ones too), in issue order. */
  list(): string[] {
    return [...this.#tokens.keys()];
  }

  /** Every token issued so far expires now. */
  expireAll(): void {
    const now = this.#now();
    for (const issued of this.#tokens.values()) issued.expiresAtMs = Math.min(issued.expiresAtMs, now);
  }
}

/** An Azure AD v1 error body: `error`, `error_description` (AADSTS code first), plus the usual extras. */
function aadError(status: number, error: string, aadsts: number, description: string): TokenReply {
  return {
    status,
    body: {
      error,
      error_description: `AADSTS${aadsts}: ${description}\r\nTrace ID: ${randomUUID()}\r\nCorrelation ID: ${randomUUID()}\r\nTimestamp: ${new Date().toISOString()}`,
      error_codes: [aadsts],
      timestamp: new Date().toISOString(),
      trace_id: randomUUID(),
      correlation_id: randomUUID(),
    },
  };
}

function missingParameter(name: string): TokenReply {
  return aadError(
    400,
    'invalid_request',
    900144,
    `The request body must contain the following parameter: '${name}'.`,
  );
}

function sameSecret(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** Shows at most a short, printable piece of caller input in an error (never the secret). */
function quote(value: string): string {
  return value.replace(/[^\w.-]/g, '?').slice(0, 64);
}

/** An assertion's claim in an error, as Entra ID shows it (URLs and ARNs readable), short and printable. */
function quoteClaim(value: string): string {
  return value.replace(/[^\w.:/@=+,-]/g, '?').slice(0, 200);
}

/** The form field `name` must be `expected`: missing is AADSTS900144, another value `mismatch(value)`. */
function checkParameter(
  form: URLSearchParams,
  name: string,
  expected: string,
  mismatch: (value: string) => TokenReply,
): TokenReply | undefined {
  const value = form.get(name);
  if (value === null || value === '') return missingParameter(name);
  return value === expected ? undefined : mismatch(value);
}

/** Tenant, grant_type, client_id: the checks both endpoints start with. */
function checkClient(
  state: SimulatorState,
  tenantSegment: string,
  form: URLSearchParams,
): { readonly tenant: SimTenant; readonly clientId: string } | TokenReply {
  const tenant = state.tenants.find(
    (candidate) => candidate.tenantId.toLowerCase() === tenantSegment.toLowerCase(),
  );
  if (tenant === undefined) {
    return aadError(
      400,
      'invalid_request',
      90002,
      `Tenant '${quote(tenantSegment)}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.`,
    );
  }
  const badGrant = checkParameter(form, 'grant_type', 'client_credentials', () =>
    aadError(400, 'unsupported_grant_type', 70003, 'The app requested an unsupported grant type.'),
  );
  if (badGrant !== undefined) return badGrant;
  const clientId = form.get('client_id');
  if (clientId === null || clientId === '') return missingParameter('client_id');
  return { tenant, clientId };
}

function unknownApplication(clientId: string, tenant: SimTenant): TokenReply {
  return aadError(
    401,
    'invalid_client',
    700016,
    `Application with identifier '${quote(clientId)}' was not found in the directory '${tenant.tenantId}'.`,
  );
}

/** The key check, for both endpoints. */
function checkSecret(tenant: SimTenant, clientId: string, clientSecret: string): TokenReply | undefined {
  if (tenant.clientId !== clientId) return unknownApplication(clientId, tenant);
  if (tenant.clientSecret === undefined || !sameSecret(clientSecret, tenant.clientSecret)) {
    return aadError(
      401,
      'invalid_client',
      7000215,
      `Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '${tenant.clientId}'.`,
    );
  }
  return undefined;
}

/**
 * Checks a v1 token request. Order (like Azure AD): tenant, grant_type, client_id, client_secret, the
 * client and its secret, resource. Returns the tenant on success, the error reply otherwise.
 */
export function checkTokenRequest(
  state: SimulatorState,
  tenantSegment: string,
  form: URLSearchParams,
): { readonly tenant: SimTenant } | TokenReply {
  const client = checkClient(state, tenantSegment, form);
  if ('status' in client) return client;
  const { tenant, clientId } = client;
  const clientSecret = form.get('client_secret');
  if (clientSecret === null || clientSecret === '') {
    return aadError(
      401,
      'invalid_client',
      7000218,
      "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
    );
  }
  const refused = checkSecret(tenant, clientId, clientSecret);
  if (refused !== undefined) return refused;
  const badResource = checkParameter(form, 'resource', STORE_RESOURCE, (resource) =>
    aadError(
      400,
      'invalid_resource',
      500011,
      `The resource principal named ${quote(resource)} was not found in the tenant named ${tenant.tenantId}.`,
    ),
  );
  return badResource ?? { tenant };
}

/** What the v2 endpoint needs to verify an assertion: its clock and a way to read the issuer's keys. */
export interface AssertionVerifier {
  /** Entra ID's clock, in milliseconds. */
  readonly now: () => number;
  /** GETs a JSON document (the issuer's discovery and JWKS); `undefined` when it cannot be read. */
  readonly fetchJson: (url: string) => Promise<unknown>;
}

/**
 * Checks a v2 token request: tenant, grant_type, client_id, then the key or the assertion, then scope.
 * An assertion is checked in Entra ID's order: a JWT, the application, a federated credential for its
 * issuer, subject and audience, its signature (the issuer's JWKS), its time.
 */
export async function checkV2TokenRequest(
  state: SimulatorState,
  tenantSegment: string,
  form: URLSearchParams,
  verifier: AssertionVerifier,
): Promise<{ readonly tenant: SimTenant } | TokenReply> {
  const client = checkClient(state, tenantSegment, form);
  if ('status' in client) return client;
  const { tenant, clientId } = client;
  const assertion = form.get('client_assertion');
  const clientSecret = form.get('client_secret');
  if (assertion !== null && assertion !== '') {
    const refused = await checkAssertion(tenant, clientId, form, assertion, verifier);
    if (refused !== undefined) return refused;
  } else if (clientSecret !== null && clientSecret !== '') {
    const refused = checkSecret(tenant, clientId, clientSecret);
    if (refused !== undefined) return refused;
  } else {
    return aadError(
      401,
      'invalid_client',
      7000218,
      "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
    );
  }
  const badScope = checkParameter(form, 'scope', STORE_SCOPE, (scope) =>
    aadError(
      400,
      'invalid_scope',
      1002012,
      `The provided value for scope ${quote(scope)} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).`,
    ),
  );
  return badScope ?? { tenant };
}

async function checkAssertion(
  tenant: SimTenant,
  clientId: string,
  form: URLSearchParams,
  assertion: string,
  verifier: AssertionVerifier,
): Promise<TokenReply | undefined> {
  const badType = checkParameter(form, 'client_assertion_type', JWT_BEARER, () =>
    aadError(
      400,
      'invalid_request',
      50027,
      'Invalid client_assertion_type: only JWT bearer assertions are accepted.',
    ),
  );
  if (badType !== undefined) return badType;
  const jwt = decodeJwt(assertion);
  if (jwt === undefined) {
    return aadError(400, 'invalid_request', 50027, 'JWT token is invalid or malformed.');
  }
  if (tenant.clientId !== clientId) return unknownApplication(clientId, tenant);
  const { iss, sub, aud, exp, nbf } = jwt.claims;
  const issuer = typeof iss === 'string' ? iss : '';
  const subject = typeof sub === 'string' ? sub : '';
  const audiences = typeof aud === 'string' ? [aud] : Array.isArray(aud) ? aud.filter(isString) : [];
  const presented = `Assertion Issuer: '${quoteClaim(issuer)}'. Assertion Subject: '${quoteClaim(subject)}'. Assertion Audience: '${quoteClaim(audiences.join(','))}'.`;
  const credentials = tenant.federatedCredentials ?? [];
  if (credentials.length === 0) {
    return aadError(
      400,
      'invalid_client',
      70021,
      `No matching federated identity record found for presented assertion. ${presented}`,
    );
  }
  const forIssuer = credentials.filter((credential) => credential.issuer === issuer);
  if (forIssuer.length === 0) {
    return noMatchingRecord(700211, 'issuer', quoteClaim(issuer));
  }
  const forSubject = forIssuer.filter((credential) => credential.subject === subject);
  if (forSubject.length === 0) {
    return noMatchingRecord(700213, 'subject', quoteClaim(subject));
  }
  if (
    !forSubject.some((credential) => credential.audiences.some((audience) => audiences.includes(audience)))
  ) {
    return noMatchingRecord(700212, 'audience', quoteClaim(audiences.join(',')));
  }
  const discovery = await verifier.fetchJson(`${issuer}/.well-known/openid-configuration`);
  const jwksUri =
    typeof discovery === 'object' && discovery !== null && 'jwks_uri' in discovery
      ? discovery.jwks_uri
      : undefined;
  const jwks = typeof jwksUri === 'string' ? await verifier.fetchJson(jwksUri) : undefined;
  if (!verifyJwtSignature(jwt, jwks)) {
    return aadError(401, 'invalid_client', 700027, 'Client assertion failed signature validation.');
  }
  const nowSeconds = verifier.now() / 1000;
  const outOfTime =
    typeof exp !== 'number' ||
    nowSeconds > exp + ASSERTION_LEEWAY_SECONDS ||
    (typeof nbf === 'number' && nowSeconds < nbf - ASSERTION_LEEWAY_SECONDS);
  if (outOfTime) {
    return aadError(400, 'invalid_client', 700024, 'Client assertion is not within its valid time range.');
  }
  return undefined;
}

/** Entra ID's refusal of an assertion whose `claim` no federated credential of the application names. */
function noMatchingRecord(aadsts: number, claim: string, value: string): TokenReply {
  return aadError(
    400,
    'invalid_client',
    aadsts,
    `No matching federated identity record found for presented assertion ${claim} '${value}'. Please check your federated identity credential Subject, Audience and Issuer against the presented assertion.`,
  );
}

function isString(value: unknown): value is string {
  return typeof value === 'string';
}

/** The v2 success body: `expires_in` is a number. */
export function renderV2Token(token: string, lifetimeSeconds: number): TokenReply {
  return {
    status: 200,
    body: {
      token_type: 'Bearer',
      expires_in: lifetimeSeconds,
      ext_expires_in: lifetimeSeconds,
      access_token: token,
    },
  };
}

/**
 * The v1 success body. `expires_in`, `ext_expires_in`, `expires_on` and `not_before` are strings of
 * digits, as the v1 endpoint returns them.
 */
export function renderToken(
  token: string,
  lifetimeSeconds: number,
  expiresAtMs: number,
  nowMs: number,
): TokenReply {
  return {
    status: 200,
    body: {
      token_type: 'Bearer',
      expires_in: String(lifetimeSeconds),
      ext_expires_in: String(lifetimeSeconds),
      expires_on: String(Math.floor(expiresAtMs / 1000)),
      not_before: String(Math.floor(nowMs / 1000)),
      resource: STORE_RESOURCE,
      access_token: token,
    },
  };
}
