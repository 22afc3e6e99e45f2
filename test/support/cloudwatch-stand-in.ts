/**
 * A loopback stand-in for the two CloudWatch calls moto lacks or answers partly: `DescribeAlarmHistory`
 * (moto has none) and `DescribeAlarms` with composite alarms (moto has no composite alarms).
 *
 * It speaks the wire format the current `@aws-sdk/client-cloudwatch` sends: AWS JSON 1.0 (`POST /` with
 * `Content-Type: application/x-amz-json-1.0` and `X-Amz-Target: GraniteServiceVersion20100801.<Action>`,
 * timestamps as epoch seconds), answering in JSON with `NextToken` paging. A request in another format
 * (the older form-encoded query protocol) gets a 400 that says so, so a change of protocol in the SDK
 * shows up as a failing test rather than a silent mismatch. Requests are not authenticated.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

const TARGET_PREFIX = 'GraniteServiceVersion20100801.';
const ACCOUNT = '123456789012';

/** One alarm state change, as `DescribeAlarmHistory` returns it. */
export interface StandInHistoryItem {
  readonly alarmName: string;
  readonly alarmType?: 'MetricAlarm' | 'CompositeAlarm';
  /** When it happened. */
  readonly timestamp: Date;
  readonly oldState: 'OK' | 'ALARM' | 'INSUFFICIENT_DATA';
  readonly newState: 'OK' | 'ALARM' | 'INSUFFICIENT_DATA';
  readonly reason: string;
  /** Another kind of history item (`ConfigurationUpdate`, `Action`): never a transition. @default 'StateUpdate' */
  readonly itemType?: 'StateUpdate' | 'ConfigurationUpdate' | 'Action';
}

export interface CloudWatchStandInOptions {
  readonly region?: string;
  readonly metricAlarms?: readonly string[];
  /** Composite alarms: name → rule. */
  readonly compositeAlarms?: Readonly<Record<string, string>>;
  readonly history?: readonly StandInHistoryItem[];
  /** The most history items one page holds (AWS: `MaxRecords`, at most 100). @default 100 */
  readonly historyPageSize?: number;
  /** Actions answered with AccessDenied, as for a caller without the permission. @default none */
  readonly deniedActions?: readonly string[];
}

export interface StandInRequest {
  readonly action: string;
  readonly body: Record<string, unknown>;
}

export interface RunningCloudWatchStandIn {
  /** `http://127.0.0.1:PORT`: what `AWS_ENDPOINT_URL` (or `AWS_ENDPOINT_URL_CLOUDWATCH`) is set to. */
  readonly url: string;
  readonly requests: readonly StandInRequest[];
  close(): Promise<void>;
}

