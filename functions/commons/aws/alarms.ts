/**
 * Which watched alarms exist: CloudWatch `DescribeAlarms` by name, at most 100 names a request (the
 * API's limit on `AlarmNames`), following `NextToken` until the last page.
 *
 * The self-check and the operator CLI ask for metric and composite alarms alike (a watched alarm may be
 * either); CloudWatch returns composite alarms only to a caller allowed `cloudwatch:DescribeAlarms` on
 * `*` (CloudWatch API reference, "DescribeAlarms"), which the self-check's role is.
 */
import { type CloudWatchClient, DescribeAlarmsCommand } from '@aws-sdk/client-cloudwatch';
import { WatchdogError } from '../errors.ts';
import { definedProps } from '../optional.ts';
import { describeAwsFailure } from './aws-errors.ts';

/** `DescribeAlarms` accepts at most this many `AlarmNames`, and returns at most this many records a page. */
export const MAX_ALARM_NAMES_PER_REQUEST = 100;

/** One `DescribeAlarms` request, reduced to what the lookup sends and reads. */
export interface DescribeAlarmsPageRequest {
  readonly alarmNames: readonly string[];
  readonly maxRecords: number;
  readonly nextToken?: string;
}

export interface DescribeAlarmsPage {
  /** Names of the alarms on this page. */
  readonly alarmNames: readonly string[];
  readonly nextToken?: string;
}

/** Sends one `DescribeAlarms` request. */
export type DescribeAlarmsPageFn = (
  request: DescribeAlarmsPageRequest,
  signal: AbortSignal,
) => Promise<DescribeAlarmsPage>;

/**
 * `DescribeAlarms` over a real client.
 * @param includeComposite ask for composite alarms too (needs `cloudwatch:DescribeAlarms` on `*`). @default false
 */
export function describeAlarmsPageWith(
  client: CloudWatchClient,
  includeComposite = false,
): DescribeAlarmsPageFn {
  return async (request, signal) => {
    const output = await client
      .send(
        new DescribeAlarmsCommand({
          AlarmNames: [...request.alarmNames],
          MaxRecords: request.maxRecords,
          ...(includeComposite ? { AlarmTypes: ['MetricAlarm', 'CompositeAlarm'] } : {}),
          ...definedProps({ NextToken: request.nextToken }),
        }),
        { abortSignal: signal },
      )
      .catch((error: unknown) => {
        throw new WatchdogError(
          'upstream',
          'ALARMS_UNREADABLE',
          describeAwsFailure('CloudWatch DescribeAlarms', error, 'cloudwatch:DescribeAlarms'),
          {
            cause: error,
            retryable: true,
          },
        );
      });
    const names = [...(output.MetricAlarms ?? []), ...(output.CompositeAlarms ?? [])].flatMap((alarm) =>
      alarm.AlarmName === undefined ? [] : [alarm.AlarmName],
    );
    return { alarmNames: names, ...(output.NextToken ? { nextToken: output.NextToken } : {}) };
  };
}

export interface AlarmLookupOptions {
  /** `MaxRecords` of each request (1 to 100). @default 100 */
  readonly pageSize?: number;
}

/**
 * The names among `names` that exist as alarms: one request per 100 distinct names, plus one per
 * further page.
 */
export function createAlarmLookup(
  describePage: DescribeAlarmsPageFn,
  options: AlarmLookupOptions = {},
): (names: readonly string[], signal: AbortSignal) => Promise<ReadonlySet<string>> {
  const pageSize = options.pageSize ?? MAX_ALARM_NAMES_PER_REQUEST;
  if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > MAX_ALARM_NAMES_PER_REQUEST) {
    throw new RangeError(`pageSize must be an integer from 1 to ${MAX_ALARM_NAMES_PER_REQUEST}`);
  }
  return async (names, signal) => {
    const wanted = [...new Set(names)];
    const existing = new Set<string>();
    for (let start = 0; start < wanted.length; start += MAX_ALARM_NAMES_PER_REQUEST) {
      const batch = wanted.slice(start, start + MAX_ALARM_NAMES_PER_REQUEST);
      let nextToken: string | undefined;
      do {
        const page = await describePage(
          { alarmNames: batch, maxRecords: pageSize, ...definedProps({ nextToken }) },
          signal,
        );
        // Only the names asked for count, whatever a page holds.
        for (const name of page.alarmNames) if (batch.includes(name)) existing.add(name);
        nextToken = page.nextToken;
      } while (nextToken !== undefined);
    }
    return existing;
  };
}
