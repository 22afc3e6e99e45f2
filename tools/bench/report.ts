/**
 * The benchmark's report: the JSON it writes (`BenchReport`) and the text it prints (Markdown tables).
 */
import type { CompositionEntry } from './bundles.ts';
import {
  formatBytes,
  formatMebibytes,
  formatMs,
  formatRatio,
  formatTable,
  formatVerdict,
  type TableColumn,
} from './format.ts';
import type { SampleSummary } from './stats.ts';
import { isStormPassed, type StormResult } from './storm.ts';
import { computeFloorMs, computeWarmLimitMs, type TargetCheck } from './targets.ts';

export interface BundleFigures {
  readonly bytes: number;
  readonly gzipBytes: number;
  readonly mapBytes: number;
  readonly composition: readonly CompositionEntry[];
}

export interface ImportFigures {
  readonly nodeFlags: readonly string[];
  readonly artifact: SampleSummary;
  readonly reference: SampleSummary;
  readonly artifactRssP50Bytes: number;
  readonly referenceRssP50Bytes: number;
}

export interface PathFigures {
  readonly timeToHalt: SampleSummary;
  /** Sequential round trips observed, one per invocation. */
  readonly roundTrips: readonly number[];
  readonly floorMs: number;
}

export interface LatencyFigures {
  readonly latencyMs: number;
  /** Invocations 2 to 6 of fresh processes running the artifact. */
  readonly warm: PathFigures;
  /** Warm invocations of a process that has handled hundreds (the source handler; see `overhead.ts`). */
  readonly steady?: SampleSummary;
  /** From the cold invocation's start (right after the init). */
  readonly cold: PathFigures;
  /** From the start of the import (init + invocation). */
  readonly coldWithInit: SampleSummary;
}

/** A what-if artifact (a proposed change applied at bundle time) and whether it still halts. */
export interface WhatIfFigures {
  readonly name: string;
  readonly change: string;
  /** False when the source already has the change (or no longer has what it rewrites): not measured. */
  readonly applicable: boolean;
  readonly bytes: number;
  readonly gzipBytes: number;
  readonly importP50Ms: number | undefined;
  readonly rssAfterImportP50Bytes: number | undefined;
  readonly invocations: number;
  /** Invocations that did not halt (empty when it works). */
  readonly anomalies: readonly string[];
  readonly maxRssBytes: number | undefined;
}

export interface BenchReport {
  readonly startedAt: string;
  readonly durationMs: number;
  readonly machine: {
    readonly node: string;
    readonly platform: string;
    readonly cpus: number;
    readonly cpuModel: string;
    /** `os.loadavg()`: 1, 5 and 15 minutes. A busy machine makes every timing slower and noisier. */
    readonly loadAverageAtStart: readonly number[];
    readonly loadAverageAtEnd: readonly number[];
  };
  /** The commit measured and the files under `functions/` and `infra/` that differed from it. */
  readonly source: { readonly commit: string; readonly changedPaths: readonly string[] };
  readonly artifact: BundleFigures;
  readonly reference: BundleFigures;
  readonly imports: {
    readonly runs: number;
    readonly deployed: ImportFigures;
    readonly withoutSourceMaps: ImportFigures;
  };
  readonly latency: readonly LatencyFigures[];
  readonly overhead: {
    readonly invocations: number;
    readonly source: SampleSummary;
    /** Time to halt minus the Store exchanges' time: the handler's own time before the halt. */
    readonly untilHalt: SampleSummary;
    readonly bundle: SampleSummary | undefined;
    readonly wall: SampleSummary;
    readonly timeToHalt: SampleSummary;
    readonly rawTriple: SampleSummary;
  };
  readonly memory: {
    readonly artifactMaxRssBytes: number;
    readonly artifactProcesses: number;
    readonly sourceMaxRssBytes: number;
    readonly sourceInvocations: number;
    readonly benchMaxRssBytes: number;
  };
  readonly whatIfs: readonly WhatIfFigures[];
  readonly storms: readonly StormResult[];
  readonly targets: readonly TargetCheck[];
  readonly anomalies: readonly string[];
}

const right = (header: string): TableColumn => ({ header, align: 'right' });
const left = (header: string): TableColumn => ({ header });