/** Starts the stand-in on 127.0.0.1 with a free port. */
export async function startCloudWatchStandIn(
  options: CloudWatchStandInOptions,
): Promise<RunningCloudWatchStandIn> {
  const region = options.region ?? 'us-east-1';
  const arnOf = (name: string) => `arn:aws:cloudwatch:${region}:${ACCOUNT}:alarm:${name}`;
  const requests: StandInRequest[] = [];
  const pageSize = options.historyPageSize ?? 100;

  const handlers: Record<string, (body: Record<string, unknown>) => unknown> = {
    DescribeAlarmHistory(body) {
      const start = typeof body.StartDate === 'number' ? body.StartDate * 1000 : Number.NEGATIVE_INFINITY;
      const end = typeof body.EndDate === 'number' ? body.EndDate * 1000 : Number.POSITIVE_INFINITY;
      const items = (options.history ?? [])
        .filter((item) => body.AlarmName === undefined || item.alarmName === body.AlarmName)
        .filter(
          (item) =>
            body.HistoryItemType === undefined || (item.itemType ?? 'StateUpdate') === body.HistoryItemType,
        )
        .filter((item) => item.timestamp.getTime() >= start && item.timestamp.getTime() <= end)
        .sort((a, b) =>
          body.ScanBy === 'TimestampAscending'
            ? a.timestamp.getTime() - b.timestamp.getTime()
            : b.timestamp.getTime() - a.timestamp.getTime(),
        );
      const limit = Math.min(pageSize, typeof body.MaxRecords === 'number' ? body.MaxRecords : 100);
      const offset = typeof body.NextToken === 'string' ? Number(body.NextToken) : 0;
      const page = items.slice(offset, offset + limit);
      const next = offset + limit;
      return {
        AlarmHistoryItems: page.map((item) => ({
          AlarmName: item.alarmName,
          AlarmType: item.alarmType ?? 'MetricAlarm',
          Timestamp: item.timestamp.getTime() / 1000,
          HistoryItemType: item.itemType ?? 'StateUpdate',
          HistorySummary: `Alarm updated from ${item.oldState} to ${item.newState}`,
          HistoryData: JSON.stringify({
            version: '1.0',
            oldState: { stateValue: item.oldState, stateReason: 'previous' },
            newState: { stateValue: item.newState, stateReason: item.reason },
          }),
        })),
        ...(next < items.length ? { NextToken: String(next) } : {}),
      };
    },
    DescribeAlarms(body) {
      const names = Array.isArray(body.AlarmNames) ? body.AlarmNames : undefined;
      const wanted = (name: string) => names === undefined || names.includes(name);
      // Like AWS: without AlarmTypes, only metric alarms.
      const types = Array.isArray(body.AlarmTypes) ? body.AlarmTypes : ['MetricAlarm'];
      const metric = types.includes('MetricAlarm') ? (options.metricAlarms ?? []).filter(wanted) : [];
      const composite = types.includes('CompositeAlarm')
        ? Object.entries(options.compositeAlarms ?? {}).filter(([name]) => wanted(name))
        : [];
      return {
        MetricAlarms: metric.map((name) => ({ AlarmName: name, AlarmArn: arnOf(name), StateValue: 'OK' })),
        CompositeAlarms: composite.map(([name, rule]) => ({
          AlarmName: name,
          AlarmArn: arnOf(name),
          AlarmRule: rule,
          StateValue: 'OK',
        })),
      };
    },
  };

  const reply = (res: ServerResponse, status: number, body: unknown) => {
    const text = JSON.stringify(body);
    res.writeHead(status, {
      'Content-Type': 'application/x-amz-json-1.0',
      'Content-Length': Buffer.byteLength(text),
      'x-amzn-RequestId': randomUUID(),
    });
    res.end(text);
  };

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const target = req.headers['x-amz-target'];
      const contentType = req.headers['content-type'] ?? '';
      if (
        req.method !== 'POST' ||
        typeof target !== 'string' ||
        !contentType.startsWith('application/x-amz-json-1.0')
      ) {
        reply(res, 400, {
          __type: 'InvalidAction',
          message:
            'this stand-in speaks AWS JSON 1.0 only (X-Amz-Target: GraniteServiceVersion20100801.<Action>)',
        });
        return;
      }
      const action = target.startsWith(TARGET_PREFIX) ? target.slice(TARGET_PREFIX.length) : target;
      let body: Record<string, unknown>;
      try {
        const parsed: unknown = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}');
        body = typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) ? { ...parsed } : {};
      } catch {
        reply(res, 400, { __type: 'SerializationException', message: 'the body is not JSON' });
        return;
      }
      requests.push({ action, body });
      if (options.deniedActions?.includes(action)) {
        reply(res, 400, {
          __type: 'AccessDenied',
          message: `User is not authorized to perform: cloudwatch:${action}`,
        });
        return;
      }
      const handler = handlers[action];
      if (handler === undefined) {
        reply(res, 400, { __type: 'InvalidAction', message: `${action} is not served by this stand-in` });
        return;
      }
      reply(res, 200, handler(body));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const { port } =
    address !== null && typeof address === 'object'
      ? address
      : ({ port: 0 } satisfies Pick<AddressInfo, 'port'>);
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}
