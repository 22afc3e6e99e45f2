/** The notification's machine-readable JSON object, for queues, functions and webhooks. */
import { definedProps } from '../optional.ts';
import type { PendingApps } from './continuation.ts';
import { appName, type Entry, partnerCenterUrl } from './notification-entry.ts';
import { nextStep } from './notification-text.ts';
import type { TargetResult, TargetResultKind } from './results.ts';
import type { DryRunCause, Trigger } from './targets.ts';
import type { AttemptInfo } from './transitions.ts';

/** Version of the JSON object's shape, for consumers (queues, functions, webhooks). */
export const NOTIFICATION_SCHEMA_VERSION = 1;

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

/** One target as the JSON object carries it. */
export function toJsonTarget({ target, detail }: Entry): NotificationTarget {
  const { planned } = detail;
  return {
    ...target,
    appName: appName(planned),
    dryRun: planned.dryRun,
    ...definedProps({ dryRunCause: planned.dryRunCause }),
    elapsedMs: detail.elapsedMs,
    ...definedProps({ note: detail.note, percentageSeenAt: detail.percentageSeenAt }),
    alarmNames: planned.alarmNames,
    partnerCenterUrl: partnerCenterUrl(target.applicationId),
    nextStep: nextStep(target, detail),
  };
}
