/**
 * A publisher's whole catalog in one stack: a generated 500-app config synthesizes, with the app list
 * built into the functions' assets (WATCHDOG_APPS=bundled) and every EventBridge rule within its
 * 2,048-character pattern limit; 500 apps whose alarms the stack builds (a crash alarm each and the
 * Store health alarm, flights "all") synthesize into nested stacks, every template within
 * CloudFormation's limits, every created alarm reaching the function by its alarm action only and every
 * external one by a rule only; a prefix config watches through one prefix rule; a config no set of rules
 * can carry fails the synth with a message that says what to change. Synth time and template sizes are
 * benchmark figures (`npm run bench -- --synth`), not asserted here.
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Annotations, Match } from 'aws-cdk-lib/assertions';
import { Queue } from 'aws-cdk-lib/aws-sqs';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  deriveWatchedApps,
  listCreatedAlarmNames,
  listWatchedAlarmNames,
  parseWatchdogConfig,
} from '../../infra/config.ts';
import { MAX_EVENT_PATTERN_LENGTH } from '../../infra/constructs/alarm-rules.ts';
import { createWatchdogApp } from '../../infra/watchdog-app.ts';
import {
  CATALOG_ALARM_PREFIX,
  catalogAppId,
  createCatalogConfig,
  type SynthesizedCatalog,
  type SynthesizedTemplate,
  synthesizeCatalog,
} from '../../tools/fixtures/catalog.ts';
import { resolveParameters } from './template-helpers.ts';

interface TemplateResource {
  readonly Type: string;
  readonly Properties?: Record<string, unknown>;
}

function resourcesOf(template: Record<string, unknown>, type: string): TemplateResource[] {
  const resources = template.Resources;
  if (typeof resources !== 'object' || resources === null) return [];
  return Object.values(resources).filter(
    (resource): resource is TemplateResource =>
      typeof resource === 'object' && resource !== null && 'Type' in resource && resource.Type === type,
  );
}

/** The event patterns of the rules that watch alarm state changes (not the self-check's schedule). */
function alarmPatterns(template: Record<string, unknown>): Record<string, unknown>[] {
  return resourcesOf(template, 'AWS::Events::Rule').flatMap((rule) => {
    const pattern = rule.Properties?.EventPattern;
    return typeof pattern === 'object' && pattern !== null ? [{ ...pattern }] : [];
  });
}

function alarmNameMatchers(pattern: Record<string, unknown>): unknown[] {
  const detail = pattern.detail;
  if (typeof detail !== 'object' || detail === null || !('alarmName' in detail)) return [];
  return Array.isArray(detail.alarmName) ? detail.alarmName : [];
}

/** Runs an asset's handler once in a fresh process with `env`, and returns the error message or 'passed'. */
function runAsset(directory: string, asset: string, env: Record<string, string>): string {
  const url = pathToFileURL(join(directory, asset, 'index.mjs')).href;
  const script = `const { handler } = await import(${JSON.stringify(url)}); try { await handler({}, undefined); console.log('passed'); } catch (error) { console.log(error.message); }`;
  return execFileSync(process.execPath, ['--input-type=module', '-e', script], {
    env: { AWS_REGION: 'eu-west-1', ...env },
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'ignore'],
  });
}

