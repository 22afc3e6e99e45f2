import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { App, Duration, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { StoreCredentials } from '../../../infra/constructs/store-credentials.ts';
import { PROJECT_ROOT, WatchdogFunction } from '../../../infra/constructs/watchdog-function.ts';
import { identityStatements, resourcesOf, statementsAllowing } from '../template-helpers.ts';

const SECRET_ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:store/credentials-AbC123';

/** One synth, shared: a stack with the function (bundling a small stand-in handler) and a secret by ARN. */
let template: Template;
let stack: Stack;
let fn: WatchdogFunction;
let assetDirectory: string;

beforeAll(() => {
  const app = new App();
  stack = new Stack(app, 'FunctionUnderTest');
  fn = new WatchdogFunction(stack, 'SelfCheck', {
    entry: 'test/infra/fixtures/stand-in-handler.ts',
    description: 'a stand-in',
    serviceName: 'stand-in',
    environment: { EXTRA: 'yes' },
    timeout: Duration.seconds(30),
  });
  new StoreCredentials(stack, 'Credentials', { existing: { arn: SECRET_ARN } }).grantReadTo(fn);

  const assembly = app.synth();
  template = Template.fromJSON(assembly.getStackByName(stack.stackName).template);
  const assets = readdirSync(assembly.directory).filter((name) => name.startsWith('asset.'));
  if (assets.length !== 1 || assets[0] === undefined)
    throw new Error(`expected one asset, found ${assets.length}`);
  assetDirectory = join(assembly.directory, assets[0]);
});

describe('WatchdogFunction', () => {
  it('runs Node.js 24 on arm64 with explicit memory, the given timeout, and active tracing', () => {
    template.hasResourceProperties('AWS::Lambda::Function', {
      Runtime: 'nodejs24.x',
      Architectures: ['arm64'],
      MemorySize: 256,
      Timeout: 30,
      TracingConfig: { Mode: 'Active' },
      Handler: 'index.handler',
    });
  });

  it('sets source maps and the Powertools service and namespace, beside the given variables', () => {
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({
          NODE_OPTIONS: '--enable-source-maps',
          POWERTOOLS_SERVICE_NAME: 'stand-in',
          POWERTOOLS_METRICS_NAMESPACE: 'StoreRolloutWatchdog',
          EXTRA: 'yes',
        }),
      },
    });
  });

  it('logs to its own log group, kept for a year, and may write to that log group only', () => {
    template.hasResourceProperties('AWS::Lambda::Function', {
      LoggingConfig: { LogGroup: stack.resolve(fn.logGroup.logGroupName) },
    });
    template.hasResource('AWS::Logs::LogGroup', {
      Properties: { RetentionInDays: 365 },
      DeletionPolicy: 'Retain',
    });
    const logWrites = statementsAllowing(template, 'logs:PutLogEvents');
    expect(logWrites.flatMap(resourcesOf)).toEqual([stack.resolve(fn.logGroup.logGroupArn)]);
    expect(
      template.findResources('AWS::IAM::Role', { Properties: { ManagedPolicyArns: Match.anyValue() } }),
    ).toEqual({});
  });

  it("reserves no concurrency unless asked (the account's unreserved concurrency)", () => {
    const functions = Object.values(template.findResources('AWS::Lambda::Function'));
    expect(functions).toHaveLength(1);
    expect(functions[0]?.Properties).not.toHaveProperty('ReservedConcurrentExecutions');
  });

  it('reserves the concurrency it is given', () => {
    const app = new App();
    const other = new Stack(app, 'ReservedUnderTest');
    new WatchdogFunction(other, 'Reserved', {
      entry: 'test/infra/fixtures/stand-in-handler.ts',
      description: 'a stand-in with reserved concurrency',
      serviceName: 'stand-in',
      reservedConcurrentExecutions: 1,
    });

    Template.fromStack(other).hasResourceProperties('AWS::Lambda::Function', {
      ReservedConcurrentExecutions: 1,
      Timeout: 60,
    });
  });

  it('retries a failed asynchronous invocation twice within an hour, then keeps it in its failure queue', () => {
    template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      MaximumRetryAttempts: 2,
      MaximumEventAgeInSeconds: 3600,
      DestinationConfig: { OnFailure: { Destination: stack.resolve(fn.failureQueue.queueArn) } },
    });
    expect(statementsAllowing(template, 'sqs:SendMessage').flatMap(resourcesOf)).toEqual([
      stack.resolve(fn.failureQueue.queueArn),
    ]);
  });

  it('keeps failures in an encrypted queue that refuses requests without TLS', () => {
    template.hasResourceProperties('AWS::SQS::Queue', {
      SqsManagedSseEnabled: true,
      MessageRetentionPeriod: 1209600,
    });
    template.hasResourceProperties('AWS::SQS::QueuePolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      },
    });
  });

  it('grants no wildcard resource except the X-Ray actions, which have no resource-level form', () => {
    const wildcard = identityStatements(template).filter((statement) => resourcesOf(statement).includes('*'));

    expect(wildcard).toEqual([
      expect.objectContaining({ Action: ['xray:PutTraceSegments', 'xray:PutTelemetryRecords'] }),
    ]);
  });

  it('writes one self-contained ES module: no node_modules, the AWS SDK bundled, require provided', () => {
    const files = readdirSync(assetDirectory).sort();
    const code = readFileSync(join(assetDirectory, 'index.mjs'), 'utf8');

    expect(files).toEqual(['index.mjs', 'index.mjs.map']);
    expect(code.startsWith("import { createRequire as __watchdogCreateRequire } from 'node:module';")).toBe(
      true,
    );
    // A static import of the SDK would mean it was left out of the bundle (messages inside the SDK
    // mention `require("@aws-sdk/...")`, so only the import syntax is checked).
    expect(/\bfrom\s*["']@aws-sdk\//.test(code)).toBe(false);
  });

  it('produces a bundle that loads and runs on its own, outside the project (no node_modules to fall back on)', () => {
    expect(assetDirectory.startsWith(PROJECT_ROOT)).toBe(false);
    const url = pathToFileURL(join(assetDirectory, 'index.mjs')).href;
    const script = `const { handler } = await import(${JSON.stringify(url)}); console.log(JSON.stringify(await handler({ ping: 1 })));`;

    const output = execFileSync(process.execPath, ['--input-type=module', '-e', script], {
      cwd: assetDirectory,
      env: { AWS_REGION: 'eu-west-1' },
      encoding: 'utf8',
    });

    expect(JSON.parse(output)).toEqual({ received: { ping: 1 }, region: 'eu-west-1' });
  });
});

describe('StoreCredentials, referenced by complete ARN', () => {
  it('lets the function read exactly that secret, names it in the environment, and creates none', () => {
    expect(statementsAllowing(template, 'secretsmanager:GetSecretValue').flatMap(resourcesOf)).toEqual([
      SECRET_ARN,
    ]);
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ STORE_CREDENTIALS_SECRET_ID: SECRET_ARN }) },
    });
    template.resourceCountIs('AWS::SecretsManager::Secret', 0);
    expect(statementsAllowing(template, 'kms:Decrypt')).toEqual([]);
  });
});
