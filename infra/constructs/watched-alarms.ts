/**
 * The alarms the stack creates from the config's alarm specs: metric alarms on telemetry the apps
 * already publish (for example a crash rate per session), which halt a rollout when they go into ALARM.
 */
import { Duration } from 'aws-cdk-lib';
import { Alarm, ComparisonOperator, Metric, TreatMissingData } from 'aws-cdk-lib/aws-cloudwatch';
import { Construct } from 'constructs';
import type { AlarmSpec } from '../config.ts';

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
  readonly spec: AlarmSpec;
  /** Shown in the default alarm description. */
  readonly appNames: readonly string[];
}

export interface WatchedAlarmsProps {
  readonly specs: readonly WatchedAlarmSpec[];
}

/** See the module comment. */
export class WatchedAlarms extends Construct {
  /** One alarm per spec, in order, each with its configured (literal) name. */
  readonly alarms: readonly Alarm[];

  constructor(scope: Construct, id: string, props: WatchedAlarmsProps) {
    super(scope, id);
    this.alarms = props.specs.map(({ spec, appNames }) => {
      const metric = new Metric({
        namespace: spec.namespace,
        metricName: spec.metricName,
        dimensionsMap: { ...spec.dimensions },
        statistic: spec.statistic,
        period: Duration.seconds(spec.periodSeconds),
      });
      // The construct id comes from the alarm name, not its position: reordering the config must not
      // replace an alarm (a replacement with the same name would fail the deploy).
      return new Alarm(this, `Alarm-${encodeURIComponent(spec.alarmName)}`, {
        alarmName: spec.alarmName,
        alarmDescription:
          spec.description ??
          `Store rollout watchdog: ALARM halts the in-progress rollout of ${appNames.join(', ')}`,
        metric,
        threshold: spec.threshold,
        comparisonOperator: COMPARISON[spec.comparison],
        evaluationPeriods: spec.evaluationPeriods,
        datapointsToAlarm: spec.datapointsToAlarm ?? spec.evaluationPeriods,
        treatMissingData: MISSING_DATA[spec.treatMissingData],
      });
    });
  }
}
