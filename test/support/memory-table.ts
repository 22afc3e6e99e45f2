/**
 * A rollout-memory table on moto, shaped like the stack's (partition `applicationId`, sort `target`).
 */
import { CreateTableCommand, DynamoDBClient, ScanCommand } from '@aws-sdk/client-dynamodb';
import { ROLLOUT_MEMORY_KEY } from '../../functions/commons/aws/rollout-memory.ts';
import { motoClientConfig } from './aws.ts';

export function motoDynamo(): DynamoDBClient {
  return new DynamoDBClient(motoClientConfig());
}

/** Creates a fresh table and returns its name. */
export async function createMemoryTable(client: DynamoDBClient): Promise<string> {
  const tableName = `rollout-memory-${crypto.randomUUID()}`;
  await client.send(
    new CreateTableCommand({
      TableName: tableName,
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [
        { AttributeName: ROLLOUT_MEMORY_KEY.partition, AttributeType: 'S' },
        { AttributeName: ROLLOUT_MEMORY_KEY.sort, AttributeType: 'S' },
      ],
      KeySchema: [
        { AttributeName: ROLLOUT_MEMORY_KEY.partition, KeyType: 'HASH' },
        { AttributeName: ROLLOUT_MEMORY_KEY.sort, KeyType: 'RANGE' },
      ],
    }),
  );
  return tableName;
}

/** Every item of the table, as `applicationId target -> submissionId@percentage`. */
export async function memoryContents(client: DynamoDBClient, tableName: string): Promise<string[]> {
  const output = await client.send(new ScanCommand({ TableName: tableName }));
  return (output.Items ?? [])
    .map(
      (item) =>
        `${item.applicationId?.S} ${item.target?.S} -> ${item.submissionId?.S}@${item.rolloutPercentage?.N}`,
    )
    .sort();
}
