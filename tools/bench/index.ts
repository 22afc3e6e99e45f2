/**
 * `npm run bench`: measures the watchdog against the Store simulator on loopback and prints Markdown
 * tables, also written to `bench-results/` (`latest.md`, `latest.json`, a timestamped JSON). Each
 * section is one measured thing, in a file of its own; `--help` lists them. See `tools/bench/README.md`.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { formatProbeCatalogCost, measureProbeCatalog } from '../fixtures/probe-catalog.ts';
import { measureArtifact, renderArtifact } from './artifact.ts';
import { type BuiltBundle, bundleChildRunner, bundleWithStackOptions } from './bundles.ts';
import { formatMs, formatTable, formatVerdict } from './format.ts';
import { measureRememberedHalt, renderRememberedHalt } from './remembered-halt.ts';
import { runStorm500 } from './storm-500.ts';
import { renderSynthSection, runSynthBench } from './synth.ts';
import type { TargetCheck } from './targets.ts';
import { measureTimeToHalt, renderTimeToHalt } from './time-to-halt.ts';

const PROJECT_ROOT = fileURLToPath(new URL('../..', import.meta.url));
const LATENCIES_MS = [0, 25, 100];

const USAGE = `Usage: npm run bench -- [sections] [options]   (node tools/bench/index.ts ...)

Measures the watchdog against the Store simulator on loopback (nothing leaves the machine), prints
Markdown tables and writes bench-results/latest.md, latest.json and a timestamped JSON.
With no section, runs them all (about 6 minutes on 2 CPUs; --quick about 3).

Sections:
  --artifact     artifact size and what it is made of; import time against the reference bundle
  --halt         time to halt of the artifact, cold and warm, against its floor at L = 0, 25, 100 ms;
                 connections opened; peak memory (fresh processes, like Lambda environments)
  --remembered   warm halt in the steady state: a remembered rollout (one POST) and a looked-up one
                 (three requests), at L = 0, 25, 100 ms
  --probe        the Store health probe's Store requests per run over 500 apps
  --storm-500    500 alarms of one tenant on the deployed configuration (a minute scaled to 3 s,
                 about 2 minutes); add --looked-up for rollouts not remembered (about 4 minutes)
  --synth        the synth of a whole catalog: 1 and 500 apps, fresh processes

Options:
  --quick        fewer runs: a smoke test, figures not representative (the storm is not shortened)
  --out DIR      write to DIR instead of bench-results/
  --help         this text
`;

const { values: flags } = parseArgs({
  options: {
    artifact: { type: 'boolean', default: false },
    halt: { type: 'boolean', default: false },
    remembered: { type: 'boolean', default: false },
    probe: { type: 'boolean', default: false },
    'storm-500': { type: 'boolean', default: false },
    'looked-up': { type: 'boolean', default: false },
    synth: { type: 'boolean', default: false },
    quick: { type: 'boolean', default: false },
    out: { type: 'string', default: 'bench-results' },
    help: { type: 'boolean', default: false },
  },
});

const SECTIONS = ['artifact', 'halt', 'remembered', 'probe', 'storm-500', 'synth'] as const;
type Section = (typeof SECTIONS)[number];
const chosen = SECTIONS.filter((section) => flags[section]);
const sections: readonly Section[] = chosen.length === 0 ? SECTIONS : chosen;
const quick = flags.quick;
const outDir = resolve(PROJECT_ROOT, flags.out);
const bundlesDir = join(outDir, 'bundles');

const log = (line: string) => process.stderr.write(`[bench] ${line}\n`);

interface SectionResult {
  readonly text: string;
  readonly figures: unknown;
  readonly targets?: readonly TargetCheck[];
  /** A correctness check failed (not an engineering target): the run exits with 1. */
  readonly failed?: boolean;
}

/** The artifact, bundled once for the sections that need it. */
let artifact: Promise<BuiltBundle> | undefined;
function bundleArtifact(): Promise<BuiltBundle> {
  artifact ??= bundleWithStackOptions(
    PROJECT_ROOT,
    'functions/halt-rollout/handler.ts',
    join(bundlesDir, 'handler'),
  );
  return artifact;
}

