/**
 * Replay: what the current config would have decided for past alarm state changes, with the same target
 * resolution as the Lambda (`resolveTargets`) and no Store call. Plain data in, plain data out; the CLI
 * reads the history (CloudWatch `DescribeAlarmHistory`, or a saved file) and prints the report.
 *
 * For each transition into ALARM, each app it reaches gets `halt` (an enforced app, a halting alarm),
 * `would-halt` (a dry run: the global `DRY_RUN`, the app's `mode: "dry-run"`, or a notify-only alarm) or
 * `ignored` (the watchdog would not act on it). A transition no app lists has no decision and counts as
 * ignored in the summary. Transitions out of ALARM never act and are left out.
 */
import { definedProps } from '../optional.ts';
import type { AlarmTransition } from './events.ts';
import { type DryRunCause, resolveTargets, type TargetConfig } from './targets.ts';

export type ReplayDecisionKind = 'halt' | 'would-halt' | 'ignored';

export interface ReplayDecision {
  readonly applicationId: string;
  readonly appName: string;
  readonly decision: ReplayDecisionKind;
  readonly dryRunCause?: DryRunCause;
  /** Why, in words for a person (the Lambda's own explanation). */
  readonly why: string;
}

export interface ReplayTransition {
  /** When the alarm went into ALARM (ISO 8601). */
  readonly time: string;
  readonly alarmName: string;
  /** CloudWatch's reason for the state change. */
  readonly reason: string;
  /** One per app the alarm reaches, in config order; empty when no app lists the alarm. */
  readonly decisions: readonly ReplayDecision[];
  /** Set when no app lists the alarm (or the watchdog would ignore it): why. */
  readonly ignored?: string;
}

export interface ReplayReport {
  /** Transitions into ALARM, oldest first. */
  readonly transitions: readonly ReplayTransition[];
  readonly summary: { readonly halt: number; readonly wouldHalt: number; readonly ignored: number };
}

/** Replays `history` (any order, any states) against `config`. */
export function replayTransitions(history: readonly AlarmTransition[], config: TargetConfig): ReplayReport {
  const intoAlarm = history
    .filter((transition) => transition.newState === 'ALARM')
    .map((transition, index) => ({ transition, index, at: Date.parse(transition.time) }))
    // Oldest first; equal or unparseable times keep their order.
    .sort((a, b) => (Number.isNaN(a.at) || Number.isNaN(b.at) ? 0 : a.at - b.at) || a.index - b.index)
    .map(({ transition }) => transition);

  const transitions = intoAlarm.map((transition): ReplayTransition => {
    const plan = resolveTargets({ kind: 'alarm', alarms: [transition] }, config);
    const base = { time: transition.time, alarmName: transition.alarmName, reason: transition.reason };
    if (plan.kind === 'ignored') {
      const listing = config.apps.filter(
        (app) =>
          app.alarmNames.includes(transition.alarmName) ||
          app.notifyAlarmNames.includes(transition.alarmName),
      );
      return {
        ...base,
        decisions: listing.map((app) => ({
          applicationId: app.applicationId,
          appName: app.name ?? app.applicationId,
          decision: 'ignored',
          why: plan.ignored,
        })),
        ignored: plan.ignored,
      };
    }
    return {
      ...base,
      decisions: plan.apps.map((planned) => ({
        applicationId: planned.app.applicationId,
        appName: planned.app.name ?? planned.app.applicationId,
        decision: planned.dryRun ? 'would-halt' : 'halt',
        ...definedProps({ dryRunCause: planned.dryRunCause }),
        why: planned.why,
      })),
    };
  });

  const decisions = transitions.flatMap((transition) => transition.decisions);
  const count = (kind: ReplayDecisionKind) =>
    decisions.filter((decision) => decision.decision === kind).length;
  return {
    transitions,
    summary: {
      halt: count('halt'),
      wouldHalt: count('would-halt'),
      ignored:
        count('ignored') + transitions.filter((transition) => transition.decisions.length === 0).length,
    },
  };
}
