/**
 * The signals config (rate alarms, notify-only alarms, composite alarms) from `cdk.json` to the
 * template: exactly the alarms it describes, the function's environment, the intake, and cdk-nag clean;
 * and the synth errors that keep a corroborating child from halting on its own.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type App, NestedStack, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { CfnFunction } from 'aws-cdk-lib/aws-lambda';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
import type { Construct } from 'constructs';
import { beforeAll, describe, expect, it } from 'vitest';
import { ConfigurationError } from '../../functions/commons/errors.ts';
import { deriveWatchedApps, parseWatchdogConfig, type WatchdogConfigInput } from '../../infra/config.ts';
import { createWatchdogApp } from '../../infra/watchdog-app.ts';
import type { WatchdogStack } from '../../infra/watchdog-stack.ts';
import { templateWithNested } from './template-helpers.ts';

const PHOTOS = '9NBLGGH4R315';
const telemetry = (metricName: string) => ({
  namespace: 'ContosoPhotos/Telemetry',
  metricName,
  dimensions: { Channel: 'Store' },
});

/** A rate alarm and a hang alarm, both notify-only, corroborated by a halting composite; one existing warning alarm. */
const PHOTOS_APP = {
  applicationId: PHOTOS,
  name: 'Contoso Photos',
  flights: 'all',
  alarmNames: [{ alarmName: 'contoso-photos-crash-warning', action: 'notify' }],
  alarms: [
    {
      kind: 'rate',
      alarmName: 'contoso-photos-crash-rate',
      crashes: telemetry('Crashes'),
      sessions: telemetry('Sessions'),
      threshold: 2,
      minSessions: 200,
      periodSeconds: 60,
      evaluationPeriods: 3,
      datapointsToAlarm: 2,
      action: 'notify',
    },
    {
      alarmName: 'contoso-photos-hang-rate',
      ...telemetry('HangRate'),
      threshold: 5,
      periodSeconds: 60,
      evaluationPeriods: 3,
      action: 'notify',
    },
  ],
  composites: [
    {
      alarmName: 'contoso-photos-corroborated',
      allOf: ['contoso-photos-crash-rate', 'contoso-photos-hang-rate'],
      action: 'halt',
    },
  ],
} satisfies WatchdogConfigInput['apps'][number];
const SIGNALS_CONFIG = { dryRun: false, apps: [PHOTOS_APP] } satisfies WatchdogConfigInput;

function nagFindings(app: App): string[] {
  return [new AwsSolutionsChecks(), new ServerlessChecks()].flatMap((pack) =>
    pack.validateScope(app).violations.map((v) => `${v.severity} ${v.ruleName}: ${v.description}`),
  );
}

function problemWith(input: unknown): string {
  try {
    parseWatchdogConfig(input);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigurationError);
    return error instanceof Error ? error.message : String(error);
  }
  throw new Error('expected the config to be rejected');
}

