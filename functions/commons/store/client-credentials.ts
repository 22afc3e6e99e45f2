/** The Azure AD application's credentials as the token provider uses them. */
import type { AWS_FEDERATION } from '../domain/federation.ts';

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
