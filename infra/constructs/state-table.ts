/**
 * The stack's durable state: one DynamoDB table (generic `pk`/`sk`, TTL on `expiresAt`) for what the
 * functions share between invocations; the item kinds are in `functions/commons/aws/state-table.ts`.
 * Point-in-time recovery lets an accidental delete of the handled transitions be undone; losing the
 * table costs re-reads and deduplication of the transitions in flight, never a halt.
 */
import { RemovalPolicy } from 'aws-cdk-lib';
import { AttributeType, BillingMode, Table, TableEncryption } from 'aws-cdk-lib/aws-dynamodb';
import { Construct } from 'constructs';
import { STATE_TABLE_KEY, STATE_TABLE_TTL_ATTRIBUTE } from '../../functions/commons/aws/state-table.ts';
import type { WatchdogFunction } from './watchdog-function.ts';

/** The variable that names the table to the functions (the Lambda contract's name). */
export const STATE_TABLE_VARIABLE = 'ROLLOUT_MEMORY_TABLE';

/** See the module comment. */
export class StateTable extends Construct {
  readonly table: Table;

  constructor(scope: Construct, id: string) {
    super(scope, id);
    this.table = new Table(this, 'Table', {
      partitionKey: { name: STATE_TABLE_KEY.partition, type: AttributeType.STRING },
      sortKey: { name: STATE_TABLE_KEY.sort, type: AttributeType.STRING },
      timeToLiveAttribute: STATE_TABLE_TTL_ATTRIBUTE,
      billingMode: BillingMode.PAY_PER_REQUEST,
      encryption: TableEncryption.AWS_MANAGED,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      removalPolicy: RemovalPolicy.DESTROY,
    });
  }

  /**
   * Lets the function read, remember and forget rollouts (query, put, delete) and take Store request
   * slots from the tenant's budget (get, conditional put), and tells it the table. With `transitions`
   * (the halt-rollout function), it may also conditionally update the record of handled alarm
   * transitions (`UpdateItem`).
   */
  connect(target: WatchdogFunction, options: { readonly transitions?: boolean } = {}): void {
    this.table.grant(
      target,
      'dynamodb:Query',
      'dynamodb:GetItem',
      'dynamodb:PutItem',
      'dynamodb:DeleteItem',
      ...(options.transitions === true ? ['dynamodb:UpdateItem'] : []),
    );
    target.function.addEnvironment(STATE_TABLE_VARIABLE, this.table.tableName);
  }
}
