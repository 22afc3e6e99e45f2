/**
 * The scheduled self-check: a small read-only function that proves every few hours that the halt path
 * still works (the secret, an Azure AD token, each watched app's live rollouts, every watched alarm),
 * with an alarm when it fails and one when it did not run. Why its `cloudwatch:DescribeAlarms` grant is
 * on `*`: docs/operate.md, "Self-check".
 */
import { Annotations, Duration, Stack, Token, Validations } from 'aws-cdk-lib';
import { Alarm, ComparisonOperator, TreatMissingData } from 'aws-cdk-lib/aws-cloudwatch';
import { Rule, Schedule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import type { WatchedApp } from '../../functions/commons/domain/watched-apps.ts';
import { SELF_CHECK_SERVICE_NAME } from '../../functions/self-check/environment.ts';
import {
  deriveScheduleMinutes,
  fitsOneRun,
  planSlices,
  SELF_CHECK_STORE_REQUESTS_PER_MINUTE,
  type SlicePlan,
} from '../../functions/self-check/slices.ts';
import type { Notifications } from './notifications.ts';
import type { StoreCredentials } from './store-credentials.ts';
import { WatchdogFunction } from './watchdog-function.ts';

/** The handler of the self-check function, relative to the project root. */
export const SELF_CHECK_ENTRY = 'functions/self-check/handler.ts';

/**
 * Bounds of the schedule. More often than every 15 minutes spends Store requests (shared with halts)
 * for nothing; less often than every 12 hours, the "did not run" alarm cannot look back two periods
 * (CloudWatch evaluates at most one day: period × evaluation periods).
 */
export const MIN_SELF_CHECK_SCHEDULE = Duration.minutes(15);
export const MAX_SELF_CHECK_SCHEDULE = Duration.hours(12);

export interface SelfCheckProps {
  /** The watched apps, exactly as the halt-rollout function reads them (`WATCHDOG_APPS`). */
  readonly apps: readonly WatchedApp[];
  /** The Store credentials secret; the function may read exactly it. */
  readonly credentials: StoreCredentials;
  /** Where the self-check's alarms notify people. */
  readonly notifications: Notifications;
  /**
   * How often the self-check runs: whole minutes, from 15 minutes to 12 hours.
   * @default derived from the apps (`deriveScheduleMinutes`): every 6 hours while one run reads every
   * app, else as often as it takes to check every app at least once a day; an info annotation says which
   */
  readonly schedule?: Duration;
  /**
   * How long one run may take. Store reads are paced at 10 a minute (half the tenant's budget, leaving
   * the rest for a halt), so many apps need more time. At most the schedule. The apps are spread over
   * as many runs (slices) as this time needs; the synth fails when that cannot check every app daily.
   * @default Duration.minutes(5) when one run reads every app, else 15 minutes (Lambda's most) or the schedule
   */
  readonly timeout?: Duration;
  /** Prefix of the alarm names (literal). @default the stack name */
  readonly alarmNamePrefix?: string;
  /**
   * The pace, in Store requests a minute, at which the slices are planned. The function itself takes
   * its slots from the stack's budget, where the scheduled readers together get at most half the
   * tenant's; with the Store health probe reading beside it, the stack plans at half of that.
   * @default SELF_CHECK_STORE_REQUESTS_PER_MINUTE (10, half the tenant's budget)
   */
  readonly requestsPerMinute?: number;
}

/** See the module comment. */
export class SelfCheck extends Construct {
  readonly function: WatchdogFunction;
  /** The EventBridge rule that runs the function on the schedule. */
  readonly rule: Rule;
  /** `Errors ≥ 1`: a run found a problem (or could not run its checks). */
  readonly failedAlarm: Alarm;
  /** `Invocations < 1` over two schedule periods, missing data breaching: the self-check stopped running. */
  readonly didNotRunAlarm: Alarm;
  /** The schedule in effect. */
  readonly schedule: Duration;
  /** Whether the schedule was derived from the apps (no `schedule` given). */
  readonly scheduleDerived: boolean;
  /** How the apps are spread over the runs (`functions/self-check/slices.ts`). */
  readonly slicePlan: SlicePlan;
  /** The longest an app goes between two checks: every slice once. */
  get everyAppCheckedWithin(): Duration {
    return Duration.minutes(this.slicePlan.slices * this.slicePlan.periodMinutes);
  }

  constructor(scope: Construct, id: string, props: SelfCheckProps) {
    super(scope, id);
    const requestsPerMinute = props.requestsPerMinute ?? SELF_CHECK_STORE_REQUESTS_PER_MINUTE;
    this.scheduleDerived = props.schedule === undefined;
    this.schedule = props.schedule ?? Duration.minutes(deriveScheduleMinutes(props.apps, requestsPerMinute));
    const timeout = props.timeout ?? chooseTimeout(props.apps, this.schedule, requestsPerMinute);
    const prefix = props.alarmNamePrefix ?? Stack.of(this).stackName;
    validate(this.node.path, this.schedule, timeout, prefix);
    this.slicePlan = planSlices({
      apps: props.apps,
      periodMinutes: this.schedule.toMinutes(),
      runSeconds: timeout.toSeconds(),
      requestsPerMinute,
    });

    if (this.scheduleDerived) {
      Annotations.of(this).addInfo(
        `self-check schedule: every ${this.schedule.toHumanString()} (derived from ${props.apps.length} app${props.apps.length === 1 ? '' : 's'}: ${this.slicePlan.slices === 1 ? 'one run reads every app' : `${this.slicePlan.slices} runs of ${timeout.toHumanString()} at ${requestsPerMinute} Store requests a minute, so every app is checked at least every ${this.everyAppCheckedWithin.toHumanString()}`}); set watchdog.selfCheck.scheduleHours to choose another`,
      );
    }

    this.function = new WatchdogFunction(this, 'Function', {
      entry: SELF_CHECK_ENTRY,
      description:
        'Store rollout watchdog self-check: proves on a schedule that the secret, Azure AD, the Store and the watched alarms still work (read only)',
      serviceName: SELF_CHECK_SERVICE_NAME,
      watchedApps: props.apps,
      environment: {
        SELF_CHECK_SLICES: String(this.slicePlan.slices),
        SELF_CHECK_PERIOD_MINUTES: String(this.slicePlan.periodMinutes),
      },
      timeout,
      // A failed run is a finding, not a glitch to retry: the Store client has retried already, and a
      // retry would spend the tenant's budget again. The next scheduled run checks again.
      retryAttempts: 0,
    });
    props.credentials.grantReadTo(this.function);

    const watchesAlarms = props.apps.some((app) => app.alarmNames.length + app.notifyAlarmNames.length > 0);
    if (watchesAlarms) {
      this.function.addToRolePolicy(
        new PolicyStatement({ actions: ['cloudwatch:DescribeAlarms'], resources: ['*'] }),
      );
      Validations.of(this.function.role).acknowledge({
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason:
          'X-Ray tracing (xray:PutTraceSegments, xray:PutTelemetryRecords) has no resource-level permissions; cloudwatch:DescribeAlarms returns composite alarms only when allowed on * (a read of alarm configurations).',
      });
    }

    this.rule = new Rule(this, 'Schedule', {
      description:
        this.slicePlan.slices === 1
          ? `Runs the Store rollout watchdog self-check every ${this.schedule.toHumanString()}`
          : `Runs the Store rollout watchdog self-check every ${this.schedule.toHumanString()}; each run reads one of ${this.slicePlan.slices} slices of the apps, so every app is checked at least every ${this.everyAppCheckedWithin.toHumanString()}`,
      schedule: Schedule.rate(this.schedule),
      targets: [
        new LambdaFunction(this.function.function, {
          // Retries of a delivery Lambda refused (throttling); a run that never happens trips didNotRunAlarm.
          retryAttempts: 2,
          maxEventAge: Duration.hours(1),
          deadLetterQueue: this.function.failureQueue,
        }),
      ],
    });

    const logGroup = this.function.logGroup.logGroupName;
    this.failedAlarm = new Alarm(this, 'Failed', {
      alarmName: `${prefix}-self-check-failed`,
      alarmDescription: `The scheduled self-check of the Store rollout watchdog found a problem that would stop a halt during an incident (an expired Azure AD key, a deleted alarm, an app the Store will not show). Its last "self-check failed" entry in the log group ${logGroup} lists each failed check and its fix.`,
      // Five minutes, so a late Lambda data point still lands in an evaluated period.
      metric: this.function.function.metricErrors({ period: Duration.minutes(5), statistic: 'Sum' }),
      threshold: 1,
      comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });
    this.didNotRunAlarm = new Alarm(this, 'DidNotRun', {
      alarmName: `${prefix}-self-check-did-not-run`,
      alarmDescription: `The Store rollout watchdog self-check has not run for two periods of its ${this.schedule.toHumanString()} schedule: check the EventBridge rule ${this.rule.ruleName} is enabled and the function's log group ${logGroup}. Until its first run after a new deploy, this alarm is in ALARM.`,
      metric: this.function.function.metricInvocations({ period: this.schedule, statistic: 'Sum' }),
      threshold: 1,
      comparisonOperator: ComparisonOperator.LESS_THAN_THRESHOLD,
      // Two empty periods in a row: one alone can be a run landing at a period boundary.
      evaluationPeriods: 2,
      datapointsToAlarm: 2,
      // Lambda publishes no data point for a period without invocations.
      treatMissingData: TreatMissingData.BREACHING,
    });
    props.notifications.notifyOnAlarm(this.failedAlarm);
    props.notifications.notifyOnAlarm(this.didNotRunAlarm);
  }

  /**
   * `cloudwatch:DescribeAlarms` on the watched alarms: their exact ARNs while they are few; beyond that,
   * one ARN pattern (a role's policies hold about 16 KB, a catalog's ARNs many times that): the alarms
   * with the prefix, or every alarm of the account and Region. DescribeAlarms reads alarm settings only.
   */
  /** Both alarms. */
  get alarms(): readonly Alarm[] {
    return [this.failedAlarm, this.didNotRunAlarm];
  }
}

/** 5 minutes when one run reads every app; else as long as Lambda allows within the schedule, for fewer slices. */
function chooseTimeout(apps: readonly WatchedApp[], schedule: Duration, requestsPerMinute: number): Duration {
  const short = Duration.minutes(5);
  if (fitsOneRun(apps, short.toSeconds(), requestsPerMinute)) return short;
  return Duration.minutes(Math.min(15, schedule.toMinutes()));
}

function validate(path: string, schedule: Duration, timeout: Duration, prefix: string): void {
  if (Token.isUnresolved(prefix)) throw new Error(`${path}: the alarm name prefix must be a literal string`);
  const seconds = schedule.toSeconds();
  if (seconds % 60 !== 0) throw new Error(`${path}: schedule must be a whole number of minutes`);
  if (seconds < MIN_SELF_CHECK_SCHEDULE.toSeconds() || seconds > MAX_SELF_CHECK_SCHEDULE.toSeconds()) {
    throw new Error(
      `${path}: schedule must be from ${MIN_SELF_CHECK_SCHEDULE.toHumanString()} to ${MAX_SELF_CHECK_SCHEDULE.toHumanString()}, got ${schedule.toHumanString()}`,
    );
  }
  if (timeout.toSeconds() > seconds) {
    throw new Error(`${path}: timeout (${timeout.toHumanString()}) must not exceed the schedule`);
  }
}
