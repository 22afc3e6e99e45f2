/**
 * The signal part of the `watchdog` config: which alarms halt and which only notify (the warning tier),
 * rate alarms with a minimum sample, and composite alarms that corroborate (see docs/signals.md).
 *
 * - `apps[].alarms[]` entries are `"kind": "threshold"` (the default: a single-metric alarm, the schema
 *   in `config.ts`) or `"kind": "rate"` (a metric-math alarm on
 *   `IF(sessions >= minSessions, 100 * crashes / sessions, 0)`), each with `"action": "halt" | "notify"`;
 * - `apps[].alarmNames[]` entries are a name (halting) or `{ "alarmName": "...", "action": "notify" }`;
 * - `apps[].composites[]` are `{ alarmName, allOf, action }`: a composite alarm `ALARM("a") AND ALARM("b")`.
 *
 * This module never imports `config.ts` (which wires these schemas in), so neither depends on the
 * other's evaluation order.
 */
import * as z from '../functions/commons/validation.ts';

/** What a watched alarm does to the apps that list it: halt their rollouts, or only tell people. */
export const alarmActionSchema = z._default(z.enum(['halt', 'notify']), 'halt');
export type AlarmAction = z.output<typeof alarmActionSchema>;

/** CloudWatch keeps an alarm's evaluation range within one day (Period × EvaluationPeriods). */
const MAX_EVALUATION_RANGE_SECONDS = 86_400;

/** An alarm name, as CloudWatch takes it. */
export const signalAlarmNameSchema = z
  .string()
  .check(
    z.minLength(1),
    z.maxLength(255),
    z.regex(/^[\x20-\x7e]+$/, 'must be printable ASCII (CloudWatch alarm names)'),
  );

/** An `alarmNames` entry: a name (halting) or a name with its action. */
export const alarmNameRefSchema = z.union([
  signalAlarmNameSchema,
  z.strictObject({ alarmName: signalAlarmNameSchema, action: alarmActionSchema }),
]);
export type AlarmNameRef = z.output<typeof alarmNameRefSchema>;

/** A metric the app publishes, summed per period by a rate alarm. */
/**
 * How a created alarm evaluates (fields of PutMetricAlarm), shared by threshold and rate alarms:
 * `periodSeconds` is 10 (a high-resolution alarm: the metric must be published with a storage resolution
 * of 1 second) or a multiple of 60; "M out of N" with `datapointsToAlarm` of `evaluationPeriods`.
 */
export const evaluationFields = {
  periodSeconds: z
    .int()
    .check(
      z.refine(
        (p) => p === 10 || (p >= 60 && p % 60 === 0),
        'must be 10 (high resolution) or a multiple of 60 seconds',
      ),
    ),
  evaluationPeriods: z.int().check(z.gte(1)),
  /** "M out of N": how many of `evaluationPeriods` must breach. @default evaluationPeriods */
  datapointsToAlarm: z.optional(z.int().check(z.gte(1))),
};

/** M ≤ N, and CloudWatch keeps an alarm's evaluation range within one day (Period × EvaluationPeriods). */
export function checkEvaluation(
  spec: {
    readonly periodSeconds: number;
    readonly evaluationPeriods: number;
    readonly datapointsToAlarm?: number | undefined;
  },
  ctx: z.core.$RefinementCtx,
): void {
  if (spec.datapointsToAlarm !== undefined && spec.datapointsToAlarm > spec.evaluationPeriods) {
    ctx.addIssue({
      code: 'custom',
      path: ['datapointsToAlarm'],
      message: `must not exceed evaluationPeriods (${spec.evaluationPeriods})`,
    });
  }
  if (spec.periodSeconds * spec.evaluationPeriods > MAX_EVALUATION_RANGE_SECONDS) {
    ctx.addIssue({
      code: 'custom',
      path: ['evaluationPeriods'],
      message: 'periodSeconds × evaluationPeriods must not exceed one day (86400 seconds)',
    });
  }
}

const metricRefSchema = z.strictObject({
  namespace: z.string().check(z.minLength(1), z.maxLength(255)),
  metricName: z.string().check(z.minLength(1), z.maxLength(255)),
  dimensions: z._default(
    z
      .record(
        z.string().check(z.minLength(1), z.maxLength(255)),
        z.string().check(z.minLength(1), z.maxLength(1024)),
      )
      .check(z.refine((d) => Object.keys(d).length <= 30, 'must have at most 30 dimensions')),
    {},
  ),
});
export type MetricRef = z.output<typeof metricRefSchema>;

