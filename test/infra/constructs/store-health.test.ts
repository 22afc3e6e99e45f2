/**
 * The Store health probe in the stack: the whole app synthesized from a config with the signal on
 * (bundling skipped: only the template is read), gated by cdk-nag. The function's construct path
 * contains `StoreHealth`; one alarm per app on `CrashRateRatio` (missing data not breaching), named
 * after the stack, built in a nested stack and reaching the function by its alarm action only (never
 * also by an EventBridge rule), listed as halting or notify-only; the probe's own alarms; the dashboard
 * pages; the config's defaults, overrides and errors. Watched package flights get their alarms (one
 * per listed flight; one Metrics Insights alarm per app for `"all"`), listed among the app's alarms;
 * the probe gets the state table.
 */
import { readFileSync } from 'node:fs';
import type { App } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { deriveWatchedApps, parseWatchdogConfig, type WatchdogConfigInput } from '../../../infra/config.ts';
import {
  deriveProbeAppSettings,
  listStoreHealthApps,
  storeHealthAlarmName,
  storeHealthFlightAlarmName,
} from '../../../infra/store-health-config.ts';
import { createWatchdogApp } from '../../../infra/watchdog-app.ts';
import type { WatchdogStack } from '../../../infra/watchdog-stack.ts';
import { templateWithNested } from '../template-helpers.ts';

const cdkContext: Record<string, unknown> = JSON.parse(
  readFileSync(new URL('../../../cdk.json', import.meta.url), 'utf8'),
).context;

const PHOTOS = '9NBLGGH4R315';
const NOTES = '9NBLGGH29DM8';
const GAMES = 'CFQ7TTC0KHS0';

const CONFIG: WatchdogConfigInput = {
  dryRun: true,
  storeHealth: { enabled: true, ratioThreshold: 4 },
  apps: [
    { applicationId: PHOTOS, name: 'Contoso Photos', alarmNames: ['contoso-photos-crash-rate'] },
    // Only the Store's signal, halting.
    { applicationId: NOTES, name: 'Contoso Notes', storeHealth: { action: 'halt', windowHours: 12 } },
    { applicationId: GAMES, alarmNames: ['contoso-games-crash-rate'], storeHealth: false },
  ],
};

function synthesize(config: WatchdogConfigInput): {
  app: App;
  stack: WatchdogStack;
  template: Template;
  withNested: Template;
} {
  const { app, stack } = createWatchdogApp({
    // Path metadata as `cdk synth` writes it (the CLI turns it on).
    context: {
      ...cdkContext,
      watchdog: config,
      'aws:cdk:bundling-stacks': [],
      'aws:cdk:enable-path-metadata': true,
    },
  });
  // The cdk-nag packs are registered on the app: synth throws on any unacknowledged finding.
  const assembly = app.synth();
  const template = Template.fromJSON(assembly.getStackByName(stack.stackName).template);
  return { app, stack, template, withNested: templateWithNested(stack, template, assembly.directory) };
}

