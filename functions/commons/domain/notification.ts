/**
 * The one notification of an acting invocation (see the Lambda contract, "Notifications"): a subject a
 * person can read in a mail list, a plain-text body that says what happened and what to do next for each
 * rollout, a machine-readable JSON object, and the `outcome` subscribers filter on.
 *
 * Built only from our own words, IDs, percentages, alarm data and safe error descriptions: never a token
 * or the client secret (there is none in the inputs).
 */
import type { PendingApps } from './continuation.ts';
import { redactTokens, type TargetDetail, type WatchdogRun } from './decide.ts';
import type { AlarmTransition } from './events.ts';
import { type TargetResult, type TargetResultKind, worstResult } from './results.ts';
import type { ActingPlan, DryRunCause, PlannedApp, Trigger } from './targets.ts';
import type { AttemptInfo } from './transitions.ts';

/** SNS rejects a `Subject` of 100 characters or more ("less than 100 characters long"), or with line breaks. */
export const MAX_SUBJECT_LENGTH = 99;
const SUBJECT_PREFIX = '[Store watchdog] ';

/** Version of the JSON object's shape, for consumers (queues, functions, webhooks). */
export const NOTIFICATION_SCHEMA_VERSION = 1;

/** The notification of one acting invocation. */
export interface Notification {
  /** Mail subject: ASCII, no line breaks, at most `MAX_SUBJECT_LENGTH` characters. */
  readonly subject: string;
  /** Plain-text body for email (and SNS's `default`). */
  readonly text: string;
  /** Machine-readable: outcome, trigger, one entry per target, timings. */
  readonly json: NotificationJson;
  /** The worst result among the targets; the adapter sends it as the `outcome` message attribute. */
  readonly outcome: TargetResultKind;
  /** A drill (contract "Drill"): the subject says DRILL; the adapter adds the `drill` message attribute. */
  readonly drill: boolean;
}

/** One target in the JSON object: the contract result plus what a consumer needs to act. */
export interface NotificationTarget extends TargetResult {
  readonly appName: string;
  readonly dryRun: boolean;
  readonly dryRunCause?: DryRunCause;
  /** Milliseconds from the start of the decision until this result (for `halted`: time to halt). */
  readonly elapsedMs: number;
  readonly note?: string;
  /** When `rolloutPercentage` was last seen, for a rollout halted from memory (ISO 8601). */
  readonly percentageSeenAt?: string;
  readonly alarmNames: readonly string[];
  readonly partnerCenterUrl: string;
  readonly nextStep?: string;
}

export interface NotificationJson {
  readonly schemaVersion: number;
  readonly outcome: TargetResultKind;
  readonly subject: string;
  readonly trigger: Trigger;
  readonly targets: readonly NotificationTarget[];
  readonly timings: { readonly decisionMs: number };
  /** Present (and true) for a drill. */
  readonly drill?: true;
  /** Apps of a storm handed on to the next invocation, which notifies about them (absent when none). */
  readonly pending?: PendingApps;
  /** Which attempt at the alarm transition this message reports (with the transition ledger). */
  readonly attempt?: AttemptInfo;
  /** Apps a storm continuation named that the config no longer pairs with its alarm: left out. */
  readonly leftOut?: readonly string[];
}

/** What a message says beyond the plan and the run. */
export interface NotificationExtras {
  readonly pending?: PendingApps;
  readonly attempt?: AttemptInfo;
  readonly leftOut?: readonly string[];
}

/** Partner Center's overview page of an app, where a person halts, inspects or replaces a rollout. */
export function partnerCenterUrl(applicationId: string): string {
  return `https://partner.microsoft.com/dashboard/products/${encodeURIComponent(applicationId)}/overview`;
}

