/** The notification's plain-text body: what happened and, for each rollout, what to do next. */
import type { PendingApps } from './continuation.ts';
import { redactTokens, type TargetDetail, type WatchdogRun } from './decide.ts';
import type { AlarmTransition } from './events.ts';
import { appName, type Entry, formatPercent, lastSeenWords, partnerCenterUrl } from './notification-entry.ts';
import type { TargetResult, TargetResultKind } from './results.ts';
import type { ActingPlan, PlannedApp, Trigger } from './targets.ts';
import type { AttemptInfo } from './transitions.ts';

export const DRILL_HEADLINE =
  'DRILL: the drill alarm went into ALARM. This is a dry run of the whole path: nothing was halted, ' +
  'and this message proves that an alarm reaches the watchdog and its notification reaches you.';

const HEADLINES: Record<TargetResultKind, string> = {
  failed: 'ACTION NEEDED: the Store watchdog could not halt every rollout it should have. Halt by hand now.',
  'would-halt': 'DRY RUN: the Store watchdog found a rollout it would halt, and left it alone.',
  halted: 'The Store watchdog HALTED a package rollout.',
  'already-halted': 'The rollout was already halted; the Store watchdog changed nothing.',
  'no-active-rollout': 'The Store watchdog found no active rollout to halt; it changed nothing.',
};

const RESULT_LABELS: Record<TargetResultKind, string> = {
  halted: 'HALTED - this invocation halted the rollout',
  'would-halt': 'WOULD HALT - dry run, the rollout was left alone',
  failed: 'FAILED - the watchdog could not establish or change the state',
  'already-halted': 'ALREADY HALTED - the rollout was already stopped',
  'no-active-rollout': 'NO ACTIVE ROLLOUT - nothing to halt',
};

/** The body for an acting plan and its run. */
export function buildText(
  plan: ActingPlan,
  run: WatchdogRun,
  outcome: TargetResultKind,
  entries: readonly Entry[],
  extras: {
    readonly pending: PendingApps | undefined;
    readonly attempt: AttemptInfo | undefined;
    readonly leftOut: readonly string[];
  },
): string {
  const { pending, attempt, leftOut } = extras;
  const lines: string[] = [HEADLINES[outcome], '', 'What happened', ...describeTrigger(plan.trigger), ''];
  if (attempt !== undefined) lines.push(...describeAttempt(attempt, outcome), '');
  if (leftOut.length > 0) {
    lines.push(
      `Left out: ${leftOut.length} app(s) of this storm that the configuration no longer pairs with its alarm (removed from apps, or no longer listing the alarm): ${leftOut.join(', ')}. They were not examined; check them by hand if they still matter.`,
      '',
    );
  }
  if (pending !== undefined) lines.push(...describePending(plan, pending), '');
  for (const entry of entries) lines.push(...describeTarget(entry, plan.trigger), '');
  lines.push(
    `The decision took ${formatMs(run.elapsedMs)} for ${entries.length} rollout(s).`,
    'A halt cannot be undone: customers who already received a halted package keep it.',
  );
  return `${lines.join('\n')}\n`;
}

/** The apps of a storm not reached yet: who they are, where they went, what to do if nothing follows. */
function describePending(plan: ActingPlan, pending: PendingApps): string[] {
  const names = new Map(plan.apps.map((planned) => [planned.app.applicationId, appName(planned)]));
  const listed = pending.applicationIds.map((id) => {
    const name = names.get(id);
    return name === undefined || name === id ? id : `${oneLine(name)} (${id})`;
  });
  return [
    `Still pending: ${pending.applicationIds.length} app(s) this invocation could not reach within the tenant's Store request budget (about 20 requests a minute):`,
    `  ${listed.join(', ')}`,
    `  They were handed on to the next invocation (part ${pending.nextPart} of this storm), which sends its own notification. If none arrives within a few minutes, halt their rollouts by hand in Partner Center.`,
  ];
}

