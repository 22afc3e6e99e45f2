/**
 * The pager: an encrypted SQS queue subscribed to the notification topic with a filter that lets through
 * only failed decisions and the watchdog's own health alarms (`pager-filter.ts`), and a small function
 * (`functions/pager-forwarder/handler.ts`) that sends each as a PagerDuty Events API v2 `trigger` event.
 * A delivery that fails is retried: by the function (bounded), then by SQS (each failed record is
 * reported back and delivered again, five times); then it is kept in the dead-letter queue, whose depth
 * raises an alarm. Nothing is dropped.
 */
import { Duration, Validations } from 'aws-cdk-lib';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import { type ISecret, Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { type ITopic, SubscriptionFilter } from 'aws-cdk-lib/aws-sns';
import { SqsSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type { PagerDutyConfig } from '../config-people.ts';
import { DeadLetterQueue } from './dead-letter-queue.ts';
import { PAGER_OUTCOME_FILTER } from './pager-filter.ts';
import { WatchdogFunction } from './watchdog-function.ts';

export const PAGER_FORWARDER_ENTRY = 'functions/pager-forwarder/handler.ts';
/** Deliveries of one message by SQS before it is kept in the dead-letter queue. */
export const PAGER_MAX_RECEIVE_COUNT = 5;

export interface PagerForwarderProps {
  readonly topic: ITopic;
  readonly pagerDuty: PagerDutyConfig;
}

/** See the module comment. */
export class PagerForwarder extends Construct {
  readonly forwarder: WatchdogFunction;
  readonly queue: Queue;
  readonly deadLetterQueue: Queue;
  readonly secret: ISecret;

  constructor(scope: Construct, id: string, props: PagerForwarderProps) {
    super(scope, id);
    const timeout = Duration.seconds(60);

    this.deadLetterQueue = new DeadLetterQueue(this, 'DeadLetterQueue', {
      reason: 'This queue is itself the last stop of the pager, watched by an alarm on its depth.',
    });
    this.queue = new Queue(this, 'Queue', {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(4),
      // Six times the function timeout, as Lambda recommends for an SQS event source.
      visibilityTimeout: Duration.seconds(timeout.toSeconds() * 6),
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: PAGER_MAX_RECEIVE_COUNT },
    });
    props.topic.addSubscription(
      new SqsSubscription(this.queue, {
        filterPolicy: { outcome: new SubscriptionFilter([...PAGER_OUTCOME_FILTER]) },
        deadLetterQueue: this.deadLetterQueue,
      }),
    );

    const ref = props.pagerDuty.routingKeySecret;
    this.secret = ref.startsWith('arn:')
      ? Secret.fromSecretCompleteArn(this, 'RoutingKey', ref)
      : Secret.fromSecretNameV2(this, 'RoutingKey', ref);

    this.forwarder = new WatchdogFunction(this, 'Forwarder', {
      entry: PAGER_FORWARDER_ENTRY,
      description: 'Store rollout watchdog pager: failed halts and health alarms to PagerDuty',
      serviceName: 'store-rollout-watchdog-pager',
      environment: { PAGER_ROUTING_KEY_SECRET_ID: ref },
      timeout,
      memorySize: 256,
    });
    const byName = !ref.startsWith('arn:');
    this.forwarder.addToRolePolicy(
      new PolicyStatement({
        actions: ['secretsmanager:GetSecretValue'],
        resources: [byName ? `${this.secret.secretArn}-??????` : ref],
      }),
    );
    if (byName) {
      Validations.of(this.forwarder.role).acknowledge({
        id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:secretsmanager:<AWS::Region>:<AWS::AccountId>:secret:${ref}-??????]`,
        reason:
          'The routing key secret is configured by name, so its 6-character ARN suffix is unknown; "??????" matches exactly that suffix, hence one secret.',
      });
    }
    const source = new SqsEventSource(this.queue, { batchSize: 10, reportBatchItemFailures: true });
    this.forwarder.function.addEventSource(source);
    Validations.of(this.forwarder.function).acknowledge({
      id: 'Serverless-LambdaEventSourceMappingDestination',
      reason:
        "An SQS event source keeps failed records in the queue itself: after the last delivery the queue's redrive policy moves them to the pager dead-letter queue, which alarms.",
    });
  }
}
