/**
 * `npm run bench`: measures the halt-rollout handler against the Store simulator and prints a report
 * (Markdown tables), also written to `bench-results/` (`latest.md`, `latest.json`, and a timestamped
 * JSON). See `tools/bench/README.md` for what is measured and how, and `--help` for the options.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { formatProbeCatalogCost, measureProbeCatalog } from '../fixtures/probe-catalog.ts';
import { createBenchApps, createHandlerEnvironment } from '../fixtures/watchdog-apps.ts';
import { type BuiltBundle, bundleChildRunner, bundleWithStackOptions } from './bundles.ts';
import { formatBytes, formatMebibytes, formatMs, formatTable, formatVerdict } from './format.ts';
import { type ImportSample, measureImportsInterleaved } from './import-time.ts';
import { runLatencySweep } from './latency-sweep.ts';
import { runOverhead } from './overhead.ts';
import {
  type BenchReport,
  type ImportFigures,
  type LatencyFigures,
  renderReport,
  renderStormSection,
  type WhatIfFigures,
} from './report.ts';
import type { BenchFiles } from './rig.ts';
import { type SampleSummary, summarizeSample } from './stats.ts';
import { checkStorm, isDeployedTopology, runStorm, type StormResult, type StormScenario } from './storm.ts';
import { runStorm500 } from './storm-500.ts';
import { runStorm100Section } from './storms-100.ts';
import { renderSynthSection, runSynthBench } from './synth.ts';
import { checkTargets, computeFloorMs, type TargetCheck } from './targets.ts';
import { WHAT_IFS, type WhatIf } from './what-if/variants.ts';

const PROJECT_ROOT = fileURLToPath(new URL('../..', import.meta.url));
const HANDLER_ENTRY = 'functions/halt-rollout/handler.ts';
const LATENCIES_MS = [0, 25, 100];

const USAGE = `Usage: node tools/bench/index.ts [options]   (npm run bench -- [options])

Measures the halt-rollout handler against the Store simulator on loopback (nothing leaves the
machine) and prints Markdown tables; writes bench-results/latest.md, latest.json and a timestamped
JSON. See tools/bench/README.md.

Options:
  --quick        fewer runs: a smoke test, figures not representative
  --skip-storm   leave out the alarm storms
  --storm-only   only the alarm storms (prints their table and targets; writes storm-latest.md/.json)
  --storm-real   also run the storms of the deployed configuration at the real pace: 20 calls per
                 60 s and 300 s of Lambda time (about 2 to 3 minutes more; the two run side by side)
  --synth        only the synth of a whole catalog (1 and 500 apps, fresh processes; prints its table;
                 writes synth-latest.md/.json)
  --storms-100   only issue 11's figures: the 100-app storms and the warm halt of a remembered rollout
                 (with --quick a minute is scaled to 1 s, else to 6 s; add --storm-real for the
                 remembered storm at the real pace, about 5 minutes); writes storms-100-latest.md
  --probe        only the Store health probe's cost: Store requests per run over 500 apps with 20 live
                 rollouts, and the minutes a run takes at its share of the budget (writes probe-latest.md)
  --storm-500    only the 500-alarm storm of the deployed configuration (both delivery paths, the ledger,
                 the shared budget on moto, a self-check and a probe beside; a minute scaled to 1.5 s,
                 about 2 minutes; every rollout remembered, as the self-check leaves them; add
                 --looked-up for rollouts the watchdog must look up, 3 requests a halt, about 4 minutes);
                 writes storm-500-latest.md
  --out DIR      write to DIR instead of bench-results/
  --help         this text
`;

const { values: flags } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    out: { type: 'string', default: 'bench-results' },
    'skip-storm': { type: 'boolean', default: false },
    'storm-only': { type: 'boolean', default: false },
    'storm-real': { type: 'boolean', default: false },
    synth: { type: 'boolean', default: false },
    'storms-100': { type: 'boolean', default: false },
    probe: { type: 'boolean', default: false },
    'storm-500': { type: 'boolean', default: false },
    'looked-up': { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
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

/** Ten times faster than the Store and the deployed function: 20 calls per 6 s, 30 s of Lambda time. */
const SCALED = { limit: 20, windowMs: 6_000, followUpMs: 500, remainingMs: 30_000 } as const;
/** The Store's pace (20 calls a minute per tenant) and the deployed function's 5 minutes. */
const REAL = { limit: 20, windowMs: 60_000, remainingMs: 300_000 } as const;

const SCALED_NOTE =
  'time scaled 1/10: 20 calls per 6 s on the simulator and the client budget (room for follow-ups kept 0.5 s instead of 5 s), ' +
  '30 s of Lambda time per invocation (24 s for the Store, 6 s kept for the notification) instead of 20 per 60 s and 300 s';
