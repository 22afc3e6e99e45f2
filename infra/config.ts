/**
 * The watchdog's one place of configuration: the `watchdog` key of the CDK context (`cdk.json`).
 *
 * It is parsed with zod (`zod/mini`, like the function's own schemas) at synth time, so a bad config
 * fails `cdk synth` with a message that names the field. An app entry is the Lambda's own
 * `WATCHDOG_APPS` entry (`watchedAppSchema`, shared with the function) extended with the alarms the
 * stack creates; `deriveWatchedApps` turns the config back into exactly what the function reads, and
 * checks it with the function's schema.
 */
import type { Construct } from 'constructs';
import {
  type WatchedApp,
  watchedAppSchema,
  watchedAppsSchema,
} from '../functions/commons/domain/watched-apps.ts';
import { ConfigurationError } from '../functions/commons/errors.ts';
import * as z from '../functions/commons/validation.ts';
import { formatIssues } from '../functions/commons/validation.ts';
import {
  alarmActionSchema,
  alarmNameRefSchema,
  checkEvaluation,
  checkSignals,
  compositeSpecSchema,
  createdAlarmSpecSchema,
  evaluationFields,
  type RateAlarmSpec,
  splitAlarmNames,
} from './alarm-config.ts';
import { chatConfigSchema, pagerDutyConfigSchema } from './config-people.ts';
import { STACK_NAME } from './stack-name.ts';
import {
  appStoreHealthSchema,
  listStoreHealthApps,
  resolveStoreHealth,
  STORE_HEALTH_DEFAULTS,
  storeHealthConfigSchema,
} from './store-health-config.ts';

/** The context key that holds the config. */
export const WATCHDOG_CONTEXT_KEY = 'watchdog';

const alarmNameSchema = z
  .string()
  .check(
    z.minLength(1),
    z.maxLength(255),
    z.regex(/^[\x20-\x7e]+$/, 'must be printable ASCII (CloudWatch alarm names)'),
  );

/**
 * An alarm the stack creates on a metric the app already publishes (for example a crash rate per
 * session). Fields follow PutMetricAlarm.
 */
export const alarmSpecSchema = z
  .strictObject({
    /** A single-metric alarm; `"rate"` is the other kind (see `alarm-config.ts`). @default 'threshold' */
    kind: z._default(z.literal('threshold'), 'threshold'),
    /** Alarm name; also what `WATCHDOG_APPS` and the EventBridge rule match on. */
    alarmName: alarmNameSchema,
    description: z.optional(z.string().check(z.maxLength(1024))),
    namespace: z.string().check(z.minLength(1), z.maxLength(255)),
    metricName: z.string().check(z.minLength(1), z.maxLength(255)),
    /** Dimension name → value; at most 30. */
    dimensions: z._default(
      z
        .record(
          z.string().check(z.minLength(1), z.maxLength(255)),
          z.string().check(z.minLength(1), z.maxLength(1024)),
        )
        .check(z.refine((d) => Object.keys(d).length <= 30, 'must have at most 30 dimensions')),
      {},
    ),
    /** `Average`, `Sum`, `Minimum`, `Maximum`, `SampleCount`, or a percentile like `p99`. */
    statistic: z._default(
      z
        .string()
        .check(
          z.regex(
            /^(Average|Sum|Minimum|Maximum|SampleCount|p(\d{1,2})(\.\d{1,2})?)$/,
            'must be Average, Sum, Minimum, Maximum, SampleCount or a percentile such as p99',
          ),
        ),
      'Average',
    ),
    comparison: z._default(
      z.enum([
        'GreaterThanThreshold',
        'GreaterThanOrEqualToThreshold',
        'LessThanThreshold',
        'LessThanOrEqualToThreshold',
      ]),
      'GreaterThanThreshold',
    ),
    // zod numbers are finite: Infinity and NaN fail.
    threshold: z.number(),
    ...evaluationFields,
    /** Gaps in the metric (no sessions, no crashes) must not halt a rollout. */
    treatMissingData: z._default(z.enum(['notBreaching', 'breaching', 'ignore', 'missing']), 'notBreaching'),
    /** Halt the app's rollouts, or only notify (a warning tier). @default 'halt' */
    action: alarmActionSchema,
  })
  .check(z.superRefine(checkEvaluation));

/**
 * A watched app as configured: its `WATCHDOG_APPS` entry (`alarmNames` lists alarms that already
 * exist, or that another app's `alarms` creates) plus the alarms the stack creates for it. Strict, like
 * the entry it extends. Built from the entry's fields because zod cannot overwrite keys of a schema with
 * refinements; the entry's own check (an alarm in both lists) is `checkSignals`, over every source.
 */