describe('a config with a rate alarm, notify-only alarms and a composite', () => {
  let app: App;
  let stack: WatchdogStack;
  let template: Template;
  /** The main template with the nested stacks' resources, where the alarms built from the config live. */
  let withNested: Template;

  beforeAll(() => {
    ({ app, stack } = createWatchdogApp({ context: { watchdog: SIGNALS_CONFIG } }));
    const assembly = app.synth();
    template = Template.fromJSON(assembly.getStackByName(stack.stackName).template);
    withNested = templateWithNested(stack, template, assembly.directory);
  });

  it('has no unacknowledged cdk-nag finding', () => {
    expect(nagFindings(app)).toEqual([]);
  });

  it('creates exactly the configured metric alarms and the one composite alarm', () => {
    const alarmNames = Object.values(withNested.findResources('AWS::CloudWatch::Alarm'))
      .map((resource) => resource.Properties.AlarmName)
      .filter((name) => typeof name === 'string' && name.startsWith('contoso-'));
    expect(alarmNames.sort()).toEqual(['contoso-photos-crash-rate', 'contoso-photos-hang-rate']);
    const composites = Object.values(withNested.findResources('AWS::CloudWatch::CompositeAlarm'));
    expect(composites.map((resource) => resource.Properties.AlarmName)).toEqual([
      'contoso-photos-corroborated',
    ]);
  });

  it('builds the rate alarm on IF(sessions >= 200, 100 * crashes / sessions, 0), both summed per period, missing data not breaching', () => {
    const metricStat = (metricName: string) => ({
      Metric: {
        Namespace: 'ContosoPhotos/Telemetry',
        MetricName: metricName,
        Dimensions: [{ Name: 'Channel', Value: 'Store' }],
      },
      Period: 60,
      Stat: 'Sum',
    });
    withNested.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'contoso-photos-crash-rate',
      Metrics: [
        {
          Expression: 'IF(sessions >= 200, 100 * crashes / sessions, 0)',
          Id: 'expr_1',
          Label: 'Crash rate (%) with at least 200 sessions',
        },
        { Id: 'crashes', MetricStat: metricStat('Crashes'), ReturnData: false },
        { Id: 'sessions', MetricStat: metricStat('Sessions'), ReturnData: false },
      ],
      ComparisonOperator: 'GreaterThanThreshold',
      Threshold: 2,
      EvaluationPeriods: 3,
      DatapointsToAlarm: 2,
      TreatMissingData: 'notBreaching',
      AlarmActions: [stack.resolve(stack.intake.alarmTopic.topicArn)],
    });
  });

  it('builds the composite with the rule ALARM("a") AND ALARM("b"), acting on the alarm topic, in a nested stack created after its children\'s', () => {
    withNested.hasResourceProperties('AWS::CloudWatch::CompositeAlarm', {
      AlarmName: 'contoso-photos-corroborated',
      AlarmRule: 'ALARM("contoso-photos-crash-rate") AND ALARM("contoso-photos-hang-rate")',
      AlarmActions: [stack.resolve(stack.intake.alarmTopic.topicArn)],
    });
    const nestedStackId = (construct: Construct) => {
      const nested = Stack.of(construct);
      if (!(nested instanceof NestedStack) || nested.nestedStackResource === undefined) {
        throw new Error(`${construct.node.path} is not in a nested stack`);
      }
      return stack.getLogicalId(nested.nestedStackResource);
    };
    const [composite] = stack.compositeAlarms.alarms;
    if (composite === undefined) throw new Error('no composite alarm');
    const children = new Set(stack.watchedAlarms.alarms.map(nestedStackId));
    const compositeStack = template.toJSON().Resources[nestedStackId(composite)];
    expect(compositeStack?.Type).toBe('AWS::CloudFormation::Stack');
    expect(compositeStack?.DependsOn).toEqual(expect.arrayContaining([...children]));
  });

  it('gives the function the app list (bundled) with the composite halting and the other three notify-only', () => {
    const fn = stack.haltRollout.function.node.defaultChild;
    if (!(fn instanceof CfnFunction)) throw new Error('no CfnFunction');
    const properties =
      template.findResources('AWS::Lambda::Function')[stack.resolve(fn.logicalId)]?.Properties;
    expect(properties.Environment.Variables.WATCHDOG_APPS).toBe('bundled');
    const key: unknown = properties.Code.S3Key;
    if (typeof key !== 'string') throw new Error('the halt-rollout code is no asset');
    const asset = readFileSync(join(app.outdir, `asset.${key.replace(/\.zip$/, '')}`, 'index.mjs'), 'utf8');
    const expected = [
      {
        applicationId: PHOTOS,
        name: 'Contoso Photos',
        flights: 'all',
        mode: 'enforce',
        alarmNames: ['contoso-photos-corroborated'],
        notifyAlarmNames: [
          'contoso-photos-crash-warning',
          'contoso-photos-crash-rate',
          'contoso-photos-hang-rate',
        ],
      },
    ];
    const derived = deriveWatchedApps(parseWatchdogConfig(SIGNALS_CONFIG));
    expect(derived).toEqual(expected);
    expect(asset.includes(JSON.stringify(derived))).toBe(true);
    expect(properties.Environment.Variables.DRY_RUN).toBe('false');
  });

  it('watches only the alarm made elsewhere through EventBridge, and lets only the alarms the stack creates publish to the alarm topic', () => {
    const patterns = Object.values(template.findResources('AWS::Events::Rule'))
      .map((rule) => rule.Properties.EventPattern)
      .filter((pattern) => pattern !== undefined);
    expect(patterns).toEqual([
      expect.objectContaining({
        detail: { alarmName: ['contoso-photos-crash-warning'], state: { value: ['ALARM'] } },
      }),
    ]);
    const policies = Object.values(template.findResources('AWS::SNS::TopicPolicy'));
    const arns = JSON.stringify(policies.map((policy) => policy.Properties.PolicyDocument));
    for (const name of [
      'contoso-photos-crash-rate',
      'contoso-photos-hang-rate',
      'contoso-photos-corroborated',
    ]) {
      expect(arns).toContain(`:alarm:${name}"`);
    }
    expect(arns).not.toContain(':alarm:contoso-photos-crash-warning');
  });
});

