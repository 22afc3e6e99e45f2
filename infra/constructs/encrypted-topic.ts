/**
 * An SNS topic encrypted with its own customer managed KMS key (rotation on), refusing non-TLS
 * requests, that CloudWatch alarms can publish to. Only the alarms handed to `notifyOnAlarm` may
 * publish or use the key: the topic and key policies name their ARNs (confused-deputy guard:
 * `aws:SourceAccount` and `aws:SourceArn`): each exact ARN while they are few, else name patterns
 * (`alarmArnPatterns`) that cover them, because a topic policy holds 30 KB and a key policy 32 KB,
 * less than a catalog's ARNs take.
 */
import { ArnFormat, Aws, Duration, Lazy, RemovalPolicy, Stack, Token } from 'aws-cdk-lib';
import { type Alarm, CfnAlarm, CfnCompositeAlarm, type CompositeAlarm } from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import { PolicyStatement, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Key } from 'aws-cdk-lib/aws-kms';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';

export interface EncryptedTopicProps {
  /** What the topic carries; used for the topic's display name and the key's description. */
  readonly description: string;
}

/** See the module comment. */
export class EncryptedTopic extends Construct {
  readonly key: Key;
  readonly topic: Topic;
  private readonly alarmNames: string[] = [];

  constructor(scope: Construct, id: string, props: EncryptedTopicProps) {
    super(scope, id);
    this.key = new Key(this, 'Key', {
      description: `Encrypts the SNS topic: ${props.description}`,
      enableKeyRotation: true,
      // The topic keeps no messages at rest after delivery, so nothing needs the key once the stack is
      // gone; the 7-day window still allows a change of mind.
      removalPolicy: RemovalPolicy.DESTROY,
      pendingWindow: Duration.days(7),
    });
    this.topic = new Topic(this, 'Topic', {
      displayName: props.description.slice(0, 100),
      masterKey: this.key,
      enforceSSL: true,
    });
  }

  /**
   * Makes `alarm` publish to this topic when it goes into ALARM, and lets CloudWatch publish (and use the
   * key) on behalf of exactly that alarm. The alarm must have a literal name: its ARN is built from the
   * name, because referencing the alarm resource from the key policy would be a dependency cycle
   * (key → alarm → topic → key).
   */
  notifyOnAlarm(alarm: Alarm | CompositeAlarm): void {
    if (this.alarmNames.length === 0) this.allowCloudWatchAlarms();
    this.alarmNames.push(literalAlarmName(alarm));
    alarm.addAlarmAction(new SnsAction(this.topic));
  }

  private allowCloudWatchAlarms(): void {
    const conditions = {
      StringEquals: { 'aws:SourceAccount': Aws.ACCOUNT_ID },
      ArnLike: {
        'aws:SourceArn': Lazy.list({
          produce: () =>
            alarmArnPatterns(this.alarmNames).map((resourceName) =>
              Stack.of(this).formatArn({
                service: 'cloudwatch',
                resource: 'alarm',
                resourceName,
                arnFormat: ArnFormat.COLON_RESOURCE_NAME,
              }),
            ),
        }),
      },
    };
    const cloudWatch = new ServicePrincipal('cloudwatch.amazonaws.com');
    this.topic.addToResourcePolicy(
      new PolicyStatement({
        sid: 'AllowWatchedAlarmsToPublish',
        principals: [cloudWatch],
        actions: ['sns:Publish'],
        resources: [this.topic.topicArn],
        conditions,
      }),
    );
    // CloudWatch needs the key to publish to an encrypted topic (SNS developer guide, key management,
    // "compatibility with AWS services"). In a key policy, `*` means this key.
    this.key.addToResourcePolicy(
      new PolicyStatement({
        sid: 'AllowWatchedAlarmsToUseTheKey',
        principals: [cloudWatch],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        resources: ['*'],
        conditions,
      }),
    );
  }
}

/** The literal `AlarmName` of an alarm created with an explicit name. */
export function literalAlarmName(alarm: Alarm | CompositeAlarm): string {
  const cfn = alarm.node.defaultChild;
  const name =
    cfn instanceof CfnAlarm ? cfn.alarmName : cfn instanceof CfnCompositeAlarm ? cfn.alarmName : undefined;
  if (name === undefined || Token.isUnresolved(name)) {
    throw new Error(
      `${alarm.node.path}: give the alarm an explicit, literal alarmName to let it publish to a topic`,
    );
  }
  return name;
}

/** The most alarm ARNs (or patterns) a policy condition lists. */
export const MAX_ALARM_ARN_PATTERNS = 40;

/**
 * The alarm-name parts of the ARNs a policy lists for `names`: the names themselves while there are at
 * most `max`, else the longest common beginnings that make at most `max` patterns (`<beginning>*`,
 * `ArnLike` wildcards), down to `*` (every alarm of the account) when the names share nothing. A
 * pattern lets more alarms of the same account publish, never fewer; the function still acts only on
 * the alarm names it watches.
 */
export function alarmArnPatterns(names: readonly string[], max: number = MAX_ALARM_ARN_PATTERNS): string[] {
  const unique = [...new Set(names)];
  if (unique.length <= max) return unique;
  const longest = Math.max(...unique.map((name) => name.length));
  for (let length = longest - 1; length > 0; length--) {
    const patterns = [
      ...new Set(unique.map((name) => (name.length <= length ? name : `${name.slice(0, length)}*`))),
    ];
    if (patterns.length <= max) return patterns;
  }
  return ['*'];
}
