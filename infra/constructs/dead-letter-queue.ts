import { Duration, Validations } from 'aws-cdk-lib';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';

export interface DeadLetterQueueProps {
  /**
   * Why this queue needs no dead-letter queue of its own, for the cdk-nag acknowledgement: what it is
   * the last stop of, and what watches it.
   */
  readonly reason: string;
}

/**
 * The last stop of a delivery path: an SQS queue with SQS-managed encryption (EventBridge and SNS can
 * deliver to it without a key policy of their own), TLS only, keeping messages 14 days.
 */
export class DeadLetterQueue extends Queue {
  /**
   * @param props.reason - the cdk-nag acknowledgement of `AwsSolutions-SQS3` and
   *   `Serverless-SQSRedrivePolicy` (a dead-letter queue has none of its own)
   */
  constructor(scope: Construct, id: string, props: DeadLetterQueueProps) {
    super(scope, id, {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    for (const rule of ['AwsSolutions-SQS3', 'Serverless-SQSRedrivePolicy']) {
      Validations.of(this).acknowledge({ id: rule, reason: props.reason });
    }
  }
}