const SERIAL_NOTE =
  'the function runs with reserved concurrency 1, so the alarms are handled one invocation after another in one ' +
  "environment, whose request budget is the tenant's; the next event starts as soon as the previous one returned " +
  "(Lambda's asynchronous event queue retries a throttled event after 1 s, growing up to 5 minutes: that wait is not simulated)";

/** Storms (see `storm.ts`): 20 apps × 3 Store calls = 60 calls against 20 allowed per window. */
const STORMS: StormScenario[] = [
  {
    name: 'deployed: 20 alarms, one invocation after another, time scaled 1/10',
    topology: 'serial',
    series: 'S1',
    apps: 20,
    ...SCALED,
    note: `20 alarms of one tenant fire at once, each delivered once (EventBridge); ${SERIAL_NOTE}; ${SCALED_NOTE}.`,
  },
  {
    name: 'deployed: 20 alarms delivered twice (SNS and EventBridge), time scaled 1/10',
    topology: 'serial',
    series: 'S2',
    apps: 20,
    deliveries: 2,
    ...SCALED,
    note:
      'as above for alarms the stack created, which reach the function by SNS and by EventBridge: 40 events, the second of each pair ' +
      `reports already-halted (2 more calls each, 100 calls in all); ${SCALED_NOTE}.`,
  },
  {
    name: 'deployed: one alarm listed by 20 apps, one invocation, time scaled 1/10',
    topology: 'one-event',
    series: 'S3',
    apps: 20,
    ...SCALED,
    note:
      'one event concerns all 20 apps (an alarm they all list), so one invocation works on all of them at once and their 60 calls ' +
      `compete for the budget; the budget serves a started halt first, so halts go out from the first window; ${SCALED_NOTE}.`,
  },
  {
    name: 'not deployed: concurrency > 1 (one environment per alarm), time scaled 1/10',
    topology: 'lambda-concurrency',
    series: 'S4',
    apps: 20,
    ...SCALED,
    note:
      'what the same 20 alarms would do without the reserved concurrency: one artifact process per alarm, all at once, each with ' +
      "its own budget (which sees only its own 3 calls), so only the simulator's 429s and Retry-After space them; the client retries " +
      'a 429 up to 3 times, waiting as Retry-After says when that fits the deadline (not scaled: it holds at the real pace too). ' +
      `First attempt only (Lambda's own retries of a failed invocation are not run); ${SCALED_NOTE}.`,
  },
];

