/**
 * The transition ledger in the state table: one item per alarm transition and storm part
 * (`transition#<identity>`, `part#<n>`), written only with conditional writes, so two deliveries racing
 * for one transition cannot both win (docs/reliability.md, "Why a ledger of our own, not Powertools
 * idempotency"). Items expire a week after their last write; a table that fails makes the claim
 * `unavailable`, and the delivery is handled on its own.
 */
import { createHash } from 'node:crypto';
import {
  type AttributeValue,
  ConditionalCheckFailedException,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import {
  type ClaimOutcome,
  decideClaim,
  type TransitionLedger,
  type TransitionRecord,
} from '../domain/transitions.ts';
import { describeError } from '../errors.ts';
import * as z from '../validation.ts';
import { STATE_TABLE_KEY, STATE_TABLE_TTL_ATTRIBUTE, transitionPartition } from './state-table.ts';

/** Where failures are reported (Powertools' `Logger` fits). */
export interface LedgerLogger {
  warn(message: string, attributes: Record<string, unknown>): void;
}

/** How long an item is kept after its last write. */
const KEEP_SECONDS = 7 * 24 * 3600;
/** Identities longer than this (many transitions in one event) are hashed into the key. */
const MAX_IDENTITY_KEY_LENGTH = 1024;
/** A claim contended by another delivery is read again at most this many times. */
const MAX_CLAIM_ROUNDS = 4;

const recordSchema = z.object({
  attempts: z.object({ N: z.string() }),
  state: z.object({ S: z.enum(['running', 'failed', 'done']) }),
  claimExpiresAt: z.object({ N: z.string() }),
  examining: z.optional(z.object({ L: z.array(z.object({ S: z.string() })) })),
  failedTargets: z.optional(z.object({ L: z.array(z.object({ S: z.string() })) })),
});

/** The item's record, or `undefined` when it does not parse (then it is treated as absent: overwritten). */
export function parseTransitionRecord(item: Record<string, AttributeValue> | undefined) {
  if (item === undefined) return undefined;
  const parsed = recordSchema.safeParse(item);
  if (!parsed.success) return undefined;
  const attempts = Number(parsed.data.attempts.N);
  const claimExpiresAtMs = Number(parsed.data.claimExpiresAt.N);
  if (!Number.isInteger(attempts) || attempts < 1 || !Number.isFinite(claimExpiresAtMs)) return undefined;
  const record: TransitionRecord = {
    attempts,
    state: parsed.data.state.S,
    claimExpiresAtMs,
    ...(parsed.data.examining === undefined
      ? {}
      : { examining: parsed.data.examining.L.map((value) => value.S) }),
    ...(parsed.data.failedTargets === undefined
      ? {}
      : { failedTargets: parsed.data.failedTargets.L.map((value) => value.S) }),
  };
  return record;
}

/** The item's key for a transition identity and storm part. */
export function transitionKey(identity: string, part: number): Record<string, AttributeValue> {
  const id =
    identity.length <= MAX_IDENTITY_KEY_LENGTH
      ? identity
      : `sha256:${createHash('sha256').update(identity).digest('hex')}`;
  return {
    [STATE_TABLE_KEY.partition]: { S: transitionPartition(id) },
    [STATE_TABLE_KEY.sort]: { S: `part#${part}` },
  };
}

function list(values: readonly string[]): AttributeValue {
  return { L: values.map((value) => ({ S: value })) };
}

/** Creates the ledger over a DynamoDB client and table. */
export function createTransitionLedger(
  client: DynamoDBClient,
  tableName: string,
  logger?: LedgerLogger,
): TransitionLedger {
  const expiresAt = (nowMs: number) => ({ N: String(Math.floor(nowMs / 1000) + KEEP_SECONDS) });
  const isConflict = (error: unknown) => error instanceof ConditionalCheckFailedException;

  return {
    async claim(request, signal): Promise<ClaimOutcome> {
      const Key = transitionKey(request.identity, request.part);
      try {
        for (let round = 0; round < MAX_CLAIM_ROUNDS; round++) {
          // Most transitions are new: the first round claims without reading (one write before the
          // halt path starts); only when the item exists is it read and decided on.
          const read =
            round === 0
              ? { Item: undefined }
              : await client.send(new GetItemCommand({ TableName: tableName, Key, ConsistentRead: true }), {
                  abortSignal: signal,
                });
          const record = parseTransitionRecord(read.Item);
          const decision = decideClaim(
            read.Item === undefined ? undefined : record,
            request.delivery,
            request.nowMs,
          );
          if (decision.kind === 'duplicate') {
            return { kind: 'duplicate', why: decision.why, attempts: record?.attempts ?? 0 };
          }
          try {
            if (decision.kind === 'first' || record === undefined) {
              await client.send(
                new PutItemCommand({
                  TableName: tableName,
                  Item: {
                    ...Key,
                    kind: { S: 'transition' },
                    transition: { S: request.identity.slice(0, 2048) },
                    alarmNames: list(request.alarmNames.slice(0, 100)),
                    attempts: { N: '1' },
                    state: { S: 'running' },
                    claimExpiresAt: { N: String(request.claimUntilMs) },
                    updatedAt: { S: new Date(request.nowMs).toISOString() },
                    [STATE_TABLE_TTL_ATTRIBUTE]: expiresAt(request.nowMs),
                  },
                  // A new transition, or an item that is not a record (it is replaced) but never a
                  // record another delivery wrote since the read.
                  ConditionExpression:
                    read.Item === undefined ? 'attribute_not_exists(#pk)' : 'attribute_not_exists(#attempts)',
                  ExpressionAttributeNames:
                    read.Item === undefined
                      ? { '#pk': STATE_TABLE_KEY.partition }
                      : { '#attempts': 'attempts' },
                }),
                { abortSignal: signal },
              );
              return { kind: 'claimed', attempt: 1, reexamine: 'all', lapsed: false };
            }
            const examining = decision.reexamine === 'all' ? undefined : decision.reexamine;
            await client.send(
              new UpdateItemCommand({
                TableName: tableName,
                Key,
                UpdateExpression: `SET #attempts = :next, #state = :running, #until = :until, #updated = :updated, #ttl = :ttl${examining === undefined ? '' : ', #examining = :examining'} REMOVE #failed${examining === undefined ? ', #examining' : ''}`,
                ConditionExpression: '#attempts = :seen AND #state = :seenState AND #until = :seenUntil',
                ExpressionAttributeNames: {
                  '#attempts': 'attempts',
                  '#state': 'state',
                  '#until': 'claimExpiresAt',
                  '#updated': 'updatedAt',
                  '#ttl': STATE_TABLE_TTL_ATTRIBUTE,
                  '#failed': 'failedTargets',
                  '#examining': 'examining',
                },
                ExpressionAttributeValues: {
                  ':next': { N: String(decision.attempt) },
                  ':running': { S: 'running' },
                  ':until': { N: String(request.claimUntilMs) },
                  ':updated': { S: new Date(request.nowMs).toISOString() },
                  ':ttl': expiresAt(request.nowMs),
                  ':seen': { N: String(record.attempts) },
                  ':seenState': { S: record.state },
                  ':seenUntil': { N: String(record.claimExpiresAtMs) },
                  ...(examining === undefined ? {} : { ':examining': list(examining) }),
                },
              }),
              { abortSignal: signal },
            );
            return {
              kind: 'claimed',
              attempt: decision.attempt,
              reexamine: decision.reexamine,
              lapsed: decision.lapsed,
            };
          } catch (error) {
            // Another delivery wrote the record since it was read: read it again and decide again.
            if (!isConflict(error)) throw error;
          }
        }
        return {
          kind: 'duplicate',
          why: 'other deliveries of the transition kept claiming it at the same time',
          attempts: 0,
        };
      } catch (error) {
        logger?.warn('transition ledger not available; handling the delivery on its own', {
          tableName,
          transition: request.identity,
          error: describeError(error),
        });
        return { kind: 'unavailable' };
      }
    },

    async settle(request, signal) {
      const failed = request.failedTargets;
      const state = failed !== undefined && failed.length === 0 ? 'done' : 'failed';
      try {
        await client.send(
          new UpdateItemCommand({
            TableName: tableName,
            Key: transitionKey(request.identity, request.part),
            UpdateExpression: `SET #state = :state, #updated = :updated, #ttl = :ttl${failed === undefined || failed.length === 0 ? ' REMOVE #failed' : ', #failed = :failed'}`,
            ConditionExpression: '#attempts = :mine AND #state = :running',
            ExpressionAttributeNames: {
              '#attempts': 'attempts',
              '#state': 'state',
              '#updated': 'updatedAt',
              '#ttl': STATE_TABLE_TTL_ATTRIBUTE,
              '#failed': 'failedTargets',
            },
            ExpressionAttributeValues: {
              ':state': { S: state },
              ':updated': { S: new Date(request.nowMs).toISOString() },
              ':ttl': expiresAt(request.nowMs),
              ':mine': { N: String(request.attempt) },
              ':running': { S: 'running' },
              ...(failed === undefined || failed.length === 0 ? {} : { ':failed': list(failed) }),
            },
          }),
          { abortSignal: signal },
        );
        return true;
      } catch (error) {
        logger?.warn(
          isConflict(error)
            ? 'transition ledger not settled: another delivery took the transition over'
            : 'transition ledger not settled',
          { tableName, transition: request.identity, attempt: request.attempt, error: describeError(error) },
        );
        return false;
      }
    },
  };
}