describe('store health config', () => {
  it('is off by default, and then changes nothing', () => {
    const config = parseWatchdogConfig(cdkContext.watchdog);
    expect(config.storeHealth).toEqual({
      enabled: false,
      scheduleMinutes: 15,
      windowHours: 6,
      minCrashDevices: 5,
      minActiveDevices: 100,
      ratioThreshold: 3,
      evaluationPeriods: 2,
      action: 'notify',
    });
    expect(listStoreHealthApps(config)).toEqual([]);
  });

  it('lists each app\'s alarm as notify-only by default, as halting with action "halt", and none for false', () => {
    const apps = deriveWatchedApps(parseWatchdogConfig(CONFIG));
    expect(apps.map((app) => [app.applicationId, app.alarmNames, app.notifyAlarmNames])).toEqual([
      [PHOTOS, ['contoso-photos-crash-rate'], [storeHealthAlarmName(PHOTOS)]],
      [NOTES, [storeHealthAlarmName(NOTES)], []],
      [GAMES, ['contoso-games-crash-rate'], []],
    ]);
  });

  it('resolves per-app overrides over the top-level block', () => {
    const [photos, notes] = listStoreHealthApps(parseWatchdogConfig(CONFIG));
    expect(photos).toMatchObject({ windowHours: 6, ratioThreshold: 4, action: 'notify' });
    expect(notes).toMatchObject({ windowHours: 12, ratioThreshold: 4, action: 'halt' });
  });

  it('names a bad field', () => {
    expect(() => parseWatchdogConfig({ ...CONFIG, storeHealth: { action: 'stop' } })).toThrow(
      /watchdog\.storeHealth\.action/,
    );
    expect(() => parseWatchdogConfig({ ...CONFIG, storeHealth: { windowHours: 73 } })).toThrow(
      /watchdog\.storeHealth\.windowHours/,
    );
    expect(() =>
      parseWatchdogConfig({ ...CONFIG, storeHealth: { scheduleMinutes: 60, evaluationPeriods: 25 } }),
    ).toThrow(/watchdog\.storeHealth\.evaluationPeriods: scheduleMinutes × evaluationPeriods/);
    expect(() =>
      parseWatchdogConfig({ ...CONFIG, apps: [{ applicationId: PHOTOS, storeHealth: { ratio: 2 } }] }),
    ).toThrow(/watchdog\.apps\[0\]\.storeHealth/);
  });

  it('keeps the probe environment small for a catalog: 500 apps on the top-level settings list none of them', () => {
    const ids = Array.from({ length: 500 }, (_, i) => `9N${String(i).padStart(10, '0')}`);
    const config = parseWatchdogConfig({
      storeHealth: { enabled: true },
      apps: ids.map((applicationId, i) => ({
        applicationId,
        ...(i === 7 ? { storeHealth: { windowHours: 12 } } : {}),
      })),
    });
    const { environment } = deriveProbeAppSettings(listStoreHealthApps(config));

    expect(environment.STORE_HEALTH_WINDOW_HOURS).toBe('6');
    expect(JSON.parse(environment.STORE_HEALTH_APP_SETTINGS ?? '')).toEqual({
      [ids[7] ?? '']: { windowHours: 12, minCrashDevices: 5, minActiveDevices: 100 },
    });
    expect(JSON.stringify(environment).length).toBeLessThan(400);
  });

  it('fails the synth, naming the field, when too many apps have settings of their own for the environment', () => {
    const config = parseWatchdogConfig({
      storeHealth: { enabled: true },
      apps: Array.from({ length: 200 }, (_, i) => ({
        applicationId: `9N${String(i).padStart(10, '0')}`,
        storeHealth: { minActiveDevices: 100 + i },
      })),
    });
    expect(() => deriveProbeAppSettings(listStoreHealthApps(config))).toThrow(
      /watchdog\.apps\[\]\.storeHealth: 199 apps have Store health settings of their own .* over the 2048 that fit/,
    );
  });

  it("checks each app's own evaluationPeriods against the one-day limit, naming the app's field", () => {
    expect(() =>
      parseWatchdogConfig({
        storeHealth: { enabled: true, scheduleMinutes: 60 },
        apps: [{ applicationId: PHOTOS, storeHealth: { evaluationPeriods: 30 } }],
      }),
    ).toThrow(/watchdog\.apps\[0\]\.storeHealth\.evaluationPeriods: .*must not exceed one day/);
  });

  it('refuses a composite that the Store health alarm would pre-empt by halting on its own, naming both', () => {
    const health = storeHealthAlarmName(PHOTOS);
    expect(() =>
      parseWatchdogConfig({
        storeHealth: { enabled: true, action: 'halt' },
        apps: [
          {
            applicationId: PHOTOS,
            alarmNames: [{ alarmName: 'photos-crash-rate', action: 'notify' }],
            composites: [{ alarmName: 'photos-corroborated', allOf: [health, 'photos-crash-rate'] }],
          },
        ],
      }),
    ).toThrow(
      new RegExp(
        `watchdog\\.apps\\[0\\]\\.composites\\[0\\]\\.allOf\\[0\\]: "${health}" would halt .* on its own \\(watchdog\\.storeHealth\\)`,
      ),
    );
  });

  it('an app with neither alarms nor the Store health signal still needs an alarm', () => {
    expect(() =>
      parseWatchdogConfig({ apps: [{ applicationId: PHOTOS, storeHealth: { enabled: false } }] }),
    ).toThrow(/needs at least one alarm/);
  });
});

