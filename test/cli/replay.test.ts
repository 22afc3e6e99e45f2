/**
 * `store-watchdog replay`: the decisions the current config gives past transitions into ALARM, from a
 * saved history (fixtures) and from CloudWatch (a loopback stand-in speaking the SDK's wire format, with
 * paging: moto has no DescribeAlarmHistory). No Store call is ever made (no Store is configured).
 */
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { type RunningCloudWatchStandIn, startCloudWatchStandIn } from '../support/cloudwatch-stand-in.ts';
import { runCliCaptured, writeCdkJson } from './support.ts';

const HISTORY = new URL('../fixtures/alarm-history/describe-alarm-history.json', import.meta.url).pathname;
const PHOTOS = '9NBLGGH4R315';
const MUSIC = '9WZDNCRFJ3TJ';

/** Photos enforces: the composite halts, the crash rate and the warning only notify. Music is in dry run and halts on the crash rate. */
const CONFIG = {
  dryRun: false,
  apps: [
    {
      applicationId: PHOTOS,
      name: 'Contoso Photos',
      alarmNames: [
        { alarmName: 'contoso-photos-crash-warning', action: 'notify' },
        { alarmName: 'contoso-photos-crash-rate', action: 'notify' },
        { alarmName: 'contoso-photos-hang-rate', action: 'notify' },
      ],
      composites: [
        {
          alarmName: 'contoso-photos-corroborated',
          allOf: ['contoso-photos-crash-rate', 'contoso-photos-hang-rate'],
        },
      ],
    },
    {
      applicationId: MUSIC,
      name: 'Contoso Music',
      mode: 'dry-run',
      alarmNames: ['contoso-photos-crash-rate'],
    },
  ],
};

async function replay(args: string[], config: unknown = CONFIG) {
  const folder = await writeCdkJson(config);
  return runCliCaptured(['replay', ...args], {}, folder);
}

