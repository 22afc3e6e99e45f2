/**
 * The SelfCheck construct, synthesized in a small stack with the notifications and the credentials it
 * is handed (bundling the real self-check handler), gated by the cdk-nag AwsSolutions and Serverless
 * packs: the schedule, what it may read (exact ARNs), its alarms and where they notify, its environment.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { App, ArnFormat, Duration, Stack, Validations } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
import { beforeAll, describe, expect, it } from 'vitest';
import type { WatchedApp } from '../../../functions/commons/domain/watched-apps.ts';
import { Notifications } from '../../../infra/constructs/notifications.ts';
import { SelfCheck, type SelfCheckProps } from '../../../infra/constructs/self-check.ts';
import { StoreCredentials } from '../../../infra/constructs/store-credentials.ts';
import {
  actionsOf,
  identityStatements,
  nagFindings,
  resourcesOf,
  statementsAllowing,
  statementsOf,
} from '../template-helpers.ts';

const SECRET_ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:store/credentials-AbC123';
const APPS: WatchedApp[] = [
  {
    applicationId: '9NBLGGH4R315',
    name: 'Contoso Photos',
    alarmNames: ['contoso-photos-crash-rate', 'contoso-shared-sessions'],
    notifyAlarmNames: [],
    flights: 'all',
    mode: 'enforce',
  },
  {
    applicationId: '9NBLGGH29DM8',
    alarmNames: ['contoso-shared-sessions'],
    notifyAlarmNames: [],
    mode: 'dry-run',
  },
];
const X_RAY_ACTIONS = ['xray:PutTraceSegments', 'xray:PutTelemetryRecords'];

interface Built {
  readonly app: App;
  readonly stack: Stack;
  readonly selfCheck: SelfCheck;
  readonly notifications: Notifications;
}

/** The construct in a stack of its own, with the packs registered (synth throws on a finding). */
function build(props: Partial<SelfCheckProps> = {}, options: { bundle?: boolean } = {}): Built {
  // Bundling is skipped where a test only reads the template: it is the slow part of a synth.
  const app = new App(options.bundle === false ? { context: { 'aws:cdk:bundling-stacks': [] } } : {});
  const stack = new Stack(app, 'SelfCheckUnderTest');
  const notifications = new Notifications(stack, 'Notifications');
  const credentials = new StoreCredentials(stack, 'Credentials', { existing: { arn: SECRET_ARN } });
  const selfCheck = new SelfCheck(stack, 'SelfCheck', { apps: APPS, credentials, notifications, ...props });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app), new ServerlessChecks(app));
  return { app, stack, selfCheck, notifications };
}

function templateOf(built: Built): Template {
  return Template.fromJSON(built.app.synth().getStackByName(built.stack.stackName).template);
}

function alarmArn(stack: Stack, name: string): unknown {
  return stack.resolve(
    stack.formatArn({
      service: 'cloudwatch',
      resource: 'alarm',
      resourceName: name,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    }),
  );
}