/**
 * A rate alarm: the percentage of sessions that crashed, computed only over periods with at least
 * `minSessions` sessions (0 otherwise), so a handful of early sessions can never breach it.
 */
export const rateAlarmSpecSchema = z
  .strictObject({
    kind: z.literal('rate'),
    alarmName: signalAlarmNameSchema,
    description: z.optional(z.string().check(z.maxLength(1024))),
    crashes: metricRefSchema,
    sessions: metricRefSchema,
    /** Percent of sessions (above 0, at most 100). */
    threshold: z
      .number()
      .check(z.gt(0, 'must be a percentage above 0'), z.lte(100, 'must be a percentage of at most 100')),
    /** Below this many sessions in a period the rate counts as 0. */
    minSessions: z.int().check(z.gte(1)),
    ...evaluationFields,
    action: alarmActionSchema,
  })
  .check(z.superRefine(checkEvaluation));
export type RateAlarmSpec = z.output<typeof rateAlarmSpecSchema>;

/** The metric-math expression of a rate alarm (ids `crashes` and `sessions`). */
export function rateExpression(spec: Pick<RateAlarmSpec, 'minSessions'>): string {
  return `IF(sessions >= ${spec.minSessions}, 100 * crashes / sessions, 0)`;
}

/**
 * An `alarms[]` entry: `kind` picks the schema (`"rate"`, or the threshold schema given, the default),
 * so an error names the field of the kind written, not "invalid input" for a union.
 */
export function createdAlarmSpecSchema<T extends z.ZodMiniType>(thresholdSchema: T) {
  return z.pipe(
    z.unknown(),
    z.transform((value: unknown, ctx): z.output<T> | RateAlarmSpec => {
      const rate = typeof value === 'object' && value !== null && 'kind' in value && value.kind === 'rate';
      const parsed = rate ? rateAlarmSpecSchema.safeParse(value) : thresholdSchema.safeParse(value);
      if (!parsed.success) {
        for (const issue of parsed.error.issues) {
          ctx.issues.push({ code: 'custom', message: issue.message, path: [...issue.path], input: value });
        }
        return z.NEVER;
      }
      return parsed.data;
    }),
  );
}

/**
 * A composite alarm that goes into ALARM only when every alarm of `allOf` is in ALARM: corroboration,
 * so one noisy signal alone cannot halt a rollout.
 */
export const compositeSpecSchema = z.strictObject({
  alarmName: signalAlarmNameSchema,
  description: z.optional(z.string().check(z.maxLength(1024))),
  /** The child alarms (created by this config or existing), each in its own `ALARM("…")`. */
  allOf: z
    .array(
      signalAlarmNameSchema.check(
        z.refine(
          (name) => !name.includes('"'),
          'must not contain a double quote (it is quoted in the alarm rule)',
        ),
      ),
    )
    .check(
      z.minLength(2, 'must list at least two alarms: corroboration needs two signals'),
      z.maxLength(100, 'must list at most 100 alarms (CloudWatch: a rule has at most 100 children)'),
      z.refine((names) => new Set(names).size === names.length, 'lists an alarm twice'),
    ),
  action: alarmActionSchema,
});
export type CompositeSpec = z.output<typeof compositeSpecSchema>;

/** The composite rule: `ALARM("a") AND ALARM("b")`. */
export function compositeRule(spec: Pick<CompositeSpec, 'allOf'>): string {
  return spec.allOf.map((name) => `ALARM("${name}")`).join(' AND ');
}

/** What the signal check and the derivation need of an app (config fields, defaults applied). */
export interface SignalApp {
  readonly applicationId: string;
  readonly name?: string | undefined;
  readonly alarmNames: readonly AlarmNameRef[];
  readonly notifyAlarmNames: readonly string[];
  readonly alarms: readonly { readonly alarmName: string; readonly action: AlarmAction }[];
  readonly composites: readonly CompositeSpec[];
  /** The app's Store health alarm, when its signal is on (the stack creates it; `storeHealth` in the config). */
  readonly storeHealthAlarm?: { readonly alarmName: string; readonly action: AlarmAction } | undefined;
}

/** One watched alarm of an app, with its action and where the config says so. */
interface AppAlarm {
  readonly alarmName: string;
  readonly action: AlarmAction;
  /** Its path under `watchdog`, e.g. `['apps', 0, 'alarms', 1]`. */
  readonly path: readonly (string | number)[];
}

