/**
 * The Lambda console's shareable test events for the halt-rollout function, in the synthesized template:
 * a schema `_<function name>-schema` in the `lambda-testevent-schemas` registry (OpenAPI 3, the events
 * under `components.examples`), holding a dry run per watched app and the drill alarm's transition by SNS
 * and by EventBridge, each of which the function's own parser reads as a dry run or the drill; and a
 * custom resource that creates the registry only when it is missing and never deletes it.
 */
import { readFileSync } from 'node:fs';
import type { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { CfnFunction } from 'aws-cdk-lib/aws-lambda';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseEvent } from '../../../functions/commons/domain/events.ts';
import {
  dryRunEvents,
  MAX_APP_EVENTS,
  slugOf,
  TEST_EVENT_REGISTRY,
} from '../../../infra/constructs/console-test-events.ts';
import { createWatchdogApp } from '../../../infra/watchdog-app.ts';
import type { WatchdogStack } from '../../../infra/watchdog-stack.ts';
import {
  actionsOf,
  NO_BUNDLING,
  onlyResourceProperties,
  resourcesOf,
  statementsAllowing,
} from '../template-helpers.ts';

const cdkContext: Record<string, unknown> = JSON.parse(
  readFileSync(new URL('../../../cdk.json', import.meta.url), 'utf8'),
).context;

/** What the deploy would put in place of the template's references, to read the content as JSON. */
const DEPLOYED: Readonly<Record<string, string>> = {
  'AWS::AccountId': '123456789012',
  'AWS::Region': 'eu-west-1',
  'AWS::Partition': 'aws',
};

/** A template string value (`Fn::Join` of literals and `Ref`s) as deployed, with `refs` for the stack's own. */
function render(value: unknown, refs: Readonly<Record<string, string>>): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'object' && value !== null) {
    if ('Ref' in value && typeof value.Ref === 'string') {
      const resolved = DEPLOYED[value.Ref] ?? refs[value.Ref];
      if (resolved === undefined) throw new Error(`no value for Ref ${value.Ref}`);
      return resolved;
    }
    if ('Fn::Join' in value && Array.isArray(value['Fn::Join'])) {
      const [separator, parts] = value['Fn::Join'];
      if (typeof separator === 'string' && Array.isArray(parts)) {
        return parts.map((part) => render(part, refs)).join(separator);
      }
    }
  }
  throw new Error(`cannot render ${JSON.stringify(value)}`);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

describe('the test events, as the stack builds them', () => {
  it('names each app by its name, falling back to its Store ID, and stops at the cap', () => {
    expect(slugOf('Contoso Photos')).toBe('contoso-photos');
    expect(slugOf('  Fabrikam: Notes (beta)! ')).toBe('fabrikam-notes-beta');
    const apps = [
      { applicationId: '9NBLGGH4R315', name: 'Contoso Photos' },
      { applicationId: '9NBLGGH4R316', name: 'Contoso Photos' },
      { applicationId: '9NBLGGH4R317', name: '☃' },
      { applicationId: '9NBLGGH4R318' },
    ];
    const events = dryRunEvents(apps);
    expect([...events.keys()]).toEqual([
      'dry-run-contoso-photos',
      'dry-run-9nblggh4r316',
      'dry-run-9nblggh4r317',
      'dry-run-9nblggh4r318',
    ]);
    expect(events.get('dry-run-9nblggh4r318')).toEqual({
      applicationId: '9NBLGGH4R318',
      reason: 'console test: dry run for 9NBLGGH4R318',
      dryRun: true,
    });

    const many = Array.from({ length: MAX_APP_EVENTS + 5 }, (_, i) => ({
      applicationId: `9NCAT${String(i).padStart(7, '0')}`,
      name: `Catalog App ${i}`,
    }));
    const capped = dryRunEvents(many);
    expect(capped.size).toBe(MAX_APP_EVENTS);
    expect([...capped.keys()].at(-1)).toBe(`dry-run-catalog-app-${MAX_APP_EVENTS - 1}`);
  });
});