describe('a 500-app catalog, names listed, bundled as cdk synth does', () => {
  const config = createCatalogConfig({ apps: 500 });
  let synthesized: SynthesizedCatalog;

  beforeAll(() => {
    synthesized = synthesizeCatalog(config);
  });

  afterAll(() => synthesized.dispose());

  it('sets WATCHDOG_APPS to bundled on both functions and builds the whole derived list into each asset', () => {
    // The watchdog's two functions; the third is the CDK's provider of the custom resource that creates
    // the console's test event registry (no app list, no environment).
    const all = resourcesOf(synthesized.template, 'AWS::Lambda::Function');
    expect(all).toHaveLength(3);
    const functions = all.filter((fn) => fn.Properties?.Environment !== undefined);
    expect(functions).toHaveLength(2);
    for (const fn of functions) {
      expect(fn.Properties?.Environment).toMatchObject({ Variables: { WATCHDOG_APPS: 'bundled' } });
      // What Lambda limits to 4 KB stays small however many apps there are.
      expect(JSON.stringify(fn.Properties?.Environment).length).toBeLessThan(1_024);
    }
    const derived = JSON.stringify(deriveWatchedApps(parseWatchdogConfig(config)));
    expect(derived.length).toBeGreaterThan(50_000);
    expect(synthesized.assetBytes.size).toBe(2);
    // The list rides in the asset as data (about 90 kB for 500 apps); the code beside it stays within the
    // artifact's 900 kB budget (the benchmark's target), and the whole asset within 1 MB.
    for (const bytes of synthesized.assetBytes.values()) {
      expect(bytes - Buffer.byteLength(derived)).toBeLessThanOrEqual(900_000);
      expect(bytes).toBeLessThanOrEqual(1_000_000);
    }
    for (const asset of synthesized.assetBytes.keys()) {
      // The asset parses and validates the 500 apps at cold start: only the secret is then missing.
      const message = runAsset(synthesized.directory, asset, {
        WATCHDOG_APPS: 'bundled',
        NOTIFICATION_TOPIC_ARN: 'arn:aws:sns:eu-west-1:123456789012:decisions',
      });
      expect(message).toContain('STORE_CREDENTIALS_SECRET_ID is required');
      expect(message).not.toContain('WATCHDOG_APPS');
    }
  });

  it('splits the 491 alarm names created elsewhere over several EventBridge rules, each pattern within 2,048 characters, and leaves the created ones (and the drill) to their alarm action', () => {
    const patterns = alarmPatterns(synthesized.template).filter((p) => alarmNameMatchers(p).length > 0);

    expect(patterns.length).toBeGreaterThan(1);
    for (const pattern of patterns) {
      expect(Buffer.byteLength(JSON.stringify(pattern))).toBeLessThanOrEqual(MAX_EVENT_PATTERN_LENGTH);
      expect(pattern).toMatchObject({
        source: ['aws.cloudwatch'],
        'detail-type': ['CloudWatch Alarm State Change'],
        detail: { state: { value: ['ALARM'] } },
      });
    }
    const listed = patterns.flatMap(alarmNameMatchers);
    const parsed = parseWatchdogConfig(config);
    const created = new Set(listCreatedAlarmNames(parsed));
    const watched = [...new Set(deriveWatchedApps(parsed).flatMap((a) => a.alarmNames))];
    expect(listed.toSorted()).toEqual(watched.filter((name) => !created.has(name)).toSorted());
    expect(listed).toHaveLength(491);
    expect(listed).not.toContain(synthesized.stack.drill.alarmName);
  });

  it('stays within what CloudFormation deploys: every template within 500 resources and 1 MB', () => {
    expect(synthesized.templates.length).toBeGreaterThan(1);
    for (const template of synthesized.templates) {
      expect(template.resources, template.path).toBeLessThanOrEqual(500);
      expect(template.bytes, template.path).toBeLessThanOrEqual(MAX_TEMPLATE_BYTES);
    }
  });

  it("lets the self-check describe the catalog's alarms (composites too) with one statement on *, not 501 ARNs", () => {
    const describe = resourcesOf(synthesized.template, 'AWS::IAM::Policy')
      .flatMap((policy) => {
        const document = policy.Properties?.PolicyDocument;
        return typeof document === 'object' &&
          document !== null &&
          'Statement' in document &&
          Array.isArray(document.Statement)
          ? document.Statement
          : [];
      })
      .filter((statement) => JSON.stringify(statement).includes('cloudwatch:DescribeAlarms'));

    expect(describe).toHaveLength(1);
    expect(describe[0]).toMatchObject({
      Action: 'cloudwatch:DescribeAlarms',
      Effect: 'Allow',
      Resource: '*',
    });
    expect(resourcesOf(synthesized.template, 'AWS::IAM::ManagedPolicy')).toEqual([]);
  });

  it('has the self-check read the apps in slices on a schedule derived from the catalog, each app at least once a day', () => {
    const { selfCheck } = synthesized.stack;

    expect(selfCheck.scheduleDerived).toBe(true);
    expect(selfCheck.slicePlan.slices).toBeGreaterThan(1);
    expect(selfCheck.everyAppCheckedWithin.toHours()).toBeLessThanOrEqual(24);
  });
});

