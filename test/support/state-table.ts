/**
 * The stack's state table on moto, created exactly as the synthesized template defines it (see
 * `tools/aws/state-table.ts`, shared with the benchmark), and the tests' helpers around it.
 */
import { DynamoDBClient, ScanCommand } from '@aws-sdk/client-dynamodb';
import { motoClientConfig } from './aws.ts';

export {
  createStateTable,
  synthesizedStateTable,
  type TableDefinition,
} from '../../tools/aws/state-table.ts';

export function motoDynamo(): DynamoDBClient {
  return new DynamoDBClient(motoClientConfig());
}

/** Every remembered rollout of the table, as `applicationId target -> submissionId@percentage`. */
export async function memoryContents(client: DynamoDBClient, tableName: string): Promise<string[]> {
  const output = await client.send(new ScanCommand({ TableName: tableName }));
  return (output.Items ?? [])
    .filter((item) => item.pk?.S?.startsWith('app#') === true)
    .map(
      (item) =>
        `${item.applicationId?.S} ${item.sk?.S} -> ${item.submissionId?.S}@${item.rolloutPercentage?.N}`,
    )
    .sort();
}