export const configuredAppSchema = z.strictObject({
  ...watchedAppSchema.shape,
  /** Existing alarms: a name (halting) or `{ "alarmName": "…", "action": "notify" }`. */
  alarmNames: z._default(z.array(alarmNameRefSchema), []),
  alarms: z._default(z.array(createdAlarmSpecSchema(alarmSpecSchema)), []),
  /** Composite alarms the stack creates (corroboration). */
  composites: z._default(z.array(compositeSpecSchema), []),
  /** The Store health signal for this app: `false`, or overrides of the top-level block (docs/store-health.md). */
  storeHealth: z.optional(appStoreHealthSchema),
});

const secretSchema = z
  .strictObject({
    /** Name of an existing secret. */
    name: z.optional(
      z.string().check(z.regex(/^[A-Za-z0-9/_+=.@-]{1,512}$/, 'must be a Secrets Manager secret name')),
    ),
    /** Complete ARN (with the 6-character suffix) of an existing secret. */
    arn: z.optional(
      z
        .string()
        .check(
          z.regex(
            /^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[A-Za-z0-9/_+=.@-]+-[A-Za-z0-9]{6}$/,
            'must be the complete secret ARN, ending in the 6-character suffix Secrets Manager adds (e.g. -AbCdEf)',
          ),
        ),
    ),
    /** ARN of the customer managed KMS key that encrypts an existing secret, if it is not the AWS managed one. */
    kmsKeyArn: z.optional(
      z
        .string()
        .check(z.regex(/^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key\/[0-9a-f-]{36}$/, 'must be a KMS key ARN')),
    ),
  })
  .check(
    z.superRefine((secret, ctx) => {
      if ((secret.name === undefined) === (secret.arn === undefined)) {
        ctx.addIssue({
          code: 'custom',
          path: [],
          message:
            'give exactly one of name or arn of an existing secret, or leave secret out for the stack to create one',
        });
      }
    }),
  );

/** The scheduled self-check (see `infra/constructs/self-check.ts`). */
const selfCheckSchema = z.strictObject({
  /**
   * How often the self-check runs, in hours: 0.25 to 12, whole minutes. @default derived from the
   * catalog: every 6 hours while a run reads every app, else as often as it takes to read each app at
   * least once a day within the self-check's share of the Store budget (synth says what it chose)
   */
  scheduleHours: z.optional(
    z.number().check(
      z.gte(0.25, 'must be at least 0.25 (15 minutes)'),
      z.lte(12, 'must be at most 12'),
      z.refine(
        (hours) => Number.isInteger(Math.round(hours * 60 * 1e6) / 1e6),
        'must be a whole number of minutes (e.g. 0.25, 1.5, 6)',
      ),
    ),
  ),
});

/**
 * Federated Store credentials (docs/federated-credentials.md): the Store-calling functions may ask STS
 * for a web identity token, and the stack prints what to create in Entra ID.
 */
const federationSchema = z.strictObject({
  /**
   * Switch IAM outbound identity federation on in the account from the stack (a custom resource that
   * also reads the issuer). `false` when your policies forbid it: run
   * `aws iam enable-outbound-web-identity-federation` once instead. @default true
   */
  enableInAccount: z._default(z.boolean(), true),
  /**
   * The Entra ID application's client ID (not a secret), so the printed `az` commands are ready to run.
   * @default a `<clientId>` placeholder in them
   */
  clientId: z.optional(
    z
      .string()
      .check(
        z.regex(
          /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/,
          'must be the application (client) ID, a GUID',
        ),
      ),
  ),
});

