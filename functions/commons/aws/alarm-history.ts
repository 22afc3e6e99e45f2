/**
 * Alarm state history, as CloudWatch keeps it: `DescribeAlarmHistory` (`StateUpdate` items, metric and
 * composite alarms, following `NextToken`), or the same items saved with
 * `aws cloudwatch describe-alarm-history --output json`. Each item's `HistoryData` is a JSON string with
 * `oldState` and `newState` (`stateValue`, `stateReason`); both become the domain's `AlarmTransition`.
 *
 * Reading composite alarms' history needs `cloudwatch:DescribeAlarmHistory` on `*` (API reference).
 */
import { type CloudWatchClient, DescribeAlarmHistoryCommand } from '@aws-sdk/client-cloudwatch';
import { ALARM_STATES, type AlarmTransition } from '../domain/events.ts';
import { BadInputError, WatchdogError } from '../errors.ts';
import { definedProps } from '../optional.ts';
import * as z from '../validation.ts';
import { formatIssues } from '../validation.ts';
import { awsErrorDetail } from './aws-errors.ts';

/** One history item, reduced to what a transition needs. */
export interface HistoryItem {
  readonly alarmName: string;
  readonly timestamp: Date;
  readonly historyItemType: string;
  readonly historyData: string;
}

const historyDataSchema = z.object({
  oldState: z.optional(z.object({ stateValue: z.enum(ALARM_STATES), stateReason: z.optional(z.string()) })),
  newState: z.object({ stateValue: z.enum(ALARM_STATES), stateReason: z.optional(z.string()) }),
});

/**
 * The state changes among `items` (other item types are skipped), as transitions. Throws
 * `BadInputError` (`HISTORY_MALFORMED`) naming the item whose `HistoryData` cannot be read.
 */
export function toTransitions(items: readonly HistoryItem[], where = 'AlarmHistoryItems'): AlarmTransition[] {
  return items.flatMap((item, index): AlarmTransition[] => {
    if (item.historyItemType !== 'StateUpdate') return [];
    const at = `${where}[${index}].HistoryData`;
    let data: unknown;
    try {
      data = JSON.parse(item.historyData);
    } catch {
      throw new BadInputError(
        'HISTORY_MALFORMED',
        `${at} is not JSON; expected {"oldState": ..., "newState": ...}`,
      );
    }
    const parsed = historyDataSchema.safeParse(data);
    if (!parsed.success) throw new BadInputError('HISTORY_MALFORMED', formatIssues(at, parsed.error));
    const { oldState, newState } = parsed.data;
    return [
      {
        alarmName: item.alarmName,
        newState: newState.stateValue,
        ...(oldState === undefined ? {} : { previousState: oldState.stateValue }),
        reason: newState.stateReason ?? '',
        time: item.timestamp.toISOString(),
        // Replayed as the EventBridge rule would have delivered it (the path that watches every alarm).
        source: 'eventbridge',
      },
    ];
  });
}

const savedHistorySchema = z.object({
  AlarmHistoryItems: z.array(
    z.object({
      AlarmName: z.string().check(z.minLength(1)),
      Timestamp: z
        .string()
        .check(z.refine((value) => !Number.isNaN(Date.parse(value)), 'must be a date and time (ISO 8601)')),
      HistoryItemType: z.string(),
      HistoryData: z.string(),
    }),
  ),
});

/**
 * Parses the output of `aws cloudwatch describe-alarm-history --output json`. Throws `BadInputError`
 * (`HISTORY_MALFORMED`) naming `file` and the field that is wrong.
 */
export function parseSavedHistory(text: string, file: string): AlarmTransition[] {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new BadInputError(
      'HISTORY_MALFORMED',
      `${file} is not JSON; save it with: aws cloudwatch describe-alarm-history --history-item-type StateUpdate --output json > ${file}`,
    );
  }
  const parsed = savedHistorySchema.safeParse(json);
  if (!parsed.success) {
    throw new BadInputError(
      'HISTORY_MALFORMED',
      `${file} is not a describe-alarm-history output ({"AlarmHistoryItems": [...]}): ${formatIssues('$', parsed.error).replaceAll('$.', '').replaceAll('$: ', 'the file: ')}`,
    );
  }
  return toTransitions(
    parsed.data.AlarmHistoryItems.map((item) => ({
      alarmName: item.AlarmName,
      timestamp: new Date(item.Timestamp),
      historyItemType: item.HistoryItemType,
      historyData: item.HistoryData,
    })),
    `${file}: AlarmHistoryItems`,
  );
}

export interface HistoryQuery {
  readonly alarmNames: readonly string[];
  readonly start: Date;
  readonly end: Date;
}

/**
 * Reads the `StateUpdate` history of each alarm from CloudWatch (metric and composite), every page.
 * Throws `WatchdogError` (`ALARM_HISTORY_UNREADABLE`) naming the alarm when CloudWatch refuses.
 */
export async function readAlarmHistory(
  client: CloudWatchClient,
  query: HistoryQuery,
  signal: AbortSignal,
): Promise<AlarmTransition[]> {
  const transitions: AlarmTransition[] = [];
  for (const alarmName of new Set(query.alarmNames)) {
    let nextToken: string | undefined;
    do {
      const output = await client
        .send(
          new DescribeAlarmHistoryCommand({
            AlarmName: alarmName,
            AlarmTypes: ['MetricAlarm', 'CompositeAlarm'],
            HistoryItemType: 'StateUpdate',
            StartDate: query.start,
            EndDate: query.end,
            ScanBy: 'TimestampAscending',
            MaxRecords: 100,
            ...definedProps({ NextToken: nextToken }),
          }),
          { abortSignal: signal },
        )
        .catch((error: unknown) => {
          throw new WatchdogError(
            'upstream',
            'ALARM_HISTORY_UNREADABLE',
            `CloudWatch DescribeAlarmHistory failed for ${alarmName}${awsErrorDetail(
              error,
              'cloudwatch:DescribeAlarmHistory (on * for composite alarms)',
            )}`,
            { cause: error, retryable: true },
          );
        });
      const items = (output.AlarmHistoryItems ?? []).flatMap((item): HistoryItem[] =>
        item.AlarmName === undefined || item.Timestamp === undefined || item.HistoryData === undefined
          ? []
          : [
              {
                alarmName: item.AlarmName,
                timestamp: item.Timestamp,
                historyItemType: item.HistoryItemType ?? 'StateUpdate',
                historyData: item.HistoryData,
              },
            ],
      );
      transitions.push(...toTransitions(items, `${alarmName}: AlarmHistoryItems`));
      nextToken = output.NextToken === undefined || output.NextToken === '' ? undefined : output.NextToken;
    } while (nextToken !== undefined);
  }
  return transitions;
}
