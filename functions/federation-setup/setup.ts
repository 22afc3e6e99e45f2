/**
 * Switches IAM outbound identity federation on in the account, once, and reads its issuer: what the
 * stack's custom resource does on create and update (docs/federated-credentials.md). "Already on" is
 * fine. On delete it leaves the account as it is: other workloads of the account may use federation,
 * and switching it off is a decision for a person (`aws iam disable-outbound-web-identity-federation`).
 */
import {
  EnableOutboundWebIdentityFederationCommand,
  GetOutboundWebIdentityFederationInfoCommand,
  type IAMClient,
} from '@aws-sdk/client-iam';
import { ConfigurationError, WatchdogError } from '../commons/errors.ts';

/** What the custom resource hands to the stack (`Fn::GetAtt`). */
export interface FederationSetup {
  readonly issuer: string;
  /** Whether this call switched it on (else it was on already). */
  readonly switchedOn: boolean;
}

/** Switches federation on (if it is not) and returns the issuer. */
export async function switchOnFederation(iam: IAMClient, signal: AbortSignal): Promise<FederationSetup> {
  let switchedOn = true;
  try {
    await iam.send(new EnableOutboundWebIdentityFederationCommand({}), { abortSignal: signal });
  } catch (error) {
    if (!(error instanceof Error) || error.name !== 'FeatureEnabledException') throw describeIamError(error);
    switchedOn = false;
  }
  const info = await iam
    .send(new GetOutboundWebIdentityFederationInfoCommand({}), { abortSignal: signal })
    .catch((error: unknown) => {
      throw describeIamError(error);
    });
  const issuer = info.IssuerIdentifier ?? '';
  if (!/^https?:\/\//.test(issuer)) {
    throw new WatchdogError('upstream', 'FEDERATION_NO_ISSUER', "IAM did not say the account's issuer URL", {
      retryable: true,
    });
  }
  return { issuer, switchedOn };
}

function describeIamError(error: unknown): WatchdogError {
  const name = error instanceof Error ? error.name : 'Unknown';
  if (name === 'AccessDenied' || name === 'AccessDeniedException') {
    return new ConfigurationError(
      'FEDERATION_SETUP_DENIED',
      `not allowed to switch outbound identity federation on in this account (${name})`,
      {
        cause: error,
        fix: 'a policy of your organization forbids it: set "federation": {"enableInAccount": false} in the watchdog config and have an administrator run aws iam enable-outbound-web-identity-federation once',
      },
    );
  }
  return new WatchdogError('upstream', 'FEDERATION_SETUP_FAILED', `IAM failed (${name})`, {
    cause: error,
    retryable: true,
  });
}
