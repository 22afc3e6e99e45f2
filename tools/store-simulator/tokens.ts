/**
 * The simulated Azure AD v1 token endpoint (client credentials, Microsoft's "Create and manage submissions") and the registry of tokens
 * it issued. The secret is compared, never stored in a reply or echoed in an error.
 */
import { randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import type { SimTenant, SimulatorState } from './types.ts';

/** The `resource` the Store API requires (create-and-manage-submissions-using-windows-store-services.md). */
export const STORE_RESOURCE = 'https://manage.devcenter.microsoft.com';

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

/**
 * Checks a token request. Order (like Azure AD): tenant, grant_type, client_id, client_secret, the
 * client and its secret, resource. Returns the tenant on success, the error reply otherwise.
 */
export function checkTokenRequest(
  state: SimulatorState,
  tenantSegment: string,
  form: URLSearchParams,
): { readonly tenant: SimTenant } | TokenReply {
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
  const grantType = form.get('grant_type');
  if (grantType === null || grantType === '') return missingParameter('grant_type');
  if (grantType !== 'client_credentials') {
    return aadError(400, 'unsupported_grant_type', 70003, 'The app requested an unsupported grant type.');
  }
  const clientId = form.get('client_id');
  if (clientId === null || clientId === '') return missingParameter('client_id');
  const clientSecret = form.get('client_secret');
  if (clientSecret === null || clientSecret === '') {
    return aadError(
      401,
      'invalid_client',
      7000218,
      "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
    );
  }
  if (tenant.clientId !== clientId) {
    return aadError(
      401,
      'invalid_client',
      700016,
      `Application with identifier '${quote(clientId)}' was not found in the directory '${tenant.tenantId}'.`,
    );
  }
  if (!sameSecret(clientSecret, tenant.clientSecret)) {
    return aadError(
      401,
      'invalid_client',
      7000215,
      `Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '${tenant.clientId}'.`,
    );
  }
  const resource = form.get('resource');
  if (resource === null || resource === '') return missingParameter('resource');
  if (resource !== STORE_RESOURCE) {
    return aadError(
      400,
      'invalid_resource',
      500011,
      `The resource principal named ${quote(resource)} was not found in the tenant named ${tenant.tenantId}.`,
    );
  }
  return { tenant };
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
