/**
 * The stack with federated Store credentials (`"federation"` in the watchdog config): the conditioned
 * `sts:GetWebIdentityToken` grant on exactly the functions that call the Store, the custom resource that
 * switches outbound identity federation on, the outputs a user pastes into Entra ID, and the cdk-nag
 * gate. Without `"federation"` nothing of it exists.
 */
import type { App } from 'aws-cdk-lib';
import type { Template } from 'aws-cdk-lib/assertions';
import { CfnRole } from 'aws-cdk-lib/aws-iam';
import { beforeAll, describe, expect, it } from 'vitest';
import type { WatchdogFunction } from '../../infra/constructs/watchdog-function.ts';
import type { WatchdogStack } from '../../infra/watchdog-stack.ts';
import {
  actionsOf,
  CDK_CONTEXT,
  nagFindings,
  statementsAllowing,
  statementsOf,
  synthesizeWatchdog,
} from './template-helpers.ts';

const shipped: Record<string, unknown> = { ...Object(CDK_CONTEXT.watchdog) };
const CLIENT_ID = '0b7d3f4e-2c1a-4e5f-9a8b-7c6d5e4f3a21';
const synthesize = synthesizeWatchdog;

/** The logical IDs of the roles whose policies allow `action`. */
function rolesAllowed(template: Template, action: string): string[] {
  return Object.values(template.findResources('AWS::IAM::Policy'))
    .filter((policy) =>
      statementsOf(policy.Properties?.PolicyDocument).some(
        (statement) => statement.Effect === 'Allow' && actionsOf(statement).includes(action),
      ),
    )
    .flatMap((policy): unknown[] => policy.Properties?.Roles ?? [])
    .map((role) =>
      typeof role === 'object' && role !== null && 'Ref' in role ? String(role.Ref) : String(role),
    )
    .sort();
}

function roleId(stack: WatchdogStack, fn: WatchdogFunction): string {
  const role = fn.role.node.defaultChild;
  if (!(role instanceof CfnRole)) throw new Error(`${fn.node.path} has no CfnRole`);
  return stack.getLogicalId(role);
}

const EXPECTED_CONDITION = {
  'ForAllValues:StringEquals': { 'sts:IdentityTokenAudience': 'api://AzureADTokenExchange' },
  Null: { 'sts:IdentityTokenAudience': 'false', 'sts:DurationSeconds': 'false' },
  NumericLessThanEquals: { 'sts:DurationSeconds': 300 },
  StringEquals: { 'sts:SigningAlgorithm': 'RS256' },
};

describe('the stack with federated Store credentials', () => {
  const config = { ...shipped, federation: { clientId: CLIENT_ID }, storeHealth: { enabled: true } };
  let app: App;
  let stack: WatchdogStack;
  let template: Template;

  beforeAll(() => {
    ({ app, stack, template } = synthesize({ ...config }));
  });

  it('has no unacknowledged cdk-nag finding (AwsSolutions and Serverless packs)', () => {
    expect(nagFindings(app)).toEqual([]);
  });

  it('lets exactly the three Store-calling functions ask STS, only for Entra ID, RS256 and at most 300 s', () => {
    expect(stack.storeHealth).toBeDefined();
    const callers = [stack.haltRollout, stack.selfCheck.function];
    if (stack.storeHealth !== undefined) callers.push(stack.storeHealth.function);
    expect(rolesAllowed(template, 'sts:GetWebIdentityToken')).toEqual(
      callers.map((fn) => roleId(stack, fn)).sort(),
    );
    const statements = statementsAllowing(template, 'sts:GetWebIdentityToken');
    expect(statements).toHaveLength(3);
    for (const statement of statements) {
      expect(statement).toEqual({
        Effect: 'Allow',
        Action: 'sts:GetWebIdentityToken',
        Resource: '*',
        Condition: EXPECTED_CONDITION,
      });
    }
  });

  it('switches federation on with a custom resource whose function may do only that', () => {
    const setup = stack.federation?.setupFunction;
    if (setup === undefined) throw new Error('no setup function');
    template.hasResourceProperties('Custom::OutboundWebIdentityFederation', {
      ServiceToken: stack.resolve(setup.function.functionArn),
    });
    expect(rolesAllowed(template, 'iam:EnableOutboundWebIdentityFederation')).toEqual([roleId(stack, setup)]);
    expect(rolesAllowed(template, 'sts:GetWebIdentityToken')).not.toContain(roleId(stack, setup));
  });

  it('prints the issuer, each function’s subject and its ready-to-run az command', () => {
    const issuer = stack.resolve(stack.federation?.issuer);
    expect(issuer).toEqual({
      'Fn::GetAtt': [expect.stringMatching(/^OutboundFederation/), 'Issuer'],
    });
    template.hasOutput('FederationIssuer', { Value: issuer });
    template.hasOutput('HaltRolloutFederatedSubject', {
      Value: stack.resolve(stack.haltRollout.role.roleArn),
    });
    template.hasOutput('SelfCheckFederatedSubject', {
      Value: stack.resolve(stack.selfCheck.function.role.roleArn),
    });
    const command = JSON.stringify(template.toJSON().Outputs?.HaltRolloutFederatedCredentialCommand?.Value);
    expect(command).toContain(`az ad app federated-credential create --id ${CLIENT_ID} --parameters '{`);
    expect(command).toContain('\\"audiences\\":[\\"api://AzureADTokenExchange\\"]');
    expect(command).toContain(JSON.stringify(issuer));
    expect(command).toContain(JSON.stringify(stack.resolve(stack.haltRollout.role.roleArn)));
    template.hasOutput('StoreHealthFederatedCredentialCommand', {});
  });

  it('says how to fill the created secret without a key', () => {
    const fill = JSON.stringify(template.toJSON().Outputs?.FillSecretCommand?.Value);
    expect(fill).toContain(
      '{\\"tenantId\\":\\"...\\",\\"clientId\\":\\"...\\",\\"credential\\":\\"aws-federation\\"}',
    );
  });
});

describe('the stack with federation switched on by hand ("enableInAccount": false)', () => {
  let template: Template;
  beforeAll(() => {
    ({ template } = synthesize({ ...shipped, federation: { enableInAccount: false } }));
  });

  it('has no custom resource, still the conditioned grant, and tells how to read the issuer', () => {
    template.resourceCountIs('Custom::OutboundWebIdentityFederation', 0);
    expect(statementsAllowing(template, 'iam:EnableOutboundWebIdentityFederation')).toEqual([]);
    expect(statementsAllowing(template, 'sts:GetWebIdentityToken')).toHaveLength(2);
    template.hasOutput('FederationIssuer', {
      Value: 'aws iam get-outbound-web-identity-federation-info --query IssuerIdentifier --output text',
    });
    const command = JSON.stringify(template.toJSON().Outputs?.SelfCheckFederatedCredentialCommand?.Value);
    expect(command).toContain('--id <clientId>');
    expect(command).toContain('<the issuer: aws iam get-outbound-web-identity-federation-info');
  });
});

describe('the stack without federation (the default: the key in the secret)', () => {
  it('grants no sts:GetWebIdentityToken and prints no federation output', () => {
    const { template } = synthesize(shipped);
    expect(statementsAllowing(template, 'sts:GetWebIdentityToken')).toEqual([]);
    expect(Object.keys(template.toJSON().Outputs ?? {}).filter((key) => key.includes('Federat'))).toEqual([]);
  });
});
