/**
 * Parses the three events the watchdog accepts (see the Lambda contract, "Events it accepts") into one
 * discriminated `Intake`:
 *
 * 1. SNS-to-Lambda events whose `Records[].Sns.Message` is a CloudWatch alarm notification (a JSON string);
 * 2. EventBridge `CloudWatch Alarm State Change` events (`source: aws.cloudwatch`);
 * 3. manual events `{"applicationId": "...", "reason"?: "...", "dryRun"?: false}`.
 *
 * Anything else is a `BadInputError` that says which field is wrong and what was expected; it never
 * dumps the payload. Alarms that moved into `OK` or `INSUFFICIENT_DATA` parse fine: target resolution
 * ignores them.
 */
import { BadInputError } from '../errors.ts';
import { definedProps } from '../optional.ts';
import * as z from '../validation.ts';
import { formatIssues } from '../validation.ts';
import { assertApplicationId } from './ids.ts';

/** The states of a CloudWatch alarm. */
export const ALARM_STATES = ['OK', 'ALARM', 'INSUFFICIENT_DATA'] as const;
export type AlarmState = (typeof ALARM_STATES)[number];

/** One alarm state change, from either delivery path. */
export interface AlarmTransition {
  readonly alarmName: string;
  readonly newState: AlarmState;
  /** The state it left; absent when the notification did not say. */
  readonly previousState?: AlarmState;
  /** CloudWatch's words for the change, e.g. `Threshold Crossed: 1 out of the last 1 datapoints ...`. */
  readonly reason: string;
  /** When the state changed, as CloudWatch wrote it (ISO 8601). */
  readonly time: string;
  readonly alarmArn?: string;
  /** How the alarm reached the watchdog. */
  readonly source: 'sns' | 'eventbridge';
  /** Set for a composite alarm: its rule and the children whose state change set it off. */
  readonly composite?: CompositeDetail;
}

/** What a composite alarm's event says beyond a metric alarm's (see the Lambda contract, "Events it accepts"). */
export interface CompositeDetail {
  /** The alarm rule, e.g. `ALARM("a") AND ALARM("b")`. */
  readonly rule: string;
  /** Names of the child alarms that triggered this state change (from their ARNs); may be empty. */
  readonly triggeringChildren: readonly string[];
}

/** What an event asks the watchdog to do. */
export type Intake =
  /** One or more alarm state changes (an SNS event may carry several records). */
  | { readonly kind: 'alarm'; readonly alarms: readonly AlarmTransition[] }
  /** A person asked to look at (and, only with `"dryRun": false`, halt) one app's rollouts. */
  | {
      readonly kind: 'manual';
      readonly applicationId: string;
      readonly reason?: string;
      /** True only when the event said `"dryRun": false`; every other manual event is a dry run. */
      readonly enforce: boolean;
    };

/** Longest manual `reason` accepted; it is quoted in the notification. */
const MAX_MANUAL_REASON_LENGTH = 1000;

const alarmState = z.enum(ALARM_STATES);

/** The CloudWatch alarm notification inside `Sns.Message`; unknown fields (`Trigger`, ...) are dropped. */
const alarmNotificationSchema = z.object({
  AlarmName: z.string().check(z.minLength(1)),
  NewStateValue: alarmState,
  OldStateValue: z.optional(alarmState),
  NewStateReason: z.string(),
  StateChangeTime: z.string().check(z.minLength(1)),
  AlarmArn: z.optional(z.string()),
  /** Composite alarms only (instead of `Trigger`). */
  AlarmRule: z.optional(z.string()),
  /** Composite alarms only: `[{ "Arn": "...", "State": {...} }]` (the user guide's schema shows plain ARNs). */
  TriggeringChildren: z.optional(z.unknown()),
});

const snsEventSchema = z.object({
  Records: z
    .array(
      z.object({
        EventSource: z.optional(z.literal('aws:sns')),
        Sns: z.object({ Message: z.string() }),
      }),
    )
    .check(z.minLength(1, 'must hold at least one record')),
});

