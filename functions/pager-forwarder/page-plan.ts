/**
 * What goes to the pager, as plain data: a notification-topic message (the SNS envelope an SQS
 * subscriber receives) becomes PagerDuty `trigger` events: one per failed rollout of a `failed`
 * decision, one per health alarm going into ALARM, none for anything else (docs/chat-pager-drill.md).
 * The routing key is added by the adapter and never passes through here.
 */

import { lastSeenWords } from '../commons/domain/notification.ts';
import { BadInputError } from '../commons/errors.ts';
import { definedProps } from '../commons/optional.ts';
import * as z from '../commons/validation.ts';
import { formatIssues } from '../commons/validation.ts';

/** PagerDuty Events API v2 limits: `summary` 1024 characters, `dedup_key` 255, `source` 255. */
export const PAGER_LIMITS = { summary: 1024, dedupKey: 255 } as const;
const PAGER_SOURCE = 'store-rollout-watchdog';

/** One `trigger` event without the routing key (see the Events API v2, "Send an alert event"). */
export interface PagerTrigger {
  readonly dedupKey: string;
  readonly summary: string;
  readonly severity: 'critical';
  readonly source: string;
  readonly component: string;
  readonly customDetails: Readonly<Record<string, unknown>>;
  readonly links: readonly { readonly href: string; readonly text: string }[];
}

/** What one topic message asks of the pager. */
export type PagerPlan =
  | { readonly kind: 'page'; readonly triggers: readonly PagerTrigger[] }
  | { readonly kind: 'skip'; readonly why: string };

const envelopeSchema = z.object({
  Type: z.optional(z.string()),
  MessageId: z.optional(z.string()),
  Subject: z.optional(z.nullable(z.string())),
  Message: z.string(),
  MessageAttributes: z.optional(z.record(z.string(), z.object({ Type: z.string(), Value: z.string() }))),
});

const decisionTargetSchema = z.object({
  applicationId: z.string(),
  flightId: z.optional(z.string()),
  submissionId: z.optional(z.string()),
  result: z.string(),
  rolloutPercentage: z.optional(z.number()),
  /** Set when the percentage is a remembered one (ISO 8601): it is then never shown as live. */
  percentageSeenAt: z.optional(z.string()),
  fallbackSubmissionId: z.optional(z.string()),
  error: z.optional(z.object({ code: z.string(), message: z.string() })),
  appName: z.optional(z.string()),
  alarmNames: z.optional(z.array(z.string())),
  partnerCenterUrl: z.optional(z.string()),
  nextStep: z.optional(z.string()),
});

const decisionSchema = z.object({
  schemaVersion: z.number(),
  outcome: z.string(),
  subject: z.optional(z.string()),
  drill: z.optional(z.boolean()),
  targets: z.array(decisionTargetSchema),
});

const alarmSchema = z.object({
  AlarmName: z.string().check(z.minLength(1)),
  NewStateValue: z.string(),
  NewStateReason: z.optional(z.string()),
  AlarmDescription: z.optional(z.nullable(z.string())),
  StateChangeTime: z.optional(z.string()),
  AlarmArn: z.optional(z.string()),
});

/**
 * Reads one SQS record body (the SNS envelope of a topic message) and decides what to page. Throws
 * `BadInputError` (`INVALID_PAGER_MESSAGE`) for a body that is neither a watchdog decision nor a
 * CloudWatch alarm notification: the record is then kept (dead-letter queue), never dropped.
 */
export function planPage(body: string): PagerPlan {
  const envelope = envelopeSchema.safeParse(parseJson(body, 'the SQS message body'));
  if (!envelope.success) {
    throw new BadInputError(
      'INVALID_PAGER_MESSAGE',
      `not an SNS notification: ${formatIssues('body', envelope.error)}`,
    );
  }
  const message = parseJson(envelope.data.Message, 'the SNS Message');
  const decision = decisionSchema.safeParse(message);
  if (decision.success) return planDecision(decision.data);
  const alarm = alarmSchema.safeParse(message);
  if (alarm.success) return planAlarm(alarm.data);
  throw new BadInputError(
    'INVALID_PAGER_MESSAGE',
    'the SNS Message is neither a watchdog decision (schemaVersion, outcome, targets) nor a CloudWatch alarm notification (AlarmName, NewStateValue)',
  );
}

