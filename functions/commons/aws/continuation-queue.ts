/**
 * Sends a storm's continuation to the SQS queue that invokes the halt-rollout function again
 * (`CONTINUATION_QUEUE_URL`). The send resolves once SQS has stored the message: only then may the
 * invocation drop the apps it hands on. Failures are a retryable `WatchdogError`, so the caller keeps
 * those apps `failed` and Lambda retries the whole event.
 */
import { SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { Continuation } from '../domain/continuation.ts';
import { WatchdogError } from '../errors.ts';
import { definedProps } from '../optional.ts';

export async function sendContinuation(
  client: SQSClient,
  queueUrl: string,
  continuation: Continuation,
  signal?: AbortSignal,
  /** Seconds before the queue delivers it (SQS `DelaySeconds`, at most 900): a retry's backoff. */
  delaySeconds?: number,
): Promise<string> {
  try {
    const output = await client.send(
      new SendMessageCommand({
        QueueUrl: queueUrl,
        MessageBody: JSON.stringify(continuation),
        ...(delaySeconds === undefined ? {} : { DelaySeconds: Math.max(0, Math.min(900, delaySeconds)) }),
      }),
      definedProps({ abortSignal: signal }),
    );
    return output.MessageId ?? '';
  } catch (error) {
    const name = error instanceof Error ? error.name : 'Unknown';
    throw new WatchdogError(
      'upstream',
      'CONTINUATION_NOT_SENT',
      `sending the continuation to ${queueUrl} failed (${name})`,
      {
        cause: error,
        retryable: true,
      },
    );
  }
}