const eventBridgeStateSchema = z.object({
  value: alarmState,
  reason: z.string(),
  timestamp: z.string().check(z.minLength(1)),
  /** A JSON string; for a composite alarm it holds `triggeringAlarms`. */
  reasonData: z.optional(z.string()),
});

const eventBridgeEventSchema = z.object({
  source: z.literal('aws.cloudwatch', 'must be "aws.cloudwatch"'),
  'detail-type': z.literal('CloudWatch Alarm State Change', 'must be "CloudWatch Alarm State Change"'),
  resources: z.optional(z.array(z.string())),
  detail: z.object({
    alarmName: z.string().check(z.minLength(1)),
    state: eventBridgeStateSchema,
    previousState: z.optional(z.partial(eventBridgeStateSchema)),
    /** A composite alarm's configuration carries `alarmRule` (a metric alarm's carries `metrics`). */
    configuration: z.optional(z.object({ alarmRule: z.optional(z.string()) })),
  }),
});

const manualEventSchema = z.strictObject({
  // Checked separately with the Store ID rule, so the message matches the Store adapter's.
  applicationId: z.unknown(),
  reason: z.optional(z.string().check(z.maxLength(MAX_MANUAL_REASON_LENGTH))),
  // Anything but exactly `false` is a dry run, so any JSON value is accepted here.
  dryRun: z.optional(z.unknown()),
});

/**
 * Parses an incoming Lambda event. Throws `BadInputError` (codes `UNRECOGNIZED_EVENT`, `INVALID_EVENT`,
 * `UNPARSEABLE_SNS_MESSAGE`, `INVALID_ID`) when the event is not one the watchdog accepts.
 */
export function parseEvent(event: unknown): Intake {
  if (!isRecord(event)) {
    throw new BadInputError(
      'UNRECOGNIZED_EVENT',
      `the event must be a JSON object; got ${event === null ? 'null' : Array.isArray(event) ? 'an array' : typeof event}. ${ACCEPTED}`,
    );
  }
  if ('Records' in event) return parseSnsEvent(event);
  if ('detail-type' in event || 'source' in event) return parseEventBridgeEvent(event);
  if ('applicationId' in event) return parseManualEvent(event);
  throw new BadInputError(
    'UNRECOGNIZED_EVENT',
    `the event is not one the watchdog accepts (its top-level keys: ${describeKeys(event)}). ${ACCEPTED}`,
  );
}

const ACCEPTED =
  'Expected an SNS event whose Records[].Sns.Message is a CloudWatch alarm notification, ' +
  'an EventBridge "CloudWatch Alarm State Change" event (source "aws.cloudwatch"), ' +
  'or a manual event {"applicationId": "...", "reason": "...", "dryRun": false}';

function parseSnsEvent(event: Record<string, unknown>): Intake {
  const envelope = snsEventSchema.safeParse(event);
  if (!envelope.success) {
    throw new BadInputError(
      'INVALID_EVENT',
      `not an SNS event: ${formatIssues('event', envelope.error)}. ${ACCEPTED}`,
    );
  }
  const alarms = envelope.data.Records.map((record, index): AlarmTransition => {
    const where = `Records[${index}].Sns.Message`;
    let message: unknown;
    try {
      message = JSON.parse(record.Sns.Message);
    } catch {
      throw new BadInputError(
        'UNPARSEABLE_SNS_MESSAGE',
        `${where} is not JSON; expected a CloudWatch alarm notification (AlarmName, NewStateValue, ...)`,
      );
    }
    const parsed = alarmNotificationSchema.safeParse(message);
    if (!parsed.success) {
      throw new BadInputError(
        'UNPARSEABLE_SNS_MESSAGE',
        `${where} is not a CloudWatch alarm notification: ${formatIssues(where, parsed.error)}`,
      );
    }
    const alarm = parsed.data;
    return {
      alarmName: alarm.AlarmName,
      newState: alarm.NewStateValue,
      ...definedProps({ previousState: alarm.OldStateValue }),
      reason: alarm.NewStateReason,
      time: alarm.StateChangeTime,
      ...definedProps({ alarmArn: alarm.AlarmArn }),
      source: 'sns',
      ...(alarm.AlarmRule === undefined
        ? {}
        : {
            composite: {
              rule: alarm.AlarmRule,
              triggeringChildren: childNames(readSnsChildren(alarm.TriggeringChildren)),
            },
          }),
    };
  });
  return { kind: 'alarm', alarms };
}