/** With `--storm-real`: the deployed configuration at the real pace (about 2 minutes each, run side by side). */
const REAL_STORMS: StormScenario[] = [
  {
    name: 'deployed: 20 alarms, one invocation after another, real pace',
    topology: 'serial',
    series: 'R1',
    apps: 20,
    ...REAL,
    note: `as the first scenario at the real pace: 20 calls per 60 s, 300 s of Lambda time; ${SERIAL_NOTE}.`,
  },
  {
    name: 'deployed: one alarm listed by 20 apps, one invocation, real pace',
    topology: 'one-event',
    series: 'R2',
    apps: 20,
    ...REAL,
    note: 'as the one-alarm scenario at the real pace: 20 calls per 60 s, 300 s of Lambda time.',
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

/** The storms (and the real-pace ones with `--storm-real`, side by side: each has its own simulator). */
async function runStorms(files: BenchFiles): Promise<StormResult[]> {
  const storms: StormResult[] = [];
  for (const scenario of STORMS)
    storms.push(await timed(`storm: ${scenario.name}`, () => runStorm(files, scenario)));
  if (flags['storm-real']) {
    storms.push(
      ...(await timed(`storms at the real pace (${REAL_STORMS.length} side by side)`, () =>
        Promise.all(REAL_STORMS.map((scenario) => runStorm(files, scenario))),
      )),
    );
  }
  return storms;
}

/** Issue 5's storm target, for the storms of the deployed configuration. */
function checkStorms(storms: readonly StormResult[]): TargetCheck[] {
  return storms.filter((storm) => isDeployedTopology(storm.scenario.topology)).map(checkStorm);
}

/** `--storm-only`: bundles what the storms run, runs them, prints their table and targets. */
async function runStormsOnly(outDir: string): Promise<void> {
  const startedAt = new Date();
  const bundlesDir = join(outDir, 'bundles');
  const { artifact, runner } = await timed('bundling (stack options from infra/bundling.ts)', async () => ({
    artifact: await bundleWithStackOptions(PROJECT_ROOT, HANDLER_ENTRY, join(bundlesDir, 'handler')),
    runner: await bundleChildRunner(PROJECT_ROOT, join(bundlesDir, 'invocation-child.mjs')),
  }));
  const storms = await runStorms({
    runner,
    artifactUrl: pathToFileURL(artifact.file).href,
    sourceHandlerUrl: pathToFileURL(join(PROJECT_ROOT, HANDLER_ENTRY)).href,
    throttleModuleUrl: pathToFileURL(join(PROJECT_ROOT, 'functions/commons/store/throttle.ts')).href,
    httpModuleUrl: pathToFileURL(join(PROJECT_ROOT, 'functions/commons/store/http.ts')).href,
  });
  const source = describeSource();
  const targets = checkStorms(storms);
  const text = [
    `Store Rollout Watchdog benchmark, alarm storms only, ${startedAt.toISOString()}, Node ${process.version}; ` +
      `source: commit ${source.commit}` +
      (source.changedPaths.length === 0
        ? '.'
        : ` with uncommitted changes in ${source.changedPaths.join(', ')}.`),
    renderStormSection(storms),
    [
      '### Targets',
      '',
      formatTable(
        [
          { header: 'target' },
          { header: 'figure', align: 'right' },
          { header: 'limit' },
          { header: 'verdict' },
        ],
        targets.map((check) => [check.target, check.figure, check.limit, formatVerdict(check.pass)]),
      ),
    ].join('\n'),
  ].join('\n\n');
  mkdirSync(outDir, { recursive: true });
  writeFileSync(join(outDir, 'storm-latest.md'), `${text}\n`);
  writeFileSync(
    join(outDir, 'storm-latest.json'),
    `${JSON.stringify({ startedAt: startedAt.toISOString(), source, storms, targets }, null, 2)}\n`,
  );
  process.stdout.write(`${text}\n`);
  log(`written to ${join(outDir, 'storm-latest.md')} and storm-latest.json`);
}

/** `--synth`: synthesizes generated catalogs in fresh processes and prints their table. */
function runSynthOnly(outDir: string): void {
  const startedAt = new Date();
  const runs = flags.quick ? 1 : 3;
  const figures = runSynthBench(runs, log);
  const source = describeSource();
  const text = [
    `Store Rollout Watchdog benchmark, synth only, ${startedAt.toISOString()}, Node ${process.version}, ` +
      `${cpus().length} CPUs, load average ${loadavg()[0]?.toFixed(1)}; source: commit ${source.commit}` +
      (source.changedPaths.length === 0
        ? '.'
        : ` with uncommitted changes in ${source.changedPaths.join(', ')}.`),
    renderSynthSection(figures, runs),
  ].join('\n\n');
  mkdirSync(outDir, { recursive: true });
  writeFileSync(join(outDir, 'synth-latest.md'), `${text}\n`);
  writeFileSync(
    join(outDir, 'synth-latest.json'),
    `${JSON.stringify({ startedAt: startedAt.toISOString(), source, runs, figures }, null, 2)}\n`,
  );
  process.stdout.write(`${text}\n`);
  log(`written to ${join(outDir, 'synth-latest.md')} and synth-latest.json`);
}

async function main(): Promise<void> {
  if (flags.help) {
    process.stdout.write(USAGE);
    return;
  }
  if (flags['storm-only']) {
    await runStormsOnly(resolve(PROJECT_ROOT, flags.out));
    return;
  }
  if (flags.synth) {
    runSynthOnly(resolve(PROJECT_ROOT, flags.out));
    return;
  }
  /** Prints a section's text and writes it to `<out>/<name>-latest.md`. */
  const writeSection = (name: string, text: string) => {
    process.stdout.write(`${text}\n`);
    const outDir = resolve(PROJECT_ROOT, flags.out);
    mkdirSync(outDir, { recursive: true });
    writeFileSync(join(outDir, `${name}-latest.md`), `${text}\n`);
  };
  if (flags.probe) {
    writeSection('probe', formatProbeCatalogCost(await measureProbeCatalog({ runs: flags.quick ? 3 : 9 })));
    return;
  }
  if (flags['storm-500']) {
    const text = await runStorm500({ lookedUp: flags['looked-up'] });
    writeSection('storm-500', text);
    if (text.includes('| FAIL |')) process.exitCode = 1;
    return;
  }
  if (flags['storms-100']) {
    writeSection('storms-100', await runStorm100Section({ quick: flags.quick, real: flags['storm-real'] }));
    return;
  }

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

  const storms = flags['skip-storm'] ? [] : await runStorms(files);

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
  ).concat(checkStorms(storms));

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
