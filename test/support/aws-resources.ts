/**
 * Real AWS resources on the moto server for tests: a credentials secret, and a notification topic with
 * an SQS queue subscribed so each published notification can be read back as a subscriber sees it.
 */
import { randomUUID } from 'node:crypto';
import { CreateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { CreateTopicCommand, SNSClient, SubscribeCommand } from '@aws-sdk/client-sns';
import {
  CreateQueueCommand,
  DeleteMessageCommand,
  ReceiveMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { z } from 'zod';
import { definedProps } from '../../functions/commons/optional.ts';
import { motoClientConfig } from './aws.ts';

export function motoClients(): { secrets: SecretsManagerClient; sns: SNSClient; sqs: SQSClient } {
  const config = motoClientConfig();
  return {
    secrets: new SecretsManagerClient(config),
    sns: new SNSClient(config),
    sqs: new SQSClient(config),
  };
}

/** Creates a secret with the given string value (or none) and returns its ARN. */
export async function createSecret(
  secrets: SecretsManagerClient,
  value: string | undefined,
  name?: string,
): Promise<string> {
  const output = await secrets.send(
    new CreateSecretCommand({
      Name: name ?? `store-credentials-${randomUUID()}`,
      ...definedProps({ SecretString: value }),
    }),
  );
  if (output.ARN === undefined) throw new Error('moto returned no secret ARN');
  return output.ARN;
}

/** One notification as an SQS subscriber receives it (the SNS envelope, parsed). */
export interface ReceivedNotification {
  readonly subject: string | undefined;
  /** The protocol-specific message the queue got (the `sqs` key of the structure). */
  readonly message: string;
  readonly attributes: Record<string, string>;
}

const envelopeSchema = z.object({
  Subject: z.string().optional(),
  Message: z.string(),
  MessageAttributes: z.record(z.string(), z.object({ Type: z.string(), Value: z.string() })).optional(),
});

export interface NotificationSink {
  readonly topicArn: string;
  /** Receives every notification delivered so far (waits briefly for stragglers), deleting them. */
  drain(options?: { readonly expect?: number; readonly waitMs?: number }): Promise<ReceivedNotification[]>;
}

/** A fresh topic with a fresh SQS queue subscribed to it. */
export async function createNotificationSink(sns: SNSClient, sqs: SQSClient): Promise<NotificationSink> {
  const id = randomUUID();
  const topic = await sns.send(new CreateTopicCommand({ Name: `watchdog-notifications-${id}` }));
  const queue = await sqs.send(new CreateQueueCommand({ QueueName: `watchdog-subscriber-${id}` }));
  const topicArn = topic.TopicArn;
  const queueUrl = queue.QueueUrl;
  if (topicArn === undefined || queueUrl === undefined) throw new Error('moto returned no topic/queue');
  const queueArn = `arn:aws:sqs:us-east-1:123456789012:watchdog-subscriber-${id}`;
  await sns.send(new SubscribeCommand({ TopicArn: topicArn, Protocol: 'sqs', Endpoint: queueArn }));

  return {
    topicArn,
    async drain({ expect, waitMs = 300 } = {}) {
      const received: ReceivedNotification[] = [];
      const deadline = Date.now() + waitMs;
      for (;;) {
        const output = await sqs.send(
          new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }),
        );
        for (const message of output.Messages ?? []) {
          const envelope = envelopeSchema.parse(JSON.parse(message.Body ?? '{}'));
          const attributes: Record<string, string> = {};
          for (const [key, value] of Object.entries(envelope.MessageAttributes ?? {}))
            attributes[key] = value.Value;
          received.push({ subject: envelope.Subject, message: envelope.Message, attributes });
          await sqs.send(
            new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: message.ReceiptHandle }),
          );
        }
        const enough = expect !== undefined && received.length >= expect;
        if (enough || Date.now() > deadline) return received;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    },
  };
}
