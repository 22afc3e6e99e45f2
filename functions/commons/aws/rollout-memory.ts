/**
 * The rollout memory (`RolloutMemory`) in a DynamoDB table: one item per app and target (the main
 * rollout, or one package flight), holding the submission last seen in progress, its percentage, its
 * fallback and when it was seen, in the stack's state table (`state-table.ts`: partition
 * `app#<application ID>`, sort `main` or `flight#<flight ID in lower case>`).
 *
 * Memory is an optimization of the halt path, never a condition of it: every failure is logged and
 * reads as "nothing remembered", and items that do not parse are ignored. A stale item is harmless
 * (the Store refuses to halt a submission that is not the live rollout; see `RolloutPort.haltRemembered`).
 */
import {
  ConditionalCheckFailedException,
  DeleteItemCommand,
  type DynamoDBClient,
  PutItemCommand,
  QueryCommand,
} from '@aws-sdk/client-dynamodb';
import { APPLICATION_ID_PATTERN, FLIGHT_ID_PATTERN, SUBMISSION_ID_PATTERN } from '../domain/ids.ts';
import type { RememberedRollout, RolloutMemory, RolloutTarget } from '../domain/ports.ts';
import { describeError } from '../errors.ts';
import * as z from '../validation.ts';
import { appPartition, STATE_TABLE_KEY } from './state-table.ts';

/** Where failures are reported (Powertools' `Logger` fits). */
export interface MemoryLogger {
  warn(message: string, attributes: Record<string, unknown>): void;
}

/** The sort key of a target. */
export function memoryTargetKey(target: RolloutTarget): string {
  return target.flightId === undefined ? 'main' : `flight#${target.flightId.toLowerCase()}`;
}

const stringValue = (pattern?: RegExp) =>
  z.object({ S: pattern === undefined ? z.string() : z.string().check(z.regex(pattern)) });

const itemSchema = z.object({
  pk: stringValue(),
  sk: stringValue(),
  applicationId: stringValue(APPLICATION_ID_PATTERN),
  flightId: z.optional(stringValue(FLIGHT_ID_PATTERN)),
  submissionId: stringValue(SUBMISSION_ID_PATTERN),
  rolloutPercentage: z.object({ N: z.string() }),
  fallbackSubmissionId: stringValue(SUBMISSION_ID_PATTERN),
  seenAt: stringValue(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/),
});

/** An item as a remembered rollout, or `undefined` when it is not one (a wrong key, a bad value). */
export function parseMemoryItem(item: unknown): RememberedRollout | undefined {
  const parsed = itemSchema.safeParse(item);
  if (!parsed.success) return undefined;
  const { pk, sk, applicationId, flightId, submissionId, rolloutPercentage, fallbackSubmissionId, seenAt } =
    parsed.data;
  const percentage = Number(rolloutPercentage.N);
  if (!Number.isFinite(percentage) || percentage < 0 || percentage > 100) return undefined;
  const ref =
    flightId === undefined
      ? { applicationId: applicationId.S, submissionId: submissionId.S }
      : { applicationId: applicationId.S, flightId: flightId.S, submissionId: submissionId.S };
  // The key must say the same as the attributes: an item filed under another app or target is not used.
  if (pk.S !== appPartition(applicationId.S) || sk.S !== memoryTargetKey(ref)) return undefined;
  return {
    ref,
    rolloutPercentage: percentage,
    fallbackSubmissionId: fallbackSubmissionId.S,
    seenAt: seenAt.S,
  };
}

/** Creates the memory over a DynamoDB client and table. */
export function createRolloutMemory(
  client: DynamoDBClient,
  tableName: string,
  logger?: MemoryLogger,
): RolloutMemory {
  const warn = (message: string, error: unknown, attributes: Record<string, unknown>) =>
    logger?.warn(message, { ...attributes, tableName, error: describeError(error) });
  return {
    async recall(applicationId, signal) {
      try {
        const output = await client.send(
          new QueryCommand({
            TableName: tableName,
            KeyConditionExpression: '#pk = :pk',
            ExpressionAttributeNames: { '#pk': STATE_TABLE_KEY.partition },
            ExpressionAttributeValues: { ':pk': { S: appPartition(applicationId) } },
          }),
          { abortSignal: signal },
        );
        const items = output.Items ?? [];
        const remembered = items.flatMap((item) => {
          const parsed = parseMemoryItem(item);
          return parsed === undefined || parsed.ref.applicationId !== applicationId ? [] : [parsed];
        });
        if (remembered.length < items.length) {
          logger?.warn('rollout memory items ignored: they do not describe a rollout', {
            tableName,
            applicationId,
            ignored: items.length - remembered.length,
          });
        }
        return remembered;
      } catch (error) {
        warn('rollout memory not read; looking the rollouts up instead', error, { applicationId });
        return [];
      }
    },

    async remember(rollout, signal) {
      const { ref } = rollout;
      try {
        await client.send(
          new PutItemCommand({
            TableName: tableName,
            Item: {
              [STATE_TABLE_KEY.partition]: { S: appPartition(ref.applicationId) },
              [STATE_TABLE_KEY.sort]: { S: memoryTargetKey(ref) },
              applicationId: { S: ref.applicationId },
              ...(ref.flightId === undefined ? {} : { flightId: { S: ref.flightId } }),
              submissionId: { S: ref.submissionId },
              rolloutPercentage: { N: String(rollout.rolloutPercentage) },
              fallbackSubmissionId: { S: rollout.fallbackSubmissionId },
              seenAt: { S: rollout.seenAt },
            },
          }),
          { abortSignal: signal },
        );
      } catch (error) {
        warn('rollout memory not written', error, { ...ref });
      }
    },

    async forget(target, submissionId, signal) {
      try {
        await client.send(
          new DeleteItemCommand({
            TableName: tableName,
            Key: {
              [STATE_TABLE_KEY.partition]: { S: appPartition(target.applicationId) },
              [STATE_TABLE_KEY.sort]: { S: memoryTargetKey(target) },
            },
            ...(submissionId === undefined
              ? {}
              : {
                  ConditionExpression: '#submission = :submission',
                  ExpressionAttributeNames: { '#submission': 'submissionId' },
                  ExpressionAttributeValues: { ':submission': { S: submissionId } },
                }),
          }),
          { abortSignal: signal },
        );
      } catch (error) {
        // Already gone, or it names another submission now (remembered since): both are fine.
        if (error instanceof ConditionalCheckFailedException) return;
        warn('rollout memory entry not forgotten', error, { ...target });
      }
    },
  };
}
