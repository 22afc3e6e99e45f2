/**
 * The halt-rollout function's shareable test events in the Lambda console, none of which can halt
 * anything: a manual dry run per watched app (the first `MAX_APP_EVENTS`) and the drill alarm into ALARM
 * as SNS and as EventBridge deliver it. The console keeps them as the schema `_<function name>-schema`
 * in the registry `lambda-testevent-schemas` (AWS: "Testing Lambda functions in the console"), which a
 * custom resource creates when missing and leaves on delete: docs/operate.md, "Test from the console".
 */
import { Aws, CfnResource, Stack, Validations } from 'aws-cdk-lib';
import { CfnSchema } from 'aws-cdk-lib/aws-eventschemas';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import type { ITopic } from 'aws-cdk-lib/aws-sns';
import { AwsCustomResource, AwsCustomResourcePolicy, PhysicalResourceId } from 'aws-cdk-lib/custom-resources';
import { Construct } from 'constructs';

/** The registry where the Lambda console looks for shareable test events. */
export const TEST_EVENT_REGISTRY = 'lambda-testevent-schemas';

/** At most this many apps get a dry-run event, so the console's list stays one to pick from. */
export const MAX_APP_EVENTS = 20;

/** An app as the test events need it. */
export interface TestEventApp {
  readonly applicationId: string;
  readonly name?: string | undefined;
}

export interface ConsoleTestEventsProps {
  /** The function the events are for (the halt-rollout function). */
  readonly function: IFunction;
  /** The watched apps, in config order. */
  readonly apps: readonly TestEventApp[];
  /** The drill alarm's name (a literal). */
  readonly drillAlarmName: string;
  /** The alarm topic the stack's alarms notify. */
  readonly alarmTopic: ITopic;
}

/** `Contoso Photos` → `contoso-photos`: lower case, runs of anything else than a-z and 0-9 to one `-`. */
export function slugOf(text: string): string {
  return text
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '');
}

/**
 * The dry-run events of `apps` (the first `MAX_APP_EVENTS`), by name: `dry-run-<slug of the name>`, or
 * of the Store ID when the name has no letters or digits or another app already has that name.
 */
export function dryRunEvents(apps: readonly TestEventApp[]): Map<string, Record<string, unknown>> {
  const events = new Map<string, Record<string, unknown>>();
  for (const app of apps.slice(0, MAX_APP_EVENTS)) {
    const slug = slugOf(app.name ?? '');
    const byName = `dry-run-${slug}`;
    const eventName =
      slug === '' || events.has(byName) ? `dry-run-${app.applicationId.toLowerCase()}` : byName;
    events.set(eventName, {
      applicationId: app.applicationId,
      reason: `console test: dry run for ${app.name ?? app.applicationId}`,
      dryRun: true,
    });
  }
  return events;
}

/**
 * The drill alarm's transition into ALARM as EventBridge delivers it (a "CloudWatch Alarm State Change"
 * event) and as the alarm topic delivers it (an SNS record whose message is the alarm notification).
 */
export function drillEvents(input: {
  readonly alarmName: string;
  readonly account: string;
  readonly region: string;
  readonly partition: string;
  readonly topicArn: string;
}): { eventBridge: Record<string, unknown>; sns: Record<string, unknown> } {
  const { alarmName, account, region, partition, topicArn } = input;
  const alarmArn = `arn:${partition}:cloudwatch:${region}:${account}:alarm:${alarmName}`;
  const reason = 'watchdog drill (console test event)';
  const time = '2026-01-01T00:00:00.000+0000';
  const eventBridge = {
    version: '0',
    id: '00000000-0000-4000-8000-000000000000',
    'detail-type': 'CloudWatch Alarm State Change',
    source: 'aws.cloudwatch',
    account,
    time: '2026-01-01T00:00:00Z',
    region,
    resources: [alarmArn],
    detail: {
      alarmName,
      state: { value: 'ALARM', reason, timestamp: time },
      previousState: { value: 'OK', reason: 'the drill alarm rests in OK', timestamp: time },
      configuration: { description: 'Store rollout watchdog drill' },
    },
  };
  const message = {
    AlarmName: alarmName,
    AlarmDescription: 'Store rollout watchdog drill',
    AWSAccountId: account,
    NewStateValue: 'ALARM',
    NewStateReason: reason,
    StateChangeTime: time,
    Region: region,
    AlarmArn: alarmArn,
    OldStateValue: 'OK',
  };
  const sns = {
    Records: [
      {
        EventVersion: '1.0',
        EventSource: 'aws:sns',
        EventSubscriptionArn: `${topicArn}:00000000-0000-4000-8000-000000000000`,
        Sns: {
          Type: 'Notification',
          MessageId: '00000000-0000-4000-8000-000000000001',
          TopicArn: topicArn,
          Subject: `ALARM: "${alarmName}"`,
          Message: JSON.stringify(message),
          Timestamp: '2026-01-01T00:00:00.000Z',
          MessageAttributes: {},
        },
      },
    ],
  };
  return { eventBridge, sns };
}

