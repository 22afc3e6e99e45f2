/**
 * An alarm storm: many apps of one tenant alarm at once while the simulator enforces the Store's
 * per-tenant throttle. Two topologies:
 *
 * - `one-environment`: every alarm is handled in one process, so all calls share the handler's
 *   process-wide tenant budget (the design's assumption). Lambda would not do this on its own (it gives
 *   concurrent events separate execution environments), so it is the most favourable case for the
 *   client-side budget. Runs the source handler with the tenant's budget registered beforehand (see
 *   `overhead.ts`), so the window can be scaled like the simulator's.
 * - `lambda-concurrency`: one fresh process per alarm running the deployed artifact, as Lambda runs
 *   concurrent asynchronous invocations; each process has its own budget, so only the simulator's
 *   throttle (429 and `Retry-After`) spaces the calls. Only the first attempt is run: Lambda's own
 *   retries of a failed invocation (about 1 and 3 minutes later) are not simulated.
 *
 * Every process is initialised first (import and early token fetch); the clock starts when all the
 * events are sent at once and stops when the last invocation returned.
 */
import { SAMPLE_TENANT } from '../store-simulator/sample-state.ts';
import type { InvocationReport } from './child-protocol.ts';
import { createAlarmEvent, createBenchApps } from './fixtures.ts';
import { type HandlerProcess, startHandlerProcess } from './handler-process.ts';
import { type BenchFiles, startRig } from './rig.ts';

export interface StormScenario {
  readonly name: string;
  readonly topology: 'one-environment' | 'lambda-concurrency';
  /** Two upper-case letters or digits, unique per scenario (app IDs). */
  readonly series: string;
  readonly apps: number;
  /** The simulator's throttle; the one-environment client budget uses the same limit and window. */
  readonly limit: number;
  readonly windowMs: number;
  /** `context.getRemainingTimeInMillis()` at the start (the deployed function has 60 s). */
  readonly remainingMs: number;
  /** What the scenario stands for, for the report. */
  readonly note: string;
}

export interface StormResult {
  readonly scenario: StormScenario;
  readonly halted: number;
  readonly failed: number;
  /** Invocations that threw (a failed target makes the handler throw after notifying). */
  readonly invocationErrors: number;
  readonly failureCodes: readonly string[];
  /** From sending the events to the last invocation's return. */
  readonly totalMs: number;
  /** From sending the events to the last halt POST's answer (client side). */
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

export async function runStorm(files: BenchFiles, scenario: StormScenario): Promise<StormResult> {
  const apps = createBenchApps(scenario.series, scenario.apps);
  const rig = await startRig(apps, { limit: scenario.limit, windowMs: scenario.windowMs });
  const processes: HandlerProcess[] = [];
  try {
    if (scenario.topology === 'one-environment') {
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

    const startedAt = performance.now();
    const reports: InvocationReport[] = await Promise.all(
      apps.map((app, index) => {
        const target = processes[scenario.topology === 'one-environment' ? 0 : index];
        if (target === undefined) throw new Error('no process for an app');
        return target.invoke(createAlarmEvent(app), app.applicationId, scenario.remainingMs);
      }),
    );
    const totalMs = performance.now() - startedAt;
    // The reports' times are from each invocation's own start; all started within the same moment.
    const halts = reports.flatMap((report) =>
      report.timeToHaltMs === undefined ? [] : [report.timeToHaltMs],
    );
    const records = rig.records;
    return {
      scenario,
      halted: reports.filter((report) => report.results.includes('halted')).length,
      failed: reports.filter((report) => report.results.includes('failed')).length,
      invocationErrors: reports.filter((report) => !report.ok).length,
      failureCodes: [...new Set(reports.flatMap((report) => report.failureCodes))].sort(),
      totalMs,
      lastHaltMs: halts.length === 0 ? undefined : Math.max(...halts),
      storeRequestsAdmitted: records.store.filter((request) => request.status !== 429).length,
      throttled429: records.store.filter((request) => request.status === 429).length,
      notificationsPublished: records.publish.length,
      invocations: reports.map((report, index) => ({
        applicationId: apps[index]?.applicationId ?? '',
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

async function waitFor(condition: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!condition()) {
    if (performance.now() > deadline)
      throw new Error('timed out waiting for the handler processes to warm up');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
