/**
 * Storms longer than one invocation. The Store allows a tenant about 20 requests a minute (see docs/storms.md),
 * and one invocation may run 5 minutes: when an alarm names more apps than its budget window can serve,
 * the invocation halts what fits, and hands the apps it did not reach on to the next invocation in a
 * *continuation* (sent to a durable queue before the invocation ends; the queue invokes the function).
 *
 * A continuation is an internal event, validated like any other and trusted no more than the alarm it
 * carries: it is resolved exactly as that alarm would be (only apps in `WATCHDOG_APPS` that list one of
 * its alarms, with their current modes), and it may only narrow that to the apps it names. An app it
 * names that the alarm would not reach rejects the whole event. A duplicate halts nothing twice (the
 * second halt finds the rollout stopped).
 */
import { formatIssues } from '../config/watched-apps.ts';
import { BadInputError } from '../errors.ts';
import * as z from '../validation.ts';
import type { WatchdogRun } from './decide.ts';
import { ALARM_STATES, type AlarmTransition } from './events.ts';
import { APPLICATION_ID_PATTERN } from './ids.ts';
import { type ActingPlan, resolveTargets, type TargetConfig } from './targets.ts';

/** The `kind` that marks a continuation. */
export const CONTINUATION_KIND = 'store-rollout-watchdog-continuation';
/** A storm ends within this many invocations (500 apps need about 20); beyond, apps fail loudly instead. */
export const MAX_CONTINUATION_PART = 100;

/** What one invocation hands on to the next. */
export interface Continuation {
  readonly kind: typeof CONTINUATION_KIND;
  readonly version: 1;
  /** The alarm transitions (into ALARM) that started the storm. */
  readonly alarms: readonly AlarmTransition[];
  /** The apps still to handle, in `WATCHDOG_APPS` order. */
  readonly applicationIds: readonly string[];
  /** Which invocation of the storm this one is: 2 for the first continuation. */
  readonly part: number;
  /** When the storm's first invocation started (ISO 8601). */
  readonly stormStartedAt: string;
}

/** What is still to do after an invocation, as the notification and the result tell it. */
export interface PendingApps {
  readonly applicationIds: readonly string[];
  /** The part of the storm that will handle them. */
  readonly nextPart: number;
}

const transitionSchema = z.strictObject({
  alarmName: z.string().check(z.minLength(1), z.maxLength(255)),
  newState: z.literal('ALARM', 'must be "ALARM": only a transition into ALARM is handed on'),
  previousState: z.optional(z.enum(ALARM_STATES)),
  reason: z.string().check(z.maxLength(2000)),
  time: z.string().check(z.minLength(1), z.maxLength(64)),
  alarmArn: z.optional(z.string().check(z.maxLength(2048))),
  source: z.enum(['sns', 'eventbridge']),
  composite: z.optional(
    z.strictObject({
      rule: z.string().check(z.maxLength(10_240)),
      triggeringChildren: z.array(z.string().check(z.maxLength(255))).check(z.maxLength(1000)),
    }),
  ),
});

const continuationSchema = z.strictObject({
  kind: z.literal(CONTINUATION_KIND),
  version: z.literal(1),
  alarms: z.array(transitionSchema).check(z.minLength(1), z.maxLength(1000)),
  applicationIds: z
    .array(z.string().check(z.regex(APPLICATION_ID_PATTERN, 'must be 12 upper-case letters and digits')))
    .check(z.minLength(1), z.maxLength(10_000)),
  part: z.number().check(z.int(), z.gte(2), z.lte(MAX_CONTINUATION_PART)),
  stormStartedAt: z
    .string()
    .check(z.regex(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/, 'must be an ISO 8601 UTC time')),
});

const sqsEventSchema = z.object({
  Records: z
    .array(z.object({ eventSource: z.literal('aws:sqs'), body: z.string() }))
    .check(z.length(1, 'must hold exactly one record (the queue delivers continuations one at a time)')),
});

/**
 * The continuation in an event, or `undefined` when the event is not a queue delivery (then it is one
 * of the public events). Throws `BadInputError` (`INVALID_CONTINUATION`) for a queue delivery that is
 * not exactly one valid continuation.
 */