/** Builds the notification for an acting plan and the decision's run. */
export function buildNotification(
  plan: ActingPlan,
  run: WatchdogRun,
  extras: NotificationExtras = {},
): Notification {
  const { pending, attempt } = extras;
  const leftOut = extras.leftOut ?? [];
  // An acting plan always examines at least one rollout; should it not, a person must look.
  const outcome = worstResult(run.targets) ?? 'failed';
  const entries = zip(run);
  const drill = plan.drill === true;
  // The pending suffix goes on last, so a long subject never loses it.
  const subject = withSuffix(
    withSuffix(
      drill ? drillSubject(buildSubject(outcome, entries)) : buildSubject(outcome, entries),
      attemptSuffix(attempt, outcome),
    ),
    pending === undefined ? undefined : ` (+${pending.applicationIds.length} pending)`,
  );
  const body = buildText(plan, run, outcome, entries, { pending, attempt, leftOut });
  const text = drill ? `${DRILL_HEADLINE}\n\n${body}` : body;
  const json: NotificationJson = {
    schemaVersion: NOTIFICATION_SCHEMA_VERSION,
    outcome,
    subject,
    trigger: plan.trigger,
    targets: entries.map(toJsonTarget),
    timings: { decisionMs: run.elapsedMs },
    ...(drill ? { drill: true } : {}),
    ...(pending === undefined ? {} : { pending }),
    ...(attempt === undefined ? {} : { attempt }),
    ...(leftOut.length === 0 ? {} : { leftOut }),
  };
  return { subject, text, json, outcome, drill };
}

const DRILL_HEADLINE =
  'DRILL: the drill alarm went into ALARM. This is a dry run of the whole path: nothing was halted, ' +
  'and this message proves that an alarm reaches the watchdog and its notification reaches you.';

/** `[Store watchdog] DRILL - …`: the subject with DRILL after the prefix, cut to the SNS limit. */
function drillSubject(subject: string): string {
  const tagged = `${SUBJECT_PREFIX}DRILL - ${subject.slice(SUBJECT_PREFIX.length)}`;
  return tagged.length <= MAX_SUBJECT_LENGTH ? tagged : `${tagged.slice(0, MAX_SUBJECT_LENGTH - 3)}...`;
}

interface Entry {
  readonly target: TargetResult;
  readonly detail: TargetDetail;
}

function zip(run: WatchdogRun): Entry[] {
  return run.targets.flatMap((target, index) => {
    const detail = run.details[index];
    return detail === undefined ? [] : [{ target, detail }];
  });
}

function appName(planned: PlannedApp): string {
  return planned.app.name ?? planned.app.applicationId;
}

// ---------------------------------------------------------------------------------------------------
// Subject

function buildSubject(outcome: TargetResultKind, entries: readonly Entry[]): string {
  const worst = entries.filter((entry) => entry.target.result === outcome);
  const only = worst.length === 1 ? worst[0] : undefined;
  if (only !== undefined) {
    const name = appName(only.detail.planned);
    const what = only.target.flightId === undefined ? 'rollout' : 'flight rollout';
    const live = percentSuffix(only.target.rolloutPercentage, only.detail.percentageSeenAt);
    switch (outcome) {
      case 'halted':
        return fitSubject('HALTED ', name, ` ${what}${live}`);
      case 'would-halt':
        return fitSubject('DRY RUN: would halt ', name, ` ${what}${live}`);
      case 'failed':
        return fitSubject('FAILED to halt ', name, ` ${what} - act now`);
      case 'already-halted':
        return fitSubject('', name, ` ${what} was already halted`);
      case 'no-active-rollout':
        return fitSubject('No active rollout to halt for ', name, '');
    }
  }
  const names = [...new Set(worst.map((entry) => appName(entry.detail.planned)))].join(', ');
  const count = `${worst.length} rollouts`;
  switch (outcome) {
    case 'halted':
      return fitSubject(`HALTED ${count}: `, names, '');
    case 'would-halt':
      return fitSubject(`DRY RUN: would halt ${count}: `, names, '');
    case 'failed':
      return fitSubject(`FAILED to halt ${count} - act now: `, names, '');
    case 'already-halted':
      return fitSubject(`${count} were already halted: `, names, '');
    case 'no-active-rollout':
      return fitSubject('No active rollout to halt for ', names, '');
  }
}

