/**
 * How alarms reach the function, each by one path: the alarms the stack creates through an encrypted
 * alarm topic (their alarm action), the others through EventBridge rules on their state changes into
 * ALARM (their names, or one rule for `alarmNamePrefix`); what cannot be delivered lands in a
 * dead-letter queue. Why each alarm arrives once: docs/catalog.md, "Alarm intake".
 */
import { Duration } from 'aws-cdk-lib';
import type { Alarm, CompositeAlarm } from 'aws-cdk-lib/aws-cloudwatch';
import { Rule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import type { ITopic } from 'aws-cdk-lib/aws-sns';
import { LambdaSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import type { Queue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { alarmRulePattern, planAlarmRules } from './alarm-rules.ts';
import { DeadLetterQueue } from './dead-letter-queue.ts';
import { EncryptedTopic } from './encrypted-topic.ts';
import type { WatchdogFunction } from './watchdog-function.ts';

export interface AlarmIntakeProps {
  /** The function that receives the alarm state changes. */
  readonly target: WatchdogFunction;
  /**
   * The watched alarms created elsewhere (not by this stack): the EventBridge rules match exactly these.
   * May be empty: then no rule, unless `alarmNamePrefix` is given.
   */
  readonly alarmNames: readonly string[];
  /**
   * When given, one rule matches every alarm whose name starts with it (each watched name must), instead
   * of listing the names. @default the names are listed, over as many rules as their length needs
   */
  readonly alarmNamePrefix?: string;
}

/** See the module comment. */
export class AlarmIntake extends Construct {
  /** The topic created alarms notify (their alarm action). */
  readonly alarmTopic: ITopic;
  /** The EventBridge rules, in order (one with a prefix or a small config; none without external alarms). */
  readonly rules: readonly Rule[];
  /** Alarm events that EventBridge or SNS could not deliver to the function (watch its depth). */
  readonly deadLetterQueue: Queue;
  private readonly encrypted: EncryptedTopic;

  constructor(scope: Construct, id: string, props: AlarmIntakeProps) {
    super(scope, id);

    this.deadLetterQueue = new DeadLetterQueue(this, 'DeadLetterQueue', {
      reason:
        'This queue is itself the dead-letter queue of the alarm intake, watched by an alarm on its depth.',
    });

    // EventBridge retries a delivery the function refused (throttling, service errors) for up to an hour.
    const target = new LambdaFunction(props.target.function, {
      retryAttempts: 8,
      maxEventAge: Duration.hours(1),
      deadLetterQueue: this.deadLetterQueue,
    });
    const matches =
      props.alarmNames.length === 0 && props.alarmNamePrefix === undefined
        ? []
        : planAlarmRules(props.alarmNames, props.alarmNamePrefix);
    this.rules = matches.map((match, index) => {
      const pattern = alarmRulePattern(match);
      // The first keeps the id of the single rule of earlier versions, so an update replaces nothing.
      return new Rule(this, index === 0 ? 'AlarmStateChange' : `AlarmStateChange${index + 1}`, {
        description:
          'prefix' in match
            ? `Watched CloudWatch alarms (names starting with ${match.prefix}) going into ALARM, to the Store rollout watchdog`
            : `Watched CloudWatch alarms going into ALARM, to the Store rollout watchdog${matches.length === 1 ? '' : ` (rule ${index + 1} of ${matches.length})`}`,
        eventPattern: {
          source: pattern.source,
          detailType: pattern['detail-type'],
          detail: pattern.detail,
        },
        targets: [target],
      });
    });

    this.encrypted = new EncryptedTopic(this, 'AlarmTopic', {
      description: 'Store rollout watchdog alarm intake',
    });
    this.alarmTopic = this.encrypted.topic;
    this.encrypted.topic.addSubscription(
      new LambdaSubscription(props.target.function, { deadLetterQueue: this.deadLetterQueue }),
    );
  }

  /** The first rule (the only one unless the names need several); throws when there is none. */
  get rule(): Rule {
    const [first] = this.rules;
    if (first === undefined) throw new Error(`${this.node.path} has no rule`);
    return first;
  }

  /** Makes a created alarm deliver to the function through the alarm topic (its alarm action), its only path. */
  addAlarm(alarm: Alarm | CompositeAlarm): void {
    this.encrypted.notifyOnAlarm(alarm);
  }
}
