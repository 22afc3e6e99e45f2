/**
 * The local run's output: the story as plain text for a terminal (colour only when asked), or one JSON
 * object for machines. Pure functions of a `LocalRunOutcome`.
 */
import { styleText } from 'node:util';
import { definedProps } from '../../functions/commons/optional.ts';
import type { PackageRollout } from '../../functions/commons/store/model.ts';
import {
  SAMPLE_PENDING_SUBMISSION_ID,
  SAMPLE_PUBLISHED_SUBMISSION_ID,
  SAMPLE_TENANT,
} from '../store-simulator/sample-state.ts';
import type { LocalRunOutcome } from './local-run.ts';
import { formatPercent, RESULT_WORDS, renderTimeline, which } from './render-timeline.ts';

export interface RenderOptions {
  /** ANSI colours (only for a terminal that wants them). @default false */
  readonly color?: boolean;
}

/** The whole story as text, ending with a newline. */
export function renderStory(outcome: LocalRunOutcome, options: RenderOptions = {}): string {
  const paint = (format: Parameters<typeof styleText>[0], text: string) =>
    options.color === true ? styleText(format, text, { validateStream: false }) : text;
  const heading = (text: string) => paint('bold', text);

  const title = `Store rollout watchdog - local run (${outcome.scenario.title})`;
  const lines: string[] = [heading(title), '='.repeat(title.length), ''];

  lines.push(heading('Setup'), ...renderSetup(outcome), '');
  lines.push(heading('What the watchdog did'), ...renderTimeline(outcome), '');
  lines.push(heading('Result'), ...renderResult(outcome), '');
  lines.push(...renderNotification(outcome, heading), '');

  if (outcome.ok) {
    lines.push(paint('green', `OK: ${describeSuccess(outcome)}`));
  } else {
    lines.push(paint('red', 'PROBLEM: the story did not end as expected:'));
    for (const problem of outcome.problems) lines.push(paint('red', `  - ${problem}`));
  }
  return `${lines.join('\n')}\n`;
}

/** The outcome as one JSON object (what `--json` prints), ending with a newline. */
export function renderJson(outcome: LocalRunOutcome): string {
  const json = {
    ok: outcome.ok,
    problems: outcome.problems,
    scenario: outcome.scenario.title,
    dryRun: outcome.config.dryRun,
    ...definedProps({ result: outcome.result, error: outcome.error }),
    ...(outcome.notification === undefined
      ? {}
      : {
          notification: {
            subject: outcome.notification.subject,
            outcome: outcome.notification.outcome,
            text: outcome.notification.text,
          },
        }),
    store: {
      submissionId: SAMPLE_PUBLISHED_SUBMISSION_ID,
      before: outcome.before.rollout,
      after: outcome.after.rollout,
      effectiveHalts: outcome.after.effectiveHalts - outcome.before.effectiveHalts,
    },
    requests: outcome.requests.map((request) => ({
      kind: request.kind,
      method: request.method,
      path: request.path,
      status: request.status ?? null,
      ms: request.endedAt === undefined ? null : Math.round(request.endedAt - request.startedAt),
    })),
    elapsedMs: Math.round(outcome.elapsedMs),
  };
  return `${JSON.stringify(json, null, 2)}\n`;
}

// ---------------------------------------------------------------------------------------------------

function renderSetup(outcome: LocalRunOutcome): string[] {
  const { before, config, scenario } = outcome;
  const row = (label: string, value: string) => `  ${label.padEnd(15)}${value}`;
  const apps = config.apps.map(
    (app) =>
      `${app.name ?? app.applicationId} (${app.applicationId}), alarm ${app.alarmNames.map((name) => `"${name}"`).join(', ')}, mode ${app.mode}`,
  );
  return [
    row('Config', "this run's own sample config, not your cdk.json"),
    row('Store API', `simulator on ${outcome.simulatorUrl} (no AWS account, no network)`),
    row(
      'Credentials',
      `the simulator's sample tenant ${SAMPLE_TENANT.tenantId} (instead of Secrets Manager)`,
    ),
    ...apps.map((app, index) => row(index === 0 ? 'Watched' : '', app)),
    row(
      '"dryRun"',
      config.dryRun
        ? 'true (--dry-run: decide and report, never halt)'
        : 'false in this run, so it halts (cdk.json\'s "dryRun" is for the deployed watchdog)',
    ),
    row(
      'In the Store',
      `submission ${SAMPLE_PUBLISHED_SUBMISSION_ID} (Published) ${describeRollout(before.rollout)}`,
    ),
    row(
      '',
      `pending submission ${SAMPLE_PENDING_SUBMISSION_ID} (${before.pending.status}, rollout not started): must never be halted`,
    ),
    row('Event', scenario.eventLabel),
    ...scenario.faults.map((fault, index) => row(index === 0 ? 'Faults' : '', fault)),
    ...(outcome.latencyMs > 0 ? [row('Latency', `${outcome.latencyMs} ms on every answer`)] : []),
  ];
}

