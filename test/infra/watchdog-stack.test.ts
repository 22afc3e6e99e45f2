/**
 * The whole app, synthesized twice (bundling the real handler each time): with the config shipped in
 * cdk.json, and with a variant that uses every other option. Both run the cdk-nag gate.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { App } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { CfnFunction } from 'aws-cdk-lib/aws-lambda';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
import { build } from 'esbuild';
import { beforeAll, describe, expect, it } from 'vitest';
import { createLambdaEsbuildOptions } from '../../infra/bundling.ts';
import { deriveWatchedApps, parseWatchdogConfig, type WatchdogConfigInput } from '../../infra/config.ts';
import { CONTINUATION_MAX_CONCURRENCY } from '../../infra/constructs/storm-continuation.ts';
import { PROJECT_ROOT, type WatchdogFunction } from '../../infra/constructs/watchdog-function.ts';
import { createWatchdogApp } from '../../infra/watchdog-app.ts';
import { DEFAULT_HALT_ROLLOUT_CONCURRENCY, type WatchdogStack } from '../../infra/watchdog-stack.ts';
import {
  actionsOf,
  identityStatements,
  resourcesOf,
  statementsAllowing,
  statementsOf,
  type TemplateStatement,
  templateWithNested,
} from './template-helpers.ts';

const cdkContext: Record<string, unknown> = JSON.parse(
  readFileSync(new URL('../../cdk.json', import.meta.url), 'utf8'),
).context;

interface Synthesized {
  readonly app: App;
  readonly stack: WatchdogStack;
  readonly template: Template;
  /** The main template with every nested stack's resources (the alarms built from the config). */
  readonly withNested: Template;
  readonly assemblyDirectory: string;
}

function synthesize(context: Record<string, unknown>): Synthesized {
  const { app, stack } = createWatchdogApp({ context });
  // The cdk-nag packs are registered on the app: this throws on any unacknowledged finding.
  const assembly = app.synth();
  const template = Template.fromJSON(assembly.getStackByName(stack.stackName).template);
  return {
    app,
    stack,
    template,
    withNested: templateWithNested(stack, template, assembly.directory),
    assemblyDirectory: assembly.directory,
  };
}

/** Every unacknowledged AwsSolutions or Serverless finding, as `severity rule at path: what`. */
function nagFindings(app: App): string[] {
  return [new AwsSolutionsChecks(), new ServerlessChecks()].flatMap((pack) =>
    pack
      .validateScope(app)
      .violations.map(
        (v) =>
          `${v.severity} ${v.ruleName} at ${v.violatingResources.map((r) => r.constructPath).join(', ')}: ${v.description}`,
      ),
  );
}

/** The asset directory of the halt-rollout function (the stack may bundle other functions too). */
function haltRolloutAssetDirectory({ stack, template, assemblyDirectory }: Synthesized): string {
  const resource = stack.haltRollout.function.node.defaultChild;
  if (!(resource instanceof CfnFunction)) throw new Error('the halt-rollout function has no CfnFunction');
  const key: unknown = template.toJSON().Resources?.[stack.getLogicalId(resource)]?.Properties?.Code?.S3Key;
  if (typeof key !== 'string' || !key.endsWith('.zip')) throw new Error('the halt-rollout code is no asset');
  return join(assemblyDirectory, `asset.${key.slice(0, -'.zip'.length)}`);
}

/** The template properties of one of the stack's functions. */
function functionProperties({ stack, template }: Synthesized, fn: WatchdogFunction): Record<string, unknown> {
  const resource = fn.function.node.defaultChild;
  if (!(resource instanceof CfnFunction)) throw new Error(`${fn.node.path} has no CfnFunction`);
  const properties: unknown = template.toJSON().Resources?.[stack.getLogicalId(resource)]?.Properties;
  if (typeof properties !== 'object' || properties === null)
    throw new Error(`${fn.node.path} is not in the template`);
  return { ...properties };
}