describe('store health in the stack', () => {
  const { stack, template, withNested } = synthesize(CONFIG);

  it('deploys the probe as a scheduled function whose path contains StoreHealth, one run at a time', () => {
    expect(stack.storeHealth?.function.node.path).toContain('StoreHealth');
    const functions = template.findResources('AWS::Lambda::Function', {
      Metadata: { 'aws:cdk:path': Match.stringLikeRegexp('StoreHealth') },
    });
    const [probe] = Object.values(functions);
    expect(probe?.Properties).toMatchObject({
      Runtime: 'nodejs24.x',
      Architectures: ['arm64'],
      ReservedConcurrentExecutions: 1,
      Timeout: 14 * 60,
    });
    const env = probe?.Properties.Environment.Variables;
    // The app list is built into the asset, as for every function of the stack.
    expect(env.WATCHDOG_APPS).toBe('bundled');
    // The settings most apps share are the probe's own variables; only the apps that differ are listed.
    expect(env).toMatchObject({
      STORE_HEALTH_WINDOW_HOURS: '6',
      STORE_HEALTH_MIN_CRASH_DEVICES: '5',
      STORE_HEALTH_MIN_ACTIVE_DEVICES: '100',
    });
    expect(JSON.parse(env.STORE_HEALTH_APP_SETTINGS)).toEqual({
      [NOTES]: { windowHours: 12, minCrashDevices: 5, minActiveDevices: 100 },
    });
    template.hasResourceProperties('AWS::Events::Rule', { ScheduleExpression: 'rate(15 minutes)' });
  });

  it('alarms per app on CrashRateRatio, named after the stack, missing data not breaching, through the alarm topic', () => {
    for (const [applicationId, threshold] of [
      [PHOTOS, 4],
      [NOTES, 4],
    ] as const) {
      withNested.hasResourceProperties('AWS::CloudWatch::Alarm', {
        AlarmName: `${stack.stackName}-store-health-${applicationId}`,
        Namespace: 'StoreRolloutWatchdog/StoreHealth',
        MetricName: 'CrashRateRatio',
        Dimensions: [{ Name: 'ApplicationId', Value: applicationId }],
        Period: 900,
        Threshold: threshold,
        ComparisonOperator: 'GreaterThanThreshold',
        EvaluationPeriods: 2,
        TreatMissingData: 'notBreaching',
        AlarmActions: [stack.resolve(stack.intake.alarmTopic.topicArn)],
        AlarmDescription: Match.stringLikeRegexp("Microsoft Store's own failure reports"),
      });
    }
    expect(storeHealthAlarmName(PHOTOS)).toBe(`${stack.stackName}-store-health-${PHOTOS}`);
    expect(
      Object.values(
        withNested.findResources('AWS::CloudWatch::Alarm', {
          Properties: { AlarmName: storeHealthAlarmName(GAMES) },
        }),
      ),
    ).toHaveLength(0);
  });

  it('no EventBridge rule lists a Store health alarm: its alarm action is its one path to the function', () => {
    const patterns = Object.values(template.findResources('AWS::Events::Rule'))
      .map((rule) => rule.Properties.EventPattern)
      .filter((pattern) => pattern !== undefined);
    expect(patterns).toEqual([
      expect.objectContaining({
        detail: {
          alarmName: ['contoso-photos-crash-rate', 'contoso-games-crash-rate'],
          state: { value: ['ALARM'] },
        },
      }),
    ]);
  });

  it('names the alarms after the stack, so two watchdog stacks in one account never share one', () => {
    const other = listStoreHealthApps(parseWatchdogConfig(CONFIG), 'StoreRolloutWatchdogEurope');
    expect(other.map((app) => app.alarmName)).toEqual([
      `StoreRolloutWatchdogEurope-store-health-${PHOTOS}`,
      `StoreRolloutWatchdogEurope-store-health-${NOTES}`,
    ]);
    expect(
      deriveWatchedApps(parseWatchdogConfig(CONFIG), 'StoreRolloutWatchdogEurope')[1]?.alarmNames,
    ).toEqual([`StoreRolloutWatchdogEurope-store-health-${NOTES}`]);
  });

  it("alarms on the probe's failed run and on no run", () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: `${stack.stackName}-store-health-failed`,
      MetricName: 'Errors',
      TreatMissingData: 'notBreaching',
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: `${stack.stackName}-store-health-did-not-run`,
      MetricName: 'Invocations',
      TreatMissingData: 'breaching',
      EvaluationPeriods: 2,
    });
  });

  it("has a dashboard with each app's rates, its ratio against the threshold, and its alarm", () => {
    const dashboards = Object.values(template.findResources('AWS::CloudWatch::Dashboard'));
    expect(dashboards).toHaveLength(1);
    const body = JSON.stringify(dashboards[0]?.Properties.DashboardBody);
    for (const text of [
      'RolloutCrashRate',
      'FallbackCrashRate',
      'CrashRateRatio',
      'Contoso Notes: alarm',
      'threshold (halt)',
      'threshold (notify)',
    ]) {
      expect(body).toContain(text);
    }
  });

  it('the cdk.json stack has no probe', () => {
    const { stack: plain, template: plainTemplate } = synthesize({
      ...(cdkContext.watchdog as WatchdogConfigInput),
    });
    expect(plain.storeHealth).toBeUndefined();
    expect(Object.keys(plainTemplate.findResources('AWS::CloudWatch::Dashboard'))).toHaveLength(0);
  });
});