/** CloudFormation's limits on one template (stack quotas): resources, outputs, parameters, body in S3. */
const MAX_RESOURCES = 500;
const MAX_OUTPUTS = 200;
const MAX_PARAMETERS = 200;
const MAX_TEMPLATE_BYTES = 1_000_000;

interface CreatedAlarm {
  readonly name: string;
  readonly path: string;
  /** Its alarm actions, with the nested stack's parameters replaced by what the main stack passes. */
  readonly actions: unknown;
}

/** Every alarm (metric and composite) of every template, with its actions as the main stack sees them. */
function alarmsOf(templates: readonly SynthesizedTemplate[]): CreatedAlarm[] {
  return templates.flatMap((template) =>
    ['AWS::CloudWatch::Alarm', 'AWS::CloudWatch::CompositeAlarm'].flatMap((type) =>
      resourcesOf(template.template, type).map((alarm) => ({
        name: String(alarm.Properties?.AlarmName),
        path: template.path,
        actions: resolveParameters(alarm.Properties?.AlarmActions, template.parameters),
      })),
    ),
  );
}

function outputsAndParameters(template: Record<string, unknown>): { outputs: number; parameters: number } {
  const count = (value: unknown) =>
    typeof value === 'object' && value !== null ? Object.keys(value).length : 0;
  return { outputs: count(template.Outputs), parameters: count(template.Parameters) };
}