/** The one statement of a resource policy with this Sid. */
function statementWithSid(document: unknown, sid: string): TemplateStatement {
  const found = statementsOf(document).filter((statement) => statement.Sid === sid);
  if (found.length !== 1 || found[0] === undefined) throw new Error(`expected one statement ${sid}`);
  return found[0];
}

function onlyProperties(template: Template, type: string, props: unknown = {}): Record<string, unknown> {
  const found = Object.values(template.findResources(type, { Properties: props }));
  if (found.length !== 1) throw new Error(`expected exactly one ${type} matching, found ${found.length}`);
  return found[0]?.Properties;
}

const X_RAY_ACTIONS = ['xray:PutTraceSegments', 'xray:PutTelemetryRecords'];

describe('the stack with the config shipped in cdk.json', () => {
  let synthesized: Synthesized;
  let template: Template;
  let stack: WatchdogStack;

  beforeAll(() => {
    synthesized = synthesize(cdkContext);
    template = synthesized.template;
    stack = synthesized.stack;
  });

  it('has no unacknowledged cdk-nag finding (AwsSolutions and Serverless packs)', () => {
    expect(nagFindings(synthesized.app)).toEqual([]);
  });

  it('runs the halt-rollout function on Node.js 24, arm64, from one self-contained ES module', () => {
    expect(functionProperties(synthesized, stack.haltRollout)).toMatchObject({
      Runtime: 'nodejs24.x',
      Architectures: ['arm64'],
      Handler: 'index.handler',
      MemorySize: 256,
      TracingConfig: { Mode: 'Active' },
    });
    // Two bundled functions: halt-rollout and the self-check; each asset is one ES module and its map.
    // Beside them, the CDK's own provider of the custom resource that creates the console's test event
    // registry, prebuilt (one CommonJS file).
    const all = readdirSync(synthesized.assemblyDirectory).filter((name) => name.startsWith('asset.'));
    const assets = all.filter((name) => existsSync(join(synthesized.assemblyDirectory, name, 'index.mjs')));
    expect(assets).toHaveLength(2);
    const others = all.filter((name) => !assets.includes(name));
    expect(others).toHaveLength(1);
    expect(readdirSync(join(synthesized.assemblyDirectory, others[0] ?? ''))).toEqual(['index.js']);
    expect(assets).toContain(haltRolloutAssetDirectory(synthesized).split('/').pop());
    for (const asset of assets) {
      const directory = join(synthesized.assemblyDirectory, asset);
      expect(readdirSync(directory).sort()).toEqual(['index.mjs', 'index.mjs.map']);
      expect(/\bfrom\s*["']@aws-sdk\//.test(readFileSync(join(directory, 'index.mjs'), 'utf8'))).toBe(false);
    }
  });

  it('gives the halt-rollout function 5 minutes and room for concurrent alarms (the budget is in the state table)', () => {
    const haltRollout = functionProperties(synthesized, stack.haltRollout);

    // 60 Store calls at 20 a minute need about two minutes: one invocation can wait for them.
    expect(haltRollout.Timeout).toBe(300);
    // Several environments at once: the request budget no longer depends on there being one, so
    // alarms that arrive together run side by side instead of aging in Lambda's event queue.
    expect(haltRollout.ReservedConcurrentExecutions).toBe(DEFAULT_HALT_ROLLOUT_CONCURRENCY);
    expect(DEFAULT_HALT_ROLLOUT_CONCURRENCY).toBeGreaterThan(CONTINUATION_MAX_CONCURRENCY);
    // The self-check keeps its own settings: its own 5 minutes and no reserved concurrency.
    const selfCheck = functionProperties(synthesized, stack.selfCheck.function);
    expect(selfCheck.Timeout).toBe(300);
    expect(selfCheck).not.toHaveProperty('ReservedConcurrentExecutions');
  });

  it('deploys byte for byte what createLambdaEsbuildOptions() builds with the derived app list (what tools measure as the asset)', async () => {
    const deployed = readFileSync(join(haltRolloutAssetDirectory(synthesized), 'index.mjs'));
    const outdir = mkdtempSync(join(tmpdir(), 'watchdog-asset-'));
    try {
      await build({
        ...createLambdaEsbuildOptions({
          bundledApps: deriveWatchedApps(parseWatchdogConfig(cdkContext.watchdog)),
        }),
        absWorkingDir: PROJECT_ROOT,
        entryPoints: [join(PROJECT_ROOT, 'functions/halt-rollout/handler.ts')],
        outfile: join(outdir, 'index.mjs'),
        logLevel: 'silent',
      });

      expect(readFileSync(join(outdir, 'index.mjs')).equals(deployed)).toBe(true);
    } finally {
      rmSync(outdir, { recursive: true, force: true });
    }
  });

  it('gives the function the contract environment, with the app list derived from the config built into its asset', () => {
    const asset = readFileSync(join(haltRolloutAssetDirectory(synthesized), 'index.mjs'), 'utf8');
    expect(asset).toContain(
      JSON.stringify([
        {
          applicationId: '9NBLGGH4R315',
          name: 'Contoso Photos',
          alarmNames: ['contoso-photos-crash-rate'],
          notifyAlarmNames: [],
          flights: 'all',
          mode: 'enforce',
        },
      ]),
    );
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: {
          WATCHDOG_APPS: 'bundled',
          DRY_RUN: 'true',
          STORE_CREDENTIALS_SECRET_ID: stack.resolve(stack.credentials.secretId),
          NOTIFICATION_TOPIC_ARN: stack.resolve(stack.notifications.topic.topicArn),
          POWERTOOLS_SERVICE_NAME: 'store-rollout-watchdog',
          POWERTOOLS_METRICS_NAMESPACE: 'StoreRolloutWatchdog',
          NODE_OPTIONS: '--enable-source-maps',
        },
      },
    });
  });

  it('lets the functions read exactly the created secret, and halt-rollout publish to exactly the notification topic', () => {
    // halt-rollout and the self-check each read the secret, by its exact ARN.
    expect(statementsAllowing(template, 'secretsmanager:GetSecretValue').flatMap(resourcesOf)).toEqual([
      stack.resolve(stack.credentials.secretArnForGrants),
      stack.resolve(stack.credentials.secretArnForGrants),
    ]);
    expect(statementsAllowing(template, 'sns:Publish').flatMap(resourcesOf)).toEqual([
      stack.resolve(stack.notifications.topic.topicArn),
    ]);
    const notificationKey = onlyProperties(template, 'AWS::SNS::Topic', {
      TopicName: Match.absent(),
      DisplayName: 'Store rollout watchdog notifications',
    }).KmsMasterKeyId;
    // cdk.json's recommended flags minimize policies: actions sorted, statements on the same resources merged.
    expect(
      statementsAllowing(template, 'kms:GenerateDataKey').map((statement) => ({
        actions: actionsOf(statement).sort(),
        resources: resourcesOf(statement),
      })),
    ).toEqual([{ actions: ['kms:Decrypt', 'kms:GenerateDataKey'], resources: [notificationKey] }]);
  });

  it("grants no wildcard resource or action, except the acknowledged X-Ray actions (one per function) and the self-check's DescribeAlarms (composite alarms need *)", () => {
    const statements = identityStatements(template);

    // Per policy, the actions it allows on `*` (the recommended flags merge a policy's statements on `*`).
    const onEverything = Object.values(template.findResources('AWS::IAM::Policy'))
      .map((policy) =>
        statementsOf(policy.Properties?.PolicyDocument)
          .filter((statement) => resourcesOf(statement).includes('*'))
          .flatMap(actionsOf)
          .sort(),
      )
      .filter((actions) => actions.length > 0);
    expect(onEverything).toEqual([
      [...X_RAY_ACTIONS].sort(),
      ['cloudwatch:DescribeAlarms', ...X_RAY_ACTIONS].sort(),
    ]);
    expect(statements.flatMap(actionsOf).filter((action) => action.includes('*'))).toEqual([]);
  });

  it('creates an empty secret (a JSON template, no generated value) and outputs the command that fills it', () => {
    template.hasResourceProperties('AWS::SecretsManager::Secret', {
      SecretString: '{"tenantId":"","clientId":"","clientSecret":""}',
      GenerateSecretString: Match.absent(),
    });
    const command = JSON.stringify(template.findOutputs('FillSecretCommand'));
    expect(command).toContain('aws secretsmanager put-secret-value --region ');
    expect(command).toContain(JSON.stringify(stack.resolve(stack.credentials.secretId)));
    expect(command).toContain(
      `--secret-string '{\\"tenantId\\":\\"...\\",\\"clientId\\":\\"...\\",\\"clientSecret\\":\\"...\\"}'`,
    );
  });

  it('creates no EventBridge alarm rule: every watched alarm is created here and arrives by its alarm action only', () => {
    const alarmRules = Object.values(template.findResources('AWS::Events::Rule')).filter(
      (rule) => rule.Properties.EventPattern !== undefined,
    );
    expect(alarmRules).toEqual([]);
    expect(stack.intake.rules).toEqual([]);
  });

  it('lets the alarm topic, and nothing else, send to the intake dead-letter queue', () => {
    const policy = onlyProperties(template, 'AWS::SQS::QueuePolicy', {
      Queues: [stack.resolve(stack.intake.deadLetterQueue.queueUrl)],
    });
    const allows = statementsOf(policy.PolicyDocument).filter((s) => s.Effect === 'Allow');

    expect(allows).toEqual([
      expect.objectContaining({
        Principal: { Service: 'sns.amazonaws.com' },
        Action: 'sqs:SendMessage',
        Condition: { ArnEquals: { 'aws:SourceArn': stack.resolve(stack.intake.alarmTopic.topicArn) } },
      }),
    ]);
  });

  it("never retries a failed alarm event whole (failed targets are retried alone through the continuation queue): it keeps it in the failure queue; an event waiting for a free slot is kept 6 hours, Lambda's most", () => {
    template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      FunctionName: stack.resolve(stack.haltRollout.function.functionName),
      MaximumRetryAttempts: 0,
      MaximumEventAgeInSeconds: 6 * 3600,
      DestinationConfig: {
        OnFailure: { Destination: stack.resolve(stack.haltRollout.failureQueue.queueArn) },
      },
    });
  });

  it('creates the configured alarm in a nested stack: 10-second period, 2 of 3, missing data not breaching, acting on the alarm topic', () => {
    expect(
      template.findResources('AWS::CloudWatch::Alarm', {
        Properties: { AlarmName: 'contoso-photos-crash-rate' },
      }),
    ).toEqual({});
    synthesized.withNested.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'contoso-photos-crash-rate',
      Namespace: 'ContosoPhotos/Telemetry',
      MetricName: 'CrashRate',
      Dimensions: [{ Name: 'Channel', Value: 'Store' }],
      Statistic: 'Average',
      ComparisonOperator: 'GreaterThanThreshold',
      Threshold: 2,
      Period: 10,
      EvaluationPeriods: 3,
      DatapointsToAlarm: 2,
      TreatMissingData: 'notBreaching',
      AlarmActions: [stack.resolve(stack.intake.alarmTopic.topicArn)],
    });
  });

  it('subscribes the function to the alarm topic, with the intake dead-letter queue for undeliverable messages', () => {
    template.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'lambda',
      TopicArn: stack.resolve(stack.intake.alarmTopic.topicArn),
      Endpoint: stack.resolve(stack.haltRollout.function.functionArn),
      RedrivePolicy: { deadLetterTargetArn: stack.resolve(stack.intake.deadLetterQueue.queueArn) },
    });
    template.hasResourceProperties('AWS::Lambda::Permission', {
      Principal: 'sns.amazonaws.com',
      SourceArn: stack.resolve(stack.intake.alarmTopic.topicArn),
    });
  });

  it('lets CloudWatch publish to the alarm topic, and use its key, only for the created alarms (and the drill alarm) of this account', () => {
    const alarmArn = (name: string) => ({
      'Fn::Join': [
        '',
        [
          'arn:',
          { Ref: 'AWS::Partition' },
          ':cloudwatch:',
          { Ref: 'AWS::Region' },
          ':',
          { Ref: 'AWS::AccountId' },
          `:alarm:${name}`,
        ],
      ],
    });
    const condition = {
      StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } },
      ArnLike: {
        'aws:SourceArn': [alarmArn('contoso-photos-crash-rate'), alarmArn('StoreRolloutWatchdog-drill')],
      },
    };
    const topicPolicy = onlyProperties(template, 'AWS::SNS::TopicPolicy', {
      Topics: [stack.resolve(stack.intake.alarmTopic.topicArn)],
    });
    expect(statementWithSid(topicPolicy.PolicyDocument, 'AllowWatchedAlarmsToPublish')).toEqual(
      expect.objectContaining({
        Principal: { Service: 'cloudwatch.amazonaws.com' },
        Action: 'sns:Publish',
        Condition: condition,
      }),
    );
    const alarmTopic = onlyProperties(template, 'AWS::SNS::Topic', {
      DisplayName: 'Store rollout watchdog alarm intake',
    });
    const keyLogicalId = Object.keys(template.findResources('AWS::KMS::Key')).find(
      (id) => JSON.stringify({ 'Fn::GetAtt': [id, 'Arn'] }) === JSON.stringify(alarmTopic.KmsMasterKeyId),
    );
    const key = template.toJSON().Resources[keyLogicalId ?? 'missing'];
    expect(key?.Properties.EnableKeyRotation).toBe(true);
    expect(statementWithSid(key?.Properties.KeyPolicy, 'AllowWatchedAlarmsToUseTheKey')).toEqual(
      expect.objectContaining({
        Principal: { Service: 'cloudwatch.amazonaws.com' },
        Action: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        Condition: condition,
      }),
    );
  });

  it('encrypts both topics with their own rotating customer managed keys and refuses publishing without TLS', () => {
    const topics = Object.values(template.findResources('AWS::SNS::Topic'));
    expect(topics).toHaveLength(2);
    for (const topic of topics) {
      expect(topic.Properties.KmsMasterKeyId).toEqual({ 'Fn::GetAtt': [expect.any(String), 'Arn'] });
    }
    template.allResourcesProperties('AWS::KMS::Key', { EnableKeyRotation: true });
    const policies = Object.values(template.findResources('AWS::SNS::TopicPolicy'));
    expect(policies).toHaveLength(2);
    for (const policy of policies) {
      expect(statementsOf(policy.Properties.PolicyDocument)).toContainEqual(
        expect.objectContaining({
          Effect: 'Deny',
          Principal: '*',
          Condition: { Bool: { 'aws:SecureTransport': 'false' } },
        }),
      );
    }
  });

  it('encrypts every queue and refuses requests without TLS', () => {
    template.allResourcesProperties('AWS::SQS::Queue', { SqsManagedSseEnabled: true });
    const policies = Object.values(template.findResources('AWS::SQS::QueuePolicy'));
    expect(policies).toHaveLength(Object.keys(template.findResources('AWS::SQS::Queue')).length);
    for (const policy of policies) {
      expect(statementsOf(policy.Properties.PolicyDocument)).toContainEqual(
        expect.objectContaining({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
      );
    }
  });

  it('keeps the function logs for a year, after the stack is gone', () => {
    template.hasResource('AWS::Logs::LogGroup', {
      Properties: { RetentionInDays: 365 },
      DeletionPolicy: 'Retain',
    });
  });

  it('watches the watchdog: errors, its event backlog and both queues alarm to the notification topic', () => {
    const notify = [stack.resolve(stack.notifications.topic.topicArn)];
    const expectations: [string, string, string, string, number][] = [
      ['StoreRolloutWatchdog-halt-rollout-errors', 'AWS/Lambda', 'Errors', 'Sum', 0],
      ['StoreRolloutWatchdog-halt-rollout-events-dropped', 'AWS/Lambda', 'AsyncEventsDropped', 'Sum', 0],
      ['StoreRolloutWatchdog-halt-rollout-events-waiting', 'AWS/Lambda', 'AsyncEventAge', 'Maximum', 600_000],
      [
        'StoreRolloutWatchdog-halt-rollout-failures',
        'AWS/SQS',
        'ApproximateNumberOfMessagesVisible',
        'Maximum',
        0,
      ],
      [
        'StoreRolloutWatchdog-intake-dead-letters',
        'AWS/SQS',
        'ApproximateNumberOfMessagesVisible',
        'Maximum',
        0,
      ],
    ];
    for (const [name, namespace, metric, statistic, threshold] of expectations) {
      template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        AlarmName: name,
        Namespace: namespace,
        MetricName: metric,
        Statistic: statistic,
        ComparisonOperator: 'GreaterThanThreshold',
        Threshold: threshold,
        TreatMissingData: 'notBreaching',
        AlarmActions: notify,
      });
    }
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'StoreRolloutWatchdog-halt-rollout-failures',
      Dimensions: [{ Name: 'QueueName', Value: stack.resolve(stack.haltRollout.failureQueue.queueName) }],
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'StoreRolloutWatchdog-intake-dead-letters',
      Dimensions: [{ Name: 'QueueName', Value: stack.resolve(stack.intake.deadLetterQueue.queueName) }],
    });
    // Reserved concurrency 1 throttles duplicate deliveries by design: no throttle alarm to page people.
    expect(
      template.findResources('AWS::CloudWatch::Alarm', { Properties: { MetricName: 'Throttles' } }),
    ).toEqual({});
  });

  it('exports the notification topic, and subscribes no e-mail address unless configured', () => {
    template.hasOutput('NotificationTopicArn', { Value: stack.resolve(stack.notifications.topic.topicArn) });
    expect(template.findResources('AWS::SNS::Subscription', { Properties: { Protocol: 'email' } })).toEqual(
      {},
    );
  });
});

