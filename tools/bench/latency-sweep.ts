/**
 * Time to halt, cold and warm, for each injected latency: the deployed artifact runs in fresh child
 * processes (one per simulated execution environment, Node started with `--enable-source-maps` like the
 * function). Each process makes one cold invocation right after its import and then a few warm ones,
 * every invocation about an app of its own. A process stays within the handler's own request budget
 * (20 Store calls a minute per tenant, not configurable in the artifact), which bounds the warm
 * invocations per process to six.
 */

import { createAlarmEvent, createBenchApps } from '../fixtures/watchdog-apps.ts';
import type { InvocationReport } from './child-protocol.ts';
import { startHandlerProcess } from './handler-process.ts';
import { countSequentialRoundTrips } from './intervals.ts';
import { type BenchFiles, haltPathIntervals, startRig } from './rig.ts';

export interface HaltSample {
  readonly report: InvocationReport;
  /** Requests on the way to the halt that had to happen one after another (server-side records). */
  readonly sequentialRoundTrips: number;
  readonly storeRequests: number;
  readonly tokenRequests: number;
  readonly secretRequests: number;
}

export interface LatencyResult {
  readonly latencyMs: number;
  readonly cold: ReadonlyArray<HaltSample & { readonly importMs: number }>;
  readonly warm: readonly HaltSample[];
  /** Peak RSS of each process (bytes). */
  readonly maxRssBytes: readonly number[];
  /** Invocations that did not end in exactly one `halted` target. */
  readonly anomalies: readonly string[];
}

export interface LatencySweepOptions {
  readonly latenciesMs: readonly number[];
  readonly processesPerLatency: number;
  /** At most 5: the cold invocation and five warm ones spend 18 of the 20 requests a minute. */
  readonly warmPerProcess: number;
}

export async function runLatencySweep(
  files: BenchFiles,
  options: LatencySweepOptions,
): Promise<LatencyResult[]> {
  if (options.warmPerProcess > 5)
    throw new RangeError('at most 5 warm invocations per process (request budget)');
  const results: LatencyResult[] = [];
  for (const [index, latencyMs] of options.latenciesMs.entries()) {
    const perProcess = 1 + options.warmPerProcess;
    const apps = createBenchApps(`L${index}`, options.processesPerLatency * perProcess);
    const rig = await startRig(apps);
    rig.setLatency(latencyMs);
    const cold: Array<HaltSample & { importMs: number }> = [];
    const warm: HaltSample[] = [];
    const maxRssBytes: number[] = [];
    const anomalies: string[] = [];
    const sample = (report: InvocationReport, applicationId: string): HaltSample => {
      if (!report.ok || report.results.join(',') !== 'halted') {
        anomalies.push(
          `L=${latencyMs} ${applicationId}: ${report.ok ? 'ok' : `threw ${report.errorName ?? ''} ${report.errorCode ?? ''}`} ` +
            `results=[${report.results.join(',')}] failures=[${report.failureCodes.join(',')}]`,
        );
      }
      const records = rig.records;
      return {
        report,
        sequentialRoundTrips: countSequentialRoundTrips(haltPathIntervals(records)),
        storeRequests: records.store.length,
        tokenRequests: records.token.length,
        secretRequests: records.secret.length,
      };
    };
    try {
      for (let environment = 0; environment < options.processesPerLatency; environment++) {
        const own = apps.slice(environment * perProcess, (environment + 1) * perProcess);
        const [first, ...rest] = own;
        if (first === undefined) continue;
        rig.clearRecords();
        const child = await startHandlerProcess({
          runner: files.runner,
          handlerUrl: files.artifactUrl,
          env: { ...rig.environmentFor(own), NODE_OPTIONS: '' },
          nodeFlags: ['--enable-source-maps'],
          coldInvocation: { event: createAlarmEvent(first), applicationId: first.applicationId },
        });
        try {
          if (child.cold === undefined) throw new Error('the child made no cold invocation');
          cold.push({ ...sample(child.cold, first.applicationId), importMs: child.init.importMs });
          for (const app of rest) {
            rig.clearRecords();
            warm.push(
              sample(await child.invoke(createAlarmEvent(app), app.applicationId), app.applicationId),
            );
          }
          maxRssBytes.push((await child.exit()).maxRssBytes);
        } finally {
          child.kill();
        }
      }
    } finally {
      await rig.close();
    }
    results.push({ latencyMs, cold, warm, maxRssBytes, anomalies });
  }
  return results;
}