function planDecision(decision: z.output<typeof decisionSchema>): PagerPlan {
  const failed = decision.targets.filter((target) => target.result === 'failed');
  if (failed.length === 0) {
    return { kind: 'skip', why: `the decision's outcome is ${decision.outcome}: only failures page` };
  }
  const byKey = new Map<string, z.output<typeof decisionTargetSchema>[]>();
  for (const target of failed) {
    const key = decisionDedupKey(target.applicationId, target.submissionId);
    byKey.set(key, [...(byKey.get(key) ?? []), target]);
  }
  const triggers = [...byKey].map(([dedupKey, targets]): PagerTrigger => {
    const [first] = targets;
    const app = `${first?.appName ?? first?.applicationId} (${first?.applicationId})`;
    const submission =
      first?.submissionId === undefined ? 'its live submission' : `submission ${first.submissionId}`;
    const live =
      first?.rolloutPercentage === undefined
        ? ''
        : first.percentageSeenAt === undefined
          ? ` at ${first.rolloutPercentage}%`
          : ` at ${first.rolloutPercentage}% ${lastSeenWords(first.percentageSeenAt)}`;
    const flights = targets.flatMap((target) => (target.flightId === undefined ? [] : [target.flightId]));
    const which = flights.length > 0 ? ` (package flight ${flights.join(', ')})` : '';
    const why = first?.error === undefined ? '' : ` Cause: ${first.error.code}: ${first.error.message}.`;
    // A drill halts nothing: its failure means a real alarm would fail the same way.
    const summary =
      decision.drill === true
        ? `DRILL FAILED: the Store watchdog could not examine the rollout of ${app}, ${submission}${which}${live}; ` +
          `a real alarm would fail the same way. Fix it before the rollout.${why}`
        : `ACT NOW: the Store watchdog FAILED to halt the rollout of ${app}, ${submission}${which}${live}. ` +
          `Halt it by hand in Partner Center ("Halt package rollout").${why}`;
    return {
      dedupKey,
      summary: cut(summary, PAGER_LIMITS.summary),
      severity: 'critical',
      source: PAGER_SOURCE,
      component: first?.applicationId ?? 'unknown',
      customDetails: {
        outcome: decision.outcome,
        ...definedProps({ subject: decision.subject }),
        targets: targets.map((target) => ({
          applicationId: target.applicationId,
          ...definedProps({
            flightId: target.flightId,
            submissionId: target.submissionId,
            rolloutPercentage: target.rolloutPercentage,
            percentageSeenAt: target.percentageSeenAt,
            fallbackSubmissionId: target.fallbackSubmissionId,
            error: target.error,
            alarmNames: target.alarmNames,
            nextStep: target.nextStep,
          }),
        })),
      },
      links: partnerCenterLinks(targets),
    };
  });
  return { kind: 'page', triggers };
}

function planAlarm(alarm: z.output<typeof alarmSchema>): PagerPlan {
  if (alarm.NewStateValue !== 'ALARM') {
    return {
      kind: 'skip',
      why: `health alarm "${alarm.AlarmName}" went to ${alarm.NewStateValue}: only ALARM pages`,
    };
  }
  const what = alarm.AlarmDescription ?? alarm.NewStateReason ?? 'see the alarm in CloudWatch';
  return {
    kind: 'page',
    triggers: [
      {
        dedupKey: cut(`store-watchdog/health/${alarm.AlarmName}`, PAGER_LIMITS.dedupKey),
        summary: cut(
          `Store watchdog health alarm "${alarm.AlarmName}" is in ALARM: ${what}`,
          PAGER_LIMITS.summary,
        ),
        severity: 'critical',
        source: PAGER_SOURCE,
        component: alarm.AlarmName,
        customDetails: {
          alarmName: alarm.AlarmName,
          ...definedProps({
            reason: alarm.NewStateReason,
            time: alarm.StateChangeTime,
            alarmArn: alarm.AlarmArn,
          }),
        },
        links: [],
      },
    ],
  };
}

/** One incident per app and submission: a retry of the same failure updates it instead of paging again. */
export function decisionDedupKey(applicationId: string, submissionId: string | undefined): string {
  return cut(`store-watchdog/${applicationId}/${submissionId ?? 'no-submission'}`, PAGER_LIMITS.dedupKey);
}

function partnerCenterLinks(
  targets: readonly z.output<typeof decisionTargetSchema>[],
): { href: string; text: string }[] {
  const urls = [
    ...new Set(
      targets.flatMap((target) => (target.partnerCenterUrl === undefined ? [] : [target.partnerCenterUrl])),
    ),
  ];
  return urls
    .filter((url) => url.startsWith('https://partner.microsoft.com/'))
    .map((href) => ({ href, text: 'Open the app in Partner Center to halt the rollout' }));
}

function parseJson(text: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new BadInputError('INVALID_PAGER_MESSAGE', `${what} is not JSON`);
  }
}

function cut(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 3)}...`;
}