describe('store-watchdog replay --history FILE', () => {
  it('prints exactly the documented JSON: each transition into ALARM, oldest first, with each app it reaches', async () => {
    const { code, stdout, stderr } = await replay(['--history', HISTORY, '--json']);

    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(JSON.parse(stdout)).toEqual({
      transitions: [
        {
          time: '2026-11-18T14:02:33.917Z',
          alarmName: 'contoso-photos-crash-warning',
          decisions: [{ applicationId: PHOTOS, decision: 'would-halt' }],
        },
        { time: '2026-11-19T21:10:51.330Z', alarmName: 'contoso-music-crash-rate', decisions: [] },
        {
          time: '2026-11-20T09:31:07.582Z',
          alarmName: 'contoso-photos-crash-rate',
          decisions: [
            { applicationId: PHOTOS, decision: 'would-halt' },
            { applicationId: MUSIC, decision: 'would-halt' },
          ],
        },
        {
          time: '2026-11-21T06:12:40.008Z',
          alarmName: 'contoso-photos-corroborated',
          decisions: [{ applicationId: PHOTOS, decision: 'halt' }],
        },
      ],
      summary: { halt: 1, wouldHalt: 3, ignored: 1 },
    });
  });

  it('prints each transition with its time, alarm, reason and why, then the summary', async () => {
    const { code, stdout } = await replay(['--history', HISTORY]);

    expect(code).toBe(0);
    expect(stdout).toContain('2026-11-21T06:12:40.008Z  contoso-photos-corroborated went into ALARM');
    expect(stdout).toContain(
      'reason: arn:aws:cloudwatch:us-east-1:123456789012:alarm:contoso-photos-hang-rate transitioned to ALARM',
    );
    expect(stdout).toMatch(
      /halt {8}Contoso Photos \(9NBLGGH4R315\): alarm "contoso-photos-corroborated" is in ALARM; the app's mode is "enforce"/,
    );
    expect(stdout).toMatch(/would-halt {2}Contoso Photos \(9NBLGGH4R315\): .*notify-only/);
    expect(stdout).toMatch(
      /would-halt {2}Contoso Music \(9WZDNCRFJ3TJ\): .*the app's "mode" is "dry-run" \(its entry in "apps"\)/,
    );
    expect(stdout).toContain(
      'ignored: no watched app (an entry in "apps") lists the alarm "contoso-music-crash-rate"',
    );
    expect(stdout).toContain('Summary: 4 transition(s) into ALARM; 1 halt, 3 would-halt, 1 ignored.');
  });

  it('turns every halt into would-halt under the global dry run (the sample config ships with it)', async () => {
    const { stdout } = await replay(['--history', HISTORY, '--json'], { ...CONFIG, dryRun: true });

    expect(JSON.parse(stdout).summary).toEqual({ halt: 0, wouldHalt: 4, ignored: 1 });
  });

  it('replays only the items within --since when it is given with a file', async () => {
    const folder = await mkdtemp(join(tmpdir(), 'replay-'));
    const file = join(folder, 'history.json');
    const item = (hoursAgo: number) => ({
      AlarmName: 'contoso-photos-corroborated',
      Timestamp: new Date(Date.now() - hoursAgo * 3_600_000).toISOString(),
      HistoryItemType: 'StateUpdate',
      HistoryData: JSON.stringify({
        oldState: { stateValue: 'OK' },
        newState: { stateValue: 'ALARM', stateReason: 'r' },
      }),
    });
    await writeFile(file, JSON.stringify({ AlarmHistoryItems: [item(1), item(50)] }));

    const { stdout } = await replay(['--history', file, '--since', '2d', '--json']);

    expect(JSON.parse(stdout).transitions).toHaveLength(1);
  });

  it.each([
    [
      'not JSON',
      'not json',
      /history\.json is not JSON; save it with: aws cloudwatch describe-alarm-history/,
    ],
    [
      'without AlarmHistoryItems',
      '{"MetricAlarms": []}',
      /history\.json is not a describe-alarm-history output .*AlarmHistoryItems/,
    ],
    [
      'with an item without HistoryData',
      '{"AlarmHistoryItems":[{"AlarmName":"a","Timestamp":"2026-11-20T09:31:07Z","HistoryItemType":"StateUpdate"}]}',
      /AlarmHistoryItems\[0\]\.HistoryData/,
    ],
    [
      'with HistoryData that is not JSON',
      '{"AlarmHistoryItems":[{"AlarmName":"a","Timestamp":"2026-11-20T09:31:07Z","HistoryItemType":"StateUpdate","HistoryData":"{"}]}',
      /AlarmHistoryItems\[0\]\.HistoryData is not JSON/,
    ],
    [
      'with a bad Timestamp',
      '{"AlarmHistoryItems":[{"AlarmName":"a","Timestamp":"yesterday","HistoryItemType":"StateUpdate","HistoryData":"{}"}]}',
      /AlarmHistoryItems\[0\]\.Timestamp: must be a date and time/,
    ],
  ])('fails with a clear error for a history file %s', async (_label, text, message) => {
    const folder = await mkdtemp(join(tmpdir(), 'replay-'));
    const file = join(folder, 'history.json');
    await writeFile(file, text);

    const { code, stderr, stdout } = await replay(['--history', file]);

    expect(code).toBe(1);
    expect(stdout).toBe('');
    expect(stderr).toMatch(message);
  });

  it('fails with a clear error for a history file that cannot be read', async () => {
    const { code, stderr } = await replay(['--history', '/nonexistent/history.json']);

    expect(code).toBe(1);
    expect(stderr).toContain('--history /nonexistent/history.json cannot be read (ENOENT)');
  });

  it.each(['14', 'two weeks', '0d', '31d', '-1d'])('rejects --since %j as a usage error', async (since) => {
    const { code, stderr } = await replay(['--history', HISTORY, `--since=${since}`]);

    expect(code).toBe(2);
    expect(stderr).toMatch(/--since must be (a duration such as 90m, 36h or 14d|at most 30d)/);
  });
});

