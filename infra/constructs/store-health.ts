/**
 * The Store health probe (docs/store-health.md): a scheduled read-only function that turns the Store's
 * own failure reports into CloudWatch metrics, one alarm per app on `CrashRateRatio` and per watched
 * flight, the probe's own alarms (a failed run, no run for two periods), and a dashboard whose pages
 * hold `DASHBOARD_PAGE_APPS` apps each (an alarm status widget shows at most 100 alarms). The stack
 * wires the per-app alarms like every alarm it creates; the app's entry decides whether they halt.
 */
import { Duration, Stack } from 'aws-cdk-lib';
import {
  Alarm,
  AlarmStatusWidget,
  ComparisonOperator,
  Dashboard,
  GraphWidget,
  MathExpression,
  Metric,
  TextWidget,
  TreatMissingData,
} from 'aws-cdk-lib/aws-cloudwatch';
import { Rule, Schedule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import { Construct } from 'constructs';
import type { WatchedApp } from '../../functions/commons/domain/watched-apps.ts';
import { definedProps } from '../../functions/commons/optional.ts';
import { STORE_HEALTH_SERVICE_NAME } from '../../functions/store-health/environment.ts';
import {
  STORE_HEALTH_DIMENSION,
  STORE_HEALTH_FLIGHT_DIMENSION,
  STORE_HEALTH_METRICS,
  STORE_HEALTH_NAMESPACE,
} from '../../functions/store-health/metrics.ts';
import { deriveProbeAppSettings, type ResolvedStoreHealth } from '../store-health-config.ts';
import type { Notifications } from './notifications.ts';
import type { StoreCredentials } from './store-credentials.ts';
import { WatchdogFunction } from './watchdog-function.ts';

/** The handler of the probe, relative to the project root. */
export const STORE_HEALTH_ENTRY = 'functions/store-health/handler.ts';

/** Lambda's longest run. */
const MAX_TIMEOUT = Duration.minutes(15);

export interface StoreHealthProps {
  /** Every app whose Store health signal is on, with its settings (`resolveStoreHealth`). */
  readonly apps: readonly ResolvedStoreHealth[];
  /** Their `WATCHDOG_APPS` entries, as halt-rollout reads them. */
  readonly watchedApps: readonly WatchedApp[];
  readonly credentials: StoreCredentials;
  /** Where the probe's own alarms notify people. */
  readonly notifications: Notifications;
  /** How often the probe runs (whole minutes, 5 to 60); also the alarms' period. */
  readonly schedule: Duration;
  /**
   * Where the per-app alarms (by name) and the dashboard pages after the first (by page, 1-based) are
   * created. @default this construct, for both
   */
  readonly scopes?: {
    readonly alarm: (alarmName: string) => Construct;
    readonly dashboardPage: (page: number) => Construct;
  };
}

/** Apps per dashboard page: each page's alarm status widget lists their alarms and the probe's two. */
export const DASHBOARD_PAGE_APPS = 50;

/** See the module comment. */
export class StoreHealth extends Construct {
  readonly function: WatchdogFunction;
  readonly rule: Rule;
  /** One per app, in the order of `apps`: `CrashRateRatio > ratioThreshold`. */
  readonly appAlarms: readonly Alarm[];
  /**
   * One per watched flight (`flights` a list), or one per app over all its flights (`flights: "all"`):
   * the same threshold and evaluation as the app's, on the flights' `CrashRateRatio`.
   */
  readonly flightAlarms: readonly Alarm[];
  /** `Errors ≥ 1`: a run could not read some app (the others' figures were published). */
  readonly failedAlarm: Alarm;
  /** `Invocations < 1` over two periods: the probe stopped running. */
  readonly didNotRunAlarm: Alarm;
  /** Every dashboard page, in order: `<stack>-store-health`, then `<stack>-store-health-2`, ... */
  readonly dashboards: readonly Dashboard[];

  constructor(scope: Construct, id: string, props: StoreHealthProps) {
    super(scope, id);
    const prefix = Stack.of(this).stackName;
    if (props.apps.length === 0) throw new Error(`${this.node.path}: apps must list at least one app`);
    const minutes = props.schedule.toMinutes();
    if (!Number.isInteger(minutes) || minutes < 5 || minutes > 60)
      throw new Error(`${this.node.path}: schedule must be 5 to 60 whole minutes`);
    for (const app of props.apps) {
      if (app.evaluationPeriods * minutes > 1_440) {
        throw new Error(
          `${this.node.path}: ${app.applicationId}: the schedule × evaluationPeriods must not exceed one day`,
        );
      }
    }
    // A run ends before the next one starts.
    const timeout = Duration.minutes(Math.min(MAX_TIMEOUT.toMinutes(), Math.max(1, minutes - 1)));

    this.function = new WatchdogFunction(this, 'Function', {
      entry: STORE_HEALTH_ENTRY,
      description:
        "Store rollout watchdog Store health probe: turns the Microsoft Store's own failure reports into crash-rate metrics per live rollout (read only)",
      serviceName: STORE_HEALTH_SERVICE_NAME,
      // Built into the asset (WATCHDOG_APPS=bundled): a catalog's list does not fit the environment.
      watchedApps: props.watchedApps,
      environment: deriveProbeAppSettings(props.apps).environment,
      timeout,
      // One run at a time: a run is a full pass over the apps, two at once would read everything twice.
      // Its Store requests take slots from the stack's budget (the stack connects the state table).
      reservedConcurrentExecutions: 1,
      // A failed run is reported by its alarm; the next scheduled run reads again.
      retryAttempts: 0,
    });
    props.credentials.grantReadTo(this.function);

    this.rule = new Rule(this, 'Schedule', {
      description: `Runs the Store rollout watchdog Store health probe every ${props.schedule.toHumanString()}`,
      schedule: Schedule.rate(props.schedule),
      targets: [
        new LambdaFunction(this.function.function, {
          retryAttempts: 2,
          maxEventAge: Duration.minutes(Math.max(1, minutes - 1)),
          deadLetterQueue: this.function.failureQueue,
        }),
      ],
    });

    const alarmScope = props.scopes?.alarm ?? (() => this);
    this.appAlarms = props.apps.map((app) => {
      const consequence =
        app.action === 'halt' ? 'ALARM halts its in-progress rollout' : 'ALARM notifies people (notify-only)';
      const scope = alarmScope(app.alarmName);
      return new Alarm(
        scope,
        scope === this ? `Alarm-${app.applicationId}` : `StoreHealth-${app.applicationId}`,
        {
          alarmName: app.alarmName,
          alarmDescription: `From the Microsoft Store's own failure reports (Store health probe): the crash rate of ${app.appName} (${app.applicationId})'s rolled-out package is more than ${app.ratioThreshold} times its fallback package's over ${app.windowHours} h, for ${app.evaluationPeriods} runs in a row. ${consequence}. The Store's reports lag by hours.`,
          metric: ratioMetric(app.applicationId, props.schedule, undefined),
          threshold: app.ratioThreshold,
          comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
          evaluationPeriods: app.evaluationPeriods,
          datapointsToAlarm: app.evaluationPeriods,
          // No ratio is published with too little data: that must never halt.
          treatMissingData: TreatMissingData.NOT_BREACHING,
        },
      );
    });

    this.flightAlarms = props.apps.flatMap((app) =>
      app.flightAlarms.map((flightAlarm) => {
        const consequence =
          app.action === 'halt'
            ? "ALARM halts the app's in-progress rollouts"
            : 'ALARM notifies people (notify-only)';
        const which =
          flightAlarm.flightId === undefined
            ? `a package flight of ${app.appName} (${app.applicationId}): the highest of its flights' ratios (the flights the probe finds live)`
            : `package flight ${flightAlarm.flightId} of ${app.appName} (${app.applicationId})`;
        const scope = alarmScope(flightAlarm.alarmName);
        return new Alarm(scope, `FlightAlarm-${app.applicationId}-${flightAlarm.flightId ?? 'all'}`, {
          alarmName: flightAlarm.alarmName,
          alarmDescription: `From the Microsoft Store's own failure reports (Store health probe): the crash rate of the package rolled out to ${which} is more than ${app.ratioThreshold} times its fallback package's over ${app.windowHours} h, for ${app.evaluationPeriods} runs in a row. ${consequence}. The Store's reports lag by hours.`,
          metric:
            flightAlarm.flightId === undefined
              ? allFlightsRatio(app.applicationId, props.schedule)
              : flightRatioMetric(app.applicationId, flightAlarm.flightId, props.schedule),
          threshold: app.ratioThreshold,
          comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
          evaluationPeriods: app.evaluationPeriods,
          datapointsToAlarm: app.evaluationPeriods,
          // No ratio is published with too little data (or no live flight rollout): that must never halt.
          treatMissingData: TreatMissingData.NOT_BREACHING,
        });
      }),
    );

    const logGroup = this.function.logGroup.logGroupName;
    this.failedAlarm = new Alarm(this, 'Failed', {
      alarmName: `${prefix}-store-health-failed`,
      alarmDescription: `The Store health probe could not read the Store's reports for some app (the others' figures were published). Its "app could not be probed" entries in the log group ${logGroup} say which and why.`,
      metric: this.function.function.metricErrors({ period: Duration.minutes(5), statistic: 'Sum' }),
      threshold: 1,
      comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });
    this.didNotRunAlarm = new Alarm(this, 'DidNotRun', {
      alarmName: `${prefix}-store-health-did-not-run`,
      alarmDescription: `The Store health probe has not run for two periods of its ${props.schedule.toHumanString()} schedule: no Store health alarm can fire. Check the EventBridge rule ${this.rule.ruleName} and the log group ${logGroup}.`,
      metric: this.function.function.metricInvocations({ period: props.schedule, statistic: 'Sum' }),
      threshold: 1,
      comparisonOperator: ComparisonOperator.LESS_THAN_THRESHOLD,
      evaluationPeriods: 2,
      datapointsToAlarm: 2,
      treatMissingData: TreatMissingData.BREACHING,
    });
    props.notifications.notifyOnAlarm(this.failedAlarm);
    props.notifications.notifyOnAlarm(this.didNotRunAlarm);

    const pages: Dashboard[] = [];
    for (let first = 0; first < props.apps.length; first += DASHBOARD_PAGE_APPS) {
      const page = first / DASHBOARD_PAGE_APPS + 1;
      const scope = page === 1 ? this : (props.scopes?.dashboardPage(page) ?? this);
      pages.push(
        this.addDashboardPage(scope, page, prefix, props, first, {
          failed: this.failedAlarm.alarmName,
          didNotRun: this.didNotRunAlarm.alarmName,
        }),
      );
    }
    this.dashboards = pages;
  }

  /**
   * Page `page` (1-based) of the dashboard, for the apps from index `first`, in `scope`. Alarms are
   * referenced by name, not by resource: they may live in other (nested) stacks.
   */
  private addDashboardPage(
    scope: Construct,
    page: number,
    prefix: string,
    props: StoreHealthProps,
    first: number,
    probeAlarms: { readonly failed: string; readonly didNotRun: string },
  ): Dashboard {
    const apps = props.apps.slice(first, first + DASHBOARD_PAGE_APPS);
    const pageId = (id: string) => (scope === this ? id : `Page${page}${id}`);
    const byName = (id: string, name: string) => Alarm.fromAlarmName(scope, pageId(id), name);
    const dashboard = new Dashboard(scope, page === 1 ? 'Dashboard' : pageId('Dashboard'), {
      dashboardName: page === 1 ? `${prefix}-store-health` : `${prefix}-store-health-${page}`,
      defaultInterval: Duration.hours(24),
    });
    const pages = Math.ceil(props.apps.length / DASHBOARD_PAGE_APPS);
    dashboard.addWidgets(
      new TextWidget({
        markdown: `## Store health (from the Microsoft Store's own failure reports)${pages === 1 ? '' : ` — page ${page} of ${pages}`}\nPer app: the crash rate of the rolled-out package against its fallback's, their ratio against the alarm threshold, and the alarm. The reports lag by hours; gaps are runs with too little data (never a ratio).`,
        width: 24,
        height: 2,
      }),
      new AlarmStatusWidget({
        title: 'Store health probe',
        alarms: [
          ...apps.map((app) => byName(`AlarmRef-${app.applicationId}`, app.alarmName)),
          byName('FailedRef', probeAlarms.failed),
          byName('DidNotRunRef', probeAlarms.didNotRun),
        ],
        width: 24,
        height: 3,
      }),
    );
    for (const app of apps) {
      dashboard.addWidgets(
        new GraphWidget({
          title: `${app.appName}: crash rate, rollout vs fallback (%)`,
          left: [
            appMetric(app.applicationId, STORE_HEALTH_METRICS.rolloutCrashRate, props.schedule, 'rollout'),
            appMetric(app.applicationId, STORE_HEALTH_METRICS.fallbackCrashRate, props.schedule, 'fallback'),
          ],
          width: 10,
        }),
        new GraphWidget({
          title: `${app.appName}: crash rate ratio`,
          left: [ratioMetric(app.applicationId, props.schedule, 'rollout / fallback')],
          leftAnnotations: [{ value: app.ratioThreshold, label: `threshold (${app.action})` }],
          right: [
            appMetric(
              app.applicationId,
              STORE_HEALTH_METRICS.insufficientData,
              props.schedule,
              'insufficient data',
            ),
          ],
          width: 10,
        }),
        new AlarmStatusWidget({
          title: `${app.appName}: alarm${app.flightAlarms.length === 0 ? '' : 's (app, flights)'}`,
          alarms: [
            byName(`AppAlarmRef-${app.applicationId}`, app.alarmName),
            ...app.flightAlarms.map((flightAlarm) =>
              byName(
                `FlightAlarmRef-${app.applicationId}-${flightAlarm.flightId ?? 'all'}`,
                flightAlarm.alarmName,
              ),
            ),
          ],
          width: 4,
        }),
      );
    }
    return dashboard;
  }

  /** The probe's own alarms. */
  get alarms(): readonly Alarm[] {
    return [this.failedAlarm, this.didNotRunAlarm];
  }
}

/** A metric of one app; a label only for the dashboard (an alarm's metric with a label becomes a metric query). */
function appMetric(
  applicationId: string,
  metricName: string,
  period: Duration,
  label: string | undefined,
): Metric {
  return new Metric({
    namespace: STORE_HEALTH_NAMESPACE,
    metricName,
    dimensionsMap: { [STORE_HEALTH_DIMENSION]: applicationId },
    statistic: 'Maximum',
    period,
    ...definedProps({ label }),
  });
}

function ratioMetric(applicationId: string, period: Duration, label: string | undefined): Metric {
  return appMetric(applicationId, STORE_HEALTH_METRICS.crashRateRatio, period, label);
}

/** One flight's `CrashRateRatio` (dimensions `ApplicationId` and `FlightId`). */
function flightRatioMetric(applicationId: string, flightId: string, period: Duration): Metric {
  return new Metric({
    namespace: STORE_HEALTH_NAMESPACE,
    metricName: STORE_HEALTH_METRICS.crashRateRatio,
    dimensionsMap: { [STORE_HEALTH_DIMENSION]: applicationId, [STORE_HEALTH_FLIGHT_DIMENSION]: flightId },
    statistic: 'Maximum',
    period,
  });
}

/**
 * The highest `CrashRateRatio` of any flight of the app, as a CloudWatch Metrics Insights query: the
 * flights of `"all"` are known only when the probe lists them, and the query takes in every flight
 * that publishes a ratio, including one created after the deploy.
 */
function allFlightsRatio(applicationId: string, period: Duration): MathExpression {
  return new MathExpression({
    expression: `SELECT MAX(${STORE_HEALTH_METRICS.crashRateRatio}) FROM SCHEMA("${STORE_HEALTH_NAMESPACE}", ${STORE_HEALTH_DIMENSION}, ${STORE_HEALTH_FLIGHT_DIMENSION}) WHERE ${STORE_HEALTH_DIMENSION} = '${applicationId}'`,
    usingMetrics: {},
    period,
    label: `${applicationId} flights: highest crash rate ratio`,
  });
}
