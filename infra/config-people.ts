/**
 * Config for where people are reached beyond e-mail (the `watchdog` context of `cdk.json`):
 * - `chat`: Slack channels and Microsoft Teams channels that AWS Chatbot (Amazon Q Developer in chat
 *   applications) subscribes to the notification topic;
 * - `pagerDuty`: the secret that holds the PagerDuty Events API v2 routing key; failures and the
 *   watchdog's health alarms are forwarded as critical `trigger` events.
 */
import * as z from '../functions/commons/validation.ts';

const slackChannelSchema = z.strictObject({
  /** The Slack workspace (team) ID, shown in the Chatbot console after the one-time authorization, e.g. T0123ABCD. */
  workspaceId: z
    .string()
    .check(z.regex(/^[0-9A-Z]{1,256}$/, 'must be the Slack workspace ID, e.g. T0123ABCD')),
  /** The channel ID (Slack: channel details, at the bottom), e.g. C0123ABCDEF. */
  channelId: z
    .string()
    .check(z.regex(/^[A-Za-z0-9]{1,256}$/, 'must be the Slack channel ID, e.g. C0123ABCDEF')),
});

const GUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

const teamsChannelSchema = z.strictObject({
  /** The Microsoft Teams team ID (a GUID, from the team's link). */
  teamId: z.string().check(z.regex(GUID, 'must be the Microsoft Teams team ID (a GUID)')),
  /** The channel ID from the channel's link, as is (19%3a…%40thread.tacv2) or decoded (19:…@thread.tacv2). */
  channelId: z
    .string()
    .check(
      z.regex(
        /^19(:|%3[aA])[A-Za-z0-9-_=+/.,]+(@|%40)thread\.[A-Za-z0-9]+$/,
        'must be the Teams channel ID from the channel link, e.g. 19%3a0123abc%40thread.tacv2',
      ),
    ),
  /** The Microsoft Entra tenant ID (a GUID). */
  tenantId: z.string().check(z.regex(GUID, 'must be the Microsoft Entra tenant ID (a GUID)')),
});

export const chatConfigSchema = z
  .strictObject({
    slack: z._default(z.array(slackChannelSchema), []),
    teams: z._default(z.array(teamsChannelSchema), []),
  })
  .check(
    z.refine(
      (chat) => chat.slack.length + chat.teams.length > 0,
      'list at least one Slack or Teams channel, or leave chat out',
    ),
  );

export const pagerDutyConfigSchema = z.strictObject({
  /** Name or complete ARN of the secret holding the routing key (the key itself, or {"routingKey": "..."}). */
  routingKeySecret: z
    .string()
    .check(
      z.regex(
        /^([A-Za-z0-9/_+=.@-]{1,512}|arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[A-Za-z0-9/_+=.@-]+-[A-Za-z0-9]{6})$/,
        'must be a Secrets Manager secret name, or its complete ARN (ending in the 6-character suffix)',
      ),
    ),
});

export type ChatConfig = z.output<typeof chatConfigSchema>;
export type PagerDutyConfig = z.output<typeof pagerDutyConfigSchema>;