describe('500 apps whose alarms the stack builds: a crash alarm each, Store health on, flights "all"', () => {
  const config = createCatalogConfig({ apps: 500, createdAlarms: 500, storeHealth: true, allFlights: true });
  let synthesized: SynthesizedCatalog;

  beforeAll(() => {
    synthesized = synthesizeCatalog(config, { bundle: false });
  });

  afterAll(() => synthesized.dispose());

  it('synthesizes into nested stacks, every template within CloudFormation limits (resources, outputs, parameters, 1 MB)', () => {
    const nested = synthesized.templates.filter((template) => template.nested);
    expect(nested.length).toBeGreaterThan(1);
    for (const template of synthesized.templates) {
      expect(template.resources, template.path).toBeLessThanOrEqual(MAX_RESOURCES);
      expect(template.bytes, template.path).toBeLessThanOrEqual(MAX_TEMPLATE_BYTES);
      const { outputs, parameters } = outputsAndParameters(template.template);
      expect(outputs, template.path).toBeLessThanOrEqual(MAX_OUTPUTS);
      expect(parameters, template.path).toBeLessThanOrEqual(MAX_PARAMETERS);
    }
    // Together they hold what one template could not.
    const total = synthesized.templates.reduce((sum, template) => sum + template.resources, 0);
    expect(total).toBeGreaterThan(MAX_RESOURCES);
  });

  it('builds every alarm of the config (1,500: a crash alarm, a Store health alarm and a flights alarm per app) and has each reach the function by its alarm action, the alarm topic, only', () => {
    const { stack } = synthesized;
    const topic = stack.resolve(stack.intake.alarmTopic.topicArn);
    const created = [...listCreatedAlarmNames(parseWatchdogConfig(config)), stack.drill.alarmName];
    expect(created).toHaveLength(1_501);
    const alarms = new Map(alarmsOf(synthesized.templates).map((alarm) => [alarm.name, alarm]));

    for (const name of created) {
      const alarm = alarms.get(name);
      expect(alarm?.actions, name).toEqual([topic]);
    }
    // The catalog's alarms live in nested stacks; the drill alarm is the main stack's own.
    expect(alarms.get(stack.drill.alarmName)?.path).toBe(stack.node.path);
    expect(
      created
        .filter((name) => name !== stack.drill.alarmName)
        .every((name) => alarms.get(name)?.path !== stack.node.path),
    ).toBe(true);
    // No rule lists a created alarm: only the one fleet alarm, made elsewhere, arrives by EventBridge.
    const listed = alarmPatterns(synthesized.template).flatMap(alarmNameMatchers);
    expect(listed).toEqual([`${CATALOG_ALARM_PREFIX}fleet-crash-rate`]);
  });

  it('splits the Store health dashboard into pages of 50 apps, each in its own stack after the first, each status widget within 100 alarms', () => {
    const dashboards = synthesized.templates.flatMap((template) =>
      resourcesOf(template.template, 'AWS::CloudWatch::Dashboard').map((dashboard) => ({
        path: template.path,
        name: dashboard.Properties?.DashboardName,
        alarms: JSON.stringify(dashboard.Properties?.DashboardBody).split(':alarm:').length - 1,
      })),
    );
    expect(dashboards.map((dashboard) => dashboard.name)).toEqual([
      'StoreRolloutWatchdog-store-health',
      ...Array.from({ length: 9 }, (_, page) => `StoreRolloutWatchdog-store-health-${page + 2}`),
    ]);
    expect(dashboards[0]?.path).toBe(synthesized.stack.node.path);
    expect(new Set(dashboards.map((dashboard) => dashboard.path)).size).toBe(10);
    // Per page: the status widget (50 apps and the probe's two alarms) and each app's own alarm widget
    // (its Store health alarm and its flights' alarm): no status widget passes CloudWatch's 100.
    for (const dashboard of dashboards) expect(dashboard.alarms, String(dashboard.name)).toBe(52 + 50 * 2);
  });

  it('gives every watched alarm exactly one path to the function: a rule for the one made elsewhere, the alarm topic for each built one', () => {
    const { stack } = synthesized;
    const topic = JSON.stringify([stack.resolve(stack.intake.alarmTopic.topicArn)]);
    const byTopic = new Set(
      alarmsOf(synthesized.templates)
        .filter((alarm) => JSON.stringify(alarm.actions) === topic)
        .map((alarm) => alarm.name),
    );
    const byRule = alarmPatterns(synthesized.template).flatMap(alarmNameMatchers);
    const watched = [...listWatchedAlarmNames(parseWatchdogConfig(config)), stack.drill.alarmName];
    expect(watched).toHaveLength(1_502);
    for (const name of watched) {
      const paths = (byTopic.has(name) ? 1 : 0) + byRule.filter((listed) => listed === name).length;
      expect(paths, name).toBe(1);
    }
  });

  it('names each Store health alarm after the stack', () => {
    const names = alarmsOf(synthesized.templates).map((alarm) => alarm.name);
    expect(names).toContain(`${synthesized.stack.stackName}-store-health-${catalogAppId(0)}`);
    const health = names.filter((name) => name.startsWith(`${synthesized.stack.stackName}-store-health-9`));
    // Each app's alarm and its flights' alarm ("flights": "all").
    expect(health.filter((name) => !name.endsWith('-flights'))).toHaveLength(500);
    expect(health.filter((name) => name.endsWith('-flights'))).toHaveLength(500);
  });

  it('lets CloudWatch publish to the alarm topic for the created alarms through a few name patterns, not 1,501 ARNs', () => {
    const policy = resourcesOf(synthesized.template, 'AWS::SNS::TopicPolicy')
      .flatMap((resource) => {
        const document = resource.Properties?.PolicyDocument;
        return typeof document === 'object' &&
          document !== null &&
          'Statement' in document &&
          Array.isArray(document.Statement)
          ? document.Statement
          : [];
      })
      .find((statement) => statement.Sid === 'AllowWatchedAlarmsToPublish');
    const arns: unknown[] = policy?.Condition?.ArnLike?.['aws:SourceArn'] ?? [];
    expect(arns.length).toBeGreaterThan(0);
    expect(arns.length).toBeLessThanOrEqual(40);
    // Within the 30 KB an SNS topic policy holds, with room for the rest.
    expect(JSON.stringify(policy).length).toBeLessThan(10_000);
  });

  it('derives the self-check schedule from the catalog, checks each app daily, and says so at synth', () => {
    const { selfCheck } = synthesized.stack;
    expect(selfCheck.scheduleDerived).toBe(true);
    expect(selfCheck.schedule.toMinutes()).toBeGreaterThanOrEqual(15);
    expect(selfCheck.everyAppCheckedWithin.toMinutes()).toBeLessThanOrEqual(24 * 60);
    Annotations.fromStack(synthesized.stack).hasInfo(
      '/StoreRolloutWatchdog/SelfCheck',
      Match.stringLikeRegexp(
        `self-check schedule: every ${selfCheck.schedule.toHumanString()} \\(derived from 500 apps`,
      ),
    );
  });

  it('passes cdk-nag on every stack, nested ones included', () => {
    const findings = [new AwsSolutionsChecks(), new ServerlessChecks()].flatMap(
      (pack) => pack.validateScope(synthesized.app).violations,
    );
    expect(findings).toEqual([]);
  });
});