/** `3` when every count is the same, else `3–5 (median 3)`. */
export function describeCounts(counts: readonly number[]): string {
  if (counts.length === 0) return '—';
  const min = Math.min(...counts);
  const max = Math.max(...counts);
  if (min === max) return String(min);
  const sorted = [...counts].sort((a, b) => a - b);
  return `${min}–${max} (median ${sorted[Math.floor((sorted.length - 1) / 2)]})`;
}

function describeSpread(summary: SampleSummary): string {
  return `${formatMs(summary.min)} – ${formatMs(summary.max)}`;
}

export function renderReport(report: BenchReport): string {
  const sections: string[] = [];
  const { machine } = report;
  const load = (values: readonly number[]) => values.map((value) => value.toFixed(2)).join(' / ');
  sections.push(
    `Store Rollout Watchdog benchmark, ${report.startedAt} (${formatMs(report.durationMs)}), Node ${machine.node}, ` +
      `${machine.platform}, ${machine.cpus} × ${machine.cpuModel}; load average ${load(machine.loadAverageAtStart)} ` +
      `at the start, ${load(machine.loadAverageAtEnd)} at the end (1 / 5 / 15 min). Source: commit ${report.source.commit}` +
      (report.source.changedPaths.length === 0
        ? '.'
        : ` with uncommitted changes in ${report.source.changedPaths.join(', ')}.`),
  );

  const latencyRows = report.latency.flatMap((row) => {
    const L = row.latencyMs;
    const warmLimit = computeWarmLimitMs(L);
    return [
      [
        `${L} ms`,
        'warm, 2nd–6th invocation',
        formatMs(row.warm.timeToHalt.p50),
        describeSpread(row.warm.timeToHalt),
        String(row.warm.timeToHalt.n),
        describeCounts(row.warm.roundTrips),
        `${formatMs(row.warm.floorMs)} (3 × L)`,
        formatRatio(row.warm.timeToHalt.p50, row.warm.floorMs),
        `≤ ${formatMs(warmLimit)} ${formatVerdict(row.warm.timeToHalt.p50 <= warmLimit)}`,
      ],
      ...(row.steady === undefined
        ? []
        : [
            [
              `${L} ms`,
              'warm, steady state',
              formatMs(row.steady.p50),
              describeSpread(row.steady),
              String(row.steady.n),
              '',
              `${formatMs(row.warm.floorMs)} (3 × L)`,
              formatRatio(row.steady.p50, row.warm.floorMs),
              `≤ ${formatMs(warmLimit)} ${formatVerdict(row.steady.p50 <= warmLimit)}`,
            ],
          ]),
      [
        `${L} ms`,
        'cold, from invoke',
        formatMs(row.cold.timeToHalt.p50),
        describeSpread(row.cold.timeToHalt),
        String(row.cold.timeToHalt.n),
        describeCounts(row.cold.roundTrips),
        `${formatMs(row.cold.floorMs)} (5 × L)`,
        formatRatio(row.cold.timeToHalt.p50, row.cold.floorMs),
        '',
      ],
      [
        `${L} ms`,
        'cold, from init',
        formatMs(row.coldWithInit.p50),
        describeSpread(row.coldWithInit),
        String(row.coldWithInit.n),
        '',
        `${formatMs(computeFloorMs('cold', L))} + init`,
        '',
        '',
      ],
    ];
  });
  sections.push(
    [
      '### Time to halt (deployed artifact, alarm → halt POST answered, client side)',
      '',
      formatTable(
        [
          right('L'),
          left('path'),
          right('p50'),
          right('min – max'),
          right('n'),
          right('sequential round trips'),
          right('floor'),
          right('p50 / floor'),
          left('target'),
        ],
        latencyRows,
      ),
      '',
      'L is added by every server: Store, token endpoint, Secrets Manager stand-in (and SNS stand-in, after the halt).',
      'Warm, 2nd–6th invocation: the deployed artifact in fresh processes (one cold invocation right after the import, then 5 warm).',
      'Warm, steady state: the source handler after hundreds of invocations in one process (see the overhead table).',
      'Round trips are counted from the server-side records (requests that did not overlap).',
    ].join('\n'),
  );

  const { overhead } = report;
  const overheadRows: string[][] = [
    [
      'handler time − network time (source handler)',
      formatMs(overhead.source.p50),
      formatMs(overhead.source.p99),
      String(overhead.source.n),
      `≤ ${formatMs(2)} ${formatVerdict(overhead.source.p50 <= 2)}`,
    ],
    [
      'of which before the halt: time to halt − Store exchange time',
      formatMs(overhead.untilHalt.p50),
      formatMs(overhead.untilHalt.p99),
      String(overhead.untilHalt.n),
      '',
    ],
  ];
  if (overhead.bundle !== undefined) {
    overheadRows.push([
      'same, deployed artifact (warm invocations of the latency runs)',
      formatMs(overhead.bundle.p50),
      formatMs(overhead.bundle.p99),
      String(overhead.bundle.n),
      '',
    ]);
  }
  overheadRows.push(
    [
      'handler wall time (incl. SNS publish)',
      formatMs(overhead.wall.p50),
      formatMs(overhead.wall.p99),
      String(overhead.wall.n),
      '',
    ],
    [
      'time to halt',
      formatMs(overhead.timeToHalt.p50),
      formatMs(overhead.timeToHalt.p99),
      String(overhead.timeToHalt.n),
      '',
    ],
    [
      'raw: the 3 Store calls back to back, same pool type',
      formatMs(overhead.rawTriple.p50),
      formatMs(overhead.rawTriple.p99),
      String(overhead.rawTriple.n),
      '',
    ],
    [
      'cross-check: time to halt − raw (p50s)',
      formatMs(overhead.timeToHalt.p50 - overhead.rawTriple.p50),
      '',
      '',
      '',
    ],
  );
  sections.push(
    [
      `### Handler overhead at L = 0 (warm, ${overhead.invocations} invocations in one process)`,
      '',
      formatTable([left('measure'), right('p50'), right('p99'), right('n'), left('target')], overheadRows),
    ].join('\n'),
  );

  const { imports, memory } = report;
  const bundleRow = (name: string, bundle: BundleFigures, which: 'artifact' | 'reference') => [
    name,
    formatBytes(bundle.bytes),
    formatBytes(bundle.gzipBytes),
    formatBytes(bundle.mapBytes),
    formatMs(imports.deployed[which].p50),
    formatMs(imports.withoutSourceMaps[which].p50),
    formatMebibytes(
      which === 'artifact' ? imports.deployed.artifactRssP50Bytes : imports.deployed.referenceRssP50Bytes,
    ),
  ];
  sections.push(
    [
      `### Artifact (esbuild with the stack's options; import: median of ${imports.runs} fresh processes each, interleaved)`,
      '',
      formatTable(
        [
          left('bundle'),
          right('index.mjs'),
          right('gzip'),
          right('source map'),
          right('import p50 (--enable-source-maps, as deployed)'),
          right('import p50 (no source maps)'),
          right('RSS after import'),
        ],
        [
          bundleRow('artifact (handler)', report.artifact, 'artifact'),
          bundleRow('reference (SDK clients + undici)', report.reference, 'reference'),
          [
            'ratio',
            formatRatio(report.artifact.bytes, report.reference.bytes),
            formatRatio(report.artifact.gzipBytes, report.reference.gzipBytes),
            '',
            formatRatio(imports.deployed.artifact.p50, imports.deployed.reference.p50),
            formatRatio(imports.withoutSourceMaps.artifact.p50, imports.withoutSourceMaps.reference.p50),
            '',
          ],
        ],
      ),
      '',
      'Largest parts of the artifact (esbuild metafile, bytes in index.mjs):',
      '',
      formatTable(
        [left('package'), right('bytes'), right('share')],
        report.artifact.composition
          .slice(0, 12)
          .map((entry) => [
            entry.name,
            formatBytes(entry.bytes),
            `${((100 * entry.bytes) / Math.max(1, report.artifact.bytes)).toFixed(1)} %`,
          ]),
      ),
    ].join('\n'),
  );

  if (report.whatIfs.length > 0) {
    sections.push(
      [
        '### What-if artifacts (a proposed change applied at bundle time; sources unchanged)',
        '',
        formatTable(
          [
            left('variant'),
            right('index.mjs'),
            right('gzip'),
            right('import p50 (as deployed)'),
            right('vs reference'),
            right('RSS after import'),
            right('max RSS (cold + 2 warm)'),
            left('halts'),
          ],
          [
            [
              'artifact as it is',
              formatBytes(report.artifact.bytes),
              formatBytes(report.artifact.gzipBytes),
              formatMs(imports.deployed.artifact.p50),
              formatRatio(imports.deployed.artifact.p50, imports.deployed.reference.p50),
              formatMebibytes(imports.deployed.artifactRssP50Bytes),
              formatMebibytes(memory.artifactMaxRssBytes),
              '',
            ],
            ...report.whatIfs.map((whatIf) =>
              whatIf.applicable
                ? [
                    whatIf.name,
                    formatBytes(whatIf.bytes),
                    formatBytes(whatIf.gzipBytes),
                    formatMs(whatIf.importP50Ms),
                    formatRatio(whatIf.importP50Ms, imports.deployed.reference.p50),
                    formatMebibytes(whatIf.rssAfterImportP50Bytes),
                    formatMebibytes(whatIf.maxRssBytes),
                    whatIf.anomalies.length === 0
                      ? `${whatIf.invocations}/${whatIf.invocations} halted`
                      : 'NO: see anomalies',
                  ]
                : [whatIf.name, 'not applicable: the source already differs', '', '', '', '', '', ''],
            ),
          ],
        ),
        '',
        ...report.whatIfs.map((whatIf) => `- ${whatIf.name}: ${whatIf.change}`),
      ].join('\n'),
    );
  }

  sections.push(
    [
      '### Peak memory (max RSS)',
      '',
      formatTable(
        [left('process'), right('max RSS'), left('target')],
        [
          [
            `deployed artifact, cold + warm invocations (max of ${memory.artifactProcesses} processes)`,
            formatMebibytes(memory.artifactMaxRssBytes),
            `≤ 128 MiB ${formatVerdict(memory.artifactMaxRssBytes <= 128 * 1024 * 1024)}`,
          ],
          [
            `source handler after ${memory.sourceInvocations} invocations (includes Node's TypeScript loader)`,
            formatMebibytes(memory.sourceMaxRssBytes),
            '',
          ],
          [
            'bench process (simulator, stand-ins, orchestration)',
            formatMebibytes(memory.benchMaxRssBytes),
            '',
          ],
        ],
      ),
    ].join('\n'),
  );

  if (report.storms.length > 0) sections.push(renderStormSection(report.storms));

  sections.push(
    [
      '### Targets',
      '',
      formatTable(
        [left('target'), right('figure'), left('limit'), left('verdict')],
        report.targets.map((check) => [check.target, check.figure, check.limit, formatVerdict(check.pass)]),
      ),
    ].join('\n'),
  );

  if (report.anomalies.length > 0) {
    sections.push(['### Anomalies', '', ...report.anomalies.map((line) => `- ${line}`)].join('\n'));
  }
  return `${sections.join('\n\n')}\n`;
}

