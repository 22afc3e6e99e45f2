/**
 * The stack's chat channels, pager and drill alarm: synthesized with the config shipped in cdk.json
 * (drill only) and with `chat` and `pagerDuty` configured, each behind the cdk-nag gate.
 */
import { readFileSync } from 'node:fs';
import type { App } from 'aws-cdk-lib';
import { Match, type Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseWatchdogConfig, type WatchdogConfigInput } from '../../infra/config.ts';
import { CHAT_READ_ACTIONS } from '../../infra/constructs/chat-channels.ts';
import { DRILL_METRIC } from '../../infra/constructs/drill-alarm.ts';
import { PAGER_MAX_RECEIVE_COUNT } from '../../infra/constructs/pager-forwarder.ts';
import type { WatchdogStack } from '../../infra/watchdog-stack.ts';
import {
  actionsOf,
  identityStatements,
  nagFindings,
  resourcesOf,
  statementsOf,
  synthesizeWatchdog,
} from './template-helpers.ts';

const cdkContext: Record<string, unknown> = JSON.parse(
  readFileSync(new URL('../../cdk.json', import.meta.url), 'utf8'),
).context;
const shipped: WatchdogConfigInput = JSON.parse(JSON.stringify(cdkContext.watchdog));

const TEAM = '8f3c1a2b-4d5e-4f60-9a7b-1c2d3e4f5a6b';
const TENANT = '0e1f2a3b-4c5d-4e6f-8a9b-0c1d2e3f4a5b';
const WITH_PEOPLE: WatchdogConfigInput = {
  ...shipped,
  chat: {
    slack: [{ workspaceId: 'T0123ABCD', channelId: 'C0123ABCDEF' }],
    teams: [{ teamId: TEAM, channelId: '19:0123abcdef@thread.tacv2', tenantId: TENANT }],
  },
  pagerDuty: { routingKeySecret: 'watchdog/pagerduty-routing-key' },
};

function synthesize(watchdog: WatchdogConfigInput): { app: App; stack: WatchdogStack; template: Template } {
  return synthesizeWatchdog(watchdog);
}

describe('the drill alarm (shipped config: no chat, no pager)', () => {
  let stack: WatchdogStack;
  let template: Template;
  beforeAll(() => {
    ({ stack, template } = synthesize(shipped));
  });

  it('creates an alarm on a metric nobody publishes, resting in OK (missing data not breaching), acting on the alarm topic', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'StoreRolloutWatchdog-drill',
      Namespace: DRILL_METRIC.namespace,
      MetricName: DRILL_METRIC.metricName,
      TreatMissingData: 'notBreaching',
      EvaluationPeriods: 1,
      AlarmActions: [stack.resolve(stack.intake.alarmTopic.topicArn)],
    });
  });

  it('tells the function its name (DRILL_ALARM_NAME), and its ALARM transitions arrive by its alarm action only, not also by EventBridge', () => {
    template.hasResourceProperties('AWS::Lambda::Function', {
      Description: Match.stringLikeRegexp('halts a Microsoft Store package rollout'),
      Environment: { Variables: Match.objectLike({ DRILL_ALARM_NAME: 'StoreRolloutWatchdog-drill' }) },
    });
    const patterns = Object.values(template.findResources('AWS::Events::Rule')).map((rule) =>
      JSON.stringify(rule.Properties.EventPattern ?? {}),
    );
    expect(patterns.filter((pattern) => pattern.includes('StoreRolloutWatchdog-drill'))).toEqual([]);
  });

  it('outputs the drill alarm name and the one command that runs a drill', () => {
    template.hasOutput('DrillAlarmName', { Value: 'StoreRolloutWatchdog-drill' });
    const command = JSON.stringify(template.findOutputs('DrillCommand'));
    expect(command).toContain('aws cloudwatch set-alarm-state');
    expect(command).toContain('--alarm-name StoreRolloutWatchdog-drill --state-value ALARM');
  });

  it('creates no chat channel and no pager unless configured', () => {
    template.resourceCountIs('AWS::Chatbot::SlackChannelConfiguration', 0);
    template.resourceCountIs('AWS::Chatbot::MicrosoftTeamsChannelConfiguration', 0);
    // The only queue-fed function without a pager is halt-rollout (its storm continuation queue).
    expect(stack.pager).toBeUndefined();
    const mappings = Object.values(template.findResources('AWS::Lambda::EventSourceMapping'));
    expect(mappings.map((mapping) => mapping.Properties.EventSourceArn)).toEqual([
      stack.resolve(stack.stormContinuation.queue.queueArn),
    ]);
  });
});

