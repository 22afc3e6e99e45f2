/**
 * The drill alarm (Lambda contract, "Drill"): an alarm with nothing to measure, driven by hand with
 * `SetAlarmState`. A CloudWatch alarm needs a metric, so it watches one that nobody publishes, with
 * missing data not breaching: it rests in OK, goes into ALARM only when a person sets it, and CloudWatch
 * puts it back to OK at its next evaluation (about a minute later). The stack wires it like every alarm
 * it creates (its alarm action, the alarm topic, its one path to the function) and passes its name as
 * `DRILL_ALARM_NAME`, so its ALARM transitions run the whole path as a dry run.
 */
import { Duration, Stack, Token } from 'aws-cdk-lib';
import { Alarm, ComparisonOperator, Metric, TreatMissingData } from 'aws-cdk-lib/aws-cloudwatch';
import { Construct } from 'constructs';

/** The metric the drill alarm watches; nothing publishes it. */
export const DRILL_METRIC = {
  namespace: 'StoreRolloutWatchdog/Drill',
  metricName: 'NeverPublished',
} as const;

export interface DrillAlarmProps {
  /** @default `<stack name>-drill` */
  readonly alarmName?: string;
}

/** See the module comment. */
export class DrillAlarm extends Construct {
  readonly alarm: Alarm;
  readonly alarmName: string;

  constructor(scope: Construct, id: string, props: DrillAlarmProps = {}) {
    super(scope, id);
    this.alarmName = props.alarmName ?? `${Stack.of(this).stackName}-drill`;
    if (Token.isUnresolved(this.alarmName)) {
      throw new Error(`${this.node.path}: the drill alarm needs a literal name`);
    }
    this.alarm = new Alarm(this, 'Alarm', {
      alarmName: this.alarmName,
      alarmDescription:
        'Store rollout watchdog drill: set it to ALARM (aws cloudwatch set-alarm-state) to run the whole path as a dry run; nothing is ever halted. It returns to OK by itself.',
      metric: new Metric({ ...DRILL_METRIC, statistic: 'Maximum', period: Duration.minutes(1) }),
      threshold: 1,
      comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });
  }

  /** The one command that runs a drill. */
  drillCommand(region: string): string {
    return `aws cloudwatch set-alarm-state --region ${region} --alarm-name ${this.alarmName} --state-value ALARM --state-reason "watchdog drill"`;
  }
}
