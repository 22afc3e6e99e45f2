/**
 * The rollout memory: a DynamoDB table where the self-check (and the halt-rollout function, after a
 * lookup) remember each watched app's (and flight's) live rollout, so that a halt of a remembered
 * rollout is a single Store request (see `functions/commons/aws/rollout-memory.ts`).
 *
 * Encrypted (AWS managed key), on-demand billing, point-in-time recovery. Its content is recomputed by
 * every self-check run, so it is destroyed with the stack. The functions get exactly the calls they
 * use on exactly this table (`Query`, `PutItem`, `DeleteItem`) and its name in `ROLLOUT_MEMORY_TABLE`.
 */
import { RemovalPolicy } from 'aws-cdk-lib';
import { AttributeType, BillingMode, Table, TableEncryption } from 'aws-cdk-lib/aws-dynamodb';
import { Construct } from 'constructs';
import { ROLLOUT_MEMORY_KEY } from '../../functions/commons/aws/rollout-memory.ts';
import type { WatchdogFunction } from './watchdog-function.ts';

/** The variable that names the table to the functions. */
export const ROLLOUT_MEMORY_TABLE_VARIABLE = 'ROLLOUT_MEMORY_TABLE';

/** See the module comment. */
export class RolloutMemory extends Construct {
  readonly table: Table;

  constructor(scope: Construct, id: string) {
    super(scope, id);
    this.table = new Table(this, 'Table', {
      partitionKey: { name: ROLLOUT_MEMORY_KEY.partition, type: AttributeType.STRING },
      sortKey: { name: ROLLOUT_MEMORY_KEY.sort, type: AttributeType.STRING },
      billingMode: BillingMode.PAY_PER_REQUEST,
      encryption: TableEncryption.AWS_MANAGED,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      removalPolicy: RemovalPolicy.DESTROY,
    });
  }

  /** Lets the function read, remember and forget rollouts, and tells it the table. */
  connect(target: WatchdogFunction): void {
    this.table.grant(target, 'dynamodb:Query', 'dynamodb:PutItem', 'dynamodb:DeleteItem');
    target.function.addEnvironment(ROLLOUT_MEMORY_TABLE_VARIABLE, this.table.tableName);
  }
}
