/**
 * The stack's state table on moto, created exactly as the synthesized template defines it: the
 * `StateTable` construct is synthesized on its own (no bundling, fast) and its `AWS::DynamoDB::Table`
 * properties (keys, attributes, indexes, TTL, billing) become the `CreateTable` and `UpdateTimeToLive`
 * calls. A change to the construct is a change to every table made from it (the tests', the benchmark's).
 */
import {
  type AttributeDefinition,
  type BillingMode,
  CreateTableCommand,
  type DynamoDBClient,
  type KeySchemaElement,
  UpdateTimeToLiveCommand,
} from '@aws-sdk/client-dynamodb';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as z from 'zod/mini';
import { StateTable } from '../../infra/constructs/state-table.ts';

const keyElement = z.object({ AttributeName: z.string(), KeyType: z.enum(['HASH', 'RANGE']) });
const tableSchema = z.object({
  KeySchema: z.array(keyElement),
  AttributeDefinitions: z.array(
    z.object({ AttributeName: z.string(), AttributeType: z.enum(['S', 'N', 'B']) }),
  ),
  BillingMode: z.enum(['PAY_PER_REQUEST', 'PROVISIONED']),
  GlobalSecondaryIndexes: z.optional(
    z.array(
      z.object({
        IndexName: z.string(),
        KeySchema: z.array(keyElement),
        Projection: z.object({ ProjectionType: z.enum(['ALL', 'KEYS_ONLY', 'INCLUDE']) }),
      }),
    ),
  ),
  TimeToLiveSpecification: z.optional(z.object({ AttributeName: z.string(), Enabled: z.boolean() })),
});

/** What the template says of the table: read once per process. */
export type TableDefinition = z.infer<typeof tableSchema>;

/**
 * Synthesized once, when this module loads: a synth keeps the event loop busy for a second or more,
 * which must not happen while time-scaled storms run beside a test that creates a table.
 */
const definition: TableDefinition = synthesizeDefinition();

function synthesizeDefinition(): TableDefinition {
  const stack = new Stack(new App(), 'StateTableOnly');
  new StateTable(stack, 'State');
  const tables = Object.values(Template.fromStack(stack).findResources('AWS::DynamoDB::Table'));
  if (tables.length !== 1) throw new Error(`the StateTable construct defines ${tables.length} tables, not 1`);
  return tableSchema.parse(tables[0]?.Properties);
}

/** The state table's properties as the synthesized template defines them. */
export function synthesizedStateTable(): TableDefinition {
  return definition;
}

/** Creates a fresh table shaped like the stack's and returns its name. */
export async function createStateTable(client: DynamoDBClient): Promise<string> {
  const table = synthesizedStateTable();
  const tableName = `state-${crypto.randomUUID()}`;
  const keySchema: KeySchemaElement[] = table.KeySchema;
  const attributes: AttributeDefinition[] = table.AttributeDefinitions;
  const billingMode: BillingMode = table.BillingMode;
  await client.send(
    new CreateTableCommand({
      TableName: tableName,
      BillingMode: billingMode,
      AttributeDefinitions: attributes,
      KeySchema: keySchema,
      ...(table.GlobalSecondaryIndexes === undefined
        ? {}
        : {
            GlobalSecondaryIndexes: table.GlobalSecondaryIndexes.map((index) => ({
              IndexName: index.IndexName,
              KeySchema: index.KeySchema,
              Projection: { ProjectionType: index.Projection.ProjectionType },
            })),
          }),
    }),
  );
  const ttl = table.TimeToLiveSpecification;
  if (ttl !== undefined) {
    await client.send(
      new UpdateTimeToLiveCommand({
        TableName: tableName,
        TimeToLiveSpecification: { AttributeName: ttl.AttributeName, Enabled: ttl.Enabled },
      }),
    );
  }
  return tableName;
}
