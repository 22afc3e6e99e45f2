/**
 * The alarms the stack creates from the config's alarm specs, on telemetry the apps already publish:
 * single-metric threshold alarms, and rate alarms (metric math: the percentage of sessions that crashed,
 * 0 below a minimum number of sessions, so a handful of early sessions cannot breach). A halting alarm
 * halts the rollouts of the apps that list it when it goes into ALARM; a notify-only one only tells people.
 */
import { Duration } from 'aws-cdk-lib';
import {
  Alarm,
  ComparisonOperator,
  MathExpression,
  Metric,
  TreatMissingData,
} from 'aws-cdk-lib/aws-cloudwatch';
import { Construct } from 'constructs';
import { type MetricRef, type RateAlarmSpec, rateExpression } from '../alarm-config.ts';
import type { AlarmSpec, CreatedAlarmSpec } from '../config.ts';

const COMPARISON: Record<AlarmSpec['comparison'], ComparisonOperator> = {
  GreaterThanThreshold: ComparisonOperator.GREATER_THAN_THRESHOLD,
  GreaterThanOrEqualToThreshold: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
  LessThanThreshold: ComparisonOperator.LESS_THAN_THRESHOLD,
  LessThanOrEqualToThreshold: ComparisonOperator.LESS_THAN_OR_EQUAL_TO_THRESHOLD,
};

const MISSING_DATA: Record<AlarmSpec['treatMissingData'], TreatMissingData> = {
  notBreaching: TreatMissingData.NOT_BREACHING,
  breaching: TreatMissingData.BREACHING,
  ignore: TreatMissingData.IGNORE,
  missing: TreatMissingData.MISSING,
};

/** An alarm spec and the apps (display names) it watches. */
export interface WatchedAlarmSpec {
  readonly spec: CreatedAlarmSpec;
  /** Shown in the default alarm description. */
  readonly appNames: readonly string[];
}

export interface WatchedAlarmsProps {
  readonly specs: readonly WatchedAlarmSpec[];
  /**
   * The scope each alarm is created in, by its name (a nested stack: `AlarmStacks.scopeFor`).
   * @default this construct
   */
  readonly scopeFor?: (alarmName: string) => Construct;
}

/** See the module comment. */
export class WatchedAlarms extends Construct {
  /** One alarm per spec, in order, each with its configured (literal) name. */
  readonly alarms: readonly Alarm[];
  /** The same alarms by name. */
  readonly byName: ReadonlyMap<string, Alarm>;

  constructor(scope: Construct, id: string, props: WatchedAlarmsProps) {
    super(scope, id);
    const scopeFor = props.scopeFor ?? (() => this);
    this.alarms = props.specs.map(({ spec, appNames }) => {
      const effect =
        spec.action === 'halt'
          ? `ALARM halts the in-progress rollout of ${appNames.join(', ')}`
          : `ALARM notifies about ${appNames.join(', ')} (notify-only: never halts)`;
      // The construct id comes from the alarm name, not its position: reordering the config must not
      // replace an alarm (a replacement with the same name would fail the deploy).
      const id = `Alarm-${encodeURIComponent(spec.alarmName)}`;
      const common = {
        alarmName: spec.alarmName,
        alarmDescription: spec.description ?? `Store rollout watchdog: ${effect}`,
        threshold: spec.threshold,
        evaluationPeriods: spec.evaluationPeriods,
        datapointsToAlarm: spec.datapointsToAlarm ?? spec.evaluationPeriods,
      };
      if (spec.kind === 'rate') {
        return new Alarm(scopeFor(spec.alarmName), id, {
          ...common,
          metric: rateMetric(spec),
          comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
          treatMissingData: TreatMissingData.NOT_BREACHING,
        });
      }
      return new Alarm(scopeFor(spec.alarmName), id, {
        ...common,
        metric: thresholdMetric(spec),
        comparisonOperator: COMPARISON[spec.comparison],
        treatMissingData: MISSING_DATA[spec.treatMissingData],
      });
    });
    this.byName = new Map(
      this.alarms.map((alarm, i) => [props.specs[i]?.spec.alarmName ?? alarm.node.id, alarm]),
    );
  }
}

function thresholdMetric(spec: AlarmSpec): Metric {
  return new Metric({
    namespace: spec.namespace,
    metricName: spec.metricName,
    dimensionsMap: { ...spec.dimensions },
    statistic: spec.statistic,
    period: Duration.seconds(spec.periodSeconds),
  });
}

/** `IF(sessions >= minSessions, 100 * crashes / sessions, 0)`, both metrics summed per period. */
function rateMetric(spec: RateAlarmSpec): MathExpression {
  const period = Duration.seconds(spec.periodSeconds);
  const summed = (ref: MetricRef) =>
    new Metric({
      namespace: ref.namespace,
      metricName: ref.metricName,
      dimensionsMap: { ...ref.dimensions },
      statistic: 'Sum',
      period,
    });
  return new MathExpression({
    expression: rateExpression(spec),
    usingMetrics: { crashes: summed(spec.crashes), sessions: summed(spec.sessions) },
    label: `Crash rate (%) with at least ${spec.minSessions} sessions`,
    period,
  });
}
