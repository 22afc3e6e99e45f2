/**
 * The alarm lookup: batching and paging against a fake `DescribeAlarms` that enforces the API's limits
 * (moto neither limits `AlarmNames` nor pages), and the real adapter against moto.
 */
import { randomUUID } from 'node:crypto';
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { describe, expect, it } from 'vitest';
import {
  createAlarmLookup,
  type DescribeAlarmsPageFn,
  type DescribeAlarmsPageRequest,
  describeAlarmsPageWith,
} from '../../../../functions/commons/aws/alarms.ts';
import { describeWithMoto, MOTO_SKIP_REASON, motoClientConfig } from '../../../support/aws.ts';
import { putAlarm } from '../../self-check/self-check-harness.ts';

/**
 * `DescribeAlarms` as AWS documents it: at most 100 names, at most `MaxRecords` alarms a page, and a
 * `NextToken` (here the offset) while more remain.
 */
function fakeDescribeAlarms(existing: ReadonlySet<string>): {
  describePage: DescribeAlarmsPageFn;
  requests: DescribeAlarmsPageRequest[];
} {
  const requests: DescribeAlarmsPageRequest[] = [];
  const describePage: DescribeAlarmsPageFn = async (request) => {
    requests.push(request);
    if (request.alarmNames.length > 100)
      throw new Error('ValidationError: AlarmNames has more than 100 members');
    const found = request.alarmNames.filter((name) => existing.has(name));
    const offset = Number(request.nextToken ?? '0');
    const page = found.slice(offset, offset + request.maxRecords);
    const next = offset + request.maxRecords;
    return { alarmNames: page, ...(next < found.length ? { nextToken: String(next) } : {}) };
  };
  return { describePage, requests };
}

const signal = () => AbortSignal.timeout(5_000);
const names = (count: number, prefix = 'alarm') => Array.from({ length: count }, (_, i) => `${prefix}-${i}`);

describe('createAlarmLookup', () => {
  it('asks for at most 100 names a request and returns the ones that exist', async () => {
    const wanted = names(250);
    const existing = new Set(wanted.filter((_, index) => index % 3 !== 0));
    const { describePage, requests } = fakeDescribeAlarms(existing);

    const found = await createAlarmLookup(describePage)(wanted, signal());

    expect([...found].sort()).toEqual([...existing].sort());
    expect(requests.map((request) => request.alarmNames.length)).toEqual([100, 100, 50]);
    expect(requests.every((request) => request.maxRecords === 100)).toBe(true);
  });

  it('follows NextToken to the last page', async () => {
    const wanted = names(7);
    const { describePage, requests } = fakeDescribeAlarms(new Set(wanted));

    const found = await createAlarmLookup(describePage, { pageSize: 3 })(wanted, signal());

    expect(found).toEqual(new Set(wanted));
    expect(requests.map((request) => request.nextToken)).toEqual([undefined, '3', '6']);
  });

  it('asks for each name once, and counts only names it asked for', async () => {
    const requests: DescribeAlarmsPageRequest[] = [];
    const describePage: DescribeAlarmsPageFn = async (request) => {
      requests.push(request);
      return { alarmNames: ['a', 'someone-elses'] };
    };

    const found = await createAlarmLookup(describePage)(['a', 'b', 'a'], signal());

    expect(found).toEqual(new Set(['a']));
    expect(requests.map((request) => request.alarmNames)).toEqual([['a', 'b']]);
  });

  it('refuses a page size outside 1 to 100', () => {
    const { describePage } = fakeDescribeAlarms(new Set());

    expect(() => createAlarmLookup(describePage, { pageSize: 0 })).toThrow(RangeError);
    expect(() => createAlarmLookup(describePage, { pageSize: 101 })).toThrow(RangeError);
  });
});

describeWithMoto(`describeAlarmsPageWith, against moto${MOTO_SKIP_REASON}`, () => {
  it('finds the alarms that exist among the names asked for', async () => {
    const cloudWatch = new CloudWatchClient(motoClientConfig());
    const prefix = `self-check-lookup-${randomUUID()}`;
    await putAlarm(cloudWatch, `${prefix}-crash-rate`);
    await putAlarm(cloudWatch, `${prefix}-sessions`);

    const found = await createAlarmLookup(describeAlarmsPageWith(cloudWatch))(
      [`${prefix}-crash-rate`, `${prefix}-deleted`, `${prefix}-sessions`],
      signal(),
    );

    expect(found).toEqual(new Set([`${prefix}-crash-rate`, `${prefix}-sessions`]));
  });

  it("turns a failed request into ALARMS_UNREADABLE, with the SDK's own message and the error's name", async () => {
    const unreachable = new CloudWatchClient({
      ...motoClientConfig(),
      endpoint: 'http://127.0.0.1:9',
      maxAttempts: 1,
    });

    const failure = await createAlarmLookup(describeAlarmsPageWith(unreachable))(['any'], signal()).catch(
      (error: unknown) => error,
    );

    expect(failure).toMatchObject({ code: 'ALARMS_UNREADABLE', retryable: true });
    expect(failure).toHaveProperty(
      'message',
      expect.stringMatching(/^CloudWatch DescribeAlarms failed: .*ECONNREFUSED.* \(\w+\)$/),
    );
  });
});