describe('store-watchdog replay (CloudWatch DescribeAlarmHistory, loopback stand-in)', () => {
  let standIn: RunningCloudWatchStandIn | undefined;
  beforeEach(() => {
    vi.stubEnv('AWS_REGION', 'us-east-1');
    vi.stubEnv('AWS_ACCESS_KEY_ID', 'testing');
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'testing');
  });
  afterEach(async () => {
    vi.unstubAllEnvs();
    await standIn?.close();
    standIn = undefined;
  });

  const hoursAgo = (hours: number) => new Date(Date.now() - hours * 3_600_000);

  it('reads every page of every watched alarm within --since, composite alarms included, and replays them', async () => {
    standIn = await startCloudWatchStandIn({
      historyPageSize: 2,
      history: [
        ...[30, 20, 10].map((hours) => ({
          alarmName: 'contoso-photos-crash-rate',
          timestamp: hoursAgo(hours),
          oldState: 'OK' as const,
          newState: 'ALARM' as const,
          reason: `breach ${hours}h ago`,
        })),
        {
          alarmName: 'contoso-photos-crash-rate',
          timestamp: hoursAgo(9),
          oldState: 'ALARM',
          newState: 'OK',
          reason: 'recovered',
        },
        {
          alarmName: 'contoso-photos-corroborated',
          alarmType: 'CompositeAlarm',
          timestamp: hoursAgo(5),
          oldState: 'OK',
          newState: 'ALARM',
          reason: 'both children in ALARM',
        },
        {
          alarmName: 'contoso-photos-corroborated',
          timestamp: hoursAgo(4),
          oldState: 'OK',
          newState: 'ALARM',
          reason: 'a configuration change',
          itemType: 'ConfigurationUpdate',
        },
        {
          alarmName: 'contoso-photos-corroborated',
          timestamp: hoursAgo(24 * 20),
          oldState: 'OK',
          newState: 'ALARM',
          reason: 'too old for --since 14d',
        },
        { alarmName: 'not-watched', timestamp: hoursAgo(2), oldState: 'OK', newState: 'ALARM', reason: 'x' },
      ],
    });
    vi.stubEnv('AWS_ENDPOINT_URL_CLOUDWATCH', standIn.url);

    const { code, stdout, stderr } = await replay(['--json']);

    expect(stderr).toBe('');
    expect(code).toBe(0);
    const report = JSON.parse(stdout);
    expect(report.transitions.map((t: { alarmName: string }) => t.alarmName)).toEqual([
      'contoso-photos-crash-rate',
      'contoso-photos-crash-rate',
      'contoso-photos-crash-rate',
      'contoso-photos-corroborated',
    ]);
    expect(report.summary).toEqual({ halt: 1, wouldHalt: 6, ignored: 0 });
    const history = standIn.requests.filter((request) => request.action === 'DescribeAlarmHistory');
    // Four watched alarms; the crash rate's four state changes take two pages of two.
    expect(new Set(history.map((request) => request.body.AlarmName))).toEqual(
      new Set([
        'contoso-photos-crash-warning',
        'contoso-photos-crash-rate',
        'contoso-photos-hang-rate',
        'contoso-photos-corroborated',
      ]),
    );
    expect(history.filter((request) => request.body.NextToken !== undefined)).toHaveLength(1);
    for (const request of history) {
      expect(request.body).toMatchObject({
        HistoryItemType: 'StateUpdate',
        AlarmTypes: ['MetricAlarm', 'CompositeAlarm'],
      });
      const start = Number(request.body.StartDate) * 1000;
      expect(Math.abs(start - (Date.now() - 14 * 24 * 3_600_000))).toBeLessThan(60_000);
    }
  });

  it('uses --since for the start of the history', async () => {
    standIn = await startCloudWatchStandIn({
      history: [
        {
          alarmName: 'contoso-photos-corroborated',
          timestamp: hoursAgo(30),
          oldState: 'OK',
          newState: 'ALARM',
          reason: 'old',
        },
        {
          alarmName: 'contoso-photos-corroborated',
          timestamp: hoursAgo(1),
          oldState: 'OK',
          newState: 'ALARM',
          reason: 'new',
        },
      ],
    });
    vi.stubEnv('AWS_ENDPOINT_URL_CLOUDWATCH', standIn.url);

    const { stdout } = await replay(['--since', '24h', '--json']);

    expect(JSON.parse(stdout).transitions).toHaveLength(1);
  });

  it('fails with an error naming the alarm when CloudWatch refuses', async () => {
    standIn = await startCloudWatchStandIn({ deniedActions: ['DescribeAlarmHistory'] });
    vi.stubEnv('AWS_ENDPOINT_URL_CLOUDWATCH', standIn.url);

    const { code, stderr } = await replay(['--json'], {
      dryRun: true,
      apps: [{ applicationId: PHOTOS, alarmNames: ['contoso-photos-corroborated'] }],
    });

    expect(code).toBe(1);
    expect(stderr).toContain(
      'ALARM_HISTORY_UNREADABLE: CloudWatch DescribeAlarmHistory failed for contoso-photos-corroborated',
    );
  });
});
