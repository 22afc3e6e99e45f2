/** The local run's timeline: one line per step of the story and per HTTP round trip it caused. */
import { safeError } from '../../functions/commons/domain/decide.ts';
import type { Intake } from '../../functions/commons/domain/events.ts';
import type { RolloutLookup } from '../../functions/commons/domain/ports.ts';
import type { TargetResultKind } from '../../functions/commons/domain/results.ts';
import * as z from '../../functions/commons/validation.ts';
import { STORE_PATH_PREFIX } from '../store-simulator/routes.ts';
import type { RecordedRequest } from '../store-simulator/types.ts';
import type { LocalRunOutcome } from './local-run.ts';
import type { StoryEvent } from './narrate.ts';

/** One line per step, stamped with the time since the event was handed over; HTTP round trips indented. */
export function renderTimeline(outcome: LocalRunOutcome): string[] {
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

export function which(target: { readonly flightId?: string | undefined }): string {
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

/** What a target's result means, in the words of the story. */
export const RESULT_WORDS: Record<TargetResultKind, string> = {
  halted: 'HALTED',
  'would-halt': 'WOULD HALT (dry run: nothing changed)',
  'already-halted': 'ALREADY HALTED (nothing changed)',
  'no-active-rollout': 'NO ACTIVE ROLLOUT (nothing to halt)',
  failed: 'FAILED',
};

/** `50%`, or `12.35%` rounded to two decimals. */
export function formatPercent(percentage: number): string {
  return `${Number.isInteger(percentage) ? percentage : Number(percentage.toFixed(2))}%`;
}