/** What people need to know about the attempt: what was examined again, and what comes next. */
function describeAttempt(attempt: AttemptInfo, outcome: TargetResultKind): string[] {
  const lines = [
    attempt.retry
      ? `Attempt ${attempt.attempt} of ${attempt.of} for this alarm transition: only the rollouts that failed (or were not finished) before were examined again.`
      : `Attempt ${attempt.attempt} of ${attempt.of} for this alarm transition.`,
  ];
  if (outcome !== 'failed') return lines;
  if (attempt.nextInSeconds !== undefined) {
    lines.push(
      `The watchdog will try the failed rollouts once more by itself in about ${attempt.nextInSeconds} s (attempt ${attempt.attempt + 1} of ${attempt.of}) and send one more message. Do not wait for it: halt them by hand now.`,
    );
  } else {
    lines.push(
      attempt.attempt >= attempt.of
        ? 'This was the last attempt: the watchdog will not try again by itself.'
        : 'No further attempt could be scheduled: the watchdog will not try again by itself.',
    );
  }
  return lines;
}

function describeTrigger(trigger: Trigger): string[] {
  if (trigger.kind === 'manual') {
    const reason = trigger.reason === undefined ? 'no reason given' : `reason: "${oneLine(trigger.reason)}"`;
    const asked = trigger.enforceRequested ? 'it asked to halt ("dryRun": false)' : 'it asked for a dry run';
    return [`  A person invoked the watchdog by hand (${reason}); ${asked}.`];
  }
  return trigger.alarms.flatMap((alarm) => [
    `  Alarm "${oneLine(alarm.alarmName)}" went ${alarm.previousState === undefined ? '' : `from ${alarm.previousState} `}to ${alarm.newState} at ${alarm.time} (delivered by ${alarm.source === 'sns' ? 'SNS' : 'EventBridge'}).`,
    `  Reason: ${oneLine(alarm.reason)}`,
    ...describeComposite(alarm),
  ]);
}

/** A composite alarm: its rule and the children that set it off. */
function describeComposite(alarm: AlarmTransition): string[] {
  if (alarm.composite === undefined) return [];
  const { rule, triggeringChildren } = alarm.composite;
  const children =
    triggeringChildren.length === 0
      ? 'the event did not name them'
      : triggeringChildren.map((name) => `"${oneLine(name)}"`).join(', ');
  return [`  Composite alarm rule: ${oneLine(rule)}`, `  Triggered by the child alarm(s): ${children}`];
}

function describeTarget({ target, detail }: Entry, trigger: Trigger): string[] {
  const { planned } = detail;
  const which = target.flightId === undefined ? 'main rollout' : `package flight ${target.flightId}`;
  const rows: [string, string | undefined][] = [
    ['Result', RESULT_LABELS[target.result]],
    ['Submission', target.submissionId ?? 'none found'],
    [
      detail.percentageSeenAt === undefined ? 'Live percentage' : 'Percentage',
      target.rolloutPercentage === undefined
        ? undefined
        : detail.percentageSeenAt === undefined
          ? `${formatPercent(target.rolloutPercentage)} when the watchdog found it`
          : `${formatPercent(target.rolloutPercentage)} ${lastSeenWords(detail.percentageSeenAt)} (${detail.percentageSeenAt}; remembered, not read again before the halt)`,
    ],
    [
      'Fallback submission',
      target.fallbackSubmissionId === undefined
        ? undefined
        : `${target.fallbackSubmissionId} (what customers outside the rollout get)`,
    ],
    ['Alarm', describeAlarms(planned, trigger)],
    ['Mode', planned.dryRun ? `dry run (${planned.why})` : `enforce (${planned.why})`],
    [
      target.result === 'halted' ? 'Time to halt' : 'Decided after',
      `${formatMs(detail.elapsedMs)} from the start of the decision`,
    ],
    ['Details', detail.note === undefined ? undefined : oneLine(detail.note)],
    [
      'Error',
      target.error === undefined ? undefined : `${target.error.code}: ${oneLine(target.error.message)}`,
    ],
    ['Partner Center', partnerCenterUrl(target.applicationId)],
  ];
  return [
    `${oneLine(appName(planned))} (${target.applicationId}) - ${which}`,
    ...rows.flatMap(([label, value]) => (value === undefined ? [] : [`  ${`${label}:`.padEnd(21)}${value}`])),
    `  Next step: ${nextStep(target, detail)}`,
  ];
}

