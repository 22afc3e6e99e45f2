/**
 * The local run's output: the story as plain text for a terminal (colour only when asked), or one JSON
 * object for machines. Pure functions of a `LocalRunOutcome`.
 */
import { styleText } from 'node:util';
import { safeError } from '../../functions/commons/domain/decide.ts';
import type { Intake } from '../../functions/commons/domain/events.ts';
import type { RolloutLookup } from '../../functions/commons/domain/ports.ts';
import type { TargetResultKind } from '../../functions/commons/domain/results.ts';
import { definedProps } from '../../functions/commons/optional.ts';
import type { PackageRollout } from '../../functions/commons/store/model.ts';
import * as z from '../../functions/commons/validation.ts';
import { STORE_PATH_PREFIX } from '../store-simulator/routes.ts';
import {
  SAMPLE_PENDING_SUBMISSION_ID,
  SAMPLE_PUBLISHED_SUBMISSION_ID,
  SAMPLE_TENANT,
} from '../store-simulator/sample-state.ts';
import type { RecordedRequest } from '../store-simulator/types.ts';
import type { LocalRunOutcome } from './local-run.ts';
import type { StoryEvent } from './narrate.ts';

export interface RenderOptions {
  /** ANSI colours (only for a terminal that wants them). @default false */
  readonly color?: boolean;
}

const RESULT_WORDS: Record<TargetResultKind, string> = {
  halted: 'HALTED',
  'would-halt': 'WOULD HALT (dry run: nothing changed)',
  'already-halted': 'ALREADY HALTED (nothing changed)',
  'no-active-rollout': 'NO ACTIVE ROLLOUT (nothing to halt)',
  failed: 'FAILED',
};

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

/** One line per step, stamped with the time since the event was handed over; HTTP round trips indented. */
function renderTimeline(outcome: LocalRunOutcome): string[] {
  type Line = { readonly at: number; readonly text: string };
  const lines: Line[] = [{ at: outcome.startedAt, text: describeArrival(outcome) }];
  for (const event of outcome.events) {
    for (const text of describeEvent(event, outcome)) lines.push({ at: event.at, text });
  }
  for (const request of outcome.requests) {
    lines.push({ at: request.startedAt, text: `    ${describeRequest(request)}` });
  }
  // Stable: the narration of a step keeps its place before the requests it caused.
  lines.sort((a, b) => a.at - b.at);
  return lines.map(
    ({ at, text }) => `  +${String(Math.max(0, Math.round(at - outcome.startedAt))).padStart(5)} ms  ${text}`,
  );
}

function describeArrival(outcome: LocalRunOutcome): string {
  const intake: Intake | undefined = outcome.intake;
  if (intake === undefined) return 'event received: the watchdog cannot read it (see the result)';
  if (intake.kind === 'manual') {
    const reason = intake.reason === undefined ? 'no reason given' : `reason "${intake.reason}"`;
    const asked = intake.enforce ? 'it says "dryRun": false (halt)' : 'no "dryRun": false, so a dry run';
    return `manual event received for ${intake.applicationId} (${reason}); ${asked}`;
  }
  return intake.alarms
    .map(
      (alarm) =>
        `alarm received: "${alarm.alarmName}" went ${alarm.previousState ?? '?'} -> ${alarm.newState} ` +
        `(delivered by ${alarm.source === 'sns' ? 'SNS' : 'EventBridge'})`,
    )
    .join('; ');
}

const decisionLogSchema = z.object({
  applicationId: z.string(),
  flightId: z.optional(z.string()),
  submissionId: z.optional(z.string()),
  result: z.enum(['failed', 'would-halt', 'halted', 'already-halted', 'no-active-rollout']),
  error: z.optional(z.object({ code: z.string(), message: z.string() })),
});