function appAlarms(app: SignalApp, index: number): AppAlarm[] {
  const entry = (alarmName: string, action: AlarmAction, field: string, i: number): AppAlarm => ({
    alarmName,
    action,
    path: ['apps', index, field, i],
  });
  return [
    ...app.alarmNames.map((ref, i) =>
      typeof ref === 'string'
        ? entry(ref, 'halt', 'alarmNames', i)
        : entry(ref.alarmName, ref.action, 'alarmNames', i),
    ),
    ...app.notifyAlarmNames.map((name, i) => entry(name, 'notify', 'notifyAlarmNames', i)),
    ...app.alarms.map((spec, i) => entry(spec.alarmName, spec.action, 'alarms', i)),
    ...app.composites.map((spec, i) => entry(spec.alarmName, spec.action, 'composites', i)),
    ...(app.storeHealthAlarm === undefined
      ? []
      : [
          {
            alarmName: app.storeHealthAlarm.alarmName,
            action: app.storeHealthAlarm.action,
            path: ['storeHealth'],
          },
        ]),
  ];
}

/** `watchdog.apps[0].alarms[1]` */
function pathText(path: readonly (string | number)[]): string {
  return `watchdog${path.map((part) => (typeof part === 'number' ? `[${part}]` : `.${part}`)).join('')}`;
}

/** The app's halting and notify-only alarm names, each once, in config order. */
export function splitAlarmNames(app: SignalApp): { alarmNames: string[]; notifyAlarmNames: string[] } {
  const all = appAlarms(app, 0);
  const names = (action: AlarmAction) => [
    ...new Set(all.filter((alarm) => alarm.action === action).map((alarm) => alarm.alarmName)),
  ];
  return { alarmNames: names('halt'), notifyAlarmNames: names('notify') };
}

/** A problem found by `checkSignals`: the path under `watchdog` and what is wrong. */
export interface SignalIssue {
  readonly path: (string | number)[];
  readonly message: string;
}

/**
 * Checks the signals of the whole config: an alarm is either halting or notify-only for one app; a
 * composite's child never halts the same app on its own (corroboration means the children alone do not
 * halt); no alarm is created twice (by `alarms` or `composites`).
 */
export function checkSignals(apps: readonly SignalApp[]): SignalIssue[] {
  const issues: SignalIssue[] = [];
  const created = new Map<string, string>();
  apps.forEach((app, a) => {
    const alarms = appAlarms(app, a);
    const label = `${app.name ?? app.applicationId} (${app.applicationId})`;
    const halting = new Map<string, AppAlarm>();
    for (const alarm of alarms) {
      if (alarm.action === 'halt' && !halting.has(alarm.alarmName)) halting.set(alarm.alarmName, alarm);
    }
    for (const alarm of alarms) {
      const halts = halting.get(alarm.alarmName);
      if (alarm.action === 'notify' && halts !== undefined) {
        issues.push({
          path: [...alarm.path],
          message: `"${alarm.alarmName}" is notify-only here but halts ${label} at ${pathText(halts.path)}: an alarm either halts the app or only notifies`,
        });
      }
    }
    app.composites.forEach((spec, c) => {
      spec.allOf.forEach((child, i) => {
        const halts = halting.get(child);
        if (halts !== undefined) {
          issues.push({
            path: ['apps', a, 'composites', c, 'allOf', i],
            message: `"${child}" would halt ${label} on its own (${pathText(halts.path)}), so the composite "${spec.alarmName}" corroborates nothing: make "${child}" notify-only ("action": "notify")`,
          });
        }
      });
    });
    const definitions: [string, string, (string | number)[]][] = [
      ...app.alarms.map((spec, s): [string, string, (string | number)[]] => [
        spec.alarmName,
        `watchdog.apps[${a}].alarms[${s}]`,
        ['apps', a, 'alarms', s, 'alarmName'],
      ]),
      ...app.composites.map((spec, s): [string, string, (string | number)[]] => [
        spec.alarmName,
        `watchdog.apps[${a}].composites[${s}]`,
        ['apps', a, 'composites', s, 'alarmName'],
      ]),
    ];
    for (const [name, at, path] of definitions) {
      const first = created.get(name);
      if (first === undefined) created.set(name, at);
      else if (path[2] === 'composites' || first.includes('.composites[')) {
        // `alarms[]` duplicates are reported by config.ts with its own message.
        issues.push({
          path,
          message: `${name} is already created at ${first}; an alarm name is created once`,
        });
      }
    }
  });
  return issues;
}