/** The `watchdog` context value. */
export const watchdogConfigSchema = z
  .strictObject({
    /** The Store credentials secret. @default the stack creates an empty one */
    secret: z.optional(secretSchema),
    /** Sign in to the Store with no key (docs/federated-credentials.md). @default off: the key in the secret */
    federation: z.optional(federationSchema),
    /** E-mail addresses subscribed to the notification topic (each must confirm). @default none */
    notificationEmails: z._default(z.array(z.email('must be an e-mail address')), []),
    /** Global dry run: decide and notify, never halt. Opt in to halting with `false`. @default true */
    dryRun: z._default(z.boolean(), true),
    apps: z.array(configuredAppSchema).check(z.minLength(1, 'must list at least one app')),
    /** The scheduled self-check. @default a schedule derived from the catalog (every 6 hours for a few apps) */
    selfCheck: z._default(selfCheckSchema, {}),
    /** Slack and Microsoft Teams channels through AWS Chatbot (see `config-people.ts`). @default none */
    chat: z.optional(chatConfigSchema),
    /** Failures and health alarms to PagerDuty (see `config-people.ts`). @default none */
    pagerDuty: z.optional(pagerDutyConfigSchema),
    /**
     * For large catalogs: every watched alarm name starts with this, and one EventBridge rule matches
     * the prefix instead of listing the names (the function still acts only on listed names).
     * @default none: the rules list the names
     */
    alarmNamePrefix: z.optional(alarmNameSchema),
    /** The Store health probe (docs/store-health.md). @default off */
    storeHealth: z._default(storeHealthConfigSchema, { ...STORE_HEALTH_DEFAULTS }),
  })
  .check(
    z.superRefine((config, ctx) => {
      const appIds = new Set<string>();
      const created = new Map<string, string>();
      config.apps.forEach((app, a) => {
        if (appIds.has(app.applicationId)) {
          ctx.addIssue({
            code: 'custom',
            path: ['apps', a, 'applicationId'],
            message: `${app.applicationId} is listed twice`,
          });
        }
        appIds.add(app.applicationId);
        const storeHealthOn =
          resolveStoreHealth(config.storeHealth, app, config.alarmNamePrefix) !== undefined;
        if (
          app.alarmNames.length + app.notifyAlarmNames.length + app.alarms.length + app.composites.length ===
            0 &&
          !storeHealthOn
        ) {
          ctx.addIssue({
            code: 'custom',
            path: ['apps', a, 'alarms'],
            message:
              'the app needs at least one alarm: name existing alarms in alarmNames, or specify alarms for the stack to create',
          });
        }
        if (config.alarmNamePrefix !== undefined) {
          const listed = app.alarmNames.map((entry) => (typeof entry === 'string' ? entry : entry.alarmName));
          checkPrefix(config.alarmNamePrefix, ctx, ['apps', a, 'alarmNames'], listed);
          checkPrefix(config.alarmNamePrefix, ctx, ['apps', a, 'notifyAlarmNames'], app.notifyAlarmNames);
          const createdNames = app.alarms.map((spec) => spec.alarmName);
          checkPrefix(config.alarmNamePrefix, ctx, ['apps', a, 'alarms'], createdNames, 'alarmName');
          const compositeNames = app.composites.map((spec) => spec.alarmName);
          checkPrefix(config.alarmNamePrefix, ctx, ['apps', a, 'composites'], compositeNames, 'alarmName');
        }
        app.alarms.forEach((spec, s) => {
          const first = created.get(spec.alarmName);
          if (first !== undefined) {
            ctx.addIssue({
              code: 'custom',
              path: ['apps', a, 'alarms', s, 'alarmName'],
              message: `${spec.alarmName} is already created at ${first}; to let one alarm watch several apps, create it once and list its name in the other apps' alarmNames`,
            });
          } else {
            created.set(spec.alarmName, `watchdog.apps[${a}].alarms[${s}]`);
          }
        });
      });
      const signalApps = config.apps.map((app, a) => {
        const health = resolveStoreHealth(config.storeHealth, app, config.alarmNamePrefix);
        // CloudWatch keeps an alarm's evaluation range within a day, also for an app's own evaluationPeriods.
        if (health !== undefined && health.scheduleMinutes * health.evaluationPeriods > 24 * 60) {
          ctx.addIssue({
            code: 'custom',
            path: ['apps', a, 'storeHealth', 'evaluationPeriods'],
            message: `storeHealth.scheduleMinutes (${health.scheduleMinutes}) × evaluationPeriods (${health.evaluationPeriods}) must not exceed one day (1440 minutes)`,
          });
        }
        return {
          ...app,
          storeHealthAlarm:
            health === undefined ? undefined : { alarmName: health.alarmName, action: health.action },
        };
      });
      for (const issue of checkSignals(signalApps)) ctx.addIssue({ code: 'custom', ...issue });
    }),
  );

/** An issue for each of `names` (at `path`[i], then `field`) that does not start with `prefix`. */
function checkPrefix(
  prefix: string,
  ctx: z.core.$RefinementCtx,
  path: (string | number)[],
  names: readonly string[],
  field?: string,
): void {
  names.forEach((name, index) => {
    if (name.startsWith(prefix)) return;
    ctx.addIssue({
      code: 'custom',
      path: field === undefined ? [...path, index] : [...path, index, field],
      message: `must start with alarmNamePrefix "${prefix}": the EventBridge rule matches only names with it`,
    });
  });
}

