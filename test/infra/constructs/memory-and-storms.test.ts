/**
 * The state table in the stack: an encrypted, on-demand DynamoDB table with point-in-time recovery,
 * cdk-nag clean; both functions may query, get, put and delete items of exactly that table (the rollout
 * memory and the tenant's Store request budget), and are told its name in `ROLLOUT_MEMORY_TABLE`. The
 * continuation queue runs continuations side by side, and the halt function has room for them.
 */
import { readFileSync } from 'node:fs';
import type { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { CfnTable } from 'aws-cdk-lib/aws-dynamodb';
import { CfnFunction } from 'aws-cdk-lib/aws-lambda';
import { CfnQueue } from 'aws-cdk-lib/aws-sqs';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
import { beforeAll, describe, expect, it } from 'vitest';
import type { WatchdogFunction } from '../../../infra/constructs/watchdog-function.ts';
import { createWatchdogApp } from '../../../infra/watchdog-app.ts';
import type { WatchdogStack } from '../../../infra/watchdog-stack.ts';
import {
  actionsOf,
  identityStatements,
  NO_BUNDLING,
  onlyResourceProperties,
  resourcesOf,
  statementsAllowing,
} from '../template-helpers.ts';

const cdkContext: Record<string, unknown> = JSON.parse(
  readFileSync(new URL('../../../cdk.json', import.meta.url), 'utf8'),
).context;

describe('the rollout memory table and the storm continuation queue', () => {
  let app: App;
  let stack: WatchdogStack;
  let template: Template;
  beforeAll(() => {
    ({ app, stack } = createWatchdogApp({ context: { ...cdkContext, ...NO_BUNDLING } }));
    template = Template.fromJSON(app.synth().getStackByName(stack.stackName).template);
  });

  const tableRef = () => {
    const resource = stack.stateTable.table.node.defaultChild;
    if (!(resource instanceof CfnTable)) throw new Error('the state table has no CfnTable');
    return { Ref: stack.getLogicalId(resource) };
  };

  it('is encrypted, on demand, with point-in-time recovery, generic keys and a time to live', () => {
    expect(onlyResourceProperties(template, 'AWS::DynamoDB::Table')).toMatchObject({
      BillingMode: 'PAY_PER_REQUEST',
      SSESpecification: { SSEEnabled: true },
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
      TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
    });
  });

  it('has no unacknowledged cdk-nag finding', () => {
    const findings = [new AwsSolutionsChecks(), new ServerlessChecks()].flatMap((pack) =>
      pack
        .validateScope(stack.stateTable)
        .violations.map(
          (v) => `${v.ruleName}: ${v.violatingResources.map((r) => r.constructPath).join(', ')}`,
        ),
    );
    expect(findings).toEqual([]);
  });

  it('lets both functions query, get, put and delete items of exactly this table, the halt function also update items (the transition ledger), and names it to them', () => {
    const tableArn = { 'Fn::GetAtt': [tableRef().Ref, 'Arn'] };
    for (const action of ['dynamodb:Query', 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:DeleteItem']) {
      const statements = statementsAllowing(template, action);
      expect(statements).toHaveLength(2);
      for (const statement of statements) expect(resourcesOf(statement)).toEqual([tableArn]);
    }
    // The memory (query, put, delete) and the request budget (a consistent get, a conditional put).
    const base = ['dynamodb:DeleteItem', 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:Query'];
    const grants = statementsAllowing(template, 'dynamodb:Query').map((statement) =>
      actionsOf(statement).sort(),
    );
    expect(grants.sort((a, b) => a.length - b.length)).toEqual([
      base,
      [
        'dynamodb:DeleteItem',
        'dynamodb:GetItem',
        'dynamodb:PutItem',
        'dynamodb:Query',
        'dynamodb:UpdateItem',
      ],
    ]);
    // Only the halt function may update: the self-check's role has no UpdateItem.
    for (const action of ['dynamodb:UpdateItem']) {
      expect(statementsAllowing(template, action)).toHaveLength(1);
    }
    // Nothing else of DynamoDB anywhere (no scan, no batch; only the ledger updates).
    const dynamoActions = new Set(
      identityStatements(template)
        .flatMap((statement) => actionsOf(statement))
        .filter((action) => action.startsWith('dynamodb:')),
    );
    expect([...dynamoActions].sort()).toEqual([
      'dynamodb:DeleteItem',
      'dynamodb:GetItem',
      'dynamodb:PutItem',
      'dynamodb:Query',
      'dynamodb:UpdateItem',
    ]);
    for (const fn of [stack.haltRollout, stack.selfCheck.function]) {
      expect(environmentOf(fn).ROLLOUT_MEMORY_TABLE).toEqual(tableRef());
    }
  });

  it('hands storms on through an encrypted queue that invokes the halt-rollout function one continuation per invocation, two at a time', () => {
    const queues = template.findResources('AWS::SQS::Queue');
    const queueResource = stack.stormContinuation.queue.node.defaultChild;
    const deadResource = stack.stormContinuation.deadLetterQueue.node.defaultChild;
    if (!(queueResource instanceof CfnQueue) || !(deadResource instanceof CfnQueue))
      throw new Error('no CfnQueue');
    const queue = queues[stack.getLogicalId(queueResource)]?.Properties;
    expect(queue).toMatchObject({
      SqsManagedSseEnabled: true,
      MessageRetentionPeriod: 14 * 24 * 3600,
      // Twice the function's 5 minutes: a crashed invocation's claim has lapsed when its message returns.
      VisibilityTimeout: 600,
      // A failed retry's message comes back once as a duplicate, and throttled deliveries come back too
      // (a repeated delivery costs nothing); ten receives, then the dead-letter queue.
      RedrivePolicy: { maxReceiveCount: 10 },
    });
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      BatchSize: 1,
      EventSourceArn: { 'Fn::GetAtt': [stack.getLogicalId(queueResource), 'Arn'] },
      // Continuations run side by side (they share the tenant's budget in the state table), within
      // the halt function's reserved concurrency, so a storm's continuations do not queue behind one.
      ScalingConfig: { MaximumConcurrency: 2 },
    });
    const haltResource = stack.haltRollout.function.node.defaultChild;
    if (!(haltResource instanceof CfnFunction)) throw new Error('no CfnFunction');
    const reserved =
      template.toJSON().Resources?.[stack.getLogicalId(haltResource)]?.Properties
        ?.ReservedConcurrentExecutions;
    expect(reserved).toBe(10);
    expect(environmentOf(stack.haltRollout).CONTINUATION_QUEUE_URL).toEqual({
      Ref: stack.getLogicalId(queueResource),
    });
    const sends = statementsAllowing(template, 'sqs:SendMessage').filter((statement) =>
      JSON.stringify(resourcesOf(statement)).includes(stack.getLogicalId(queueResource)),
    );
    expect(sends).toHaveLength(1);
    // Its dead-letter queue raises an alarm on the notification topic.
    const alarms = Object.values(template.findResources('AWS::CloudWatch::Alarm')).filter((alarm) =>
      JSON.stringify(alarm.Properties?.Dimensions ?? []).includes(stack.getLogicalId(deadResource)),
    );
    expect(alarms).toHaveLength(1);
    const findings = [new AwsSolutionsChecks(), new ServerlessChecks()].flatMap((pack) =>
      pack.validateScope(stack.stormContinuation).violations.map((v) => v.ruleName),
    );
    expect(findings).toEqual([]);
  });

  function environmentOf(fn: WatchdogFunction): Record<string, unknown> {
    const resource = fn.function.node.defaultChild;
    if (!(resource instanceof CfnFunction)) throw new Error('no CfnFunction');
    return (
      template.toJSON().Resources?.[stack.getLogicalId(resource)]?.Properties?.Environment?.Variables ?? {}
    );
  }
});
