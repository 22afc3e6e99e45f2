/**
 * The Store credentials secret (`{"tenantId","clientId","clientSecret"}` of an Azure AD application with
 * the Manager role in Partner Center): an existing secret referenced by name or complete ARN, or an
 * empty one the stack creates for the operator to fill after the deploy.
 */
import { ArnFormat, Aws, RemovalPolicy, SecretValue, Stack, Validations } from 'aws-cdk-lib';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import type { WatchdogFunction } from './watchdog-function.ts';

/** The value of a created secret: the shape to fill in, with nothing that could pass for a credential. */
export const SECRET_TEMPLATE = '{"tenantId":"","clientId":"","clientSecret":""}';
/** The shape of a federated secret (docs/federated-credentials.md): no key at all. */
export const FEDERATED_SECRET_TEMPLATE = '{"tenantId":"","clientId":"","credential":"aws-federation"}';

/** An existing secret: exactly one of `name` or `arn`. */
export interface ExistingSecret {
  /** The secret's name (the ARN suffix is then unknown, so grants match it with `-??????`). */
  readonly name?: string | undefined;
  /** The secret's complete ARN, suffix included. */
  readonly arn?: string | undefined;
  /** The customer managed key that encrypts the secret. @default the AWS managed key (no grant needed) */
  readonly kmsKeyArn?: string | undefined;
}

export interface StoreCredentialsProps {
  /** The secret to use. @default the stack creates an empty secret */
  readonly existing?: ExistingSecret;
}

/** See the module comment. */
export class StoreCredentials extends Construct {
  /** What the function receives as `STORE_CREDENTIALS_SECRET_ID`: the name or ARN. */
  readonly secretId: string;
  /** The exact ARN (or `name-??????` pattern) that read access is granted on. */
  readonly secretArnForGrants: string;
  /** The secret the stack created, or `undefined` for an existing one. */
  readonly createdSecret: Secret | undefined;
  private readonly kmsKeyArn: string | undefined;
  private readonly byName: boolean;

  constructor(scope: Construct, id: string, props: StoreCredentialsProps = {}) {
    super(scope, id);
    const existing = props.existing;
    this.kmsKeyArn = existing?.kmsKeyArn;
    this.byName = false;
    if (existing?.arn !== undefined) {
      this.createdSecret = undefined;
      this.secretId = existing.arn;
      this.secretArnForGrants = existing.arn;
    } else if (existing?.name !== undefined) {
      this.createdSecret = undefined;
      this.secretId = existing.name;
      // A name alone gives only a partial ARN; `??????` matches the 6 characters Secrets Manager appends
      // and nothing longer, so the grant still names one secret.
      this.secretArnForGrants = Stack.of(this).formatArn({
        service: 'secretsmanager',
        resource: 'secret',
        resourceName: `${existing.name}-??????`,
        arnFormat: ArnFormat.COLON_RESOURCE_NAME,
      });
      this.byName = true;
    } else {
      const secret = new Secret(this, 'Secret', {
        description:
          'Store rollout watchdog: {"tenantId","clientId","clientSecret"} of the Azure AD application with the Manager role in Partner Center',
        secretStringValue: SecretValue.unsafePlainText(SECRET_TEMPLATE),
        // Removed with the stack: it holds only this watchdog's credentials (revoke the key in Azure AD too).
        removalPolicy: RemovalPolicy.DESTROY,
      });
      Validations.of(secret).acknowledge({
        id: 'AwsSolutions-SMG4',
        reason:
          'The value is an Azure AD client secret: it is rotated in Azure AD (Partner Center), then stored here with put-secret-value; Secrets Manager cannot rotate it.',
      });
      this.createdSecret = secret;
      this.secretId = secret.secretArn;
      this.secretArnForGrants = secret.secretArn;
    }
  }

  /**
   * Lets `fn` read exactly this secret (and decrypt it, when a customer managed key is configured), and
   * tells it which: `STORE_CREDENTIALS_SECRET_ID`.
   */
  grantReadTo(fn: WatchdogFunction): void {
    fn.addToRolePolicy(
      new PolicyStatement({
        actions: ['secretsmanager:GetSecretValue'],
        resources: [this.secretArnForGrants],
      }),
    );
    if (this.kmsKeyArn !== undefined) {
      fn.addToRolePolicy(
        new PolicyStatement({
          actions: ['kms:Decrypt'],
          resources: [this.kmsKeyArn],
          conditions: { StringEquals: { 'kms:ViaService': `secretsmanager.${Aws.REGION}.amazonaws.com` } },
        }),
      );
    }
    if (this.byName) {
      Validations.of(fn.role).acknowledge({
        id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:secretsmanager:<AWS::Region>:<AWS::AccountId>:secret:${this.secretId}-??????]`,
        reason:
          'The secret is configured by name, so its 6-character ARN suffix is unknown; "??????" matches exactly that suffix, hence one secret.',
      });
    }
    fn.addEnvironment('STORE_CREDENTIALS_SECRET_ID', this.secretId);
  }
}
