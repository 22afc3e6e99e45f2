/**
 * `store-watchdog replay`: what would the watchdog have done over the alarms' past? For each transition
 * into ALARM of a watched alarm (CloudWatch `DescribeAlarmHistory`, or a saved history file), the decision
 * the current config gives each app it reaches, with the Lambda's own target resolution. No Store call,
 * nothing changed: the way to decide when to leave dry run.
 */
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { indexAppsByAlarm } from '../../functions/commons/config/env.ts';
import type { AlarmTransition } from '../../functions/commons/domain/events.ts';
import { type ReplayReport, replayTransitions } from '../../functions/commons/domain/replay.ts';
import { ConfigurationError } from '../../functions/commons/errors.ts';
import { definedProps } from '../../functions/commons/optional.ts';
import { parseOrUsage } from '../common.ts';
import { type CliConfig, describeApp, loadCliConfig } from '../config.ts';
import { type CliIo, COMMAND_TIMEOUT_MS, EXIT_OK, UsageError } from '../io.ts';

export const REPLAY_HELP = `Usage: store-watchdog replay [--since 14d] [--history FILE] [--config FILE] [--json]

Replays the state history of every watched alarm against the current config: for each transition into
ALARM, what the watchdog would decide for each app the alarm reaches (halt, would-halt, ignored), with
the alarm, the time and the reason; then a summary. It uses the watchdog's own decision code, calls no
Store API and changes nothing.

Options:
  --since DURATION  how far back to read CloudWatch's alarm history: 90m, 36h, 14d (default 14d; at
                    most 30d, as long as CloudWatch keeps it). With --history, only items this recent
                    are replayed when --since is given.
  --history FILE    read a saved history instead of CloudWatch, as written by
                    aws cloudwatch describe-alarm-history --history-item-type StateUpdate --output json
  --config FILE     the cdk.json whose "watchdog" context is the config to replay (default: ./cdk.json,
                    or WATCHDOG_APPS with DRY_RUN when set)
  --json            {"transitions":[{"time","alarmName","decisions":[{"applicationId","decision"}]}],
                     "summary":{"halt","wouldHalt","ignored"}}
  -h, --help        show this help

Decisions: halt (the alarm halts the app and the app enforces), would-halt (a dry run: DRY_RUN, the
app's mode "dry-run", or a notify-only alarm), ignored (the watchdog would not act; a transition no app
lists counts once as ignored).

CloudWatch is read with the AWS SDK's standard configuration (AWS_PROFILE, AWS_REGION); the caller needs
cloudwatch:DescribeAlarmHistory (on * to see composite alarms).

Exit status: 0 done, 1 the history or the config could not be read, 2 usage error.
`;

/** CloudWatch keeps alarm history for 30 days. */
const MAX_SINCE_MS = 30 * 24 * 3_600_000;
const UNIT_MS: Record<string, number> = { m: 60_000, h: 3_600_000, d: 24 * 3_600_000 };
const DEFAULT_SINCE_MS = 14 * 24 * 3_600_000;

/** `--since`: a duration such as `90m`, `36h` or `14d`, at most 30 days; else a usage error. */
export function parseSince(value: string): number {
  const match = /^(\d{1,6})([mhd])$/.exec(value.trim());
  const amount = match?.[1];
  const unit = match?.[2];
  const ms =
    amount === undefined || unit === undefined ? Number.NaN : Number(amount) * (UNIT_MS[unit] ?? Number.NaN);
  if (Number.isNaN(ms) || ms <= 0) {
    throw new UsageError(
      `--since must be a duration such as 90m, 36h or 14d; got ${JSON.stringify(value.slice(0, 40))}`,
      REPLAY_HELP,
    );
  }
  if (ms > MAX_SINCE_MS) {
    throw new UsageError(
      '--since must be at most 30d: CloudWatch keeps alarm history for 30 days',
      REPLAY_HELP,
    );
  }
  return ms;
}

