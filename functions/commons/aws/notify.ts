/**
 * Publishes the watchdog's notification to SNS with a per-protocol message structure (email gets text,
 * queues and functions get JSON, chat channels the AWS Chatbot card) and the `outcome` message attribute
 * subscribers can filter on.
 */
import { PublishCommand, type SNSClient } from '@aws-sdk/client-sns';
import type { Notification } from '../domain/notification.ts';
import { WatchdogError } from '../errors.ts';
import { definedProps } from '../optional.ts';
import { buildChatNotification } from './chat-notification.ts';

/** SNS accepts at most 256 KiB per message; the per-protocol structure repeats the body, so stay well below. */
const MAX_SNS_MESSAGE_BYTES = 240 * 1024;
/** Longest text body kept when the full structure would be too large. */
const MAX_COMPACT_TEXT_LENGTH = 32 * 1024;

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
      definedProps({ abortSignal: signal }),
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

/**
 * The SNS `Message` for `MessageStructure: json`: text for people (`default`, `email`, `sms` gets the
 * subject), the AWS Chatbot custom notification for chat channels (`https`, see `chat-notification.ts`),
 * the JSON object for machines (`email-json`, `sqs`, `lambda`, `http`, `firehose`).
 *
 * The structure repeats the body once per protocol, and SNS takes at most 256 KiB. When the full message
 * would not fit (hundreds of flights), the text is cut, the JSON loses its prose fields, and then as many
 * targets as needed (the JSON says `truncated` and how many were left out).
 */
export function buildMessageStructure(notification: Pick<Notification, 'subject' | 'text' | 'json'>): string {
  const { subject, text, json } = notification;
  const chat = JSON.stringify(buildChatNotification({ json, drill: json.drill === true }));
  const full = structure(subject, text, JSON.stringify(json), chat);
  if (fits(full)) return full;

  const shortText =
    text.length > MAX_COMPACT_TEXT_LENGTH
      ? `${text.slice(0, MAX_COMPACT_TEXT_LENGTH)}\n\n[The message was too long and has been cut here.]\n`
      : text;
  const targets = json.targets.map(({ nextStep: _nextStep, note: _note, ...rest }) => rest);
  let kept = targets.length;
  for (;;) {
    const compact = JSON.stringify({
      ...json,
      truncated: true,
      omittedTargets: targets.length - kept,
      targets: targets.slice(0, kept),
    });
    const candidate = structure(subject, shortText, compact, chat);
    if (fits(candidate) || kept === 0) return candidate;
    kept = Math.floor(kept / 2);
  }
}

function fits(message: string): boolean {
  return new TextEncoder().encode(message).length <= MAX_SNS_MESSAGE_BYTES;
}

function structure(subject: string, text: string, json: string, chat: string): string {
  return JSON.stringify({
    default: text,
    email: text,
    sms: subject,
    'email-json': json,
    sqs: json,
    lambda: json,
    http: json,
    https: chat,
    firehose: json,
  });
}