/** See the module comment. */
export class ConsoleTestEvents extends Construct {
  readonly schema: CfnSchema;
  /** The event names, in the order the console lists them. */
  readonly eventNames: readonly string[];

  constructor(scope: Construct, id: string, props: ConsoleTestEventsProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const registryArn = stack.formatArn({
      service: 'schemas',
      resource: 'registry',
      resourceName: TEST_EVENT_REGISTRY,
    });

    const registry = new AwsCustomResource(this, 'Registry', {
      resourceType: 'Custom::LambdaTestEventRegistry',
      onCreate: {
        service: 'schemas',
        action: 'CreateRegistry',
        parameters: {
          RegistryName: TEST_EVENT_REGISTRY,
          Description: 'Shareable test events of the Lambda console',
        },
        physicalResourceId: PhysicalResourceId.of(TEST_EVENT_REGISTRY),
        // The console created it already (or another stack did): that is the registry we want.
        ignoreErrorCodesMatching: 'ConflictException',
      },
      policy: AwsCustomResourcePolicy.fromSdkCalls({ resources: [registryArn] }),
      installLatestAwsSdk: false,
      memorySize: 128,
    });

    const drill = drillEvents({
      alarmName: props.drillAlarmName,
      account: Aws.ACCOUNT_ID,
      region: Aws.REGION,
      partition: Aws.PARTITION,
      topicArn: props.alarmTopic.topicArn,
    });
    const examples: Record<string, { value: Record<string, unknown> }> = {};
    for (const [name, value] of dryRunEvents(props.apps)) examples[name] = { value };
    examples['drill-alarm-via-sns'] = { value: drill.sns };
    examples['drill-alarm-via-eventbridge'] = { value: drill.eventBridge };
    this.eventNames = Object.keys(examples);

    const content = {
      openapi: '3.0.0',
      info: { version: '1.0.0', title: 'Event' },
      paths: {},
      components: {
        schemas: {
          Event: {
            type: 'object',
            description:
              'An event of the Store rollout watchdog: a manual event, an SNS record or an EventBridge alarm state change',
          },
        },
        examples,
      },
    };
    this.schema = new CfnSchema(this, 'Schema', {
      registryName: TEST_EVENT_REGISTRY,
      schemaName: `_${props.function.functionName}-schema`,
      type: 'OpenApi3',
      description: 'Test events of the Store rollout watchdog (dry runs and the drill alarm; none halts)',
      content: stack.toJsonString(content),
    });
    this.schema.node.addDependency(registry);

    // The custom resource's function is one per stack, created by the CDK at the stack's root, named
    // "AWS" and its UUID without dashes.
    const provider = stack.node.tryFindChild(
      `AWS${AwsCustomResource.PROVIDER_FUNCTION_UUID.replace(/-/g, '')}`,
    );
    if (provider === undefined) throw new Error(`${this.node.path}: the custom resource has no provider`);
    acknowledgeProvider(provider);
  }
}

/** What cdk-nag finds on the CDK's own provider function of AwsCustomResource, and why it stands. */
const PROVIDER_FINDINGS: Readonly<Record<string, string>> = {
  'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]':
    "The CDK's own provider of AwsCustomResource: the AWS managed basic execution policy only lets it write its logs; its one other grant is schemas:CreateRegistry on the test event registry.",
  'Serverless-LambdaDLQ':
    'CloudFormation invokes it during a deploy and reports a failure itself; no event is left to keep.',
  'Serverless-LambdaTracing':
    'It makes one SDK call (CreateRegistry) during a deploy; CloudTrail records the call, a trace would add nothing.',
};

/** Acknowledges `PROVIDER_FINDINGS` on the provider function's resources. */
function acknowledgeProvider(provider: Construct): void {
  for (const child of [provider, ...provider.node.findAll()]) {
    if (!(child instanceof CfnResource)) continue;
    for (const [id, reason] of Object.entries(PROVIDER_FINDINGS))
      Validations.of(child).acknowledge({ id, reason });
  }
}
