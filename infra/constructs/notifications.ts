/**
 * The notification topic: every decision of the watchdog, and its own health alarms, go here. People
 * subscribe by e-mail (from the config) or attach chat, pager or queue subscriptions themselves.
 */
import { Validations } from 'aws-cdk-lib';
import type { Alarm } from 'aws-cdk-lib/aws-cloudwatch';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { ITopic } from 'aws-cdk-lib/aws-sns';
import { EmailSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import { Construct } from 'constructs';
import { EncryptedTopic } from './encrypted-topic.ts';
import type { WatchdogFunction } from './watchdog-function.ts';

export interface NotificationsProps {
  /** E-mail addresses to subscribe; each receives a confirmation message first. @default none */
  readonly emails?: readonly string[];
}

/** See the module comment. */
export class Notifications extends Construct {
  readonly topic: ITopic;
  private readonly encrypted: EncryptedTopic;

  constructor(scope: Construct, id: string, props: NotificationsProps = {}) {
    super(scope, id);
    this.encrypted = new EncryptedTopic(this, 'Encrypted', {
      description: 'Store rollout watchdog notifications',
    });
    this.topic = this.encrypted.topic;
    for (const email of props.emails ?? []) {
      const subscription = this.encrypted.topic.addSubscription(new EmailSubscription(email));
      Validations.of(subscription).acknowledge({
        id: 'Serverless-SNSRedrivePolicy',
        reason:
          'An e-mail that SNS cannot deliver (address unsubscribed or unconfirmed) is not worth replaying from a queue; every decision is also in the function logs.',
      });
    }
  }

  /** Lets `fn` publish to exactly this topic (and use its key), and tells it where: `NOTIFICATION_TOPIC_ARN`. */
  grantPublishTo(fn: WatchdogFunction): void {
    fn.addToRolePolicy(
      new PolicyStatement({ actions: ['sns:Publish'], resources: [this.encrypted.topic.topicArn] }),
    );
    fn.addToRolePolicy(
      new PolicyStatement({
        // SNS asks KMS for a data key to encrypt the message at rest (exact actions, no wildcard).
        actions: ['kms:GenerateDataKey', 'kms:Decrypt'],
        resources: [this.encrypted.key.keyArn],
      }),
    );
    fn.addEnvironment('NOTIFICATION_TOPIC_ARN', this.encrypted.topic.topicArn);
  }

  /** Makes `alarm` notify people through this topic (the alarm needs a literal name). */
  notifyOnAlarm(alarm: Alarm): void {
    this.encrypted.notifyOnAlarm(alarm);
  }
}