describe('chat and pager configured', () => {
  let app: App;
  let stack: WatchdogStack;
  let template: Template;
  beforeAll(() => {
    ({ app, stack, template } = synthesize(WITH_PEOPLE));
  });

  it('has no unacknowledged cdk-nag finding (AwsSolutions and Serverless packs)', () => {
    expect(nagFindings(app)).toEqual([]);
  });

  it('subscribes a Slack and a Teams channel to the notification topic, logging errors, with their own role', () => {
    const topic = stack.resolve(stack.notifications.topic.topicArn);
    const role = stack.resolve(stack.chat?.role.roleArn);
    const guardrail = stack.resolve(stack.chat?.guardrail.managedPolicyArn);
    template.hasResourceProperties('AWS::Chatbot::SlackChannelConfiguration', {
      SlackWorkspaceId: 'T0123ABCD',
      SlackChannelId: 'C0123ABCDEF',
      SnsTopicArns: [topic],
      IamRoleArn: role,
      GuardrailPolicies: [guardrail],
      LoggingLevel: 'ERROR',
      UserRoleRequired: false,
    });
    template.hasResourceProperties('AWS::Chatbot::MicrosoftTeamsChannelConfiguration', {
      TeamId: TEAM,
      TeamsChannelId: '19%3A0123abcdef%40thread.tacv2',
      TeamsTenantId: TENANT,
      SnsTopicArns: [topic],
      IamRoleArn: role,
      GuardrailPolicies: [guardrail],
      LoggingLevel: 'ERROR',
    });
  });

  it('lets the channels read CloudWatch and nothing else: no AdministratorAccess, no write action', () => {
    const text = JSON.stringify(template.toJSON());
    expect(text).not.toContain('AdministratorAccess');
    const guardrail = Object.values(template.findResources('AWS::IAM::ManagedPolicy'));
    expect(guardrail).toHaveLength(1);
    const statements = statementsOf(guardrail[0]?.Properties.PolicyDocument);
    expect(statements.flatMap(actionsOf).sort()).toEqual([...CHAT_READ_ACTIONS].sort());
    template.hasResourceProperties('AWS::IAM::Role', {
      AssumeRolePolicyDocument: {
        Statement: [Match.objectLike({ Principal: { Service: 'chatbot.amazonaws.com' } })],
      },
      ManagedPolicyArns: [stack.resolve(stack.chat?.guardrail.managedPolicyArn)],
    });
  });

  it('subscribes the pager queue to the notification topic with a filter on failures and health alarms', () => {
    template.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'sqs',
      TopicArn: stack.resolve(stack.notifications.topic.topicArn),
      Endpoint: stack.resolve(stack.pager?.queue.queueArn),
      FilterPolicy: { outcome: [{ exists: false }, 'failed'] },
      RedrivePolicy: { deadLetterTargetArn: stack.resolve(stack.pager?.deadLetterQueue.queueArn) },
    });
  });

  it('retries a failed page by SQS, then keeps it in a dead-letter queue that alarms to the notification topic', () => {
    template.hasResourceProperties('AWS::SQS::Queue', {
      RedrivePolicy: {
        deadLetterTargetArn: stack.resolve(stack.pager?.deadLetterQueue.queueArn),
        maxReceiveCount: PAGER_MAX_RECEIVE_COUNT,
      },
      SqsManagedSseEnabled: true,
    });
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      EventSourceArn: stack.resolve(stack.pager?.queue.queueArn),
      FunctionResponseTypes: ['ReportBatchItemFailures'],
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'StoreRolloutWatchdog-pager-dead-letters',
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Dimensions: [{ Name: 'QueueName', Value: stack.resolve(stack.pager?.deadLetterQueue.queueName) }],
      AlarmActions: [stack.resolve(stack.notifications.topic.topicArn)],
    });
  });

  it('lets the forwarder read exactly the routing key secret, named in its environment', () => {
    const forwarderRole = stack.resolve(stack.pager?.forwarder.role.roleName);
    const policies = Object.values(template.findResources('AWS::IAM::Policy')).filter((policy) =>
      JSON.stringify(policy.Properties.Roles).includes(JSON.stringify(forwarderRole)),
    );
    const reads = policies
      .flatMap((policy) => statementsOf(policy.Properties.PolicyDocument))
      .filter((statement) => actionsOf(statement).includes('secretsmanager:GetSecretValue'));
    expect(reads.flatMap(resourcesOf).map((resource) => JSON.stringify(resource))).toEqual([
      expect.stringContaining(':secret:watchdog/pagerduty-routing-key-??????'),
    ]);
    template.hasResourceProperties('AWS::Lambda::Function', {
      Description: Match.stringLikeRegexp('pager'),
      Runtime: 'nodejs24.x',
      Architectures: ['arm64'],
      Environment: {
        Variables: Match.objectLike({ PAGER_ROUTING_KEY_SECRET_ID: 'watchdog/pagerduty-routing-key' }),
      },
    });
    // No other statement of the stack reads that secret.
    const all = identityStatements(template).filter((statement) =>
      JSON.stringify(statement).includes('pagerduty-routing-key'),
    );
    expect(all).toHaveLength(1);
  });
});

describe('config: chat and pagerDuty', () => {
  it.each([
    [{ chat: {} }, /watchdog.chat: list at least one Slack or Teams channel/],
    [
      { chat: { slack: [{ workspaceId: 't0123', channelId: 'C1' }] } },
      /watchdog.chat.slack\[0\].workspaceId: must be the Slack workspace ID/,
    ],
    [
      { chat: { teams: [{ teamId: 'team', channelId: '19:a@thread.tacv2', tenantId: TENANT }] } },
      /watchdog.chat.teams\[0\].teamId: must be the Microsoft Teams team ID/,
    ],
    [{ chat: { slack: [], discord: [] } }, /watchdog.chat/],
    [
      { chat: { teams: [{ teamId: TEAM, channelId: 'general', tenantId: TENANT }] } },
      /watchdog.chat.teams\[0\].channelId: must be the Teams channel ID from the channel link/,
    ],
    [
      { pagerDuty: { routingKeySecret: 'has spaces' } },
      /watchdog.pagerDuty.routingKeySecret: must be a Secrets Manager secret name/,
    ],
    [{ pagerDuty: { routingKey: 'x' } }, /watchdog.pagerDuty/],
  ])('rejects %j naming the field', (extra, message) => {
    expect(() => parseWatchdogConfig({ ...shipped, ...extra })).toThrow(message);
  });

  it('accepts a secret ARN for the routing key', () => {
    const arn = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:watchdog/pagerduty-AbCdEf';
    expect(parseWatchdogConfig({ ...shipped, pagerDuty: { routingKeySecret: arn } }).pagerDuty).toEqual({
      routingKeySecret: arn,
    });
  });
});