/** The alarm storms as a Markdown section: the table, then what each scenario stands for. */
export function renderStormSection(storms: readonly StormResult[]): string {
  return [
    '### Alarm storm (one tenant, simulator throttle on)',
    '',
    formatTable(
      [
        left('scenario'),
        right('apps'),
        right('events'),
        right('throttle (sim and budget)'),
        right('Lambda time'),
        right('halted'),
        right('already halted'),
        right('failed'),
        right('429s'),
        right('Store calls admitted'),
        right('first halt'),
        right('last halt'),
        right('total'),
        left('all halted, none failed'),
      ],
      storms.map((storm) => [
        storm.scenario.name,
        String(storm.scenario.apps),
        String(storm.events),
        `${storm.scenario.limit} / ${formatMs(storm.scenario.windowMs)}`,
        formatMs(storm.scenario.remainingMs),
        String(storm.halted),
        String(storm.alreadyHalted),
        String(storm.failed),
        String(storm.throttled429),
        String(storm.storeRequestsAdmitted),
        formatMs(storm.firstHaltMs),
        formatMs(storm.lastHaltMs),
        formatMs(storm.totalMs),
        `${formatVerdict(isStormPassed(storm))}${
          storm.failureCodes.length > 0 ? ` (${storm.failureCodes.join(', ')})` : ''
        }`,
      ]),
    ),
    '',
    'Halt times are when the simulator answered the first and the last successful halt POST, from the first event sent.',
    ...storms.map((storm) => `- ${storm.scenario.name}: ${storm.scenario.note}`),
  ].join('\n');
}