export async function runReplay(argv: readonly string[], io: CliIo): Promise<number> {
  const { values } = parseOrUsage(
    () =>
      parseArgs({
        args: [...argv],
        options: {
          since: { type: 'string' },
          history: { type: 'string' },
          config: { type: 'string' },
          json: { type: 'boolean' },
          help: { type: 'boolean', short: 'h' },
        },
        strict: true,
        allowPositionals: false,
      }),
    REPLAY_HELP,
  );
  if (values.help === true) {
    io.stdout.write(REPLAY_HELP);
    return EXIT_OK;
  }
  const sinceMs = values.since === undefined ? undefined : parseSince(values.since);
  const config = await loadCliConfig(definedProps({ configFile: values.config }), io);
  const watched = [...new Set(config.apps.flatMap((app) => [...app.alarmNames, ...app.notifyAlarmNames]))];
  const now = new Date();

  let history: AlarmTransition[];
  let from: string;
  if (values.history !== undefined) {
    const file = resolve(io.cwd ?? process.cwd(), values.history);
    history = await readHistoryFile(file);
    if (sinceMs !== undefined) {
      const start = now.getTime() - sinceMs;
      history = history.filter((transition) => Date.parse(transition.time) >= start);
    }
    from = `the saved history ${file}`;
  } else {
    const start = new Date(now.getTime() - (sinceMs ?? DEFAULT_SINCE_MS));
    history = await readCloudWatchHistory(watched, start, now);
    from = `CloudWatch alarm history since ${start.toISOString()} (${watched.length} watched alarm(s))`;
  }

  const report = replayTransitions(history, {
    apps: config.apps,
    alarmIndex: indexAppsByAlarm(config.apps),
    dryRun: config.dryRun,
  });
  io.stdout.write(
    values.json === true ? `${JSON.stringify(toJson(report))}\n` : formatReport(report, config, from),
  );
  return EXIT_OK;
}

async function readHistoryFile(file: string): Promise<AlarmTransition[]> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    const code = error instanceof Error && 'code' in error ? String(error.code) : 'unreadable';
    throw new ConfigurationError('HISTORY_UNREADABLE', `--history ${file} cannot be read (${code})`);
  }
  const { parseSavedHistory } = await import('../../functions/commons/aws/alarm-history.ts');
  return parseSavedHistory(text, file);
}

async function readCloudWatchHistory(
  alarmNames: readonly string[],
  start: Date,
  end: Date,
): Promise<AlarmTransition[]> {
  // Loaded only here: the SDK is the slowest import of the CLI.
  const [{ CloudWatchClient }, { readAlarmHistory }] = await Promise.all([
    import('@aws-sdk/client-cloudwatch'),
    import('../../functions/commons/aws/alarm-history.ts'),
  ]);
  const client = new CloudWatchClient({});
  try {
    return await readAlarmHistory(
      client,
      { alarmNames, start, end },
      AbortSignal.timeout(COMMAND_TIMEOUT_MS),
    );
  } finally {
    client.destroy();
  }
}

/** Exactly the documented `--json` shape. */
function toJson(report: ReplayReport) {
  return {
    transitions: report.transitions.map((transition) => ({
      time: transition.time,
      alarmName: transition.alarmName,
      decisions: transition.decisions.map((decision) => ({
        applicationId: decision.applicationId,
        decision: decision.decision,
      })),
    })),
    summary: report.summary,
  };
}

function formatReport(report: ReplayReport, config: CliConfig, from: string): string {
  const lines = [
    `Replay of ${from}`,
    `against ${config.source}${config.dryRun ? ' ("dryRun" is true: nothing would halt)' : ''}`,
    '',
  ];
  if (report.transitions.length === 0) lines.push('No watched alarm went into ALARM in this history.', '');
  for (const transition of report.transitions) {
    lines.push(`${transition.time}  ${transition.alarmName} went into ALARM`);
    lines.push(`  reason: ${oneLine(transition.reason)}`);
    if (transition.decisions.length === 0)
      lines.push(`  ignored: ${transition.ignored ?? 'no app lists this alarm'}`);
    for (const decision of transition.decisions) {
      const app = config.apps.find((candidate) => candidate.applicationId === decision.applicationId);
      const name = app === undefined ? decision.applicationId : describeApp(app);
      lines.push(`  ${decision.decision.padEnd(10)}  ${name}: ${oneLine(decision.why)}`);
    }
    lines.push('');
  }
  const { halt, wouldHalt, ignored } = report.summary;
  lines.push(
    `Summary: ${report.transitions.length} transition(s) into ALARM; ${halt} halt, ${wouldHalt} would-halt, ${ignored} ignored.`,
  );
  return `${lines.join('\n')}\n`;
}

function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}