function describeAlarms(planned: PlannedApp, trigger: Trigger): string | undefined {
  if (trigger.kind !== 'alarm') return undefined;
  return planned.alarmNames
    .map((name) => {
      const alarm: AlarmTransition | undefined = trigger.alarms.find(
        (candidate) => candidate.alarmName === name,
      );
      const label = planned.app.notifyAlarmNames.includes(name)
        ? `"${oneLine(name)}" [notify-only]`
        : `"${oneLine(name)}"`;
      return alarm === undefined ? label : `${label} (${oneLine(alarm.reason)})`;
    })
    .join('; ');
}

/** What a person should do next about one target, in plain words. */
export function nextStep(target: TargetResult, detail: TargetDetail): string {
  const { planned } = detail;
  const submission =
    target.submissionId === undefined ? 'the live submission' : `submission ${target.submissionId}`;
  const newSubmission =
    target.flightId === undefined
      ? 'a new submission'
      : `a new submission for package flight ${target.flightId}`;
  switch (target.result) {
    case 'halted':
      return (
        'Investigate the crashes. The halt cannot be undone: customers who already got ' +
        `${submission} keep it; new and updating customers get the fallback submission` +
        `${target.fallbackSubmissionId === undefined ? '' : ` ${target.fallbackSubmissionId}`}. ` +
        `To ship a fix, create ${newSubmission} in Partner Center (it starts as a clone of the halted one), ` +
        'replace the packages with fixed ones and submit it.'
      );
    case 'would-halt':
      if (planned.dryRunCause === 'drill') {
        return (
          'Nothing was changed: this was a drill. A real alarm of this app acts as its mode says; ' +
          'if this rollout must stop now, halt it in Partner Center.'
        );
      }
      return (
        `Nothing was changed (dry run). If this rollout must stop now, halt it in Partner Center: open the app's overview and choose "Halt package rollout". ` +
        `To let the watchdog halt next time: ${howToEnforce(planned)}.`
      );
    case 'failed':
      return (
        `ACT NOW: halt the rollout by hand in Partner Center: open the app's overview (link above) and choose "Halt package rollout" for ${submission}` +
        `${target.flightId === undefined ? '' : ` of package flight ${target.flightId}`}. ` +
        'Do not wait for the watchdog to try again.'
      );
    case 'already-halted':
      return (
        'Nothing more to halt: the rollout was already stopped (by an earlier delivery of this alarm, another invocation or a person). ' +
        `Investigate the crashes; customers who got ${submission} keep it, and a fix needs ${newSubmission} in Partner Center (a clone of the halted one).`
      );
    case 'no-active-rollout':
      return (
        "No action needed for this rollout. If the crashes are real, check the app's latest submission in Partner Center: " +
        'a package that is not rolled out gradually cannot be halted.'
      );
  }
}

function howToEnforce(planned: PlannedApp): string {
  if (planned.dryRunCause === undefined) return 'nothing to change: this app is enforced';
  switch (planned.dryRunCause) {
    case 'global':
      return 'set "dryRun": false in the watchdog config (cdk.json) and deploy (it overrides every app and every manual event)';
    case 'app-mode':
      return `set "mode": "enforce" on the entry of ${planned.app.applicationId} in "apps" (cdk.json) and deploy (a manual "dryRun": false cannot override it)`;
    case 'manual-event':
      return `invoke the watchdog with {"applicationId": "${planned.app.applicationId}", "dryRun": false}`;
    case 'notify-only':
      return `the alarm is notify-only for ${planned.app.applicationId}: to let it halt, move it from notifyAlarmNames to alarmNames (in cdk.json, drop its "action": "notify") and deploy`;
    case 'drill':
      return 'nothing to change: a drill never halts; a real alarm of this app acts as its mode says';
  }
}

/** Text from outside (alarm reasons, names, error messages) on one line, with any token-like string masked. */
function oneLine(text: string): string {
  return redactTokens(text.replace(/\s+/g, ' ').trim());
}

function formatMs(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`;
}