function describeEvent(event: StoryEvent, outcome: LocalRunOutcome): string[] {
  switch (event.kind) {
    case 'log':
      return describeLog(event, outcome);
    case 'lookup-start': {
      const flights =
        event.flights === undefined
          ? ''
          : event.flights === 'all'
            ? ' and every package flight'
            : ` and ${event.flights.length} package flight(s)`;
      return [`asking the Store which rollout of ${event.applicationId} is live (main rollout${flights})`];
    }
    case 'lookup-done':
      return event.lookups.map(describeLookup);
    case 'halt-start':
      return [`halting the ${which(event.found.ref)} on submission ${event.found.ref.submissionId}`];
    case 'halt-done':
      switch (event.outcome.result) {
        case 'halted':
          return [`halted: the ${which(event.outcome.ref)} is stopped`];
        case 'already-halted':
          return [`already halted: someone stopped the ${which(event.outcome.ref)} first`];
        case 'no-active-rollout':
          return [`nothing halted: the rollout is now ${event.outcome.rollout.packageRolloutStatus}`];
      }
      return [];
    case 'halt-failed': {
      const { code, message } = safeError(event.error);
      return [`the halt failed: ${code}: ${message}`];
    }
    case 'published':
      return [
        `notification published: "${event.notification.subject}" (printed below; deployed, it goes to the SNS topic)`,
      ];
  }
}

function describeLog(event: Extract<StoryEvent, { kind: 'log' }>, outcome: LocalRunOutcome): string[] {
  if (event.message === 'event accepted') {
    const plan = outcome.report?.plan;
    if (plan === undefined) return ['event accepted'];
    return plan.apps.map(
      (planned) =>
        `acting on ${planned.app.name ?? planned.app.applicationId} (${planned.app.applicationId}): ` +
        `${planned.dryRun ? 'dry run' : 'enforce'}, because ${planned.why}`,
    );
  }
  if (event.message === 'event ignored') {
    return [`event ignored: ${outcome.result?.ignored ?? 'nothing to do'}`];
  }
  if (event.message === 'rollout decision' || event.message === 'rollout decision failed') {
    const parsed = decisionLogSchema.safeParse(event.attributes);
    if (!parsed.success) return [event.message];
    const decision = parsed.data;
    const error = decision.error === undefined ? '' : `: ${decision.error.code}: ${decision.error.message}`;
    return [`decision for the ${which(decision)}: ${RESULT_WORDS[decision.result]}${error}`];
  }
  if (event.level === 'info') return [];
  return [`${event.level === 'warn' ? 'warning' : 'error'}: ${event.message}`];
}

function describeLookup(lookup: RolloutLookup): string {
  switch (lookup.state) {
    case 'in-progress':
      return (
        `found the live ${which(lookup.ref)}: submission ${lookup.ref.submissionId}, ` +
        `in progress at ${formatPercent(lookup.rollout.packageRolloutPercentage)} (fallback ${lookup.rollout.fallbackSubmissionId})`
      );
    case 'stopped':
      return `found the ${which(lookup.ref)}: submission ${lookup.ref.submissionId}, its rollout is already stopped`;
    case 'none':
      return `nothing to halt on the ${which(lookup)}: ${lookup.reason}`;
    case 'failed': {
      const { code, message } = safeError(lookup.error);
      return `could not read the ${which(lookup)}: ${code}: ${message}`;
    }
  }
}

function which(target: { readonly flightId?: string | undefined }): string {
  return target.flightId === undefined ? 'main rollout' : `package flight ${target.flightId} rollout`;
}

function describeRequest(request: RecordedRequest): string {
  const where =
    request.kind === 'token'
      ? `Azure AD  ${request.method} ${request.path.replace(/^\//, '')}`
      : `Store     ${request.method} ${request.path.startsWith(STORE_PATH_PREFIX) ? request.path.slice(STORE_PATH_PREFIX.length) : request.path}`;
  if (request.status === undefined || request.endedAt === undefined) return `${where} -> no answer`;
  const answer = `${where} -> ${request.status} (${Math.round(request.endedAt - request.startedAt)} ms)`;
  if (request.status === 429)
    return `${answer}: throttled; the client waits as Retry-After says, then asks again`;
  if (request.status >= 500 && request.method === 'POST') {
    return `${answer}: the halt may have taken effect; the client reads the rollout before any second POST`;
  }
  if (request.kind === 'token' && request.status === 200) return `${answer}: an access token`;
  return answer;
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

function formatPercent(percentage: number): string {
  return `${Number.isInteger(percentage) ? percentage : Number(percentage.toFixed(2))}%`;
}

function formatMs(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(2)} s`;
}