describe('the stack with an existing secret, e-mail subscriptions and two apps', () => {
  const variant: WatchdogConfigInput = {
    dryRun: false,
    secret: {
      name: 'store/credentials',
      kmsKeyArn: 'arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab',
    },
    notificationEmails: ['release-managers@example.com', 'oncall@example.com'],
    apps: [
      {
        applicationId: '9NBLGGH4R315',
        name: 'Contoso Photos',
        alarmNames: ['photos-crash-rate-existing'],
        alarms: [
          {
            alarmName: 'photos-crash-count',
            namespace: 'ContosoPhotos/Telemetry',
            metricName: 'Crashes',
            statistic: 'Sum',
            comparison: 'GreaterThanOrEqualToThreshold',
            threshold: 50,
            periodSeconds: 60,
            evaluationPeriods: 2,
          },
        ],
      },
      {
        applicationId: '9WZDNCRFJ3PS',
        name: 'Contoso Notes',
        alarmNames: ['photos-crash-count', 'notes-crash-rate-existing'],
        flights: ['3d0f1e1b-5d6a-4b3e-9a4a-6f1f0f7f2a11'],
        mode: 'dry-run',
      },
    ],
  };
  let synthesized: Synthesized;
  let template: Template;
  let stack: WatchdogStack;

  beforeAll(() => {
    synthesized = synthesize({ ...cdkContext, watchdog: variant });
    template = synthesized.template;
    stack = synthesized.stack;
  });

  it('has no unacknowledged cdk-nag finding (AwsSolutions and Serverless packs)', () => {
    expect(nagFindings(synthesized.app)).toEqual([]);
  });

  it('references the secret by name: reads exactly name-?????? and decrypts only through Secrets Manager', () => {
    template.resourceCountIs('AWS::SecretsManager::Secret', 0);
    expect(template.findOutputs('FillSecretCommand')).toEqual({});
    const byName = {
      'Fn::Join': [
        '',
        [
          'arn:',
          { Ref: 'AWS::Partition' },
          ':secretsmanager:',
          { Ref: 'AWS::Region' },
          ':',
          { Ref: 'AWS::AccountId' },
          ':secret:store/credentials-??????',
        ],
      ],
    };
    // halt-rollout and the self-check.
    expect(statementsAllowing(template, 'secretsmanager:GetSecretValue').flatMap(resourcesOf)).toEqual([
      byName,
      byName,
    ]);
    expect(statementsAllowing(template, 'kms:Decrypt')).toContainEqual({
      Effect: 'Allow',
      Action: 'kms:Decrypt',
      Resource: 'arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab',
      Condition: {
        StringEquals: {
          'kms:ViaService': {
            'Fn::Join': ['', ['secretsmanager.', { Ref: 'AWS::Region' }, '.amazonaws.com']],
          },
        },
      },
    });
  });

  it('derives the bundled app list from both apps, with existing and created alarm names, and turns dry run off', () => {
    const asset = readFileSync(join(haltRolloutAssetDirectory(synthesized), 'index.mjs'), 'utf8');
    expect(asset).toContain(
      JSON.stringify([
        {
          applicationId: '9NBLGGH4R315',
          name: 'Contoso Photos',
          alarmNames: ['photos-crash-rate-existing', 'photos-crash-count'],
          notifyAlarmNames: [],
          mode: 'enforce',
        },
        {
          applicationId: '9WZDNCRFJ3PS',
          name: 'Contoso Notes',
          alarmNames: ['photos-crash-count', 'notes-crash-rate-existing'],
          notifyAlarmNames: [],
          flights: ['3d0f1e1b-5d6a-4b3e-9a4a-6f1f0f7f2a11'],
          mode: 'dry-run',
        },
      ]),
    );
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({
          WATCHDOG_APPS: 'bundled',
          DRY_RUN: 'false',
          STORE_CREDENTIALS_SECRET_ID: 'store/credentials',
        }),
      },
    });
  });

  it('watches each alarm made elsewhere once on EventBridge, each created one only by its alarm action, and changes no existing alarm', () => {
    const patterns = Object.values(template.findResources('AWS::Events::Rule'))
      .map((rule) => rule.Properties.EventPattern)
      .filter((pattern) => pattern !== undefined);
    expect(patterns).toEqual([
      {
        source: ['aws.cloudwatch'],
        'detail-type': ['CloudWatch Alarm State Change'],
        detail: {
          alarmName: ['photos-crash-rate-existing', 'notes-crash-rate-existing'],
          state: { value: ['ALARM'] },
        },
      },
    ]);
    const alarms = Object.values(synthesized.withNested.findResources('AWS::CloudWatch::Alarm'));
    const created = alarms
      .map((alarm) => alarm.Properties.AlarmName)
      .filter((name) => !String(name).startsWith('StoreRolloutWatchdog-'));
    expect(created).toEqual(['photos-crash-count']);
    const topic = stack.resolve(stack.intake.alarmTopic.topicArn);
    for (const name of ['photos-crash-count', 'StoreRolloutWatchdog-drill']) {
      expect(
        alarms.find((alarm) => alarm.Properties.AlarmName === name)?.Properties.AlarmActions,
        name,
      ).toEqual([topic]);
    }
  });

  it('creates the alarm with datapoints defaulting to the evaluation periods, naming both apps it watches', () => {
    synthesized.withNested.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'photos-crash-count',
      Period: 60,
      EvaluationPeriods: 2,
      DatapointsToAlarm: 2,
      Statistic: 'Sum',
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      TreatMissingData: 'notBreaching',
      AlarmDescription:
        'Store rollout watchdog: ALARM halts the in-progress rollout of Contoso Photos (9NBLGGH4R315), Contoso Notes (9WZDNCRFJ3PS)',
    });
  });

  it('subscribes each configured e-mail address to the notification topic', () => {
    for (const address of ['release-managers@example.com', 'oncall@example.com']) {
      template.hasResourceProperties('AWS::SNS::Subscription', {
        Protocol: 'email',
        Endpoint: address,
        TopicArn: stack.resolve(stack.notifications.topic.topicArn),
      });
    }
  });
});
