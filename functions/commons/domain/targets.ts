/**
 * Target resolution: which watched apps an `Intake` concerns, and for each whether the watchdog may halt
 * or only report (docs/lambda-contract.md, "Events it accepts"). Only a transition into ALARM and only
 * listed apps can lead to a halt; whatever is not clearly an enforced action is a dry run.
 */

import { BadInputError } from '../errors.ts';
import { definedProps } from '../optional.ts';
import type { AlarmTransition, Intake } from './events.ts';
import type { WatchedApp } from './watched-apps.ts';

/** What target resolution needs from the config (a subset of `WatchdogEnvironment`). */
export interface TargetConfig {
  readonly apps: readonly WatchedApp[];
  readonly alarmIndex: ReadonlyMap<string, readonly WatchedApp[]>;
  /** The global `DRY_RUN`. */
  readonly dryRun: boolean;
  /** `DRILL_ALARM_NAME`: its transitions into ALARM are drills (see `resolveDrill`). */
  readonly drillAlarmName?: string;
}

/**
 * Why an app is a dry run: the global `DRY_RUN`, the app's `mode`, a manual event without
 * `"dryRun": false`, only notify-only alarms of the app (`notifyAlarmNames`) in ALARM, or a drill (the
 * drill alarm went into ALARM).
 */
export type DryRunCause = 'global' | 'app-mode' | 'manual-event' | 'notify-only' | 'drill';

/** One app to act on, with its effective mode. */
export interface PlannedApp {
  readonly app: WatchedApp;
  /** True: find and report, never halt. */
  readonly dryRun: boolean;
  /** Set exactly when `dryRun` is true. */
  readonly dryRunCause?: DryRunCause;
  /** Why the app is acted on in this mode, in words for a person (goes into the notification). */
  readonly why: string;
  /** For an alarm: the alarms (in ALARM) that name this app; empty for a manual event. */
  readonly alarmNames: readonly string[];
  /**
   * Only these of the app's rollouts (a retry re-examines only what failed before; see
   * `transitions.ts`); absent: the main rollout and every watched flight.
   */
  readonly scope?: TargetScope;
}

/** Which of an app's rollouts to examine. */
export interface TargetScope {
  /** The main rollout. */
  readonly main: boolean;
  /** Flights: all of them (listed again), the named ones, or none. */
  readonly flights: 'all' | readonly string[] | undefined;
}

/** What set the watchdog going, kept for the notification. */
export type Trigger =
  /** The transitions into ALARM that matched at least one app. */
  | { readonly kind: 'alarm'; readonly alarms: readonly AlarmTransition[] }
  | { readonly kind: 'manual'; readonly reason?: string; readonly enforceRequested: boolean };

/** Nothing to do: the handler returns `{ ignored, targets: [] }` and publishes nothing. */
export interface IgnoredPlan {
  readonly kind: 'ignored';
  /** Why nothing was done, for the result and the log. */
  readonly ignored: string;
  /** Log at warning level: the event looked actionable but no app is configured for it. */
  readonly warn: boolean;
}

/** Apps to act on. */
export interface ActingPlan {
  readonly kind: 'act';
  readonly trigger: Trigger;
  /** Each app once, in `WATCHDOG_APPS` order. */
  readonly apps: readonly PlannedApp[];
  /** Alarms in ALARM (in the same event) that no app lists: worth a warning in the log. */
  readonly unmatchedAlarms: readonly string[];
  /** True when the drill alarm went into ALARM and every app acted on is the drill's: the result and the notification say DRILL. */
  readonly drill?: boolean;
}

export type Plan = IgnoredPlan | ActingPlan;

/**
 * Resolves an intake to a plan. Throws `BadInputError` (`UNKNOWN_APPLICATION`) for a manual event about
 * an app that is not in `WATCHDOG_APPS`: nothing may be called for it.
 */
export function resolveTargets(intake: Intake, config: TargetConfig): Plan {
  return intake.kind === 'manual' ? resolveManual(intake, config) : resolveAlarms(intake.alarms, config);
}

function resolveAlarms(alarms: readonly AlarmTransition[], config: TargetConfig): Plan {
  const drillName = config.drillAlarmName;
  const drills = alarms.filter((alarm) => alarm.alarmName === drillName && alarm.newState === 'ALARM');
  if (drillName !== undefined && drills.length > 0) {
    return resolveDrill(
      drillName,
      drills,
      alarms.filter((alarm) => alarm.alarmName !== drillName),
      config,
    );
  }
  const inAlarm = alarms.filter((alarm) => alarm.newState === 'ALARM');
  if (inAlarm.length === 0) {
    const changes = alarms.map(
      (alarm) => `alarm "${alarm.alarmName}" went to ${alarm.newState}${from(alarm)}`,
    );
    return {
      kind: 'ignored',
      ignored: `${unique(changes).join('; ')}: only a transition into ALARM can lead to a halt`,
      warn: false,
    };
  }

  const alarmsByApp = new Map<string, string[]>();
  const matched: AlarmTransition[] = [];
  const unmatched: string[] = [];
  for (const alarm of inAlarm) {
    const apps = config.alarmIndex.get(alarm.alarmName) ?? [];
    if (apps.length === 0) {
      unmatched.push(alarm.alarmName);
      continue;
    }
    matched.push(alarm);
    for (const app of apps) {
      const names = alarmsByApp.get(app.applicationId) ?? [];
      if (!names.includes(alarm.alarmName)) names.push(alarm.alarmName);
      alarmsByApp.set(app.applicationId, names);
    }
  }

  if (alarmsByApp.size === 0) {
    const names = unique(unmatched).map((name) => `"${name}"`);
    return {
      kind: 'ignored',
      ignored: `no watched app (an entry in "apps") lists the alarm${names.length > 1 ? 's' : ''} ${names.join(', ')}`,
      warn: true,
    };
  }

  const apps = config.apps.flatMap((app): PlannedApp[] => {
    const alarmNames = alarmsByApp.get(app.applicationId);
    if (alarmNames === undefined) return [];
    const quoted = alarmNames.map((name) => `"${name}"`).join(', ');
    // A halting alarm of the app decides; notify-only alarms alone never halt, whatever the modes.
    if (!alarmNames.some((name) => app.alarmNames.includes(name))) {
      return [
        {
          app,
          dryRun: true,
          dryRunCause: 'notify-only',
          why: `alarm ${quoted} is in ALARM; dry run because the alarm is notify-only for this app (notifyAlarmNames): it tells people, it never halts`,
          alarmNames,
        },
      ];
    }
    return [withMode(app, config, undefined, alarmNames, `alarm ${quoted} is in ALARM`)];
  });
  return {
    kind: 'act',
    trigger: { kind: 'alarm', alarms: matched },
    apps,
    unmatchedAlarms: unique(unmatched),
  };
}

