/**
 * The handler's own overhead at zero injected latency, over many warm invocations: its wall time minus
 * the time during which at least one of its HTTP exchanges was in flight, as seen from inside its
 * process (see `network-probe.ts`). Cross-checked against three raw Store calls back to back on one
 * keep-alive pool in the same process. Then a few more warm invocations at higher latencies give the
 * steady-state time to halt (a process that has handled hundreds of invocations), beside the
 * early-invocation figures of `latency-sweep.ts`.
 *
 * Hundreds of invocations do not fit the handler's request budget (20 Store calls a minute per tenant;
 * the artifact cannot be told otherwise), so this phase runs the source handler
 * (`functions/halt-rollout/handler.ts`, the same code the artifact bundles, run by Node's type
 * stripping) with that tenant's budget registered beforehand with a limit that never binds
 * (`getTenantThrottle`'s first caller sets the options). Nothing else differs.
 */

import { createAlarmEvent, createBenchApps } from '../fixtures/watchdog-apps.ts';
import { SAMPLE_TENANT } from '../store-simulator/sample-state.ts';
import type { InvocationReport } from './child-protocol.ts';
import { startHandlerProcess } from './handler-process.ts';
import { type BenchFiles, startRig } from './rig.ts';

export interface OverheadOptions {
  readonly warmupInvocations: number;
  readonly measuredInvocations: number;
  /** Raw back-to-back triples of Store calls for the cross-check. */
  readonly rawTriples: number;
  /** Afterwards, warm invocations at these latencies (steady-state time to halt). */
  readonly steady: ReadonlyArray<{ readonly latencyMs: number; readonly invocations: number }>;
}

export interface OverheadResult {
  readonly measured: readonly InvocationReport[];
  readonly rawTripleMs: readonly number[];
  /** The steady-state invocations at each latency of `steady`. */
  readonly steady: ReadonlyArray<{
    readonly latencyMs: number;
    readonly reports: readonly InvocationReport[];
  }>;
  /** Peak RSS of the process after every invocation (it includes Node's TypeScript loader). */
  readonly maxRssBytes: number;
  readonly invocations: number;
  readonly anomalies: readonly string[];
}

export async function runOverhead(files: BenchFiles, options: OverheadOptions): Promise<OverheadResult> {
  const handled = createBenchApps('OV', 1 + options.warmupInvocations + options.measuredInvocations);
  const raw = createBenchApps('RW', options.rawTriples);
  const steadyApps = options.steady.map(({ latencyMs, invocations }, index) => ({
    latencyMs,
    apps: createBenchApps(`W${index}`, invocations),
  }));
  const watched = [...handled, ...steadyApps.flatMap(({ apps }) => apps)];
  const rig = await startRig([...watched, ...raw]);
  rig.setLatency(0);
  const anomalies: string[] = [];
  const [first, ...rest] = handled;
  if (first === undefined) throw new RangeError('no invocations to measure');
  const child = await startHandlerProcess({
    runner: files.runner,
    handlerUrl: files.sourceHandlerUrl,
    env: rig.environmentFor(watched),
    args: [
      '--throttle-module',
      files.throttleModuleUrl,
      '--tenant',
      SAMPLE_TENANT.tenantId,
      '--budget-limit',
      '1000000',
      '--budget-window-ms',
      '60000',
      '--http-module',
      files.httpModuleUrl,
    ],
    coldInvocation: { event: createAlarmEvent(first), applicationId: first.applicationId },
  });
  try {
    const measured: InvocationReport[] = [];
    for (const [index, app] of rest.entries()) {
      const report = await child.invoke(createAlarmEvent(app), app.applicationId);
      if (!report.ok || report.results.join(',') !== 'halted') {
        anomalies.push(
          `overhead ${app.applicationId}: results=[${report.results.join(',')}] ok=${report.ok}`,
        );
      }
      if (index >= options.warmupInvocations) measured.push(report);
    }
    const rawTripleMs = await child.runRawRoundTrips({
      storeBaseUrl: rig.simulator.storeBaseUrl,
      authority: rig.simulator.authority,
      tenantId: SAMPLE_TENANT.tenantId,
      clientId: SAMPLE_TENANT.clientId,
      clientSecret: SAMPLE_TENANT.clientSecret,
      apps: raw.map((app) => ({ applicationId: app.applicationId, submissionId: app.submissionId })),
    });
    const steady: Array<{ latencyMs: number; reports: InvocationReport[] }> = [];
    for (const { latencyMs, apps } of steadyApps) {
      rig.setLatency(latencyMs);
      const reports: InvocationReport[] = [];
      for (const app of apps) reports.push(await child.invoke(createAlarmEvent(app), app.applicationId));
      steady.push({ latencyMs, reports });
    }
    const { maxRssBytes } = await child.exit();
    return { measured, rawTripleMs, steady, maxRssBytes, invocations: watched.length, anomalies };
  } finally {
    child.kill();
    await rig.close();
  }
}
