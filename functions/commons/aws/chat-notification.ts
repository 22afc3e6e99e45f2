/**
 * The `https` key of the notification (see the Lambda contract, "Notifications"): an AWS Chatbot
 * (Amazon Q Developer in chat applications) custom notification, so a Slack or Microsoft Teams channel
 * subscribed to the topic renders it as a card. Any other HTTPS subscriber of the topic gets it too.
 *
 * The event format is AWS's: `version` "1.0", `source` "custom", `content` (`textType`, `title`,
 * `description`, `nextSteps`, `keywords`) and `metadata` (`threadId`, `summary`, `eventType`,
 * `additionalContext`). Every field is kept within `CHAT_LIMITS` (bounds at or below AWS's), cutting the
 * prose, never the facts at its start.
 */
import { lastSeenWords, type NotificationJson, type NotificationTarget } from '../domain/notification.ts';
import type { TargetResultKind } from '../domain/results.ts';

/** Bounds the message keeps; a unit test holds the built message to them with a schema. */
export const CHAT_LIMITS = {
  title: 250,
  description: 4000,
  nextSteps: 5,
  nextStep: 500,
  keywords: 5,
  keyword: 75,
  threadId: 128,
  summary: 250,
} as const;

/** The custom notification, as published (JSON-encoded) under the `https` key. */
export interface ChatNotification {
  readonly version: '1.0';
  readonly source: 'custom';
  readonly content: {
    readonly textType: 'client-markdown';
    readonly title: string;
    readonly description: string;
    readonly nextSteps: readonly string[];
    readonly keywords: readonly string[];
  };
  readonly metadata: {
    readonly threadId: string;
    readonly summary: string;
    readonly eventType: string;
    readonly additionalContext: Readonly<Record<string, string>>;
  };
}

/** What the chat message is built from: the notification's JSON object, and whether it is a drill. */
export interface ChatInput {
  readonly json: NotificationJson;
  readonly drill: boolean;
}

const CHAT_EVENT_TYPE = 'StoreRolloutWatchdogDecision';

const OUTCOME_WORDS: Record<TargetResultKind, string> = {
  failed: 'FAILED to halt (act now)',
  'would-halt': 'Would halt (dry run)',
  halted: 'HALTED',
  'already-halted': 'Already halted',
  'no-active-rollout': 'No active rollout',
};

const RESULT_WORDS: Record<TargetResultKind, string> = {
  failed: 'FAILED',
  'would-halt': 'would halt (dry run, left alone)',
  halted: 'HALTED',
  'already-halted': 'already halted',
  'no-active-rollout': 'no active rollout',
};

/** Builds the custom notification for one decision. */
export function buildChatNotification({ json, drill }: ChatInput): ChatNotification {
  const worst = json.targets.filter((target) => target.result === json.outcome);
  const lead = worst[0] ?? json.targets[0];
  const apps = unique(json.targets.map((target) => `${target.appName} (${target.applicationId})`));
  const worstApps = unique(worst.map((target) => target.appName));
  const title = cut(
    `${drill ? 'DRILL - ' : ''}${OUTCOME_WORDS[json.outcome]}: ${(worstApps.length > 0 ? worstApps : apps).join(', ')}`,
    CHAT_LIMITS.title,
  );
  const description = cut(
    [
      ...(drill
        ? [
            '*DRILL*: the drill alarm went into ALARM; nothing was halted. This proves the alarm reaches the watchdog and the notification reaches this channel.',
          ]
        : []),
      ...json.targets.map(describeTarget),
    ].join('\n\n'),
    CHAT_LIMITS.description,
  );
  const nextSteps = unique(
    json.targets.flatMap((target) => (target.nextStep === undefined ? [] : [target.nextStep])),
  )
    .concat(unique(json.targets.map((target) => `Partner Center: ${target.partnerCenterUrl}`)))
    .slice(0, CHAT_LIMITS.nextSteps)
    .map((step) => cut(step, CHAT_LIMITS.nextStep));
  const keywords = unique([
    json.outcome,
    ...(drill ? ['drill'] : []),
    ...json.targets.map((target) => target.applicationId),
  ])
    .slice(0, CHAT_LIMITS.keywords)
    .map((keyword) => cut(keyword, CHAT_LIMITS.keyword));
  return {
    version: '1.0',
    source: 'custom',
    content: { textType: 'client-markdown', title, description, nextSteps, keywords },
    metadata: {
      threadId: threadId(lead),
      summary: cut(json.subject, CHAT_LIMITS.summary),
      eventType: CHAT_EVENT_TYPE,
      additionalContext: { outcome: json.outcome, ...(drill ? { drill: 'true' } : {}) },
    },
  };
}

/**
 * One thread per app and submission, so the follow-ups about one rollout (a retry's `already-halted`,
 * the next drill) land under the first message.
 */
export function threadId(
  target: Pick<NotificationTarget, 'applicationId' | 'submissionId'> | undefined,
): string {
  if (target === undefined) return 'store-watchdog';
  return cut(
    `store-watchdog-${target.applicationId}-${target.submissionId ?? 'no-submission'}`,
    CHAT_LIMITS.threadId,
  );
}

function describeTarget(target: NotificationTarget): string {
  const which = target.flightId === undefined ? 'main rollout' : `package flight ${target.flightId}`;
  const facts = [
    `Submission: ${target.submissionId ?? 'none found'}`,
    ...(target.rolloutPercentage === undefined
      ? []
      : [
          target.percentageSeenAt === undefined
            ? `Live: ${target.rolloutPercentage}%`
            : `Percentage: ${target.rolloutPercentage}% ${lastSeenWords(target.percentageSeenAt)} (remembered)`,
        ]),
    ...(target.fallbackSubmissionId === undefined ? [] : [`Fallback: ${target.fallbackSubmissionId}`]),
    ...(target.alarmNames.length === 0 ? [] : [`Alarm: ${target.alarmNames.join(', ')}`]),
    `${target.result === 'halted' ? 'Time to halt' : 'Decided after'}: ${formatMs(target.elapsedMs)}`,
    ...(target.error === undefined ? [] : [`Error: ${target.error.code}: ${target.error.message}`]),
  ];
  return `*${target.appName}* (${target.applicationId}), ${which}: *${RESULT_WORDS[target.result]}*\n${facts.join(' | ')}`;
}

function formatMs(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`;
}

function cut(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 3)}...`;
}

function unique<T>(values: readonly T[]): T[] {
  return [...new Set(values)];
}