describe('SelfCheck with its defaults', () => {
  let built: Built;
  let template: Template;
  let assemblyDirectory: string;

  beforeAll(() => {
    built = build();
    const assembly = built.app.synth();
    template = Template.fromJSON(assembly.getStackByName(built.stack.stackName).template);
    assemblyDirectory = assembly.directory;
  });

  it('has no unacknowledged cdk-nag finding (AwsSolutions and Serverless packs)', () => {
    expect(nagFindings(built.app)).toEqual([]);
  });

  it('runs the function every 6 hours from an EventBridge rule, retrying a refused delivery into its failure queue', () => {
    const { stack, selfCheck } = built;

    template.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(6 hours)',
      State: 'ENABLED',
      Targets: [
        {
          Arn: stack.resolve(selfCheck.function.function.functionArn),
          Id: Match.anyValue(),
          RetryPolicy: { MaximumRetryAttempts: 2, MaximumEventAgeInSeconds: 3600 },
          DeadLetterConfig: { Arn: stack.resolve(selfCheck.function.failureQueue.queueArn) },
        },
      ],
    });
    template.hasResourceProperties('AWS::Lambda::Permission', {
      Action: 'lambda:InvokeFunction',
      Principal: 'events.amazonaws.com',
      FunctionName: stack.resolve(selfCheck.function.function.functionArn),
      SourceArn: stack.resolve(selfCheck.rule.ruleArn),
    });
    expect(selfCheck.schedule.toHours()).toBe(6);
  });

  it('never retries a failed run (a finding, not a glitch), and gives a run 5 minutes', () => {
    template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', { MaximumRetryAttempts: 0 });
    template.hasResourceProperties('AWS::Lambda::Function', {
      Runtime: 'nodejs24.x',
      Architectures: ['arm64'],
      Timeout: 300,
      TracingConfig: { Mode: 'Active' },
    });
  });

  it('gives the function the apps (built into its asset) and the secret, and nothing to publish to or dry-run', () => {
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: {
          WATCHDOG_APPS: 'bundled',
          // Two apps fit one run: every run reads every app.
          SELF_CHECK_SLICES: '1',
          SELF_CHECK_PERIOD_MINUTES: '360',
          STORE_CREDENTIALS_SECRET_ID: SECRET_ARN,
          POWERTOOLS_SERVICE_NAME: 'store-rollout-watchdog-self-check',
          POWERTOOLS_METRICS_NAMESPACE: 'StoreRolloutWatchdog',
          NODE_OPTIONS: '--enable-source-maps',
        },
      },
    });
  });

  it('may read exactly the secret, and describe alarms (on *: the only scope that returns composite alarms)', () => {
    expect(statementsAllowing(template, 'secretsmanager:GetSecretValue').flatMap(resourcesOf)).toEqual([
      SECRET_ARN,
    ]);
    const describe = statementsAllowing(template, 'cloudwatch:DescribeAlarms');
    expect(describe.map(actionsOf)).toEqual([['cloudwatch:DescribeAlarms']]);
    expect(describe.flatMap(resourcesOf)).toEqual(['*']);
  });

  it('grants no wildcard resource or action except the acknowledged X-Ray actions and DescribeAlarms, and no write to the Store side', () => {
    const statements = identityStatements(template);
    const actions = statements.flatMap(actionsOf);

    expect(statements.filter((s) => resourcesOf(s).includes('*')).map(actionsOf)).toEqual([
      X_RAY_ACTIONS,
      ['cloudwatch:DescribeAlarms'],
    ]);
    expect(actions.filter((action) => action.includes('*'))).toEqual([]);
    expect(actions.filter((action) => action.startsWith('sns:') || action.startsWith('lambda:'))).toEqual([]);
    expect(actions.filter((action) => action.startsWith('cloudwatch:'))).toEqual([
      'cloudwatch:DescribeAlarms',
    ]);
  });

  it('alarms on any failed run, notifying the notification topic', () => {
    const { stack, selfCheck, notifications } = built;

    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'SelfCheckUnderTest-self-check-failed',
      Namespace: 'AWS/Lambda',
      MetricName: 'Errors',
      Dimensions: [{ Name: 'FunctionName', Value: stack.resolve(selfCheck.function.function.functionName) }],
      Statistic: 'Sum',
      Period: 300,
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      EvaluationPeriods: 1,
      TreatMissingData: 'notBreaching',
      AlarmActions: [stack.resolve(notifications.topic.topicArn)],
    });
  });

  it('alarms when the function has not run for two schedule periods, missing data counting as not run', () => {
    const { stack, selfCheck, notifications } = built;

    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'SelfCheckUnderTest-self-check-did-not-run',
      Namespace: 'AWS/Lambda',
      MetricName: 'Invocations',
      Dimensions: [{ Name: 'FunctionName', Value: stack.resolve(selfCheck.function.function.functionName) }],
      Statistic: 'Sum',
      Period: 21600,
      Threshold: 1,
      ComparisonOperator: 'LessThanThreshold',
      EvaluationPeriods: 2,
      DatapointsToAlarm: 2,
      TreatMissingData: 'breaching',
      AlarmActions: [stack.resolve(notifications.topic.topicArn)],
    });
  });

  it('lets exactly its two alarms publish to the encrypted notification topic', () => {
    const { stack } = built;
    const policy = Object.values(template.findResources('AWS::SNS::TopicPolicy'))[0]?.Properties;
    const allow = statementsOf(policy?.PolicyDocument).find((s) => s.Sid === 'AllowWatchedAlarmsToPublish');

    expect(allow?.Condition).toEqual({
      StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } },
      ArnLike: {
        'aws:SourceArn': [
          alarmArn(stack, 'SelfCheckUnderTest-self-check-failed'),
          alarmArn(stack, 'SelfCheckUnderTest-self-check-did-not-run'),
        ],
      },
    });
  });

  it('bundles a handler that loads on its own and, unconfigured, fails naming the missing variable', () => {
    const assets = readdirSync(assemblyDirectory).filter((name) => name.startsWith('asset.'));
    expect(assets).toHaveLength(1);
    const url = pathToFileURL(join(assemblyDirectory, assets[0] ?? '', 'index.mjs')).href;
    const script = `const { handler } = await import(${JSON.stringify(url)}); try { await handler({}); console.log('passed'); } catch (error) { console.log(error.message); }`;
    const run = (env: Record<string, string>) =>
      execFileSync(process.execPath, ['--input-type=module', '-e', script], {
        env: { AWS_REGION: 'eu-west-1', ...env },
        encoding: 'utf8',
        // The function's own error log line goes to stderr; the caught message is what is checked.
        stdio: ['ignore', 'pipe', 'ignore'],
      });

    const output = run({});
    expect(output).toContain('STORE_CREDENTIALS_SECRET_ID is required');
    expect(output).toContain('WATCHDOG_APPS is required');
    expect(output).not.toContain('NOTIFICATION_TOPIC_ARN');
    // With the stack's WATCHDOG_APPS=bundled, the asset reads the list it carries: only the secret is missing.
    const bundled = run({ WATCHDOG_APPS: 'bundled' });
    expect(bundled).toContain('STORE_CREDENTIALS_SECRET_ID is required');
    expect(bundled).not.toContain('WATCHDOG_APPS');
  });
});

