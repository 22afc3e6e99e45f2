/**
 * Continuations: the internal event that carries a storm's pending apps, or the retry of failed
 * targets, to the next invocation through the continuation queue. Validated like any event and trusted
 * no more than the alarm it carries (docs/contributing/storms.md, "How a storm is handled").
 */
import { BadInputError } from '../errors.ts';
import { definedProps } from '../optional.ts';
import * as z from '../validation.ts';
import { formatIssues } from '../validation.ts';
import type { WatchdogRun } from './decide.ts';
import { ALARM_STATES, type AlarmTransition } from './events.ts';
import { APPLICATION_ID_PATTERN } from './ids.ts';
import { type ActingPlan, type Plan, resolveTargets, type TargetConfig } from './targets.ts';
import { MAX_ATTEMPTS, TARGET_KEY_PATTERN } from './transitions.ts';

/** The `kind` that marks a continuation. */
export const CONTINUATION_KIND = 'store-rollout-watchdog-continuation';
/** A storm ends within this many invocations (500 apps need about 20); beyond, apps fail loudly instead. */
export const MAX_CONTINUATION_PART = 100;

/**
 * Seconds a continuation waits in the queue when its sender decided nothing (every app waited for the
 * tenant's budget in vain): one Store window, after which the grants that filled it have left it.
 * Together with `MAX_CONTINUATION_PART` it bounds a storm that makes no progress in time, not only in
 * parts.
 */
export const STALLED_HAND_ON_DELAY_SECONDS = 60;

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
  /** A retry of the targets of `part` that failed: the attempt it makes and the targets (`TargetKey`s). */
  readonly retry?: { readonly attempt: number; readonly targets: readonly string[] };
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
  part: z.number().check(z.int(), z.gte(1), z.lte(MAX_CONTINUATION_PART)),
  stormStartedAt: z
    .string()
    .check(z.regex(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/, 'must be an ISO 8601 UTC time')),
  retry: z.optional(
    z.strictObject({
      attempt: z.number().check(z.int(), z.gte(2), z.lte(MAX_ATTEMPTS)),
      targets: z
        .array(z.string().check(z.regex(TARGET_KEY_PATTERN, 'must be a target key')))
        .check(z.minLength(1), z.maxLength(10_000)),
    }),
  ),
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
  if (parsed.data.part < 2 && parsed.data.retry === undefined) {
    throw invalid(
      'continuation.part: must be at least 2 (part 1 is the alarm event itself), unless it is a retry',
    );
  }
  const { retry, ...rest } = parsed.data;
  const alarms = parsed.data.alarms.map((alarm): AlarmTransition => {
    const { previousState, alarmArn, composite, ...required } = alarm;
    return {
      ...required,
      ...definedProps({ previousState, alarmArn, composite }),
    };
  });
  return { ...rest, alarms, ...definedProps({ retry }) };
}

/** A continuation resolved against the current config. */
export interface ResolvedContinuation {
  /** The apps still watched that it names (an `ignored` plan when none is left). */
  readonly plan: Plan;
  /** Apps it names that its alarms no longer reach in `WATCHDOG_APPS` (the config changed): left out. */
  readonly dropped: readonly string[];
}

/**
 * The plan of a continuation: its alarms resolved against the current config, narrowed to the apps it
 * names. Apps its alarms no longer reach (removed from `WATCHDOG_APPS`, or no longer listing the alarm)
 * are left out and returned in `dropped`, never acted on; the others are handled. Throws `BadInputError`
 * when it names an app twice.
 */
export function resolveContinuation(continuation: Continuation, config: TargetConfig): ResolvedContinuation {
  const seen = new Set<string>();
  for (const [index, applicationId] of continuation.applicationIds.entries()) {
    if (seen.has(applicationId))
      throw invalid(`continuation.applicationIds[${index}]: ${applicationId} appears twice`);
    seen.add(applicationId);
  }
  const resolved = resolveTargets({ kind: 'alarm', alarms: continuation.alarms }, config);
  const reachable = new Set(
    resolved.kind === 'act' ? resolved.apps.map((planned) => planned.app.applicationId) : [],
  );
  const dropped = continuation.applicationIds.filter((applicationId) => !reachable.has(applicationId));
  if (resolved.kind !== 'act' || dropped.length === continuation.applicationIds.length) {
    return {
      plan: {
        kind: 'ignored',
        ignored: `the continuation's apps (${dropped.join(', ')}) are no longer watched apps (entries in "apps") that list its alarms (the config changed): left out`,
        warn: true,
      },
      dropped,
    };
  }
  return {
    plan: { ...resolved, apps: resolved.apps.filter((planned) => seen.has(planned.app.applicationId)) },
    dropped,
  };
}

/** Which part of a storm an invocation is, and when the storm started (ISO 8601). */
export interface StormPart {
  readonly part: number;
  readonly stormStartedAt: string;
}

/** A run with the apps to hand on split off, and the continuation that carries them. */
export interface HandOnSplit {
  /** The run without the results of the apps handed on. */
  readonly run: WatchdogRun;
  readonly next: Continuation;
  /** Nothing at all was decided: every app waited for the tenant's budget in vain. */
  readonly stalled: boolean;
}

/**
 * The apps of a run to hand on, or `undefined` when there are none or the storm may not go on (a
 * manual event, or past `MAX_CONTINUATION_PART`). An app is handed on when one of its rollouts ran out
 * of time or budget with nothing changed (`TargetDetail.outOfTime`); only those targets leave the run,
 * so a rollout of the same app already halted is still announced by this part.
 */
export function splitHandOn(plan: ActingPlan, run: WatchdogRun, storm: StormPart): HandOnSplit | undefined {
  if (plan.trigger.kind !== 'alarm' || storm.part + 1 > MAX_CONTINUATION_PART) return undefined;
  const handOn = run.details.map(
    (detail, index) => detail.outOfTime === true && run.targets[index]?.result === 'failed',
  );
  const pending = new Set(
    run.targets.filter((_, index) => handOn[index]).map((target) => target.applicationId),
  );
  if (pending.size === 0) return undefined;
  const kept = {
    ...run,
    targets: run.targets.filter((_, index) => !handOn[index]),
    details: run.details.filter((_, index) => !handOn[index]),
  };
  const next: Continuation = {
    kind: CONTINUATION_KIND,
    version: 1,
    alarms: plan.trigger.alarms,
    applicationIds: plan.apps
      .map((planned) => planned.app.applicationId)
      .filter((applicationId) => pending.has(applicationId)),
    part: storm.part + 1,
    stormStartedAt: storm.stormStartedAt,
  };
  return { run: kept, next, stalled: kept.targets.length === 0 };
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

/**
 * The retry of a part's failed targets: the same transitions and part, the attempt it is to make and
 * the targets to re-examine. `applicationIds` holds every app of the attempt, not only the failed
 * targets' apps: the ledger may widen what the retry re-examines to every app examined (when the
 * attempt's notification was lost), and a continuation can only narrow the alarm's plan. `undefined` for
 * a manual event.
 */
export function retryContinuation(
  plan: ActingPlan,
  targets: readonly string[],
  current: StormPart,
  attempt: number,
): Continuation | undefined {
  if (plan.trigger.kind !== 'alarm' || targets.length === 0) return undefined;
  const applicationIds = plan.apps.map((planned) => planned.app.applicationId);
  if (applicationIds.length === 0) return undefined;
  return {
    kind: CONTINUATION_KIND,
    version: 1,
    alarms: plan.trigger.alarms,
    applicationIds,
    part: current.part,
    stormStartedAt: current.stormStartedAt,
    retry: { attempt, targets },
  };
}
