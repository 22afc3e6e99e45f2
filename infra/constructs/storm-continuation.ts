/**
 * Storms longer than one invocation: the SQS queue where the halt-rollout function hands on the apps it
 * could not reach within the tenant's request budget, and the event source mapping that invokes the
 * function with them, one continuation at a time (see `functions/commons/domain/continuation.ts`).
 *
 * The same queue carries the retries of failed targets (delayed: `DelaySeconds` backoff), at most
 * three attempts per alarm transition, counted in the state table.
 *
 * The queue keeps a message until an invocation that received it succeeded, so a crash in the middle of
 * a storm loses nothing: the message comes back after the visibility timeout (twice the function's
 * timeout: by then the crashed invocation's claim on its transition has lapsed, so the redelivery takes
 * it over). A message whose invocation failed comes back once more and is then a duplicate of an attempt
 * already made (or the last one): it succeeds and is deleted, with no Store request and no message. Up
 * to `CONTINUATION_MAX_CONCURRENCY` continuations run at once (they share the tenant's request budget in
 * the state table with every other invocation); a delivery that finds the function busy is throttled
 * and comes back. `maxReceiveCount` (10) covers those deliveries and a few throttled ones (a repeated
 * delivery costs nothing); a message that keeps failing beyond them (processing that throws before its
 * transition is recorded) goes to the dead-letter queue, watched by an alarm (wired by the stack),
 * instead of looping.
 */
import { Duration, Validations } from 'aws-cdk-lib';
import { EventSourceMapping } from 'aws-cdk-lib/aws-lambda';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { CONTINUATION_MAX_CONCURRENCY } from '../halt-rollout-limits.ts';
import type { WatchdogFunction } from './watchdog-function.ts';

export { CONTINUATION_MAX_CONCURRENCY };

/** The variable that names the queue to the function. */
export const CONTINUATION_QUEUE_VARIABLE = 'CONTINUATION_QUEUE_URL';

export interface StormContinuationProps {
  /** The halt-rollout function: it sends continuations and the queue invokes it. */
  readonly target: WatchdogFunction;
  /** The function's timeout (the queue's visibility timeout is twice it). */
  readonly functionTimeout: Duration;
  /** Receives before a message goes to the dead-letter queue. @default 10 */
  readonly maxReceiveCount?: number;
}

/** See the module comment. */
export class StormContinuation extends Construct {
  readonly queue: Queue;
  readonly deadLetterQueue: Queue;

  constructor(scope: Construct, id: string, props: StormContinuationProps) {
    super(scope, id);
    this.deadLetterQueue = new Queue(this, 'DeadLetterQueue', {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    for (const ruleId of ['AwsSolutions-SQS3', 'Serverless-SQSRedrivePolicy']) {
      Validations.of(this.deadLetterQueue).acknowledge({
        id: ruleId,
        reason:
          'This queue is itself the dead-letter queue of the storm continuations, watched by an alarm on its depth.',
      });
    }
    this.queue = new Queue(this, 'Queue', {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
      visibilityTimeout: Duration.seconds(props.functionTimeout.toSeconds() * 2),
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: props.maxReceiveCount ?? 10 },
    });
    // One continuation per invocation; the function may receive and delete on exactly this queue.
    const mapping = new EventSourceMapping(this, 'Mapping', {
      target: props.target.function,
      eventSourceArn: this.queue.queueArn,
      batchSize: 1,
      maxConcurrency: CONTINUATION_MAX_CONCURRENCY,
    });
    this.queue.grantConsumeMessages(props.target);
    Validations.of(mapping).acknowledge({
      id: 'Serverless-LambdaEventSourceMappingDestination',
      reason:
        "An SQS event source takes no on-failure destination: a message that keeps failing moves to the queue's dead-letter queue (redrive policy), watched by an alarm.",
    });
    this.queue.grantSendMessages(props.target);
    props.target.function.addEnvironment(CONTINUATION_QUEUE_VARIABLE, this.queue.queueUrl);
  }
}
