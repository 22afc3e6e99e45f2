/**
 * The one notification of an acting invocation (see the Lambda contract, "Notifications"): a subject a
 * person can read in a mail list, a plain-text body that says what happened and what to do next for each
 * rollout, a machine-readable JSON object, and the `outcome` subscribers filter on.
 *
 * Built only from our own words, IDs, percentages, alarm data and safe error descriptions: never a token
 * or the client secret (there is none in the inputs).
 */

import { definedProps } from '../optional.ts';
import type { PendingApps } from './continuation.ts';
import type { WatchdogRun } from './decide.ts';
import { zip } from './notification-entry.ts';
import { NOTIFICATION_SCHEMA_VERSION, type NotificationJson, toJsonTarget } from './notification-json.ts';
import { attemptSuffix, buildSubject, drillSubject, withSuffix } from './notification-subject.ts';
import { buildText, DRILL_HEADLINE } from './notification-text.ts';
import { type TargetResultKind, worstResult } from './results.ts';
import type { ActingPlan } from './targets.ts';
import type { AttemptInfo } from './transitions.ts';

export { lastSeenWords, partnerCenterUrl } from './notification-entry.ts';
export type { NotificationJson, NotificationTarget } from './notification-json.ts';
export { nextStep } from './notification-text.ts';

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

/** What a message says beyond the plan and the run. */
export interface NotificationExtras {
  readonly pending?: PendingApps;
  readonly attempt?: AttemptInfo;
  readonly leftOut?: readonly string[];
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
    ...definedProps({ pending, attempt }),
    ...(leftOut.length === 0 ? {} : { leftOut }),
  };
  return { subject, text, json, outcome, drill };
}