/** The config, defaults applied. */
export type WatchdogConfig = z.output<typeof watchdogConfigSchema>;
/** The config as written in `cdk.json`. */
export type WatchdogConfigInput = z.input<typeof watchdogConfigSchema>;
/** A created single-metric (threshold) alarm spec, defaults applied. */
export type AlarmSpec = z.output<typeof alarmSpecSchema>;
/** Any alarm the stack creates from `alarms[]`: threshold or rate. */
export type CreatedAlarmSpec = AlarmSpec | RateAlarmSpec;

/**
 * Parses a `watchdog` config. Throws `ConfigurationError` (`INVALID_WATCHDOG_CONFIG`) listing every
 * problem as `watchdog.<path>: <what is wrong>`.
 */
export function parseWatchdogConfig(input: unknown): WatchdogConfig {
  const parsed = watchdogConfigSchema.safeParse(input);
  if (!parsed.success) {
    throw new ConfigurationError(
      'INVALID_WATCHDOG_CONFIG',
      `invalid watchdog config (cdk.json, context "${WATCHDOG_CONTEXT_KEY}"): ${formatIssues(WATCHDOG_CONTEXT_KEY, parsed.error)}`,
    );
  }
  // The derived list is built into the functions' assets (WATCHDOG_APPS=bundled), so its length is not
  // bounded by the 4 KB Lambda environment.
  return parsed.data;
}

/**
 * Reads and parses the `watchdog` context of `scope` (from `cdk.json`, or `-c watchdog='{...}'` on the
 * command line, which arrives as a JSON string).
 */
export function loadWatchdogConfig(scope: Construct): WatchdogConfig {
  const raw: unknown = scope.node.tryGetContext(WATCHDOG_CONTEXT_KEY);
  if (raw === undefined) {
    throw new ConfigurationError(
      'INVALID_WATCHDOG_CONFIG',
      `invalid watchdog config: cdk.json has no context "${WATCHDOG_CONTEXT_KEY}" (see docs/configure.md)`,
    );
  }
  if (typeof raw !== 'string') return parseWatchdogConfig(raw);
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    throw new ConfigurationError(
      'INVALID_WATCHDOG_CONFIG',
      `invalid watchdog config: context "${WATCHDOG_CONTEXT_KEY}" given as a string is not JSON`,
    );
  }
  return parseWatchdogConfig(json);
}

/**
 * `WATCHDOG_APPS` for the function: each app with the names of its existing and created alarms, and
 * without the stack-only fields. Checked with the function's own schema. `stackName` names the Store
 * health alarms (`<stack name>-store-health-<Store ID>`).
 */
export function deriveWatchedApps(config: WatchdogConfig, stackName: string = STACK_NAME): WatchedApp[] {
  const apps = config.apps.map((app) => {
    const {
      alarms: _alarms,
      composites: _composites,
      alarmNames: _names,
      notifyAlarmNames: _notify,
      storeHealth: _storeHealth,
      ...rest
    } = app;
    const { alarmNames, notifyAlarmNames } = splitAlarmNames(app);
    // The app's Store health alarm halts or only notifies, as configured.
    const health = resolveStoreHealth(config.storeHealth, app, config.alarmNamePrefix, stackName);
    // Its flights' Store health alarms act like the main one.
    const healthAlarms =
      health === undefined ? [] : [health.alarmName, ...health.flightAlarms.map((alarm) => alarm.alarmName)];
    return {
      ...rest,
      alarmNames: [...new Set([...alarmNames, ...(health?.action === 'halt' ? healthAlarms : [])])],
      notifyAlarmNames: [
        ...new Set([...notifyAlarmNames, ...(health?.action === 'notify' ? healthAlarms : [])]),
      ],
    };
  });
  return watchedAppsSchema.parse(apps);
}

/**
 * Every alarm name the watchdog listens to (existing and created, halting and notify-only), each once,
 * in config order.
 */
export function listWatchedAlarmNames(config: WatchdogConfig, stackName: string = STACK_NAME): string[] {
  return [
    ...new Set(
      deriveWatchedApps(config, stackName).flatMap((app) => [...app.alarmNames, ...app.notifyAlarmNames]),
    ),
  ];
}

/**
 * Every alarm name the stack creates from the config: `alarms[]`, `composites[]` and the Store health
 * alarms, each once, in config order (the drill alarm is the stack's own and not listed).
 */
export function listCreatedAlarmNames(config: WatchdogConfig, stackName: string = STACK_NAME): string[] {
  return [
    ...new Set([
      ...config.apps.flatMap((app) => [
        ...app.alarms.map((spec) => spec.alarmName),
        ...app.composites.map((spec) => spec.alarmName),
      ]),
      ...listStoreHealthApps(config, stackName).flatMap((app) => [
        app.alarmName,
        ...app.flightAlarms.map((flightAlarm) => flightAlarm.alarmName),
      ]),
    ]),
  ];
}
