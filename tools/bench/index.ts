/**
 * `npm run bench`: measures the halt-rollout handler against the Store simulator and prints a report
 * (Markdown tables), also written to `bench-results/` (`latest.md`, `latest.json`, and a timestamped
 * JSON). See `tools/bench/README.md` for what is measured and how.
 *
 * Options: `--quick` (fewer runs, a smoke test whose figures are not representative), `--out <dir>`
 * (default `bench-results`), `--skip-storm`.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { type BuiltBundle, bundleChildRunner, bundleWithStackOptions } from './bundles.ts';
import { createBenchApps, createHandlerEnvironment } from './fixtures.ts';
import { formatBytes, formatMebibytes, formatMs } from './format.ts';
import { type ImportSample, measureImportsInterleaved } from './import-time.ts';
import { runLatencySweep } from './latency-sweep.ts';
import { runOverhead } from './overhead.ts';
import {
  type BenchReport,
  type ImportFigures,
  type LatencyFigures,
  renderReport,
  type WhatIfFigures,
} from './report.ts';
import type { BenchFiles } from './rig.ts';
import { type SampleSummary, summarizeSample } from './stats.ts';
import { runStorm, type StormResult, type StormScenario } from './storm.ts';
import { checkTargets, computeFloorMs } from './targets.ts';
import { WHAT_IFS, type WhatIf } from './what-if/variants.ts';

const PROJECT_ROOT = fileURLToPath(new URL('../..', import.meta.url));
const HANDLER_ENTRY = 'functions/halt-rollout/handler.ts';
const LATENCIES_MS = [0, 25, 100];

const { values: flags } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    out: { type: 'string', default: 'bench-results' },
    'skip-storm': { type: 'boolean', default: false },
  },
});

const settings = flags.quick
  ? { importRuns: 3, processesPerLatency: 1, warmPerProcess: 5, warmup: 5, measured: 40, raw: 40, steady: 5 }
  : {
      importRuns: 15,
      processesPerLatency: 3,
      warmPerProcess: 5,
      warmup: 20,
      measured: 250,
      raw: 250,
      steady: 20,
    };

/** Storms (see `storm.ts`): 20 apps × 3 Store calls = 60 calls against 20 allowed per window. */
const STORMS: StormScenario[] = [
  {
    name: 'one environment, time scaled 1/10',
    topology: 'one-environment',
    series: 'S1',
    apps: 20,
    limit: 20,
    windowMs: 6_000,
    remainingMs: 7_800,
    note:
      'all 20 alarms in one process sharing the client budget; window 6 s instead of 60 s on the simulator and the client budget, ' +
      'and the Lambda time cut so the Store phase gets 4.8 s instead of 48 s (remaining 7.8 s, of which 3 s are kept for the notification). ' +
      'Stands for the real 20 calls per 60 s within the 60 s timeout, ten times faster.',
  },
  {
    name: 'one environment, window scaled only',
    topology: 'one-environment',
    series: 'S2',
    apps: 20,
    limit: 20,
    windowMs: 6_000,
    remainingMs: 60_000,
    note:
      'as above with the full 60 s of Lambda time: what the client budget achieves when the deadline is not the limit ' +
      '(not a real configuration: with the real window this needs about 2 minutes, twice the function timeout).',
  },
  {
    name: 'Lambda concurrency, real window',
    topology: 'lambda-concurrency',
    series: 'S3',
    apps: 20,
    limit: 20,
    windowMs: 60_000,
    remainingMs: 60_000,
    note:
      'one process per alarm (the deployed artifact), as Lambda runs concurrent events, with the real 20 calls per 60 s and the real 60 s; ' +
      "each process's budget sees only its own calls, so only the simulator's 429s space them. First attempt only (Lambda's own retries are not run).",
  },
];

const log = (line: string) => process.stderr.write(`[bench] ${line}\n`);

/** The commit measured, and the files under `functions/` and `infra/` that differ from it (a shared tree). */
function describeSource(): { commit: string; changedPaths: string[] } {
  try {
    const git = (...args: string[]) => execFileSync('git', args, { cwd: PROJECT_ROOT, encoding: 'utf8' });
    const changedPaths = git('status', '--porcelain', '--', 'functions', 'infra', 'package-lock.json')
      .split('\n')
      .filter((line) => line.trim() !== '')
      .map((line) => line.slice(3));
    return { commit: git('rev-parse', '--short', 'HEAD').trim(), changedPaths };
  } catch {
    return { commit: 'unknown', changedPaths: [] };
  }
}

