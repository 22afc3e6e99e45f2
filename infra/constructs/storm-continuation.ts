/**
 * The storm continuation queue: where the halt-rollout function hands on the apps it could not reach
 * within the tenant's request budget, and the delayed retries of failed targets; it invokes the function
 * with them, one message at a time. Why a crash mid-storm loses nothing: docs/contributing/storms.md.
 */
import { Duration, Validations } from 'aws-cdk-lib';
import { EventSourceMapping } from 'aws-cdk-lib/aws-lambda';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { CONTINUATION_MAX_CONCURRENCY } from '../halt-rollout-limits.ts';
import { DeadLetterQueue } from './dead-letter-queue.ts';
import type { WatchdogFunction } from './watchdog-function.ts';

export { CONTINUATION_MAX_CONCURRENCY };

/** The variable that names the queue to the function. */
export const CONTINUATION_QUEUE_VARIABLE = 'CONTINUATION_QUEUE_URL';

export interface StormContinuationProps {
  /** The halt-rollout function: it sends continuations and the queue invokes it. */
  readonly target: WatchdogFunction;
  /** The function's timeout (the queue's visibility timeout is twice it). */
  readonly functionTimeout: Duration;
  /**
   * Receives before a message goes to the dead-letter queue: enough for a redelivery after a crash and a
   * few throttled deliveries (a repeated delivery costs nothing). @default 10
   */
  readonly maxReceiveCount?: number;
}

/** See the module comment. */
export class StormContinuation extends Construct {
  readonly queue: Queue;
  readonly deadLetterQueue: Queue;

  constructor(scope: Construct, id: string, props: StormContinuationProps) {
    super(scope, id);
    this.deadLetterQueue = new DeadLetterQueue(this, 'DeadLetterQueue', {
      reason:
        'This queue is itself the dead-letter queue of the storm continuations, watched by an alarm on its depth.',
    });
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