describe('a 500-app catalog with alarmNamePrefix', () => {
  let synthesized: SynthesizedCatalog;

  beforeAll(() => {
    synthesized = synthesizeCatalog(createCatalogConfig({ apps: 500, alarmNamePrefix: true }), {
      bundle: false,
    });
  });

  afterAll(() => synthesized.dispose());

  it('watches through one rule matching the prefix on detail.alarmName', () => {
    const patterns = alarmPatterns(synthesized.template).filter((p) => alarmNameMatchers(p).length > 0);

    expect(patterns).toEqual([
      {
        source: ['aws.cloudwatch'],
        'detail-type': ['CloudWatch Alarm State Change'],
        detail: { alarmName: [{ prefix: CATALOG_ALARM_PREFIX }], state: { value: ['ALARM'] } },
      },
    ]);
  });

  it('names the drill alarm with the prefix, so the prefix rule delivers the drill too', () => {
    expect(synthesized.stack.drill.alarmName.startsWith(CATALOG_ALARM_PREFIX)).toBe(true);
  });

  it('gives the alarms it creates with the prefix no alarm action: the prefix rule is their one path', () => {
    const created = alarmsOf(synthesized.templates).filter((alarm) =>
      alarm.name.startsWith(CATALOG_ALARM_PREFIX),
    );
    // Ten crash alarms and the drill.
    expect(created).toHaveLength(11);
    for (const alarm of created) expect(alarm.actions, alarm.name).toBeUndefined();
  });
});

describe('cdk-nag over nested stacks', () => {
  it('finds an unacknowledged finding inside a nested stack of the alarms, and fails the synth on it', () => {
    const config = createCatalogConfig({ apps: 1, createdAlarms: 1 });
    const { app, stack } = createWatchdogApp({
      context: { watchdog: config, 'aws:cdk:bundling-stacks': [] },
    });
    const [nested] = stack.alarmStacks.nestedStacks.values();
    if (nested === undefined) throw new Error('the created alarm has no nested stack');
    new Queue(nested, 'PlainQueue');

    const findings = [new AwsSolutionsChecks(), new ServerlessChecks()].flatMap((pack) =>
      pack
        .validateScope(app)
        .violations.flatMap((v) => v.violatingResources.map((r) => `${v.ruleName} ${r.constructPath}`)),
    );
    expect(findings).toContain(`AwsSolutions-SQS4 ${nested.node.path}/PlainQueue/Resource`);
    expect(() => app.synth()).toThrow(/AwsSolutions-SQS4/);
  });
});

describe('a catalog no set of rules can carry', () => {
  it('fails the synth when the names need more rules than the stack creates, saying to set alarmNamePrefix', () => {
    const config = createCatalogConfig({ apps: 1_400, createdAlarms: 0 });

    expect(() => synthesizeCatalog(config, { bundle: false })).toThrow(
      /the 1401 watched alarm names created elsewhere need \d+ EventBridge rules \(each pattern at most 2048 characters\), more than the 20 the stack creates; give the alarms a common prefix and set watchdog\.alarmNamePrefix/,
    );
  });

  it("fails the synth when the self-check's schedule cannot check 500 apps daily, naming the field", () => {
    const config = createCatalogConfig({ apps: 500, selfCheckScheduleHours: 6 });

    expect(() => synthesizeCatalog(config, { bundle: false })).toThrow(
      /watchdog\.selfCheck\.scheduleHours: the self-check cannot read all 500 apps at least once a day/,
    );
  });

  it('fails the synth when a watched alarm does not start with alarmNamePrefix, naming the field', () => {
    const config = { ...createCatalogConfig({ apps: 3 }), alarmNamePrefix: 'fabrikam-' };

    expect(() => synthesizeCatalog(config, { bundle: false })).toThrow(
      /watchdog\.apps\[1\]\.alarmNames\[0\]: must start with alarmNamePrefix "fabrikam-"/,
    );
  });
});