/**
 * The drill (the Lambda contract page, "Drill"): a dry run of the apps that list `DRILL_ALARM_NAME`, or
 * of the first app when none does; other alarms in the event resolve as usual, and an app named by
 * both is a drill (a drill never halts).
 */
function resolveDrill(
  drillName: string,
  drills: readonly AlarmTransition[],
  others: readonly AlarmTransition[],
  config: TargetConfig,
): ActingPlan {
  const listing = config.apps.filter(
    (app) => app.alarmNames.includes(drillName) || app.notifyAlarmNames.includes(drillName),
  );
  const drillIds = new Set(
    (listing.length > 0 ? listing : config.apps.slice(0, 1)).map((app) => app.applicationId),
  );
  const rest = others.length > 0 ? resolveAlarms(others, config) : undefined;
  const restApps = rest?.kind === 'act' ? rest.apps : [];
  const why =
    `drill alarm "${drillName}" is in ALARM; dry run because it is the drill alarm (DRILL_ALARM_NAME): ` +
    'a drill never halts';
  const apps = config.apps.flatMap((app): PlannedApp[] => {
    if (drillIds.has(app.applicationId)) {
      return [{ app, dryRun: true, dryRunCause: 'drill', why, alarmNames: [drillName] }];
    }
    return restApps.filter((planned) => planned.app.applicationId === app.applicationId);
  });
  return {
    kind: 'act',
    trigger: {
      kind: 'alarm',
      alarms: [
        ...drills,
        ...(rest?.kind === 'act' && rest.trigger.kind === 'alarm' ? rest.trigger.alarms : []),
      ],
    },
    apps,
    unmatchedAlarms: rest?.kind === 'act' ? rest.unmatchedAlarms : [],
    // A DRILL notification says nothing was halted: only when every app is the drill's. A real alarm in
    // the same event acts on its own apps as their modes say, and the notification must not hide it.
    drill: apps.every((planned) => planned.dryRunCause === 'drill'),
  };
}

function resolveManual(intake: Extract<Intake, { kind: 'manual' }>, config: TargetConfig): Plan {
  const app = config.apps.find((candidate) => candidate.applicationId === intake.applicationId);
  if (app === undefined) {
    throw new BadInputError(
      'UNKNOWN_APPLICATION',
      `applicationId ${intake.applicationId} is not a watched app (no entry in "apps" of the watchdog config); only listed apps can be halted`,
    );
  }
  const requested = intake.enforce
    ? 'a manual event asked to halt ("dryRun": false)'
    : 'a manual event asked for a dry run';
  return {
    kind: 'act',
    trigger: {
      kind: 'manual',
      ...definedProps({ reason: intake.reason }),
      enforceRequested: intake.enforce,
    },
    apps: [withMode(app, config, intake.enforce, [], requested)],
    unmatchedAlarms: [],
  };
}

/**
 * Applies the dry-run precedence: the global `DRY_RUN` and the app's `mode: "dry-run"` always win; a
 * manual event enforces only with `"dryRun": false` (`manualEnforce === true`); an alarm enforces otherwise.
 */
function withMode(
  app: WatchedApp,
  config: TargetConfig,
  manualEnforce: boolean | undefined,
  alarmNames: readonly string[],
  trigger: string,
): PlannedApp {
  const dryRun = (cause: DryRunCause, because: string): PlannedApp => ({
    app,
    dryRun: true,
    dryRunCause: cause,
    why: `${trigger}; dry run because ${because}`,
    alarmNames,
  });
  if (config.dryRun) return dryRun('global', '"dryRun" is true for the whole watchdog');
  if (app.mode === 'dry-run')
    return dryRun('app-mode', 'the app\'s "mode" is "dry-run" (its entry in "apps")');
  if (manualEnforce === false) return dryRun('manual-event', 'the manual event did not say "dryRun": false');
  return { app, dryRun: false, why: `${trigger}; the app's mode is "enforce"`, alarmNames };
}

function from(alarm: AlarmTransition): string {
  return alarm.previousState === undefined ? '' : ` (from ${alarm.previousState})`;
}

function unique<T>(values: readonly T[]): T[] {
  return [...new Set(values)];
}
