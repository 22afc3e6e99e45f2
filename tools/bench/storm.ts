/**
 * An alarm storm: many apps of one tenant alarm at once while the simulator enforces the Store's
 * per-tenant throttle. The deployed function runs with reserved concurrency 1 and a 5-minute timeout
 * (`infra/watchdog-stack.ts`): one execution environment, one invocation at a time, its process-wide
 * request budget the tenant's whole budget. Three topologies:
 *
 * - `serial`: one process handles the events one after another, as the deployed function does with
 *   concurrent alarms (Lambda keeps the events that find it busy in its asynchronous event queue and
 *   retries them; here the next event starts as soon as the previous one returned, so the time Lambda's
 *   queue adds between invocations is not in the figures). Optionally each alarm arrives twice (SNS
 *   and EventBridge), the second reporting `already-halted`.
 * - `one-event`: one event concerns every app (an alarm they all list), so one invocation works on
 *   all of them at once and their calls compete for the budget: where its priorities (a started halt
 *   first) decide when the first halt goes out.
 * - `lambda-concurrency`: one fresh process per alarm running the deployed artifact, all at once, as
 *   Lambda would run them without the reserved concurrency; each process has its own budget, so only
 *   the simulator's 429s and `Retry-After` space the calls. Not the deployed configuration: what
 *   concurrency above 1 would do. Only the first attempt is run (Lambda's own retries are not).
 *
 * `serial` and `one-event` run the source handler with the tenant's budget registered beforehand (see
 * `overhead.ts`), so the window can be scaled like the simulator's. Every process is initialised first
 * (import and early token fetch); the clock starts when the first event is sent and stops when the
 * last invocation returned. Halt times are the simulator's: when it answered each halt POST.
 */

import { type BenchApp, createAlarmEvent, createBenchApps } from '../fixtures/watchdog-apps.ts';
import { SAMPLE_TENANT } from '../store-simulator/sample-state.ts';
import type { InvocationReport } from './child-protocol.ts';
import { formatMs } from './format.ts';
import { type HandlerProcess, startHandlerProcess } from './handler-process.ts';
import { type BenchFiles, startRig } from './rig.ts';
import type { TargetCheck } from './targets.ts';

export type StormTopology = 'serial' | 'one-event' | 'lambda-concurrency';

export interface StormScenario {
  readonly name: string;
  readonly topology: StormTopology;
  /** Two upper-case letters or digits, unique per scenario (app IDs). */
  readonly series: string;
  readonly apps: number;
  /** How many times each alarm is delivered (2: by SNS and by EventBridge); `serial` only. @default 1 */
  readonly deliveries?: number;
  /** The simulator's throttle; the source handler's client budget uses the same limit and window. */
  readonly limit: number;
  readonly windowMs: number;
  /** The client budget's `followUpMs`, scaled like the window. @default the budget's own (5 s) */
  readonly followUpMs?: number;
  /** `context.getRemainingTimeInMillis()` at the start of each invocation (the deployed function has 300 s). */
  readonly remainingMs: number;
  /** What the scenario stands for, for the report. */
  readonly note: string;
}

export interface StormResult {
  readonly scenario: StormScenario;
  /** Events sent (apps × deliveries, or one). */
  readonly events: number;
  /** Targets reported `halted`, `already-halted` and `failed`, over every invocation. */
  readonly halted: number;
  readonly alreadyHalted: number;
  readonly failed: number;
  /** Rollouts the simulator actually stopped (each app once at most). */
  readonly effectiveHalts: number;
  /** Invocations that threw (a failed target makes the handler throw after notifying). */
  readonly invocationErrors: number;
  readonly failureCodes: readonly string[];
  /** From sending the first event to the last invocation's return. */
  readonly totalMs: number;
  /** From sending the first event to the simulator's answer to the first and the last successful halt POST. */
  readonly firstHaltMs: number | undefined;
  readonly lastHaltMs: number | undefined;
  readonly storeRequestsAdmitted: number;
  readonly throttled429: number;
  readonly notificationsPublished: number;
  /** Each invocation, for a closer look (JSON only). */
  readonly invocations: ReadonlyArray<{
    readonly applicationId: string;
    readonly ok: boolean;
    readonly results: readonly string[];
    readonly failureCodes: readonly string[];
    readonly totalMs: number;
    readonly timeToHaltMs: number | undefined;
  }>;
}

/** The alarm every app lists in the `one-event` storm. */
const SHARED_ALARM = 'bench-storm-shared-crash-rate';

/** Whether the scenario stands for the deployed configuration (one environment). */
export function isDeployedTopology(topology: StormTopology): boolean {
  return topology !== 'lambda-concurrency';
}

/** The events of a storm, in the order they are sent, each with the app it concerns first. */
function planEvents(
  scenario: StormScenario,
  apps: readonly BenchApp[],
): Array<{ event: unknown; app: BenchApp }> {
  if (scenario.topology === 'one-event') {
    const [first] = apps;
    if (first === undefined) throw new RangeError('a storm needs apps');
    return [{ event: createAlarmEvent(first), app: first }];
  }
  const deliveries = scenario.topology === 'serial' ? (scenario.deliveries ?? 1) : 1;
  // Both deliveries of an alarm arrive together; alarms follow one another.
  return apps.flatMap((app) =>
    Array.from({ length: deliveries }, () => ({ event: createAlarmEvent(app), app })),
  );
}