export function readContinuation(event: unknown): Continuation | undefined {
  if (!isQueueDelivery(event)) return undefined;
  const delivery = sqsEventSchema.safeParse(event);
  if (!delivery.success) throw invalid(formatIssues('continuation event', delivery.error));
  const body = delivery.data.Records[0]?.body ?? '';
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    throw invalid('the continuation event: Records[0].body is not JSON');
  }
  const parsed = continuationSchema.safeParse(json);
  if (!parsed.success) throw invalid(formatIssues('continuation', parsed.error));
  const alarms = parsed.data.alarms.map((alarm): AlarmTransition => {
    const { previousState, alarmArn, composite, ...required } = alarm;
    return {
      ...required,
      ...(previousState === undefined ? {} : { previousState }),
      ...(alarmArn === undefined ? {} : { alarmArn }),
      ...(composite === undefined ? {} : { composite }),
    };
  });
  return { ...parsed.data, alarms };
}

/**
 * The plan of a continuation: its alarms resolved against the current config, narrowed to the apps it
 * names. Throws `BadInputError` when an app it names is not one its alarms reach in `WATCHDOG_APPS`.
 */
export function resolveContinuation(continuation: Continuation, config: TargetConfig): ActingPlan {
  const plan = resolveTargets({ kind: 'alarm', alarms: continuation.alarms }, config);
  if (plan.kind !== 'act') throw invalid(`the continuation's alarms reach no app: ${plan.ignored}`);
  const reachable = new Set(plan.apps.map((planned) => planned.app.applicationId));
  const seen = new Set<string>();
  for (const [index, applicationId] of continuation.applicationIds.entries()) {
    if (!reachable.has(applicationId)) {
      throw invalid(
        `continuation.applicationIds[${index}]: ${applicationId} is not a watched app (an entry in "apps") that lists one of the continuation's alarms`,
      );
    }
    if (seen.has(applicationId))
      throw invalid(`continuation.applicationIds[${index}]: ${applicationId} appears twice`);
    seen.add(applicationId);
  }
  return { ...plan, apps: plan.apps.filter((planned) => seen.has(planned.app.applicationId)) };
}

/**
 * Splits a run into what was decided and the apps to hand on: an app is handed on when one of its
 * rollouts ran out of time or budget with nothing changed (`TargetDetail.outOfTime`: a read cut short,
 * or a halt never sent). Its other rollouts' results stay; the next part looks at it again.
 */
export function splitPending(run: WatchdogRun): {
  readonly run: WatchdogRun;
  readonly applicationIds: string[];
} {
  const handOn = run.details.map(
    (detail, index) => detail.outOfTime === true && run.targets[index]?.result === 'failed',
  );
  const pending = new Set(
    run.targets.filter((_, index) => handOn[index]).map((target) => target.applicationId),
  );
  if (pending.size === 0) return { run, applicationIds: [] };
  return {
    run: {
      ...run,
      targets: run.targets.filter((_, index) => !handOn[index]),
      details: run.details.filter((_, index) => !handOn[index]),
    },
    applicationIds: [...pending],
  };
}

/** The continuation that hands `applicationIds` on, or `undefined` when the storm may not go on. */
export function continuationFor(
  plan: ActingPlan,
  applicationIds: readonly string[],
  current: { readonly part: number; readonly stormStartedAt: string },
): Continuation | undefined {
  if (plan.trigger.kind !== 'alarm' || applicationIds.length === 0) return undefined;
  if (current.part + 1 > MAX_CONTINUATION_PART) return undefined;
  const order = plan.apps.map((planned) => planned.app.applicationId);
  return {
    kind: CONTINUATION_KIND,
    version: 1,
    alarms: plan.trigger.alarms,
    applicationIds: order.filter((applicationId) => applicationIds.includes(applicationId)),
    part: current.part + 1,
    stormStartedAt: current.stormStartedAt,
  };
}

function isQueueDelivery(event: unknown): boolean {
  if (typeof event !== 'object' || event === null || !('Records' in event)) return false;
  const { Records: records } = event;
  if (!Array.isArray(records)) return false;
  return records.some(
    (record: unknown) =>
      typeof record === 'object' &&
      record !== null &&
      'eventSource' in record &&
      record.eventSource === 'aws:sqs',
  );
}

function invalid(message: string): BadInputError {
  return new BadInputError('INVALID_CONTINUATION', message);
}
