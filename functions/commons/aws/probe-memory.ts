/**
 * What the Store health probe remembers between runs (`ProbeMemory`), in the stack's state table
 * (`state-table.ts`): one item per watched app in the partition `probe`, sort key `app#<application
 * ID>`, its memory as JSON in `memory`. One partition, so a run reads the whole memory with one Query
 * (a page holds hundreds of apps), and writes only the apps whose memory changed.
 *
 * Memory saves Store requests, never decides a figure: a failed read is logged and reads as "nothing
 * remembered" (the run reads everything, as without a table), a failed write is logged and costs a read
 * next run, and an item that does not parse is ignored.
 */
import {
  DeleteItemCommand,
  type DynamoDBClient,
  PutItemCommand,
  QueryCommand,
  type QueryCommandOutput,
} from '@aws-sdk/client-dynamodb';
import { APPLICATION_ID_PATTERN, SUBMISSION_ID_PATTERN } from '../domain/ids.ts';
import type { AppMemory } from '../domain/probe-memory.ts';
import { describeError } from '../errors.ts';
import { definedProps } from '../optional.ts';
import * as z from '../validation.ts';
import { PROBE_PARTITION, probeSortKey, STATE_TABLE_KEY } from './state-table.ts';

/** Where failures are reported (Powertools' `Logger` fits). */
export interface ProbeMemoryLogger {
  warn(message: string, attributes: Record<string, unknown>): void;
}

/** The probe's memory: every app's at once, and one app's written or dropped. */
export interface ProbeMemory {
  /** Every remembered app by Store ID; empty when the table cannot be read. */
  load(signal: AbortSignal): Promise<ReadonlyMap<string, AppMemory>>;
  save(memory: AppMemory, signal: AbortSignal): Promise<void>;
  /** Drops an app that is no longer watched. */
  forget(applicationId: string, signal: AbortSignal): Promise<void>;
}

const submissionId = z.string().check(z.regex(SUBMISSION_ID_PATTERN));
const targetSchema = z.object({
  lastPublishedId: z.optional(submissionId),
  pendingId: z.optional(submissionId),
  state: z.enum(['settled', 'watch']),
  readAtMs: z.number(),
});
const memorySchema = z.object({
  applicationId: z.string().check(z.regex(APPLICATION_ID_PATTERN)),
  main: z.optional(targetSchema),
  flights: z.record(z.string(), targetSchema),
  flightsSlot: z.optional(z.number()),
  cohorts: z.record(z.string(), z.array(z.string())),
  crashes: z.optional(
    z.object({
      slot: z.number(),
      versions: z.array(z.string()),
      rows: z.array(
        z.object({ hourStartMs: z.number(), packageVersion: z.string(), deviceCount: z.number() }),
      ),
      storeRows: z.number(),
    }),
  ),
  usage: z.optional(
    z.object({
      readDayMs: z.number(),
      versions: z.array(z.string()),
      rows: z.array(
        z.object({ dayStartMs: z.number(), packageVersion: z.string(), dailyActiveDevices: z.number() }),
      ),
    }),
  ),
});

/** An item as an app's memory, or `undefined` when it is not one (another kind, a bad value). */
function parseProbeItem(item: Record<string, { S?: string | undefined } | undefined>): AppMemory | undefined {
  const text = item.memory?.S;
  if (item[STATE_TABLE_KEY.partition]?.S !== PROBE_PARTITION || text === undefined) return undefined;
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return undefined;
  }
  const parsed = memorySchema.safeParse(json);
  if (!parsed.success) return undefined;
  // The key must say the same as the content: an item filed under another app is not used.
  if (item[STATE_TABLE_KEY.sort]?.S !== probeSortKey(parsed.data.applicationId)) return undefined;
  return parsed.data;
}

/** Creates the memory over a DynamoDB client and table. */
export function createProbeMemory(
  client: DynamoDBClient,
  tableName: string,
  logger?: ProbeMemoryLogger,
): ProbeMemory {
  const warn = (message: string, error: unknown, attributes: Record<string, unknown> = {}) =>
    logger?.warn(message, { ...attributes, tableName, error: describeError(error) });
  return {
    async load(signal) {
      const memory = new Map<string, AppMemory>();
      let ignored = 0;
      try {
        let start: QueryCommandOutput['LastEvaluatedKey'];
        do {
          const output: QueryCommandOutput = await client.send(
            new QueryCommand({
              TableName: tableName,
              KeyConditionExpression: '#pk = :pk',
              ExpressionAttributeNames: { '#pk': STATE_TABLE_KEY.partition },
              ExpressionAttributeValues: { ':pk': { S: PROBE_PARTITION } },
              ...definedProps({ ExclusiveStartKey: start }),
            }),
            { abortSignal: signal },
          );
          for (const item of output.Items ?? []) {
            const parsed = parseProbeItem(item);
            if (parsed === undefined) ignored++;
            else memory.set(parsed.applicationId, parsed);
          }
          start = output.LastEvaluatedKey;
        } while (start !== undefined);
      } catch (error) {
        warn('probe memory not read; reading every app instead', error);
        return new Map();
      }
      if (ignored > 0)
        logger?.warn('probe memory items ignored: they do not describe an app', { tableName, ignored });
      return memory;
    },

    async save(memory, signal) {
      try {
        await client.send(
          new PutItemCommand({
            TableName: tableName,
            Item: {
              [STATE_TABLE_KEY.partition]: { S: PROBE_PARTITION },
              [STATE_TABLE_KEY.sort]: { S: probeSortKey(memory.applicationId) },
              memory: { S: JSON.stringify(memory) },
            },
          }),
          { abortSignal: signal },
        );
      } catch (error) {
        warn('probe memory not written; the app is read again next run', error, {
          applicationId: memory.applicationId,
        });
      }
    },

    async forget(applicationId, signal) {
      try {
        await client.send(
          new DeleteItemCommand({
            TableName: tableName,
            Key: {
              [STATE_TABLE_KEY.partition]: { S: PROBE_PARTITION },
              [STATE_TABLE_KEY.sort]: { S: probeSortKey(applicationId) },
            },
          }),
          { abortSignal: signal },
        );
      } catch (error) {
        warn('probe memory of an app no longer watched not dropped', error, { applicationId });
      }
    },
  };
}