const RUNS: Record<Section, () => Promise<SectionResult>> = {
  async artifact() {
    const figures = await measureArtifact(PROJECT_ROOT, await bundleArtifact(), bundlesDir, quick ? 3 : 15);
    return { ...renderArtifact(figures), figures };
  },
  async halt() {
    const runner = await bundleChildRunner(PROJECT_ROOT, join(bundlesDir, 'invocation-child.mjs'));
    const figures = await measureTimeToHalt({
      runner,
      artifactUrl: pathToFileURL((await bundleArtifact()).file).href,
      latenciesMs: LATENCIES_MS,
      processesPerLatency: quick ? 1 : 3,
    });
    return { ...renderTimeToHalt(figures), figures };
  },
  async remembered() {
    const figures = [];
    for (const latencyMs of LATENCIES_MS)
      figures.push(await measureRememberedHalt(latencyMs, quick ? 5 : 20));
    return { ...renderRememberedHalt(figures), figures };
  },
  async probe() {
    const figures = await measureProbeCatalog({ runs: quick ? 3 : 9 });
    return { text: formatProbeCatalogCost(figures), figures };
  },
  async 'storm-500'() {
    const text = await runStorm500({ lookedUp: flags['looked-up'] });
    return { text, figures: { lookedUp: flags['looked-up'] }, failed: text.includes('| FAIL |') };
  },
  async synth() {
    const runs = quick ? 1 : 3;
    const figures = runSynthBench(runs, log);
    return { text: renderSynthSection(figures, runs), figures };
  },
};

/** The commit measured, and the files under `functions/` and `infra/` that differ from it. */
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

async function main(): Promise<void> {
  if (flags.help) {
    process.stdout.write(USAGE);
    return;
  }
  const startedAt = new Date();
  const loadAtStart = loadavg();
  const clockStart = performance.now();
  const results: Partial<Record<Section, SectionResult>> = {};
  for (const section of sections) {
    const sectionStart = performance.now();
    log(`${section}...`);
    const result = await RUNS[section]();
    results[section] = result;
    process.stdout.write(`\n${result.text}\n`);
    log(`${section}: ${formatMs(performance.now() - sectionStart)}`);
  }
  const load = (values: readonly number[]) => values.map((value) => value.toFixed(2)).join(' / ');
  const source = describeSource();
  const targets = Object.values(results).flatMap((result) => result.targets ?? []);
  const header =
    `Store Rollout Watchdog benchmark${quick ? ' (--quick: a smoke test)' : ''}, ${startedAt.toISOString()}, ` +
    `Node ${process.version}, ${cpus().length} CPUs; load average ${load(loadAtStart)} at the start, ` +
    `${load(loadavg())} at the end (1 / 5 / 15 min). Source: commit ${source.commit}` +
    (source.changedPaths.length === 0
      ? '.'
      : ` with uncommitted changes in ${source.changedPaths.join(', ')}.`);
  const targetTable =
    targets.length === 0
      ? []
      : [
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
        ];
  const text = [header, ...Object.values(results).map((result) => result.text), targetTable.join('\n')]
    .filter((part) => part !== '')
    .join('\n\n');
  const json = `${JSON.stringify(
    {
      startedAt: startedAt.toISOString(),
      durationMs: performance.now() - clockStart,
      quick,
      source,
      loadAverage: { start: loadAtStart, end: loadavg() },
      sections: Object.fromEntries(Object.entries(results).map(([name, result]) => [name, result.figures])),
      targets,
    },
    null,
    2,
  )}\n`;
  mkdirSync(outDir, { recursive: true });
  writeFileSync(join(outDir, `bench-${startedAt.toISOString().replace(/[:.]/g, '-')}.json`), json);
  writeFileSync(join(outDir, 'latest.json'), json);
  writeFileSync(join(outDir, 'latest.md'), `${text}\n`);
  if (targetTable.length > 0) process.stdout.write(`\n${targetTable.join('\n')}\n`);
  process.stdout.write(`\n${header}\n`);
  log(
    `written to ${join(outDir, 'latest.md')} and latest.json (${formatMs(performance.now() - clockStart)} in all)`,
  );
  if (Object.values(results).some((result) => result.failed === true)) process.exitCode = 1;
}

main().catch((error: unknown) => {
  process.stderr.write(
    `[bench] failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exitCode = 1;
});
