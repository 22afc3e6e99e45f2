/**
 * The local run: the watchdog end to end on one machine, with no AWS account and no network. It starts
 * the Store simulator, fires a sample event and lets the Lambda's own invocation flow
 * (`handleWatchdogEvent`) handle it with the Lambda's own Store client (`createStoreAccess`). Only the
 * edges differ: the credentials are the simulator's sample tenant instead of Secrets Manager, and the
 * notification is captured to be printed instead of published to SNS.
 */
import type { WatchdogEnvironment } from '../../functions/commons/config/env.ts';
import { safeError } from '../../functions/commons/domain/decide.ts';
import { type Intake, parseEvent } from '../../functions/commons/domain/events.ts';
import type { Notification } from '../../functions/commons/domain/notification.ts';
import type { TargetResult, WatchdogResult } from '../../functions/commons/domain/results.ts';
import { definedProps } from '../../functions/commons/optional.ts';
import type { PackageRollout } from '../../functions/commons/store/model.ts';
import { createStoreAccess } from '../../functions/commons/store/store-access.ts';
import {
  budgetFromRemaining,
  handleWatchdogEvent,
  type InvocationReport,
  TargetsFailedError,
  type WatchdogPorts,
} from '../../functions/halt-rollout/watchdog.ts';
import { start } from '../store-simulator/index.ts';
import {
  SAMPLE_APP_ID,
  SAMPLE_PENDING_SUBMISSION_ID,
  SAMPLE_PUBLISHED_SUBMISSION_ID,
  SAMPLE_TENANT,
} from '../store-simulator/sample-state.ts';
import type { RecordedRequest, SimulatorControl } from '../store-simulator/types.ts';
import { createStoryLogger, createStoryRecorder, narrateRollouts, type StoryEvent } from './narrate.ts';
import {
  buildScenario,
  LOCAL_RUN_APPS,
  localRunConfig,
  type Scenario,
  type ScenarioOptions,
} from './scenario.ts';

/** The time an invocation gets, as the deployed function's 60 s timeout gives it. */
const INVOCATION_MS = 60_000;

export interface LocalRunOptions extends ScenarioOptions {
  /** Delay of every simulator answer, in milliseconds. @default 0 */
  readonly latencyMs?: number;
}

/** The sample rollouts as the Store has them, before or after the run. */
export interface StoreFacts {
  /** The live rollout of the sample app (submission `SAMPLE_PUBLISHED_SUBMISSION_ID`). */
  readonly rollout: PackageRollout;
  /** The pending submission beside it, which must never be touched. */
  readonly pending: { readonly status: string; readonly rollout: PackageRollout };
  /** Halts that took effect so far. */
  readonly effectiveHalts: number;
}

/** Everything a run produced: enough to tell the story, print JSON, or assert in a test. */
export interface LocalRunOutcome {
  /** True when every check passed (see `problems`). */
  readonly ok: boolean;
  /** What did not go as the scenario expects, in words; empty when `ok`. */
  readonly problems: readonly string[];
  readonly scenario: Scenario;
  readonly config: WatchdogEnvironment;
  readonly simulatorUrl: string;
  readonly latencyMs: number;
  /** The event as the watchdog understood it; absent when it was rejected. */
  readonly intake?: Intake;
  /** What the invocation returned (also set when it threw `TargetsFailedError`). */
  readonly result?: WatchdogResult;
  /** What the invocation threw, safely described. */
  readonly error?: { readonly code: string; readonly message: string };
  readonly report?: InvocationReport;
  /** The notification the publish port received. */
  readonly notification?: Notification;
  readonly before: StoreFacts;
  readonly after: StoreFacts;
  /** Every request the simulator received during the invocation. */
  readonly requests: readonly RecordedRequest[];
  /** The steps of the invocation, in order. */
  readonly events: readonly StoryEvent[];
  /** `performance.now()` when the event was handed to the watchdog. */
  readonly startedAt: number;
  /** From handing over the event until the invocation returned. */
  readonly elapsedMs: number;
}

