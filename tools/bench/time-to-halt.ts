/**
 * Time to halt of the deployed artifact, cold and early-warm, against its round-trip floor, for each
 * injected latency L; and its peak memory. Fresh child processes run the artifact (one per simulated
 * execution environment, Node started with `--enable-source-maps` like the function): each makes one cold
 * invocation right after its import, then a few warm ones, every invocation about an app of its own (a
 * halt cannot be undone). A process stays within the handler's own request budget (20 Store requests a
 * minute per tenant), which bounds it to one cold and five warm invocations.
 */
import { createAlarmEvent, createBenchApps } from '../fixtures/watchdog-apps.ts';
import type { InvocationReport } from './child-protocol.ts';
import { describeCounts, formatMebibytes, formatMs, formatRatio, formatTable } from './format.ts';
import { startHandlerProcess } from './handler-process.ts';
import { countSequentialRoundTrips } from './intervals.ts';
import { haltPathIntervals, startRig } from './rig.ts';
import { type SampleSummary, summarizeSample } from './stats.ts';
import { checkPeakRss, checkWarm, computeFloorMs, type TargetCheck } from './targets.ts';

export interface HaltSample {
  readonly timeToHaltMs: number;
  /** Requests on the way to the halt that had to happen one after another (server-side records). */
  readonly roundTrips: number;
  /** Connections undici opened during the invocation. */
  readonly connections: number;
}

export interface LatencyRun {
  readonly latencyMs: number;
  readonly cold: ReadonlyArray<HaltSample & { readonly importMs: number }>;
  /** The 2nd to 6th invocation of each process. */
  readonly warm: readonly HaltSample[];
  /** Peak RSS of each process (bytes). */
  readonly maxRssBytes: readonly number[];
  /** Invocations that did not end in exactly one `halted` target. */
  readonly anomalies: readonly string[];
}

export interface TimeToHaltOptions {
  /** The bundled child runner and the artifact's file URL. */
  readonly runner: string;
  readonly artifactUrl: string;
  readonly latenciesMs: readonly number[];
  readonly processesPerLatency: number;
}

const WARM_PER_PROCESS = 5;

export async function measureTimeToHalt(options: TimeToHaltOptions): Promise<LatencyRun[]> {
  const runs: LatencyRun[] = [];
  const perProcess = 1 + WARM_PER_PROCESS;
  for (const [index, latencyMs] of options.latenciesMs.entries()) {
    const apps = createBenchApps(`L${index}`, options.processesPerLatency * perProcess);
    const rig = await startRig(apps);
    rig.setLatency(latencyMs);
    const run = {
      latencyMs,
      cold: [] as (HaltSample & { importMs: number })[],
      warm: [] as HaltSample[],
      maxRssBytes: [] as number[],
      anomalies: [] as string[],
    };
    const sample = (report: InvocationReport, applicationId: string): HaltSample | undefined => {
      const roundTrips = countSequentialRoundTrips(haltPathIntervals(rig.records));
      rig.clearRecords();
      if (!report.ok || report.results.join(',') !== 'halted' || report.timeToHaltMs === undefined) {
        run.anomalies.push(
          `L=${latencyMs} ${applicationId}: ${report.ok ? 'ok' : `threw ${report.errorName ?? ''} ${report.errorCode ?? ''}`} results=[${report.results.join(',')}]`,
        );
        return undefined;
      }
      return { timeToHaltMs: report.timeToHaltMs, roundTrips, connections: report.connections };
    };
    try {
      for (let environment = 0; environment < options.processesPerLatency; environment++) {
        const [first, ...rest] = apps.slice(environment * perProcess, (environment + 1) * perProcess);
        if (first === undefined) continue;
        rig.clearRecords();
        const child = await startHandlerProcess({
          runner: options.runner,
          handlerUrl: options.artifactUrl,
          env: { ...rig.environmentFor([first, ...rest]), NODE_OPTIONS: '' },
          nodeFlags: ['--enable-source-maps'],
          cold: { event: createAlarmEvent(first), applicationId: first.applicationId },
        });
        try {
          const cold = sample(child.cold, first.applicationId);
          if (cold !== undefined) run.cold.push({ ...cold, importMs: child.importMs });
          for (const app of rest) {
            const warm = sample(
              await child.invoke(createAlarmEvent(app), app.applicationId),
              app.applicationId,
            );
            if (warm !== undefined) run.warm.push(warm);
          }
          run.maxRssBytes.push(await child.exit());
        } finally {
          child.kill();
        }
      }
    } finally {
      await rig.close();
    }
    runs.push(run);
  }
  return runs;
}