export async function runStorm(files: BenchFiles, scenario: StormScenario): Promise<StormResult> {
  const created = createBenchApps(scenario.series, scenario.apps);
  const apps =
    scenario.topology === 'one-event' ? created.map((app) => ({ ...app, alarmName: SHARED_ALARM })) : created;
  const rig = await startRig(apps, { limit: scenario.limit, windowMs: scenario.windowMs });
  const processes: HandlerProcess[] = [];
  try {
    if (isDeployedTopology(scenario.topology)) {
      processes.push(
        await startHandlerProcess({
          runner: files.runner,
          handlerUrl: files.sourceHandlerUrl,
          env: rig.environmentFor(apps),
          args: [
            '--throttle-module',
            files.throttleModuleUrl,
            '--tenant',
            SAMPLE_TENANT.tenantId,
            '--budget-limit',
            String(scenario.limit),
            '--budget-window-ms',
            String(scenario.windowMs),
            ...(scenario.followUpMs === undefined
              ? []
              : ['--budget-follow-up-ms', String(scenario.followUpMs)]),
          ],
        }),
      );
    } else {
      processes.push(
        ...(await Promise.all(
          apps.map((app) =>
            startHandlerProcess({
              runner: files.runner,
              handlerUrl: files.artifactUrl,
              env: rig.environmentFor([app]),
              nodeFlags: ['--enable-source-maps'],
            }),
          ),
        )),
      );
    }
    // Let every early token fetch finish: only the storm's own requests are recorded.
    await waitFor(() => rig.records.token.length >= processes.length, 10_000);
    rig.clearRecords();
    const haltsBefore = rig.simulator.control.effectiveHalts;

    const events = planEvents(scenario, apps);
    const startedAt = performance.now();
    const invoke = (index: number) => {
      const planned = events[index];
      const target = processes[isDeployedTopology(scenario.topology) ? 0 : index];
      if (planned === undefined || target === undefined) throw new Error('no process for an event');
      return target.invoke(planned.event, planned.app.applicationId, scenario.remainingMs);
    };
    const reports: InvocationReport[] = [];
    if (scenario.topology === 'serial') {
      // One invocation at a time, like one execution environment.
      for (let index = 0; index < events.length; index++) reports.push(await invoke(index));
    } else {
      reports.push(...(await Promise.all(events.map((_, index) => invoke(index)))));
    }
    const totalMs = performance.now() - startedAt;

    const records = rig.records;
    const haltTimes = records.store
      .filter(
        (request) =>
          request.method === 'POST' &&
          request.path.endsWith('/haltpackagerollout') &&
          request.status === 200 &&
          request.endedAt !== undefined,
      )
      .map((request) => (request.endedAt ?? startedAt) - startedAt);
    const results = reports.flatMap((report) => report.results);
    const count = (result: string) => results.filter((candidate) => candidate === result).length;
    return {
      scenario,
      events: events.length,
      halted: count('halted'),
      alreadyHalted: count('already-halted'),
      failed: count('failed'),
      effectiveHalts: rig.simulator.control.effectiveHalts - haltsBefore,
      invocationErrors: reports.filter((report) => !report.ok).length,
      failureCodes: [...new Set(reports.flatMap((report) => report.failureCodes))].sort(),
      totalMs,
      firstHaltMs: haltTimes.length === 0 ? undefined : Math.min(...haltTimes),
      lastHaltMs: haltTimes.length === 0 ? undefined : Math.max(...haltTimes),
      storeRequestsAdmitted: records.store.filter((request) => request.status !== 429).length,
      throttled429: records.store.filter((request) => request.status === 429).length,
      notificationsPublished: records.publish.length,
      invocations: reports.map((report, index) => ({
        applicationId: events[index]?.app.applicationId ?? '',
        ok: report.ok,
        results: report.results,
        failureCodes: report.failureCodes,
        totalMs: report.totalMs,
        timeToHaltMs: report.timeToHaltMs,
      })),
    };
  } finally {
    for (const handlerProcess of processes) handlerProcess.kill();
    await rig.close();
  }
}

/** Whether a storm did what issue 5 asks: every app halted exactly once, nothing failed. */
export function isStormPassed(result: StormResult): boolean {
  return (
    result.effectiveHalts === result.scenario.apps &&
    result.halted === result.scenario.apps &&
    result.failed === 0 &&
    result.invocationErrors === 0
  );
}

/**
 * Issue 5's storm target for a scenario of the deployed configuration: all halted, none failed (the
 * total time is reported beside it; there is no limit on it).
 */
export function checkStorm(result: StormResult): TargetCheck {
  const { scenario } = result;
  return {
    target: `alarm storm: ${scenario.name}`,
    figure:
      `${result.halted}/${scenario.apps} halted, ${result.failed} failed, ${result.throttled429} 429s; ` +
      `first halt ${formatMs(result.firstHaltMs)}, last ${formatMs(result.lastHaltMs)}, total ${formatMs(result.totalMs)}`,
    limit: 'all halted, none failed',
    pass: isStormPassed(result),
  };
}

async function waitFor(condition: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!condition()) {
    if (performance.now() > deadline)
      throw new Error('timed out waiting for the handler processes to warm up');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
