/**
 * The stories the local run can tell: which Store state the simulator starts with, which event is
 * fired, which faults are injected, and what must be true at the end for the run to count as a success.
 */
import { readFileSync } from 'node:fs';
import { parseEnvironment, type WatchdogEnvironment } from '../../functions/commons/config/env.ts';
import type { TargetResultKind } from '../../functions/commons/domain/results.ts';
import type { WatchedAppInput } from '../../functions/commons/domain/watched-apps.ts';
import { WatchdogError } from '../../functions/commons/errors.ts';
import type { PackageRolloutStatus } from '../../functions/commons/store/model.ts';
import {
  SAMPLE_APP_ID,
  SAMPLE_PUBLISHED_SUBMISSION_ID,
  sampleState,
} from '../store-simulator/sample-state.ts';
import type { RunningSimulator, SimulatorControl, SimulatorState } from '../store-simulator/types.ts';

/** The alarm the sample SNS event carries and the sample app lists. */
export const SAMPLE_ALARM_NAME = 'contoso-photos-crash-rate';

/**
 * The watched apps of the local run: the simulator's sample app, watched by the sample alarm, enforcing,
 * main rollout only (the sample app's Insiders flight is left out so the story stays about one rollout).
 */
export const LOCAL_RUN_APPS: readonly WatchedAppInput[] = [
  {
    applicationId: SAMPLE_APP_ID,
    name: 'Contoso Photos',
    alarmNames: [SAMPLE_ALARM_NAME],
    mode: 'enforce',
  },
];

/**
 * The halt-rollout function's configuration in a local story, as its environment would give it: the
 * simulator's URLs, `apps`, the dry run; the notification is printed, not published.
 */
export function localRunConfig(
  simulator: RunningSimulator,
  apps: readonly WatchedAppInput[],
  dryRun: boolean,
): WatchdogEnvironment {
  return parseEnvironment({
    STORE_CREDENTIALS_SECRET_ID: 'local-run-uses-the-simulator-sample-tenant',
    NOTIFICATION_TOPIC_ARN: 'arn:aws:sns:us-east-1:123456789012:local-run-prints-the-notification',
    WATCHDOG_APPS: JSON.stringify(apps),
    DRY_RUN: String(dryRun),
    STORE_API_BASE_URL: simulator.storeBaseUrl,
    AZURE_AD_AUTHORITY: simulator.authority,
  });
}

/** The sample events shipped with the local run (copies of the documented test fixtures). */
export const LOCAL_RUN_EVENTS = ['sns-alarm', 'manual-dry-run', 'manual-enforce'] as const;
export type LocalRunEventName = (typeof LOCAL_RUN_EVENTS)[number];

/** A fresh copy of one of the local run's sample events. */
export function loadLocalRunEvent(name: LocalRunEventName): unknown {
  return JSON.parse(readFileSync(new URL(`./events/${name}.json`, import.meta.url), 'utf8'));
}

/** What the person asked for on the command line. */
export interface ScenarioOptions {
  /** `--dry-run`: the global `DRY_RUN` is on. */
  readonly dryRun: boolean;
  /** `--manual`: a manual console event instead of the alarm. */
  readonly manual: boolean;
  /** `--enforce` (with `--manual`): the manual event says `"dryRun": false`. */
  readonly enforce: boolean;
  /** `--already-halted`: the live rollout was stopped before the alarm. */
  readonly alreadyHalted: boolean;
  /** `--flaky`: a 429 on the first Store read and a 503 on the halt that took effect. */
  readonly flaky: boolean;
  /** `--event FILE`: the person's own event, already parsed. */
  readonly event?: { readonly label: string; readonly value: unknown };
}

/** What must hold at the end of a named scenario. */
export interface Expectation {
  /** The result of the sample app's main rollout. */
  readonly result: TargetResultKind;
  /** The sample rollout's status in the Store afterwards. */
  readonly rolloutStatus: PackageRolloutStatus;
  /** Halts that took effect in the Store during the run. */
  readonly effectiveHalts: number;
}

