/** The fix the self-check names for each failure, in the words of what the user sets and clicks. */
import { AWS_FEDERATION } from '../commons/domain/federation.ts';
import type { WatchedApp } from '../commons/domain/watched-apps.ts';

const FILL_SECRET = (secretId: string) =>
  `aws secretsmanager put-secret-value --secret-id ${secretId} --secret-string '{"tenantId":"...","clientId":"...","clientSecret":"..."}' (or, with no key, '{"tenantId":"...","clientId":"...","credential":"${AWS_FEDERATION}"}': docs/federated-credentials.md)`;

/** What to do when the Store credentials secret cannot be read or parsed (`code`: the error's). */
export function fixSecret(code: string, secretId: string): string {
  switch (code) {
    case 'SECRET_EMPTY':
    case 'SECRET_MALFORMED':
      return `Store the tenant ID, client ID and key of the Azure AD application (Partner Center, Account settings > Users) in the secret: ${FILL_SECRET(secretId)}`;
    case 'SECRET_NOT_FOUND':
      return 'Create the secret, or correct the secret in the watchdog config and redeploy.';
    case 'SECRET_ACCESS_DENIED':
    case 'SECRET_DECRYPTION_FAILED':
      return 'Redeploy the stack so the functions may read the secret; if a customer managed KMS key encrypts it, name the key in the watchdog config (secret.kmsKeyArn).';
    default:
      return 'Secrets Manager could not be read; the next run retries. If it persists, check the Secrets Manager service health.';
  }
}

/** What to do when no token could be obtained with the secret's credentials. */
export function fixToken(
  code: string,
  credentials: {
    readonly tenantId: string;
    readonly clientId: string;
    readonly credential?: string | undefined;
  },
  secretId: string,
): string {
  if (code === 'AUTH_REJECTED' && credentials.credential !== AWS_FEDERATION) {
    // Keys are made on the application's page (Microsoft's "Create and manage submissions").
    return (
      `Azure AD refused the key of client ${credentials.clientId}: it has probably expired or been deleted. ` +
      'In Partner Center (Account settings > Users > Azure AD applications) open the application, click "Add new key", ' +
      `and store the new key: aws secretsmanager put-secret-value --secret-id ${secretId} --secret-string ` +
      `'{"tenantId":"${credentials.tenantId}","clientId":"${credentials.clientId}","clientSecret":"<the new key>"}'. ` +
      'The halt-rollout function reads it again at its next rejection. ' +
      'A key has an expiry that this check finds only once it has passed: federated credentials have none (docs/federated-credentials.md).'
    );
  }
  return 'Azure AD could not be reached or failed; the next run retries. If it persists, check the network path to the Azure AD authority.';
}

/** What to do when an app (or one of its flights) could not be read from the Store. */
export function fixApp(
  code: string,
  app: WatchedApp,
  flightId: string | undefined,
  clientId: string,
): string {
  switch (code) {
    case 'STORE_NOT_FOUND':
      return flightId === undefined
        ? `Check the applicationId ${app.applicationId} in the watchdog config (Partner Center, Product identity: Store ID), and that the Azure AD application ${clientId} belongs to the Partner Center account that owns the app.`
        : `Flight ${flightId} does not exist any more: correct the app's flights in the watchdog config ("all" follows the flights that exist) and redeploy.`;
    case 'STORE_UNAUTHORIZED':
    case 'STORE_FORBIDDEN':
      return `Give the Azure AD application ${clientId} the Manager role in Partner Center (Account settings > Users).`;
    case 'STORE_CONFLICT':
      return 'The Store refuses API calls about this app (it uses a feature the submission API does not support): the watchdog cannot halt it. Halt its rollouts in Partner Center, or remove it from the watchdog config.';
    case 'STORE_THROTTLED':
    case 'STORE_BUDGET_EXHAUSTED':
    case 'DEADLINE_EXCEEDED':
      return "The Store API's request budget or the run's time ran out; the next run retries. If it persists, another client of the same Partner Center tenant may be spending its budget, or this run's apps watch more package flights than the self-check plans for (see docs/catalog.md).";
    default:
      return 'The Store API failed; the next run retries. A halt during an incident would meet the same error: if it persists, check the Store API status.';
  }
}