/** Runs one scenario against a fresh simulator and checks the outcome. */
export async function runLocalRun(options: LocalRunOptions): Promise<LocalRunOutcome> {
  const scenario = buildScenario(options);
  const latencyMs = options.latencyMs ?? 0;
  const simulator = await start({ state: scenario.state });
  try {
    simulator.control.setLatency(latencyMs);
    // The Lambda's own environment parser; the secret and the topic are not used here.
    const config = localRunConfig(simulator, LOCAL_RUN_APPS, scenario.dryRun);
    const store = createStoreAccess({
      baseUrl: config.storeApiBaseUrl,
      authority: config.azureAdAuthority,
      getCredentials: async () => ({ ...SAMPLE_TENANT }),
      // The tenant budget is per process; repeated runs in one process (the tests) must not share it.
      throttle: false,
    });
    const story = createStoryRecorder();
    let notification: Notification | undefined;
    const ports: WatchdogPorts = {
      rollouts: narrateRollouts(store.rolloutPort, story),
      publish: async (built) => {
        notification = built;
        story.record({ kind: 'published', notification: built });
      },
      now: () => performance.now(),
      logger: createStoryLogger(story),
    };

    const before = readStoreFacts(simulator.control);
    scenario.injectFaults(simulator.control);
    simulator.control.clearRequests();
    const intake = tryParse(scenario.event);

    let report: InvocationReport | undefined;
    let result: WatchdogResult | undefined;
    let error: { code: string; message: string } | undefined;
    const startedAt = performance.now();
    try {
      result = await handleWatchdogEvent(
        scenario.event,
        config,
        ports,
        budgetFromRemaining(INVOCATION_MS),
        (made) => {
          report = made;
        },
      );
    } catch (thrown) {
      if (thrown instanceof TargetsFailedError) result = thrown.report.result;
      error = safeError(thrown);
    } finally {
      await store.dispatcher.close();
    }
    const elapsedMs = performance.now() - startedAt;

    const after = readStoreFacts(simulator.control);
    const facts = {
      scenario,
      config,
      simulatorUrl: simulator.url,
      latencyMs,
      ...definedProps({ intake, result, error, report, notification }),
      before,
      after,
      requests: simulator.control.requests,
      events: story.events,
      startedAt,
      elapsedMs,
    };
    const problems = checkOutcome(facts);
    return { ok: problems.length === 0, problems, ...facts };
  } finally {
    await simulator.close();
  }
}

function tryParse(event: unknown): Intake | undefined {
  try {
    return parseEvent(event);
  } catch {
    return undefined;
  }
}

function readStoreFacts(control: SimulatorControl): StoreFacts {
  const pendingStatus =
    control
      .snapshot()
      .apps.find((app) => app.id === SAMPLE_APP_ID)
      ?.submissions.find((submission) => submission.id === SAMPLE_PENDING_SUBMISSION_ID)?.status ?? 'missing';
  return {
    rollout: control.rollout(SAMPLE_APP_ID, SAMPLE_PUBLISHED_SUBMISSION_ID),
    pending: { status: pendingStatus, rollout: control.rollout(SAMPLE_APP_ID, SAMPLE_PENDING_SUBMISSION_ID) },
    effectiveHalts: control.effectiveHalts,
  };
}

/** The checks every run gets, and the scenario's own expectation when it has one. */
export function checkOutcome(outcome: Omit<LocalRunOutcome, 'ok' | 'problems'>): string[] {
  const problems: string[] = [];
  const { scenario, result, error, before, after } = outcome;
  const targets: readonly TargetResult[] = result?.targets ?? [];

  if (error !== undefined) problems.push(`the invocation failed: ${error.code}: ${error.message}`);
  for (const target of targets.filter((candidate) => candidate.result === 'failed')) {
    problems.push(
      `the ${target.flightId === undefined ? 'main rollout' : `flight ${target.flightId}`} of ${target.applicationId} failed: ` +
        `${target.error?.code ?? 'UNKNOWN'}: ${target.error?.message ?? 'no details'}`,
    );
  }
  const halted = targets.filter((target) => target.result === 'halted').length;
  const newHalts = after.effectiveHalts - before.effectiveHalts;
  if (newHalts !== halted) {
    problems.push(
      `the Store saw ${newHalts} halt(s) take effect, but the watchdog reported ${halted} halted rollout(s)`,
    );
  }
  if (
    after.pending.status !== before.pending.status ||
    after.pending.rollout.packageRolloutStatus !== before.pending.rollout.packageRolloutStatus
  ) {
    problems.push(
      `the pending submission ${SAMPLE_PENDING_SUBMISSION_ID} was changed; it must never be touched`,
    );
  }
  if (outcome.report?.plan !== undefined && outcome.notification === undefined) {
    problems.push('the watchdog acted but published no notification');
  }

  const expected = scenario.expected;
  if (expected === undefined) return problems;
  const main = targets.find(
    (target) => target.applicationId === SAMPLE_APP_ID && target.flightId === undefined,
  );
  if (main?.result !== expected.result) {
    problems.push(
      `expected the main rollout to be ${expected.result}, but it was ${main?.result ?? 'not examined'}`,
    );
  }
  if (after.rollout.packageRolloutStatus !== expected.rolloutStatus) {
    problems.push(
      `expected the rollout to end ${expected.rolloutStatus}, but the Store has it ${after.rollout.packageRolloutStatus}`,
    );
  }
  if (newHalts !== expected.effectiveHalts) {
    problems.push(
      `expected ${expected.effectiveHalts} halt(s) to take effect in the Store, but ${newHalts} did`,
    );
  }
  return problems;
}
