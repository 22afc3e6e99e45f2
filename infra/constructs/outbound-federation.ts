/**
 * Federated Store credentials (docs/federated-credentials.md): the functions that call the Store sign
 * in to Entra ID with a web identity token that AWS STS issues to their role, so the secret holds no
 * key. This construct
 * - lets exactly those functions call `sts:GetWebIdentityToken`, and only for Entra ID's audience,
 *   RS256 and at most 300 s;
 * - switches IAM outbound identity federation on in the account (a custom resource that also reads the
 *   issuer), unless the config says `"enableInAccount": false` (then an administrator runs
 *   `aws iam enable-outbound-web-identity-federation` once);
 * - prints, as stack outputs, the issuer, each function's subject (its role's ARN) and the
 *   `az ad app federated-credential create` command for each.
 */
import { Aws, CfnOutput, CustomResource, Duration, Validations } from 'aws-cdk-lib';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import {
  ASSERTION_LIFETIME_SECONDS,
  ASSERTION_SIGNING_ALGORITHM,
  ENABLE_FEDERATION_COMMAND,
  ENTRA_TOKEN_EXCHANGE_AUDIENCE,
  federatedCredentialCommand,
} from '../../functions/commons/domain/federation.ts';
import { WatchdogFunction } from './watchdog-function.ts';

export const FEDERATION_SETUP_ENTRY = 'functions/federation-setup/handler.ts';

/** Where to read the issuer when the stack does not switch federation on itself. */
const READ_ISSUER_COMMAND =
  'aws iam get-outbound-web-identity-federation-info --query IssuerIdentifier --output text';

export interface OutboundFederationProps {
  /** Switch federation on from the stack (custom resource); else it must be on already. */
  readonly enableInAccount: boolean;
  /** The Entra ID application's client ID, for the commands. @default a `<clientId>` placeholder */
  readonly clientId?: string | undefined;
}

/** See the module comment. */
export class OutboundFederation extends Construct {
  /** The account's issuer (a deploy-time value), or `undefined` when the stack does not read it. */
  readonly issuer: string | undefined;
  /** The custom resource's function, when the stack switches federation on. */
  readonly setupFunction: WatchdogFunction | undefined;
  readonly #callers: { readonly name: string; readonly fn: WatchdogFunction }[] = [];
  readonly #clientId: string | undefined;

  constructor(scope: Construct, id: string, props: OutboundFederationProps) {
    super(scope, id);
    this.#clientId = props.clientId;
    if (!props.enableInAccount) {
      this.issuer = undefined;
      this.setupFunction = undefined;
      return;
    }
    const setup = new WatchdogFunction(this, 'Setup', {
      entry: FEDERATION_SETUP_ENTRY,
      description:
        'Store rollout watchdog: switches IAM outbound identity federation on in the account and reads its issuer (custom resource)',
      serviceName: 'store-rollout-watchdog-federation-setup',
      memorySize: 128,
      timeout: Duration.minutes(1),
      // CloudFormation waits for the answer; a retry of the same request would answer it twice.
      retryAttempts: 0,
    });
    setup.addToRolePolicy(
      new PolicyStatement({
        actions: ['iam:EnableOutboundWebIdentityFederation', 'iam:GetOutboundWebIdentityFederationInfo'],
        resources: ['*'],
      }),
    );
    Validations.of(setup.role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'iam:EnableOutboundWebIdentityFederation and iam:GetOutboundWebIdentityFederationInfo act on the account as a whole and have no resource-level permissions, nor have the X-Ray actions (xray:PutTraceSegments, xray:PutTelemetryRecords); AWS offers no narrower form.',
    });
    const resource = new CustomResource(this, 'Federation', {
      serviceToken: setup.function.functionArn,
      resourceType: 'Custom::OutboundWebIdentityFederation',
    });
    this.setupFunction = setup;
    this.issuer = resource.getAttString('Issuer');
  }

  /**
   * Lets `fn` ask STS for a web identity token for Entra ID only: audience `api://AzureADTokenExchange`,
   * RS256, at most 300 s. `name` labels its outputs (e.g. `HaltRollout`).
   */
  grantWebIdentityTo(name: string, fn: WatchdogFunction): void {
    fn.addToRolePolicy(
      new PolicyStatement({
        actions: ['sts:GetWebIdentityToken'],
        // The action has no resource types: what it may issue is bounded by the conditions.
        resources: ['*'],
        conditions: {
          'ForAllValues:StringEquals': { 'sts:IdentityTokenAudience': ENTRA_TOKEN_EXCHANGE_AUDIENCE },
          // ForAllValues alone would also allow a request with no audience at all.
          Null: { 'sts:IdentityTokenAudience': 'false', 'sts:DurationSeconds': 'false' },
          NumericLessThanEquals: { 'sts:DurationSeconds': ASSERTION_LIFETIME_SECONDS },
          StringEquals: { 'sts:SigningAlgorithm': ASSERTION_SIGNING_ALGORITHM },
        },
      }),
    );
    this.#callers.push({ name, fn });
  }

  /**
   * The outputs a user needs in Entra ID: the issuer, and for each function its subject and the
   * ready-to-run `az` command. Call once, after every `grantWebIdentityTo`.
   */
  addOutputs(scope: Construct): void {
    const issuer = this.issuer ?? `<the issuer: ${READ_ISSUER_COMMAND}>`;
    new CfnOutput(scope, 'FederationIssuer', {
      description:
        this.issuer === undefined
          ? `Outbound identity federation is not switched on by this stack: run ${ENABLE_FEDERATION_COMMAND} once, then read the issuer with the command shown`
          : "The account's outbound identity federation issuer (the issuer of each federated credential in Entra ID)",
      value: this.issuer ?? READ_ISSUER_COMMAND,
    });
    for (const { name, fn } of this.#callers) {
      new CfnOutput(scope, `${name}FederatedSubject`, {
        description: `The subject the ${name} function presents to Entra ID: its role's ARN`,
        value: fn.role.roleArn,
      });
      new CfnOutput(scope, `${name}FederatedCredentialCommand`, {
        description:
          this.#clientId === undefined
            ? `Run once (Azure CLI, signed in to the application's tenant) so Entra ID accepts the ${name} function; <clientId> is the application's client ID (or set "federation": {"clientId"} in the watchdog config)`
            : `Run once (Azure CLI, signed in to the application's tenant) so Entra ID accepts the ${name} function`,
        value: federatedCredentialCommand(
          { clientId: this.#clientId ?? '<clientId>' },
          { issuer, subject: fn.role.roleArn },
          `${Aws.STACK_NAME}-${name}`,
        ),
      });
    }
  }
}