describe('the console test events in the synthesized stack (config shipped in cdk.json)', () => {
  let app: App;
  let stack: WatchdogStack;
  let template: Template;
  let functionRef: string;
  let examples: Record<string, unknown>;
  beforeAll(() => {
    ({ app, stack } = createWatchdogApp({ context: { ...cdkContext, ...NO_BUNDLING } }));
    template = Template.fromJSON(app.synth().getStackByName(stack.stackName).template);
    const fn = stack.haltRollout.function.node.defaultChild;
    if (!(fn instanceof CfnFunction)) throw new Error('the halt-rollout function has no CfnFunction');
    functionRef = stack.getLogicalId(fn);
    const schema = onlyResourceProperties(template, 'AWS::EventSchemas::Schema');
    const topic = Object.keys(template.findResources('AWS::SNS::Topic')).find((id) =>
      id.startsWith('AlarmIntakeAlarmTopic'),
    );
    if (topic === undefined) throw new Error('no alarm topic');
    const content: unknown = JSON.parse(
      render(schema.Content, {
        [functionRef]: 'StoreRolloutWatchdog-HaltRolloutFunction-AbCdEf',
        [topic]: 'arn:aws:sns:eu-west-1:123456789012:StoreRolloutWatchdog-alarms',
      }),
    );
    if (!isRecord(content) || !isRecord(content.components) || !isRecord(content.components.examples)) {
      throw new Error('the schema has no components.examples');
    }
    examples = content.components.examples;
  });

  it("is the function's shareable test event schema: `_<function name>-schema` in the console's registry, OpenAPI 3", () => {
    expect(onlyResourceProperties(template, 'AWS::EventSchemas::Schema')).toMatchObject({
      RegistryName: TEST_EVENT_REGISTRY,
      SchemaName: { 'Fn::Join': ['', ['_', { Ref: functionRef }, '-schema']] },
      Type: 'OpenApi3',
    });
  });

  it('holds a dry run for the app and the drill alarm by SNS and by EventBridge, nothing else', () => {
    expect(Object.keys(examples)).toEqual([
      'dry-run-contoso-photos',
      'drill-alarm-via-sns',
      'drill-alarm-via-eventbridge',
    ]);
    expect(examples['dry-run-contoso-photos']).toEqual({
      value: {
        applicationId: '9NBLGGH4R315',
        reason: 'console test: dry run for Contoso Photos',
        dryRun: true,
      },
    });
  });

  it("is read by the function's own parser as a dry run and as the drill alarm going into ALARM", () => {
    const eventNamed = (name: string): unknown => {
      const example = examples[name];
      return isRecord(example) ? example.value : undefined;
    };
    expect(parseEvent(eventNamed('dry-run-contoso-photos'))).toEqual({
      kind: 'manual',
      applicationId: '9NBLGGH4R315',
      reason: 'console test: dry run for Contoso Photos',
      enforce: false,
    });
    for (const [name, source] of [
      ['drill-alarm-via-sns', 'sns'],
      ['drill-alarm-via-eventbridge', 'eventbridge'],
    ] as const) {
      expect(parseEvent(eventNamed(name)), name).toEqual({
        kind: 'alarm',
        alarms: [
          expect.objectContaining({
            alarmName: stack.drill.alarmName,
            newState: 'ALARM',
            previousState: 'OK',
            source,
            alarmArn: `arn:aws:cloudwatch:eu-west-1:123456789012:alarm:${stack.drill.alarmName}`,
          }),
        ],
      });
    }
  });

  it('creates the registry only when missing (a conflict means it exists) and never deletes it', () => {
    const registry = onlyResourceProperties(template, 'Custom::LambdaTestEventRegistry');
    expect(JSON.parse(String(registry.Create))).toEqual({
      service: 'schemas',
      action: 'CreateRegistry',
      parameters: {
        RegistryName: TEST_EVENT_REGISTRY,
        Description: 'Shareable test events of the Lambda console',
      },
      physicalResourceId: { id: TEST_EVENT_REGISTRY },
      ignoreErrorCodesMatching: 'ConflictException',
    });
    expect(registry.Update).toBeUndefined();
    expect(registry.Delete).toBeUndefined();
    const [schemaId] = Object.keys(template.findResources('AWS::EventSchemas::Schema'));
    const [registryId] = Object.keys(template.findResources('Custom::LambdaTestEventRegistry'));
    expect(template.toJSON().Resources[schemaId ?? ''].DependsOn).toContain(registryId);

    const grants = statementsAllowing(template, 'schemas:CreateRegistry');
    expect(grants).toHaveLength(1);
    expect(grants.flatMap(actionsOf)).toEqual(['schemas:CreateRegistry']);
    expect(grants.flatMap(resourcesOf)).toEqual([
      {
        'Fn::Join': [
          '',
          [
            'arn:',
            { Ref: 'AWS::Partition' },
            ':schemas:',
            { Ref: 'AWS::Region' },
            ':',
            { Ref: 'AWS::AccountId' },
            `:registry/${TEST_EVENT_REGISTRY}`,
          ],
        ],
      },
    ]);
  });
});