function summarize(values: readonly number[], what: string): SampleSummary {
  const summary = summarizeSample(values);
  if (summary === undefined) throw new Error(`no samples for ${what}`);
  return summary;
}

function summarizeImports(samples: readonly ImportSample[] | undefined, what: string) {
  return {
    time: summarize(
      (samples ?? []).map((sample) => sample.importMs),
      `${what} import`,
    ),
    rssP50Bytes: summarize(
      (samples ?? []).map((sample) => sample.rssBytes),
      `${what} RSS`,
    ).p50,
  };
}

function timesToHalt(reports: readonly { readonly timeToHaltMs?: number | undefined }[]): number[] {
  return reports.flatMap((report) => (report.timeToHaltMs === undefined ? [] : [report.timeToHaltMs]));
}

/** Runs `phase`, logging its name and how long it took. */
async function timed<T>(name: string, phase: () => Promise<T>): Promise<T> {
  const startedAt = performance.now();
  log(`${name}...`);
  const result = await phase();
  log(`${name}: ${formatMs(performance.now() - startedAt)}`);
  return result;
}

async function main(): Promise<void> {
  const startedAt = new Date();
  const loadAtStart = loadavg();
  const clockStart = performance.now();
  const outDir = resolve(PROJECT_ROOT, flags.out);
  const bundlesDir = join(outDir, 'bundles');

  const built = await timed('bundling (stack options from infra/bundling.ts)', async () => {
    const artifact = await bundleWithStackOptions(PROJECT_ROOT, HANDLER_ENTRY, join(bundlesDir, 'handler'));
    const reference = await bundleWithStackOptions(
      PROJECT_ROOT,
      'tools/bench/reference-entry.ts',
      join(bundlesDir, 'reference'),
    );
    const runner = await bundleChildRunner(PROJECT_ROOT, join(bundlesDir, 'invocation-child.mjs'));
    const whatIfs: Array<{ whatIf: WhatIf; bundle: BuiltBundle }> = [];
    for (const whatIf of WHAT_IFS) {
      const bundle = await bundleWithStackOptions(
        PROJECT_ROOT,
        HANDLER_ENTRY,
        join(bundlesDir, 'what-if', whatIf.slug),
        whatIf.rewrites,
      );
      whatIfs.push({ whatIf, bundle });
    }
    return { artifact, reference, runner, whatIfs };
  });
  const { artifact, reference, runner } = built;
  writeFileSync(
    join(bundlesDir, 'composition.json'),
    `${JSON.stringify({ artifact: artifact.composition, reference: reference.composition }, null, 2)}\n`,
  );
  // A what-if whose change is already in the source (or no longer fits it) is reported, not measured.
  const applicable = built.whatIfs.filter(
    ({ whatIf, bundle }) => bundle.unappliedRewrites.length < whatIf.rewrites.length,
  );
  const files: BenchFiles = {
    runner,
    artifactUrl: pathToFileURL(artifact.file).href,
    sourceHandlerUrl: pathToFileURL(join(PROJECT_ROOT, HANDLER_ENTRY)).href,
    throttleModuleUrl: pathToFileURL(join(PROJECT_ROOT, 'functions/commons/store/throttle.ts')).href,
    httpModuleUrl: pathToFileURL(join(PROJECT_ROOT, 'functions/commons/store/http.ts')).href,
  };

  // A valid configuration whose endpoints refuse connections: the import does all its set-up, and the
  // early credential fetch fails after the measurement.
  const importEnv = createHandlerEnvironment({
    apps: createBenchApps('IM', 1),
    storeBaseUrl: 'http://127.0.0.1:9/v1.0/my/',
    authority: 'http://127.0.0.1:9',
    awsEndpoint: 'http://127.0.0.1:9',
  });
  const deployedSamples = await timed(
    `import times as deployed (--enable-source-maps), ${settings.importRuns} runs of ${2 + applicable.length} bundles`,
    () =>
      measureImportsInterleaved(
        [artifact.file, reference.file, ...applicable.map(({ bundle }) => bundle.file)],
        settings.importRuns,
        importEnv,
        ['--enable-source-maps'],
      ),
  );
  const plainSamples = await timed(
    `import times without source maps, ${settings.importRuns} runs of 2 bundles`,
    () => measureImportsInterleaved([artifact.file, reference.file], settings.importRuns, importEnv, []),
  );
  const importFigures = (samples: ImportSample[][], nodeFlags: string[]): ImportFigures => {
    const artifactImports = summarizeImports(samples[0], 'artifact');
    const referenceImports = summarizeImports(samples[1], 'reference');
    return {
      nodeFlags,
      artifact: artifactImports.time,
      reference: referenceImports.time,
      artifactRssP50Bytes: artifactImports.rssP50Bytes,
      referenceRssP50Bytes: referenceImports.rssP50Bytes,
    };
  };
  const deployedImports = importFigures(deployedSamples, ['--enable-source-maps']);
  const plainImports = importFigures(plainSamples, []);

  const sweep = await timed(
    `time to halt at L = ${LATENCIES_MS.join(', ')} ms, ${settings.processesPerLatency} processes each`,
    () =>
      runLatencySweep(files, {
        latenciesMs: LATENCIES_MS,
        processesPerLatency: settings.processesPerLatency,
        warmPerProcess: settings.warmPerProcess,
      }),
  );

  const overheadRun = await timed(
    `overhead: ${settings.warmup} + ${settings.measured} warm invocations at L = 0, ${settings.raw} raw triples, ` +
      `${settings.steady} steady-state invocations at L = 25 and 100 ms`,
    () =>
      runOverhead(files, {
        warmupInvocations: settings.warmup,
        measuredInvocations: settings.measured,
        rawTriples: settings.raw,
        steady: [
          { latencyMs: 25, invocations: settings.steady },
          { latencyMs: 100, invocations: settings.steady },
        ],
      }),
  );
  const steadyAt = (latencyMs: number): SampleSummary | undefined => {
    if (latencyMs === 0) return summarizeSample(timesToHalt(overheadRun.measured));
    const run = overheadRun.steady.find((entry) => entry.latencyMs === latencyMs);
    return run === undefined ? undefined : summarizeSample(timesToHalt(run.reports));
  };

  const latency: LatencyFigures[] = sweep.map((run) => {
    const steady = steadyAt(run.latencyMs);
    return {
      latencyMs: run.latencyMs,
      warm: {
        timeToHalt: summarize(
          timesToHalt(run.warm.map((sample) => sample.report)),
          `warm time to halt at ${run.latencyMs} ms`,
        ),
        roundTrips: run.warm.map((sample) => sample.sequentialRoundTrips),
        floorMs: computeFloorMs('warm', run.latencyMs),
      },
      ...(steady === undefined ? {} : { steady }),
      cold: {
        timeToHalt: summarize(
          timesToHalt(run.cold.map((sample) => sample.report)),
          `cold time to halt at ${run.latencyMs} ms`,
        ),
        roundTrips: run.cold.map((sample) => sample.sequentialRoundTrips),
        floorMs: computeFloorMs('cold', run.latencyMs),
      },
      coldWithInit: summarize(
        run.cold.flatMap((sample) =>
          sample.report.timeToHaltMs === undefined ? [] : [sample.importMs + sample.report.timeToHaltMs],
        ),
        `cold time to halt with init at ${run.latencyMs} ms`,
      ),
    };
  });
  const bundleOverhead = sweep
    .filter((run) => run.latencyMs === 0)
    .flatMap((run) => run.warm.map((sample) => sample.report.totalMs - sample.report.networkMs));
  const overheadSource = summarize(
    overheadRun.measured.map((report) => report.totalMs - report.networkMs),
    'overhead',
  );

  const whatIfs: WhatIfFigures[] = await timed(
    'what-if artifacts: one cold and two warm invocations each',
    async () => {
      const figures: WhatIfFigures[] = [];
      for (const { whatIf, bundle } of built.whatIfs) {
        const index = applicable.findIndex((entry) => entry.whatIf === whatIf);
        if (index < 0) {
          figures.push({
            name: whatIf.name,
            change: whatIf.change,
            applicable: false,
            bytes: bundle.bytes,
            gzipBytes: bundle.gzipBytes,
            importP50Ms: undefined,
            rssAfterImportP50Bytes: undefined,
            invocations: 0,
            anomalies: [],
            maxRssBytes: undefined,
          });
          continue;
        }
        const [check] = await runLatencySweep(
          { ...files, artifactUrl: pathToFileURL(bundle.file).href },
          { latenciesMs: [0], processesPerLatency: 1, warmPerProcess: 2 },
        );
        const imports = summarizeImports(deployedSamples[2 + index], whatIf.name);
        figures.push({
          name: whatIf.name,
          change: whatIf.change,
          applicable: true,
          bytes: bundle.bytes,
          gzipBytes: bundle.gzipBytes,
          importP50Ms: imports.time.p50,
          rssAfterImportP50Bytes: imports.rssP50Bytes,
          invocations: check === undefined ? 0 : check.cold.length + check.warm.length,
          anomalies: check?.anomalies ?? ['not run'],
          maxRssBytes: check === undefined ? undefined : Math.max(...check.maxRssBytes),
        });
      }
      return figures;
    },
  );

  const storms: StormResult[] = [];
  if (!flags['skip-storm']) {
    for (const scenario of STORMS)
      storms.push(await timed(`storm: ${scenario.name}`, () => runStorm(files, scenario)));
  }

  const artifactMaxRssBytes = Math.max(...sweep.flatMap((run) => run.maxRssBytes));
  const targets = checkTargets(
    {
      warm: latency.flatMap((row) => [
        { latencyMs: row.latencyMs, p50Ms: row.warm.timeToHalt.p50, label: '2nd–6th invocation (artifact)' },
        ...(row.steady === undefined
          ? []
          : [{ latencyMs: row.latencyMs, p50Ms: row.steady.p50, label: 'steady state (source)' }]),
      ]),
      overheadP50Ms: overheadSource.p50,
      artifactBytes: artifact.bytes,
      artifactImportP50Ms: deployedImports.artifact.p50,
      referenceImportP50Ms: deployedImports.reference.p50,
      peakRssBytes: artifactMaxRssBytes,
    },
    { ms: formatMs, bytes: formatBytes, mib: formatMebibytes },
  );

  const cpuList = cpus();
  const bundleFigures = (bundle: BuiltBundle) => ({
    bytes: bundle.bytes,
    gzipBytes: bundle.gzipBytes,
    mapBytes: bundle.mapBytes,
    composition: bundle.composition,
  });
  const report: BenchReport = {
    startedAt: startedAt.toISOString(),
    durationMs: performance.now() - clockStart,
    machine: {
      node: process.version,
      platform: `${process.platform}-${process.arch}`,
      cpus: cpuList.length,
      cpuModel: cpuList[0]?.model.trim() ?? 'unknown',
      loadAverageAtStart: loadAtStart,
      loadAverageAtEnd: loadavg(),
    },
    source: describeSource(),
    artifact: bundleFigures(artifact),
    reference: bundleFigures(reference),
    imports: { runs: settings.importRuns, deployed: deployedImports, withoutSourceMaps: plainImports },
    latency,
    overhead: {
      invocations: overheadRun.measured.length,
      source: overheadSource,
      untilHalt: summarize(
        overheadRun.measured.flatMap((report) =>
          report.timeToHaltMs === undefined ? [] : [report.timeToHaltMs - report.storeExchangeMs],
        ),
        'overhead until the halt',
      ),
      bundle: summarizeSample(bundleOverhead),
      wall: summarize(
        overheadRun.measured.map((report) => report.totalMs),
        'wall time',
      ),
      timeToHalt: summarize(timesToHalt(overheadRun.measured), 'time to halt at L = 0'),
      rawTriple: summarize(overheadRun.rawTripleMs, 'raw triples'),
    },
    memory: {
      artifactMaxRssBytes,
      artifactProcesses: sweep.reduce((count, run) => count + run.maxRssBytes.length, 0),
      sourceMaxRssBytes: overheadRun.maxRssBytes,
      sourceInvocations: overheadRun.invocations,
      benchMaxRssBytes: process.resourceUsage().maxRSS * 1024,
    },
    whatIfs,
    storms,
    targets,
    anomalies: [
      ...sweep.flatMap((run) => run.anomalies),
      ...overheadRun.anomalies,
      ...whatIfs.flatMap((whatIf) => whatIf.anomalies.map((line) => `${whatIf.name}: ${line}`)),
    ],
  };

  const text = renderReport(report);
  mkdirSync(outDir, { recursive: true });
  const json = `${JSON.stringify(report, null, 2)}\n`;
  writeFileSync(join(outDir, `bench-${report.startedAt.replace(/[:.]/g, '-')}.json`), json);
  writeFileSync(join(outDir, 'latest.json'), json);
  writeFileSync(join(outDir, 'latest.md'), text);
  process.stdout.write(text);
  log(`written to ${join(outDir, 'latest.md')} and latest.json (${formatMs(report.durationMs)} in all)`);
}

main().catch((error: unknown) => {
  process.stderr.write(
    `[bench] failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exitCode = 1;
});
