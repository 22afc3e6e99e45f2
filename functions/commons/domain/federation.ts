/**
 * Federated Store credentials (docs/federated-credentials.md): the function signs in to Entra ID (Azure
 * AD) with a short-lived web identity token that AWS STS issues to its role, instead of a client secret.
 * Plain words and constants only: what each way of failing means and what the user does about it.
 */

/** The value of the secret's `credential` field that selects federation. */
export const AWS_FEDERATION = 'aws-federation';

/** The audience Entra ID requires in an external token (a federated identity credential's `audiences`). */
export const ENTRA_TOKEN_EXCHANGE_AUDIENCE = 'api://AzureADTokenExchange';

/** The only signing algorithm Entra ID accepts for a federated assertion. */
export const ASSERTION_SIGNING_ALGORITHM = 'RS256';

/** How long an STS web identity token may live: short, because it is exchanged at once. */
export const ASSERTION_LIFETIME_SECONDS = 300;

/** The form field that names the assertion's kind in the v2 client-credentials request. */
export const JWT_BEARER_ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

/** What the function presented: the claims Entra ID matches against its federated credentials. */
export interface PresentedIdentity {
  readonly issuer: string;
  readonly subject: string;
}

/** The Entra ID application the function signs in as. */
export interface FederatedApplication {
  readonly tenantId: string;
  readonly clientId: string;
}

/** The `az` command that creates the federated credential Entra ID must hold for `presented`. */
export function federatedCredentialCommand(
  application: Pick<FederatedApplication, 'clientId'>,
  presented: PresentedIdentity,
  name: string,
): string {
  const parameters = JSON.stringify({
    name,
    issuer: presented.issuer,
    subject: presented.subject,
    audiences: [ENTRA_TOKEN_EXCHANGE_AUDIENCE],
  });
  return `az ad app federated-credential create --id ${application.clientId} --parameters '${parameters}'`;
}

/** The `AADSTS` number at the start of an Entra ID `error_description`, if any. */
export function aadstsCodeOf(description: string | undefined): string | undefined {
  return /^AADSTS(\d+)/.exec(description ?? '')?.[1];
}

/**
 * What to do when Entra ID refused the function's assertion, by its `AADSTS` number: which claim did
 * not match, or why the token was not accepted.
 */
export function fixAssertionRefusal(
  aadsts: string | undefined,
  application: FederatedApplication,
  presented: PresentedIdentity,
): string {
  const create = federatedCredentialCommand(application, presented, 'store-watchdog');
  const where = `the application ${application.clientId} in tenant ${application.tenantId}`;
  switch (aadsts) {
    case '70021':
      return `Entra ID has no federated credential on ${where} for issuer ${presented.issuer} and subject ${presented.subject}: create it (${create}).`;
    case '700211':
      return `No federated credential on ${where} names the issuer ${presented.issuer} (the account's outbound federation issuer; the stack output FederationIssuer): correct its issuer, or create it (${create}).`;
    case '700213':
      return `The federated credentials on ${where} name another subject than the one presented, ${presented.subject} (a function's role ARN, or the AWS identity that runs the CLI): create one for it (${create}).`;
    case '700212':
      return `The federated credential on ${where} for ${presented.subject} must have the audience ${ENTRA_TOKEN_EXCHANGE_AUDIENCE} (and the function asks STS for exactly that): correct its audiences.`;
    case '700024':
      return `Entra ID found the AWS token outside its valid time: it lives ${ASSERTION_LIFETIME_SECONDS} s and is used at once, so a clock is wrong (the machine running this, if not Lambda) or the exchange was held up; run again, and if it persists check the clock.`;
    case '700027':
    case '50027':
      return `Entra ID could not verify the AWS token's signature with the keys the issuer ${presented.issuer} publishes (its /.well-known/openid-configuration): check that the federated credential's issuer is exactly the account's issuer.`;
    case '700016':
      return `There is no application ${application.clientId} in tenant ${application.tenantId}: correct clientId and tenantId in the secret.`;
    default:
      return `Check the federated credential on ${where}: issuer ${presented.issuer}, subject ${presented.subject}, audience ${ENTRA_TOKEN_EXCHANGE_AUDIENCE} (${create}).`;
  }
}

/** Codes of the errors of obtaining the AWS web identity token. */
export const WEB_IDENTITY_ERROR_CODES = {
  /** The account has not switched outbound identity federation on. */
  disabled: 'FEDERATION_DISABLED',
  /** The role may not call `sts:GetWebIdentityToken` with these parameters. */
  denied: 'WEB_IDENTITY_DENIED',
  /** STS failed or could not be reached. */
  failed: 'WEB_IDENTITY_FAILED',
} as const;

/** The one-time command that switches outbound identity federation on in an account. */
export const ENABLE_FEDERATION_COMMAND = 'aws iam enable-outbound-web-identity-federation';

/** What to do when STS would not issue the web identity token, by error code. */
export function fixWebIdentityFailure(code: string): string {
  switch (code) {
    case WEB_IDENTITY_ERROR_CODES.disabled:
      return `Switch outbound identity federation on in this account, once: run ${ENABLE_FEDERATION_COMMAND}, or deploy with "federation": {} in the watchdog config (cdk.json), which switches it on.`;
    case WEB_IDENTITY_ERROR_CODES.denied:
      return `Add "federation": {} to the watchdog config (cdk.json) and redeploy, so the function's role may call sts:GetWebIdentityToken (audience ${ENTRA_TOKEN_EXCHANGE_AUDIENCE}, at most ${ASSERTION_LIFETIME_SECONDS} s); if it is there already, a service control policy of your organization may forbid the call.`;
    default:
      return 'AWS STS failed or could not be reached (its regional endpoint); the next run retries. If it persists, check the STS service health.';
  }
}