function row(
  label: string,
  latencyMs: number,
  summary: SampleSummary | undefined,
  floor: string,
  floorMs: number,
  samples: readonly HaltSample[],
): string[] {
  return [
    `${latencyMs} ms`,
    label,
    formatMs(summary?.p50),
    summary === undefined ? '—' : `${formatMs(summary.min)} – ${formatMs(summary.max)}`,
    String(summary?.n ?? 0),
    describeCounts(samples.map((sample) => sample.roundTrips)),
    describeCounts(samples.map((sample) => sample.connections)),
    floor,
    floorMs === 0 ? '—' : formatRatio(summary?.p50, floorMs),
  ];
}

/** The section's Markdown and its target checks (early-warm time to halt, peak memory). */
export function renderTimeToHalt(runs: readonly LatencyRun[]): { text: string; targets: TargetCheck[] } {
  const rows: string[][] = [];
  const targets: TargetCheck[] = [];
  for (const run of runs) {
    const L = run.latencyMs;
    const warm = summarizeSample(run.warm.map((sample) => sample.timeToHaltMs));
    const cold = summarizeSample(run.cold.map((sample) => sample.timeToHaltMs));
    const withInit = summarizeSample(run.cold.map((sample) => sample.importMs + sample.timeToHaltMs));
    rows.push(
      row(
        'warm, 2nd–6th invocation',
        L,
        warm,
        `${formatMs(computeFloorMs('warm', L))} (3 × L)`,
        computeFloorMs('warm', L),
        run.warm,
      ),
      row(
        'cold, from invoke',
        L,
        cold,
        `${formatMs(computeFloorMs('cold', L))} (5 × L)`,
        computeFloorMs('cold', L),
        run.cold,
      ),
      row('cold, from init', L, withInit, `${formatMs(computeFloorMs('cold', L))} + init`, 0, []),
    );
    if (warm !== undefined) targets.push(checkWarm(L, warm.p50, '2nd–6th invocation (artifact)'));
  }
  const rss = runs.flatMap((run) => run.maxRssBytes);
  if (rss.length > 0) targets.push(checkPeakRss(Math.max(...rss)));
  const anomalies = runs.flatMap((run) => run.anomalies);
  const text = [
    '### Time to halt (deployed artifact, alarm → halt POST answered, client side)',
    '',
    formatTable(
      [
        { header: 'L' },
        { header: 'invocation' },
        { header: 'p50', align: 'right' },
        { header: 'min – max', align: 'right' },
        { header: 'n', align: 'right' },
        { header: 'round trips in a row', align: 'right' },
        { header: 'new connections', align: 'right' },
        { header: 'floor', align: 'right' },
        { header: 'p50 / floor', align: 'right' },
      ],
      rows,
    ),
    '',
    `Peak memory (max RSS of ${rss.length} artifact processes, one cold and up to ${WARM_PER_PROCESS} warm invocations each): ${formatMebibytes(rss.length === 0 ? undefined : Math.max(...rss))}.`,
    ...(anomalies.length === 0 ? [] : ['', 'Anomalies:', ...anomalies.map((line) => `- ${line}`)]),
  ].join('\n');
  return { text, targets };
}
