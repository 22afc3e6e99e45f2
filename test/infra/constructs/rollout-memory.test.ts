/**
 * The rollout memory in the stack: an encrypted, on-demand DynamoDB table with point-in-time recovery,
 * cdk-nag clean; both functions may query, put and delete items of exactly that table, and are told
 * its name in `ROLLOUT_MEMORY_TABLE`.
 */
import { readFileSync } from 'node:fs';
import type { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { CfnTable } from 'aws-cdk-lib/aws-dynamodb';
import { CfnFunction } from 'aws-cdk-lib/aws-lambda';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
import { beforeAll, describe, expect, it } from 'vitest';
import type { WatchdogFunction } from '../../../infra/constructs/watchdog-function.ts';
import { createWatchdogApp } from '../../../infra/watchdog-app.ts';
import type { WatchdogStack } from '../../../infra/watchdog-stack.ts';
import { actionsOf, onlyResourceProperties, resourcesOf, statementsAllowing } from '../template-helpers.ts';

const cdkContext: Record<string, unknown> = JSON.parse(
  readFileSync(new URL('../../../cdk.json', import.meta.url), 'utf8'),
).context;

describe('the rollout memory table', () => {
  let app: App;
  let stack: WatchdogStack;
  let template: Template;
  beforeAll(() => {
    ({ app, stack } = createWatchdogApp({ context: cdkContext }));
    template = Template.fromJSON(app.synth().getStackByName(stack.stackName).template);
  });

  const tableRef = () => {
    const resource = stack.rolloutMemory.table.node.defaultChild;
    if (!(resource instanceof CfnTable)) throw new Error('the rollout memory has no CfnTable');
    return { Ref: stack.getLogicalId(resource) };
  };

  it('is encrypted, on demand, with point-in-time recovery, keyed by app and target', () => {
    expect(onlyResourceProperties(template, 'AWS::DynamoDB::Table')).toMatchObject({
      BillingMode: 'PAY_PER_REQUEST',
      SSESpecification: { SSEEnabled: true },
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      KeySchema: [
        { AttributeName: 'applicationId', KeyType: 'HASH' },
        { AttributeName: 'target', KeyType: 'RANGE' },
      ],
    });
  });

  it('has no unacknowledged cdk-nag finding', () => {
    const findings = [new AwsSolutionsChecks(), new ServerlessChecks()].flatMap((pack) =>
      pack
        .validateScope(stack.rolloutMemory)
        .violations.map(
          (v) => `${v.ruleName}: ${v.violatingResources.map((r) => r.constructPath).join(', ')}`,
        ),
    );
    expect(findings).toEqual([]);
  });

  it('lets both functions query, put and delete items of exactly this table, and names it to them', () => {
    const tableArn = { 'Fn::GetAtt': [tableRef().Ref, 'Arn'] };
    for (const action of ['dynamodb:Query', 'dynamodb:PutItem', 'dynamodb:DeleteItem']) {
      const statements = statementsAllowing(template, action);
      expect(statements).toHaveLength(2);
      for (const statement of statements) {
        expect(resourcesOf(statement)).toEqual([tableArn]);
        expect(actionsOf(statement).sort()).toEqual([
          'dynamodb:DeleteItem',
          'dynamodb:PutItem',
          'dynamodb:Query',
        ]);
      }
    }
    for (const fn of [stack.haltRollout, stack.selfCheck.function]) {
      expect(environmentOf(fn).ROLLOUT_MEMORY_TABLE).toEqual(tableRef());
    }
  });

  function environmentOf(fn: WatchdogFunction): Record<string, unknown> {
    const resource = fn.function.node.defaultChild;
    if (!(resource instanceof CfnFunction)) throw new Error('no CfnFunction');
    return (
      template.toJSON().Resources?.[stack.getLogicalId(resource)]?.Properties?.Environment?.Variables ?? {}
    );
  }
});