describe('SelfCheck over a catalog', () => {
  const catalog = (count: number): WatchedApp[] =>
    Array.from({ length: count }, (_, i) => ({
      applicationId: `9NCAT${String(i).padStart(7, '0')}`,
      alarmNames: [`catalog-${i}-crash-rate`],
      notifyAlarmNames: [],
      mode: 'enforce' as const,
    }));

  it('reads 300 apps in slices within 15-minute runs, every app at least once a day', () => {
    const built = build({ apps: catalog(300), schedule: Duration.hours(2) }, { bundle: false });
    const template = templateOf(built);
    const { slicePlan } = built.selfCheck;

    expect(slicePlan.slices).toBeGreaterThan(1);
    expect(built.selfCheck.everyAppCheckedWithin.toMinutes()).toBeLessThanOrEqual(24 * 60);
    template.hasResourceProperties('AWS::Lambda::Function', {
      Timeout: 900,
      Environment: {
        Variables: Match.objectLike({
          WATCHDOG_APPS: 'bundled',
          SELF_CHECK_SLICES: String(slicePlan.slices),
          SELF_CHECK_PERIOD_MINUTES: '120',
        }),
      },
    });
    template.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(2 hours)',
      Description: `Runs the Store rollout watchdog self-check every 2 hours; each run reads one of ${slicePlan.slices} slices of the apps, so every app is checked at least every ${slicePlan.slices * 2} hours`,
    });
  });

  it('gives an app with many flights a 15-minute run rather than failing the synth', () => {
    const [app] = catalog(1);
    if (app === undefined) throw new Error('no app');
    const flights = Array.from(
      { length: 20 },
      (_, i) => `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
    );
    const built = build({ apps: [{ ...app, flights }] }, { bundle: false });

    expect(built.selfCheck.slicePlan.slices).toBe(1);
    templateOf(built).hasResourceProperties('AWS::Lambda::Function', { Timeout: 900 });
  });

  it('without a schedule, derives one that reads 300 apps daily, and says so in an info annotation', () => {
    const built = build({ apps: catalog(300) }, { bundle: false });
    const { selfCheck } = built;

    expect(selfCheck.scheduleDerived).toBe(true);
    // 300 apps of 2 requests take 6 runs of 15 minutes at 10 a minute: a run every 4 hours covers a day.
    expect(selfCheck.slicePlan.slices).toBe(6);
    expect(selfCheck.schedule.toMinutes()).toBe(240);
    expect(selfCheck.everyAppCheckedWithin.toHours()).toBe(24);
    Annotations.fromStack(built.stack).hasInfo(
      '/SelfCheckUnderTest/SelfCheck',
      'self-check schedule: every 4 hours (derived from 300 apps: 6 runs of 15 minutes at 10 Store requests a minute, so every app is checked at least every 1 day); set watchdog.selfCheck.scheduleHours to choose another',
    );
  });

  it('without a schedule, keeps every 6 hours for a few apps; with one, derives nothing and says nothing', () => {
    const derived = build({}, { bundle: false });
    expect(derived.selfCheck.schedule.toHours()).toBe(6);
    Annotations.fromStack(derived.stack).hasInfo(
      '/SelfCheckUnderTest/SelfCheck',
      Match.stringLikeRegexp('every 6 hours \\(derived from 2 apps: one run reads every app\\)'),
    );
    const given = build({ schedule: Duration.hours(6) }, { bundle: false });
    expect(given.selfCheck.scheduleDerived).toBe(false);
    Annotations.fromStack(given.stack).hasNoInfo('/SelfCheckUnderTest/SelfCheck', Match.anyValue());
  });

  it('fails the synth when the schedule cannot check every app daily, naming the field and what would', () => {
    expect(() => build({ apps: catalog(500), schedule: Duration.hours(6) }, { bundle: false })).toThrow(
      /watchdog\.selfCheck\.scheduleHours: the self-check cannot read all 500 apps at least once a day.*set watchdog\.selfCheck\.scheduleHours to at most/,
    );
  });
});

describe('SelfCheck options', () => {
  it('runs on the given schedule, with the did-not-run alarm looking back two of its periods', () => {
    const template = templateOf(
      build({ schedule: Duration.hours(12), alarmNamePrefix: 'Contoso' }, { bundle: false }),
    );

    template.hasResourceProperties('AWS::Events::Rule', { ScheduleExpression: 'rate(12 hours)' });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'Contoso-self-check-did-not-run',
      Period: 43200,
      EvaluationPeriods: 2,
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', { AlarmName: 'Contoso-self-check-failed' });
  });

  it('asks for no CloudWatch permission when no app names an alarm', () => {
    const built = build({ apps: APPS.map((app) => ({ ...app, alarmNames: [] })) }, { bundle: false });
    const template = templateOf(built);

    expect(statementsAllowing(template, 'cloudwatch:DescribeAlarms')).toEqual([]);
    expect(nagFindings(built.app)).toEqual([]);
  });

  it.each([
    ['more often than every 15 minutes', { schedule: Duration.minutes(10) }, /from 15 minutes to 12 hours/],
    ['less often than every 12 hours', { schedule: Duration.hours(13) }, /from 15 minutes to 12 hours/],
    ['not whole minutes', { schedule: Duration.seconds(3630) }, /whole number of minutes/],
    [
      'a timeout longer than the schedule',
      { schedule: Duration.minutes(15), timeout: Duration.minutes(16) },
      /timeout/,
    ],
  ])('refuses a schedule %s', (_label, props, message) => {
    expect(() => build(props, { bundle: false })).toThrow(message);
  });
});
