/**
 * Publishes the watchdog's notification to SNS with a per-protocol message structure (email gets text,
 * queues and functions get JSON) and the `outcome` message attribute subscribers can filter on.
 */
import { PublishCommand, type SNSClient } from '@aws-sdk/client-sns';
import { WatchdogError } from '../errors.ts';

export interface OutgoingNotification {
  /** Mail subject: at most 100 ASCII characters, no line breaks (SNS rejects others). */
  readonly subject: string;
  /** SNS `MessageStructure: json` document: `{"default": ..., "email": ..., "sqs": ...}`. */
  readonly message: string;
  /** Worst result among the targets; becomes the `outcome` message attribute. */
  readonly outcome: string;
  /** A drill: adds the message attribute `drill` = `true` (contract "Drill"). */
  readonly drill?: boolean;
}

/** Publishes one notification; returns the SNS message ID. Throws a retryable `WatchdogError` on failure. */
export async function publishNotification(
  client: SNSClient,
  topicArn: string,
  notification: OutgoingNotification,
  signal?: AbortSignal,
): Promise<string> {
  try {
    const output = await client.send(
      new PublishCommand({
        TopicArn: topicArn,
        Subject: notification.subject,
        Message: notification.message,
        MessageStructure: 'json',
        MessageAttributes: {
          outcome: { DataType: 'String', StringValue: notification.outcome },
          ...(notification.drill === true ? { drill: { DataType: 'String', StringValue: 'true' } } : {}),
        },
      }),
      signal === undefined ? {} : { abortSignal: signal },
    );
    return output.MessageId ?? '';
  } catch (error) {
    const name = error instanceof Error ? error.name : 'Unknown';
    throw new WatchdogError(
      'upstream',
      'NOTIFY_FAILED',
      `publishing the notification to ${topicArn} failed (${name})`,
      {
        cause: error,
        retryable: true,
      },
    );
  }
}