function describeRollout(rollout: PackageRollout): string {
  if (!rollout.isPackageRollout) return 'without a gradual rollout';
  switch (rollout.packageRolloutStatus) {
    case 'PackageRolloutInProgress':
      return `rolling out to ${formatPercent(rollout.packageRolloutPercentage)} of customers (fallback ${rollout.fallbackSubmissionId})`;
    case 'PackageRolloutStopped':
      return `with its rollout halted (fallback ${rollout.fallbackSubmissionId})`;
    case 'PackageRolloutComplete':
      return 'with its rollout complete';
    case 'PackageRolloutNotStarted':
      return 'with its rollout not started';
  }
}

function renderResult(outcome: LocalRunOutcome): string[] {
  const lines: string[] = [];
  const row = (label: string, value: string) => `  ${label.padEnd(15)}${value}`;
  if (outcome.result?.ignored !== undefined) lines.push(row('Ignored', outcome.result.ignored));
  if (outcome.error !== undefined)
    lines.push(row('Error', `${outcome.error.code}: ${outcome.error.message}`));

  const details = outcome.report?.run?.details ?? [];
  outcome.result?.targets.forEach((target, index) => {
    const detail = details[index];
    const name = detail?.planned.app.name ?? target.applicationId;
    const found =
      target.rolloutPercentage === undefined ? '' : `, ${formatPercent(target.rolloutPercentage)} when found`;
    lines.push(
      row(
        index === 0 ? 'Rollouts' : '',
        `${name} (${target.applicationId}) ${which(target)}: ${RESULT_WORDS[target.result]}` +
          `${target.submissionId === undefined ? '' : `, submission ${target.submissionId}`}${found}`,
      ),
    );
    if (detail !== undefined && target.result === 'halted') {
      lines.push(row('Time to halt', `${formatMs(detail.elapsedMs)} from the start of the decision`));
    }
  });

  const published = outcome.events.find((event) => event.kind === 'published');
  lines.push(
    row(
      'Took',
      published === undefined
        ? `${formatMs(outcome.elapsedMs)} in all`
        : `${formatMs(published.at - outcome.startedAt)} from the event to the notification`,
    ),
  );
  const { before, after } = outcome;
  lines.push(
    row('Store after', `submission ${SAMPLE_PUBLISHED_SUBMISSION_ID} ${describeRollout(after.rollout)}`),
    row(
      '',
      `pending submission ${SAMPLE_PENDING_SUBMISSION_ID}: ${after.pending.status}, rollout ${after.pending.rollout.packageRolloutStatus}` +
        (after.pending.rollout.packageRolloutStatus === before.pending.rollout.packageRolloutStatus
          ? ' (untouched)'
          : ' (CHANGED)'),
    ),
    row('', `halts that took effect: ${after.effectiveHalts - before.effectiveHalts}`),
  );
  const tokens = outcome.requests.filter((request) => request.kind === 'token').length;
  lines.push(
    row('Round trips', `${tokens} to Azure AD, ${outcome.requests.length - tokens} to the Store API`),
  );
  return lines;
}

function renderNotification(outcome: LocalRunOutcome, heading: (text: string) => string): string[] {
  const notification = outcome.notification;
  if (notification === undefined) {
    return [
      heading('Notification'),
      outcome.result?.ignored === undefined
        ? '  none: the event was rejected before anything was called'
        : '  none: an ignored event publishes nothing',
    ];
  }
  return [
    heading('The notification a person receives (e-mail through the SNS topic)'),
    `  Subject: ${notification.subject}`,
    '',
    ...notification.text
      .trimEnd()
      .split('\n')
      .map((line) => (line === '' ? '' : `  ${line}`)),
  ];
}

function describeSuccess(outcome: LocalRunOutcome): string {
  const expected = outcome.scenario.expected;
  if (expected === undefined) return 'the event was handled without a failure.';
  switch (expected.result) {
    case 'halted':
      return `the crash signal halted the live rollout exactly once, ${formatMs(timeToHalt(outcome))} into the decision; the pending submission was left alone.`;
    case 'would-halt':
      return 'dry run: the watchdog found the live rollout, said it would halt it, and changed nothing.';
    case 'already-halted':
      return 'the rollout was already stopped; the watchdog changed nothing and said so.';
    default:
      return `the main rollout ended ${expected.result}, as expected.`;
  }
}

function timeToHalt(outcome: LocalRunOutcome): number {
  const details = outcome.report?.run?.details ?? [];
  const targets = outcome.result?.targets ?? [];
  const index = targets.findIndex((target) => target.result === 'halted');
  return details[index]?.elapsedMs ?? outcome.elapsedMs;
}

function formatMs(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(2)} s`;
}