describe('signals config errors (synth)', () => {
  const app = PHOTOS_APP;

  it('rejects a composite whose child would halt the same app on its own, naming both', () => {
    const message = problemWith({
      apps: [{ ...app, alarms: [{ ...app.alarms[0], action: 'halt' }, app.alarms[1]] }],
    });

    expect(message).toContain('watchdog.apps[0].composites[0].allOf[0]');
    expect(message).toContain(
      '"contoso-photos-crash-rate" would halt Contoso Photos (9NBLGGH4R315) on its own',
    );
    expect(message).toContain('watchdog.apps[0].alarms[0]');
    expect(message).toContain('contoso-photos-corroborated');
  });

  it('rejects an existing halting alarm as a composite child the same way', () => {
    const message = problemWith({
      apps: [{ ...app, alarmNames: ['contoso-photos-hang-rate'], alarms: [app.alarms[0]] }],
    });

    expect(message).toContain('watchdog.apps[0].composites[0].allOf[1]');
    expect(message).toContain('watchdog.apps[0].alarmNames[0]');
  });

  it('allows a halting child of another app', () => {
    const config = parseWatchdogConfig({
      apps: [app, { applicationId: '9WZDNCRFJ3TJ', alarmNames: ['contoso-photos-crash-rate'] }],
    });

    expect(deriveWatchedApps(config)[1]?.alarmNames).toEqual(['contoso-photos-crash-rate']);
  });

  it.each([
    [{ minSessions: 0 }, 'watchdog.apps[0].alarms[0].minSessions'],
    [{ threshold: 0 }, 'watchdog.apps[0].alarms[0].threshold: must be a percentage above 0'],
    [{ sessions: undefined }, 'watchdog.apps[0].alarms[0].sessions'],
    [{ statistic: 'Sum' }, 'watchdog.apps[0].alarms[0]'],
    [
      { periodSeconds: 30 },
      'watchdog.apps[0].alarms[0].periodSeconds: must be 10 (high resolution) or a multiple of 60',
    ],
  ])('names the field of a bad rate alarm (%o)', (change, expected) => {
    const message = problemWith({
      apps: [{ ...app, alarms: [{ ...app.alarms[0], ...change }, app.alarms[1]] }],
    });

    expect(message).toContain(expected);
  });

  it('names the field of a bad threshold alarm as before (the default kind)', () => {
    const message = problemWith({
      apps: [{ ...app, alarms: [app.alarms[0], { ...app.alarms[1], threshold: 'high' }] }],
    });

    expect(message).toContain('watchdog.apps[0].alarms[1].threshold');
  });

  it('rejects an alarm that is both halting and notify-only for one app, naming both places', () => {
    const message = problemWith({
      apps: [
        {
          ...app,
          alarmNames: ['contoso-photos-crash-warning'],
          notifyAlarmNames: ['contoso-photos-crash-warning'],
        },
      ],
    });

    expect(message).toContain(
      'watchdog.apps[0].notifyAlarmNames[0]: "contoso-photos-crash-warning" is notify-only here but halts',
    );
    expect(message).toContain('watchdog.apps[0].alarmNames[0]');
  });

  it.each([
    [{ allOf: ['contoso-photos-crash-rate'] }, 'must list at least two alarms'],
    [{ allOf: ['contoso-photos-crash-rate', 'contoso-photos-crash-rate'] }, 'lists an alarm twice'],
    [{ allOf: ['a"b', 'c'] }, 'must not contain a double quote'],
    [{ alarmName: 'contoso-photos-crash-rate' }, 'is already created at watchdog.apps[0].alarms[0]'],
  ])('rejects a bad composite (%o)', (change, expected) => {
    const message = problemWith({ apps: [{ ...app, composites: [{ ...app.composites[0], ...change }] }] });

    expect(message).toContain(expected);
  });
});
