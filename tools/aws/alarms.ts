/** A metric alarm on moto (what the self-check looks up), for the tests and the benchmark. */
import { type CloudWatchClient, PutMetricAlarmCommand } from '@aws-sdk/client-cloudwatch';

/** A metric alarm like the ones the stack creates (moto needs only the required fields). */
export async function putAlarm(cloudWatch: CloudWatchClient, name: string): Promise<void> {
  await cloudWatch.send(
    new PutMetricAlarmCommand({
      AlarmName: name,
      Namespace: 'Contoso/Photos',
      MetricName: 'CrashRate',
      Statistic: 'Average',
      Period: 300,
      EvaluationPeriods: 1,
      Threshold: 0.02,
      ComparisonOperator: 'GreaterThanThreshold',
    }),
  );
}
