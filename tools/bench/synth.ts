/**
 * `npm run bench -- --synth`: how long a whole catalog takes to synthesize and how large the result is
 * (issue 11). Each synth runs in a fresh Node process (`synth-child.ts`), bundling both functions as
 * `cdk synth` does; the cdk-nag packs run as in `cdk synth`. Figures: the synth itself (building the app
 * and `app.synth()`), the whole process (Node start, imports, synth), the main template's size and
 * resource count, the nested stacks (how many templates in all, the largest nested one's size and
 * resources, all resources together), the EventBridge alarm rules and their longest pattern, and the
 * assets' sizes.
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { formatBytes, formatTable } from './format.ts';
import { computeMedian } from './stats.ts';

export interface SynthFigures {
  readonly apps: number;
  readonly mode: SynthMode;
  readonly synthMs: number;
  readonly processMs: number;
  readonly templateBytes: number;
  readonly resources: number;
  readonly alarmRules: number;
  readonly longestPattern: number;
  /** Templates in all: the main stack's and its nested stacks'. */
  readonly templates: number;
  readonly largestNestedBytes: number;
  readonly largestNestedResources: number;
  readonly totalResources: number;
  readonly appsJsonBytes: number;
  readonly assetBytes: readonly number[];
}

/**
 * `listed`: ten apps' alarms built by the stack, the rest existing and listed in the rules; `prefix`: the
 * same through one prefix rule; `built`: every app's crash alarm built, Store health on, flights "all".
 */
export type SynthMode = 'listed' | 'prefix' | 'built';

const CHILD = fileURLToPath(new URL('./synth-child.ts', import.meta.url));

/** The cases: a one-app config like the shipped one; 500 apps listed, with a prefix, and all built. */
export const SYNTH_CASES: ReadonlyArray<{ apps: number; mode: SynthMode }> = [
  { apps: 1, mode: 'listed' },
  { apps: 500, mode: 'listed' },
  { apps: 500, mode: 'prefix' },
  { apps: 500, mode: 'built' },
];

const MODE_LABELS: Record<SynthMode, string> = {
  listed: 'names listed',
  prefix: 'alarmNamePrefix',
  built: 'alarms built, Store health, all flights',
};

/**
 * Runs each case `runs` times in fresh processes, the cases interleaved (1, 500, 500-prefix, 1, ...) so
 * that a change in the machine's load falls on every case alike, and keeps the median times.
 */
export function runSynthBench(runs: number, log: (line: string) => void): SynthFigures[] {
  const samples = SYNTH_CASES.map(() => [] as SynthFigures[]);
  for (let run = 0; run < runs; run++) {
    SYNTH_CASES.forEach(({ apps, mode }, index) => {
      const started = performance.now();
      const output = execFileSync(process.execPath, [CHILD, String(apps), mode], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'ignore'],
        maxBuffer: 1 << 20,
      });
      const processMs = Math.round(performance.now() - started);
      const figures: Omit<SynthFigures, 'processMs'> = JSON.parse(output.trim().split('\n').at(-1) ?? '{}');
      samples[index]?.push({ ...figures, processMs });
      log(
        `synth ${apps} apps (${mode}) run ${run + 1}/${runs}: ${figures.synthMs} ms synth, ${processMs} ms process`,
      );
    });
  }
  return samples.map((caseSamples) => {
    const [first] = caseSamples;
    if (first === undefined) throw new Error('no synth run');
    return {
      ...first,
      synthMs: Math.round(computeMedian(caseSamples.map((s) => s.synthMs)) ?? first.synthMs),
      processMs: Math.round(computeMedian(caseSamples.map((s) => s.processMs)) ?? first.processMs),
    };
  });
}

/** The Markdown table of the synth figures. */
export function renderSynthSection(figures: readonly SynthFigures[], runs: number): string {
  return [
    `### Synth of a whole catalog (median of ${runs} fresh process${runs === 1 ? '' : 'es'}, both functions bundled, cdk-nag on)`,
    '',
    formatTable(
      [
        { header: 'config' },
        { header: 'synth', align: 'right' },
        { header: 'process', align: 'right' },
        { header: 'main template', align: 'right' },
        { header: 'resources', align: 'right' },
        { header: 'templates', align: 'right' },
        { header: 'largest nested: size; most resources', align: 'right' },
        { header: 'all resources', align: 'right' },
        { header: 'alarm rules (longest pattern)', align: 'right' },
        { header: 'app list', align: 'right' },
        { header: 'assets (index.mjs)', align: 'right' },
      ],
      figures.map((f) => [
        `${f.apps} app${f.apps === 1 ? '' : 's'}, ${MODE_LABELS[f.mode]}`,
        `${(f.synthMs / 1000).toFixed(1)} s`,
        `${(f.processMs / 1000).toFixed(1)} s`,
        formatBytes(f.templateBytes),
        String(f.resources),
        String(f.templates),
        f.templates === 1 ? '–' : `${formatBytes(f.largestNestedBytes)}; ${f.largestNestedResources}`,
        String(f.totalResources),
        f.alarmRules === 0 ? '0' : `${f.alarmRules} (${f.longestPattern} chars)`,
        formatBytes(f.appsJsonBytes),
        f.assetBytes.map(formatBytes).join(' / '),
      ]),
    ),
  ].join('\n');
}