export interface Scenario {
  /** Short name for the story's title, e.g. `alarm, flaky Store`. */
  readonly title: string;
  readonly state: SimulatorState;
  readonly event: unknown;
  /** Where the event came from, in words. */
  readonly eventLabel: string;
  /** The global `DRY_RUN`. */
  readonly dryRun: boolean;
  /** One line per injected fault, for the story. */
  readonly faults: readonly string[];
  /** Registers the faults on a started simulator. */
  readonly injectFaults: (control: SimulatorControl) => void;
  /** Absent for a person's own event: then only the general checks apply. */
  readonly expected?: Expectation;
}

/** Builds the scenario the options describe. */
export function buildScenario(options: ScenarioOptions): Scenario {
  const state = sampleState();
  if (options.alreadyHalted) stopSampleRollout(state);

  const event =
    options.event?.value ??
    loadLocalRunEvent(options.manual ? (options.enforce ? 'manual-enforce' : 'manual-dry-run') : 'sns-alarm');
  const eventLabel =
    options.event?.label ??
    (options.manual
      ? `a manual console event${options.enforce ? ' with "dryRun": false' : ' (no "dryRun": a dry run)'}` +
        ` (tools/local-run/events/${options.enforce ? 'manual-enforce' : 'manual-dry-run'}.json)`
      : `the SNS-wrapped CloudWatch alarm "${SAMPLE_ALARM_NAME}", OK -> ALARM (tools/local-run/events/sns-alarm.json)`);

  const faults = options.flaky
    ? [
        'the first read of the app answers 429 Too Many Requests with Retry-After: 1',
        'the halt takes effect but answers 503 ServiceError (it happens: the watchdog reads before it retries)',
      ]
    : [];
  const injectFaults = (control: SimulatorControl) => {
    if (!options.flaky) return;
    control.failNext({
      status: 429,
      retryAfter: '1',
      match: { kind: 'store', method: 'GET', path: new RegExp(`/applications/${SAMPLE_APP_ID}$`) },
    });
    control.haltAppliesThen503();
  };

  const titleParts = [
    options.event === undefined ? (options.manual ? 'manual event' : 'crash alarm') : 'your event',
    ...(options.manual && options.enforce ? ['enforce'] : []),
    ...(options.dryRun ? ['global dry run'] : []),
    ...(options.alreadyHalted ? ['already halted'] : []),
    ...(options.flaky ? ['flaky Store'] : []),
  ];

  return {
    title: titleParts.join(', '),
    state,
    event,
    eventLabel,
    dryRun: options.dryRun,
    faults,
    injectFaults,
    ...(options.event === undefined ? { expected: expect(options) } : {}),
  };
}

function expect(options: ScenarioOptions): Expectation {
  // A stopped rollout reads as already-halted whatever the mode; otherwise a dry run only reports.
  if (options.alreadyHalted) {
    return { result: 'already-halted', rolloutStatus: 'PackageRolloutStopped', effectiveHalts: 0 };
  }
  const dryRun = options.dryRun || (options.manual && !options.enforce);
  return dryRun
    ? { result: 'would-halt', rolloutStatus: 'PackageRolloutInProgress', effectiveHalts: 0 }
    : { result: 'halted', rolloutStatus: 'PackageRolloutStopped', effectiveHalts: 1 };
}

/** The sample rollout as a person would leave it after halting it in Partner Center. */
function stopSampleRollout(state: SimulatorState): void {
  const submission = state.apps
    .find((app) => app.id === SAMPLE_APP_ID)
    ?.submissions.find((candidate) => candidate.id === SAMPLE_PUBLISHED_SUBMISSION_ID);
  if (submission === undefined) {
    throw new WatchdogError(
      'configuration',
      'SAMPLE_STATE_CHANGED',
      'the sample state has no live sample rollout',
    );
  }
  submission.rollout = {
    ...submission.rollout,
    packageRolloutPercentage: 0,
    packageRolloutStatus: 'PackageRolloutStopped',
  };
}
