/** One target's result beside its detail, and the words every part of a notification uses. */
import type { TargetDetail, WatchdogRun } from './decide.ts';
import type { TargetResult } from './results.ts';
import type { PlannedApp } from './targets.ts';

/** One target's result with the detail the decision kept for it. */
export interface Entry {
  readonly target: TargetResult;
  readonly detail: TargetDetail;
}

/** Each target with its detail, in the run's order. */
export function zip(run: WatchdogRun): Entry[] {
  return run.targets.flatMap((target, index) => {
    const detail = run.details[index];
    return detail === undefined ? [] : [{ target, detail }];
  });
}

/** The app's name, or its ID when it has none. */
export function appName(planned: PlannedApp): string {
  return planned.app.name ?? planned.app.applicationId;
}

/** `20%`, or `12.5%`: at most two decimals. */
export function formatPercent(percentage: number): string {
  return `${Number.isInteger(percentage) ? percentage : Number(percentage.toFixed(2))}%`;
}

/** Partner Center's overview page of an app, where a person halts, inspects or replaces a rollout. */
export function partnerCenterUrl(applicationId: string): string {
  return `https://partner.microsoft.com/dashboard/products/${encodeURIComponent(applicationId)}/overview`;
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