describe('store health of package flights, and the probe memory, in the stack', () => {
  const FLIGHT = '43e448df-97c9-4a43-a0bc-2a445e736bcd';
  const FLIGHTS_CONFIG: WatchdogConfigInput = {
    dryRun: true,
    storeHealth: { enabled: true },
    apps: [
      { applicationId: PHOTOS, name: 'Contoso Photos', flights: [FLIGHT], storeHealth: { action: 'halt' } },
      { applicationId: NOTES, name: 'Contoso Notes', flights: 'all' },
    ],
  };
  const { stack, template, withNested } = synthesize(FLIGHTS_CONFIG);

  it("lists each watched flight's alarm among the app's alarms, halting or notify-only like the app's", () => {
    const apps = deriveWatchedApps(parseWatchdogConfig(FLIGHTS_CONFIG));
    expect(apps.map((app) => [app.applicationId, app.alarmNames, app.notifyAlarmNames])).toEqual([
      [PHOTOS, [storeHealthAlarmName(PHOTOS), storeHealthFlightAlarmName(PHOTOS, FLIGHT)], []],
      [NOTES, [], [storeHealthAlarmName(NOTES), storeHealthFlightAlarmName(NOTES, 'all')]],
    ]);
  });

  it('alarms on a listed flight with the dimensions ApplicationId and FlightId, through the alarm topic', () => {
    withNested.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: storeHealthFlightAlarmName(PHOTOS, FLIGHT),
      Namespace: 'StoreRolloutWatchdog/StoreHealth',
      MetricName: 'CrashRateRatio',
      Dimensions: Match.arrayWith([
        { Name: 'ApplicationId', Value: PHOTOS },
        { Name: 'FlightId', Value: FLIGHT },
      ]),
      Statistic: 'Maximum',
      Period: 900,
      Threshold: 3,
      EvaluationPeriods: 2,
      TreatMissingData: 'notBreaching',
      AlarmActions: [stack.resolve(stack.intake.alarmTopic.topicArn)],
    });
  });

  it('alarms on the highest ratio of all flights of an app watching "all", by a Metrics Insights query, through the alarm topic', () => {
    withNested.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: storeHealthFlightAlarmName(NOTES, 'all'),
      Metrics: [
        Match.objectLike({
          Expression: `SELECT MAX(CrashRateRatio) FROM SCHEMA("StoreRolloutWatchdog/StoreHealth", ApplicationId, FlightId) WHERE ApplicationId = '${NOTES}'`,
          Period: 900,
          ReturnData: true,
        }),
      ],
      Threshold: 3,
      EvaluationPeriods: 2,
      TreatMissingData: 'notBreaching',
      AlarmActions: [stack.resolve(stack.intake.alarmTopic.topicArn)],
    });
  });

  it('no EventBridge rule lists a flight alarm: its alarm action is its one path to the function', () => {
    const patterns = JSON.stringify(
      Object.values(template.findResources('AWS::Events::Rule')).map((rule) => rule.Properties.EventPattern),
    );
    for (const name of [
      storeHealthFlightAlarmName(PHOTOS, FLIGHT),
      storeHealthFlightAlarmName(NOTES, 'all'),
    ]) {
      expect(patterns).not.toContain(name);
    }
  });

  it('lets the probe query, get, put and delete items of the state table (its memory and the Store budget), and names it to the probe', () => {
    const probe = stack.storeHealth?.function;
    expect(probe).toBeDefined();
    const tables = Object.keys(template.findResources('AWS::DynamoDB::Table'));
    expect(tables).toHaveLength(1);
    const [functionId] = Object.entries(template.findResources('AWS::Lambda::Function')).find(
      ([, resource]) => JSON.stringify(resource.Metadata ?? {}).includes('StoreHealth'),
    ) ?? [undefined];
    const probeFunction = functionId === undefined ? undefined : template.toJSON().Resources[functionId];
    expect(probeFunction?.Properties.Environment.Variables.ROLLOUT_MEMORY_TABLE).toEqual({ Ref: tables[0] });
    const roleId: unknown = probeFunction?.Properties.Role['Fn::GetAtt'][0];
    const policies = Object.values(template.findResources('AWS::IAM::Policy')).filter((policy) =>
      JSON.stringify(policy.Properties.Roles).includes(String(roleId)),
    );
    const statements = policies.flatMap((policy) => policy.Properties.PolicyDocument.Statement);
    const dynamo = statements.filter((statement) => JSON.stringify(statement.Action).includes('dynamodb:'));
    expect(dynamo).toHaveLength(1);
    expect([dynamo[0]?.Action].flat().sort()).toEqual([
      'dynamodb:DeleteItem',
      'dynamodb:GetItem',
      'dynamodb:PutItem',
      'dynamodb:Query',
    ]);
    expect([dynamo[0]?.Resource].flat()).toEqual([{ 'Fn::GetAtt': [tables[0], 'Arn'] }]);
  });
});