function parseEventBridgeEvent(event: Record<string, unknown>): Intake {
  const parsed = eventBridgeEventSchema.safeParse(event);
  if (!parsed.success) {
    throw new BadInputError(
      'INVALID_EVENT',
      `not a CloudWatch Alarm State Change event: ${formatIssues('event', parsed.error)}`,
    );
  }
  const { detail, resources } = parsed.data;
  const previousState = detail.previousState?.value;
  const alarmArn = resources?.[0];
  const rule = detail.configuration?.alarmRule;
  return {
    kind: 'alarm',
    alarms: [
      {
        alarmName: detail.alarmName,
        newState: detail.state.value,
        ...definedProps({ previousState }),
        reason: detail.state.reason,
        time: detail.state.timestamp,
        ...definedProps({ alarmArn }),
        source: 'eventbridge',
        ...(rule === undefined
          ? {}
          : {
              composite: {
                rule,
                triggeringChildren: childNames(readTriggeringAlarms(detail.state.reasonData)),
              },
            }),
      },
    ],
  };
}

function parseManualEvent(event: Record<string, unknown>): Intake {
  const parsed = manualEventSchema.safeParse(event);
  if (!parsed.success) {
    throw new BadInputError(
      'INVALID_EVENT',
      `not a valid manual event: ${formatIssues('event', parsed.error)}. ` +
        'Expected {"applicationId": "9NBLGGH4R315", "reason": "why", "dryRun": false}',
    );
  }
  const { reason, dryRun } = parsed.data;
  const applicationId = assertApplicationId(parsed.data.applicationId);
  return {
    kind: 'manual',
    applicationId,
    ...definedProps({ reason }),
    enforce: dryRun === false,
  };
}

// The children only explain the notification; the composite alarm acts by its own name. So an odd
// `TriggeringChildren` or `reasonData` never rejects the event: the children are then left out.

const childArnsSchema = z.array(z.union([z.string(), z.object({ Arn: z.string() })]));
const reasonDataSchema = z.object({ triggeringAlarms: z.array(z.object({ arn: z.string() })) });

/** The ARNs in an SNS composite notification's `TriggeringChildren`. */
function readSnsChildren(children: unknown): string[] {
  const parsed = childArnsSchema.safeParse(children);
  if (!parsed.success) return [];
  return parsed.data.map((child) => (typeof child === 'string' ? child : child.Arn));
}

/** The ARNs in an EventBridge composite state's `reasonData.triggeringAlarms`. */
function readTriggeringAlarms(reasonData: string | undefined): string[] {
  if (reasonData === undefined) return [];
  let data: unknown;
  try {
    data = JSON.parse(reasonData);
  } catch {
    return [];
  }
  const parsed = reasonDataSchema.safeParse(data);
  return parsed.success ? parsed.data.triggeringAlarms.map((alarm) => alarm.arn) : [];
}

/** Alarm names from alarm ARNs (`arn:aws:cloudwatch:REGION:ACCOUNT:alarm:NAME`; a name may hold colons), each once. */
export function childNames(arns: readonly string[]): string[] {
  const names = arns.flatMap((arn) => {
    const at = arn.indexOf(':alarm:');
    const name = at === -1 ? arn : arn.slice(at + ':alarm:'.length);
    return name === '' ? [] : [name];
  });
  return [...new Set(names)];
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The first few top-level keys, shortened: enough to recognise the event, never its values. */
function describeKeys(event: Record<string, unknown>): string {
  const keys = Object.keys(event);
  if (keys.length === 0) return 'none';
  const shown = keys.slice(0, 8).map((key) => JSON.stringify(key.length > 40 ? `${key.slice(0, 40)}…` : key));
  return keys.length > shown.length ? `${shown.join(', ')}, … (${keys.length} in all)` : shown.join(', ');
}
