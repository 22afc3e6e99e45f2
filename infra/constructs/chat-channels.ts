/**
 * Slack and Microsoft Teams channels that receive the watchdog's notifications through AWS Chatbot,
 * with a role and guardrail that allow reading CloudWatch and nothing else. The workspace or team must
 * be authorized once in the Chatbot console first: docs/chat-pager-drill.md.
 */
import { Stack, Validations } from 'aws-cdk-lib';
import {
  CfnMicrosoftTeamsChannelConfiguration,
  LoggingLevel,
  SlackChannelConfiguration,
} from 'aws-cdk-lib/aws-chatbot';
import { ManagedPolicy, PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import type { ITopic } from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import type { ChatConfig } from '../config-people.ts';

/** What the channels may do: read CloudWatch alarms and metrics (the "notifications only" permissions). */
export const CHAT_READ_ACTIONS = ['cloudwatch:Describe*', 'cloudwatch:Get*', 'cloudwatch:List*'] as const;

export interface ChatChannelsProps {
  readonly topic: ITopic;
  readonly chat: ChatConfig;
}

/** See the module comment. */
export class ChatChannels extends Construct {
  readonly role: Role;
  readonly guardrail: ManagedPolicy;
  readonly slack: readonly SlackChannelConfiguration[];
  readonly teams: readonly CfnMicrosoftTeamsChannelConfiguration[];

  constructor(scope: Construct, id: string, props: ChatChannelsProps) {
    super(scope, id);
    const prefix = Stack.of(this).stackName;
    this.guardrail = new ManagedPolicy(this, 'ReadOnlyGuardrail', {
      description: 'Store rollout watchdog chat channels: read CloudWatch alarms and metrics, nothing else',
      statements: [new PolicyStatement({ actions: [...CHAT_READ_ACTIONS], resources: ['*'] })],
    });
    this.role = new Role(this, 'Role', {
      assumedBy: new ServicePrincipal('chatbot.amazonaws.com'),
      description: 'Store rollout watchdog chat channels (AWS Chatbot): read-only',
      managedPolicies: [this.guardrail],
    });
    for (const action of CHAT_READ_ACTIONS) {
      Validations.of(this.guardrail).acknowledge({
        id: `AwsSolutions-IAM5[Action::${action}]`,
        reason:
          'AWS Chatbot reads alarm details and metric graphs of any alarm it shows; read-only CloudWatch actions, no write.',
      });
    }
    Validations.of(this.guardrail).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'cloudwatch Describe/Get/List actions are read-only and mostly have no resource-level permissions.',
    });

    this.slack = props.chat.slack.map(
      (channel, index) =>
        new SlackChannelConfiguration(this, `Slack${index}`, {
          slackChannelConfigurationName: `${prefix}-slack-${index}`,
          slackWorkspaceId: channel.workspaceId,
          slackChannelId: channel.channelId,
          notificationTopics: [props.topic],
          role: this.role,
          guardrailPolicies: [this.guardrail],
          loggingLevel: LoggingLevel.ERROR,
          userRoleRequired: false,
        }),
    );
    this.teams = props.chat.teams.map(
      (channel, index) =>
        new CfnMicrosoftTeamsChannelConfiguration(this, `Teams${index}`, {
          configurationName: `${prefix}-teams-${index}`,
          iamRoleArn: this.role.roleArn,
          teamId: channel.teamId,
          // As in the channel's link: URL-encoded (19%3a…%40thread.tacv2).
          teamsChannelId: channel.channelId.includes('%')
            ? channel.channelId
            : encodeURIComponent(channel.channelId),
          teamsTenantId: channel.tenantId,
          snsTopicArns: [props.topic.topicArn],
          guardrailPolicies: [this.guardrail.managedPolicyArn],
          loggingLevel: 'ERROR',
          userRoleRequired: false,
        }),
    );
  }
}