/** ` (20%)` for a percentage read live; ` (20% when last seen at 09:58 UTC)` for a remembered one. */
function percentSuffix(percentage: number | undefined, seenAt: string | undefined): string {
  if (percentage === undefined) return '';
  return seenAt === undefined
    ? ` (${formatPercent(percentage)})`
    : ` (${formatPercent(percentage)} ${lastSeenWords(seenAt)})`;
}

/** `[Store watchdog] {before}{name}{after}`, ASCII, shortening only the name so the facts around it stay. */
function fitSubject(before: string, name: string, after: string): string {
  const fixed = toAsciiLine(`${SUBJECT_PREFIX}${before}`);
  const tail = toAsciiLine(after);
  const room = MAX_SUBJECT_LENGTH - fixed.length - tail.length;
  const ascii = toAsciiLine(name);
  const fitted = ascii.length <= room ? ascii : `${ascii.slice(0, Math.max(0, room - 3)).trimEnd()}...`;
  return `${fixed}${fitted}${tail}`.slice(0, MAX_SUBJECT_LENGTH);
}

/** One line of printable ASCII: accents dropped, whitespace collapsed, anything else becomes `?`. */
export function toAsciiLine(text: string): string {
  return text
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .replace(/\s+/g, ' ')
    .replace(/[^\x20-\x7e]/g, '?');
}

function formatPercent(percentage: number): string {
  return `${Number.isInteger(percentage) ? percentage : Number(percentage.toFixed(2))}%`;
}

// ---------------------------------------------------------------------------------------------------
// Text body

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

function buildText(
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

/** The subject with `suffix` at its end, shortening the subject when it would not fit. */
function withSuffix(subject: string, suffix: string | undefined): string {
  if (suffix === undefined) return subject;
  if (subject.length + suffix.length <= MAX_SUBJECT_LENGTH) return `${subject}${suffix}`;
  return `${subject.slice(0, MAX_SUBJECT_LENGTH - suffix.length - 3)}...${suffix}`;
}

/** ` - attempt 2 of 3` on a retry's message and on every message that reports a failure. */
function attemptSuffix(attempt: AttemptInfo | undefined, outcome: TargetResultKind): string | undefined {
  if (attempt === undefined || (attempt.attempt === 1 && outcome !== 'failed')) return undefined;
  return ` - attempt ${attempt.attempt} of ${attempt.of}`;
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

function toJsonTarget({ target, detail }: Entry): NotificationTarget {
  const { planned } = detail;
  return {
    ...target,
    appName: appName(planned),
    dryRun: planned.dryRun,
    ...(planned.dryRunCause === undefined ? {} : { dryRunCause: planned.dryRunCause }),
    elapsedMs: detail.elapsedMs,
    ...(detail.note === undefined ? {} : { note: detail.note }),
    ...(detail.percentageSeenAt === undefined ? {} : { percentageSeenAt: detail.percentageSeenAt }),
    alarmNames: planned.alarmNames,
    partnerCenterUrl: partnerCenterUrl(target.applicationId),
    nextStep: nextStep(target, detail),
  };
}

/** Text from outside (alarm reasons, names, error messages) on one line, with any token-like string masked. */
function oneLine(text: string): string {
  return redactTokens(text.replace(/\s+/g, ' ').trim());
}

function formatMs(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`;
}

/**
 * `when last seen at 09:58 UTC` (or the full time when it is not an ISO time): a remembered percentage
 * is never shown as if it were live.
 */
export function lastSeenWords(seenAt: string): string {
  const match = /^\d{4}-\d{2}-\d{2}T(\d{2}:\d{2})/.exec(seenAt);
  const at = match?.[1];
  return at === undefined || !seenAt.endsWith('Z')
    ? `when last seen at ${seenAt}`
    : `when last seen at ${at} UTC`;
}
