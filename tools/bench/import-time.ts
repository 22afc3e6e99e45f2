/**
 * Import time of a bundle: each run is a fresh Node process that imports the bundle once and reports how
 * long `await import()` took from the inside (module loading, evaluation, and for the handler its
 * module-scope set-up: parsing the environment, building the clients, starting the early credential
 * fetch), and its RSS right after. Bundles are run interleaved (see `measureImportsInterleaved`) so a
 * machine that slows down or warms up over the run affects them alike.
 */
import { execFile } from 'node:child_process';
import { dirname } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const MARKER = 'BENCH_IMPORT ';

export interface ImportSample {
  readonly importMs: number;
  readonly rssBytes: number;
}

/** Imports `file` once in a fresh process with `env` and Node flags `nodeFlags`. */
export async function measureImportOnce(
  file: string,
  env: Readonly<Record<string, string>>,
  nodeFlags: readonly string[],
): Promise<ImportSample> {
  const url = pathToFileURL(file).href;
  const script = [
    'const startedAt = performance.now();',
    `await import(${JSON.stringify(url)});`,
    'const importMs = performance.now() - startedAt;',
    `process.stdout.write('\\n${MARKER}' + JSON.stringify({ importMs, rssBytes: process.memoryUsage.rss() }) + '\\n');`,
    // Exit at once: the handler's early credential fetch would otherwise keep going.
    'process.exit(0);',
  ].join('\n');
  const { stdout } = await run(process.execPath, [...nodeFlags, '--input-type=module', '-e', script], {
    cwd: dirname(file),
    env: { ...env },
    maxBuffer: 16 * 1024 * 1024,
  });
  const line = stdout.split('\n').find((text) => text.startsWith(MARKER));
  if (line === undefined) throw new Error(`no import timing from ${file}: ${stdout.slice(-500)}`);
  const parsed: unknown = JSON.parse(line.slice(MARKER.length));
  const importMs = readNumber(parsed, 'importMs');
  const rssBytes = readNumber(parsed, 'rssBytes');
  return { importMs, rssBytes };
}

/**
 * `runs` imports of each bundle, interleaved: every run imports each bundle once, the order rotating from
 * run to run (A B C, B C A, C A B, ...) so none is always first. Returns the samples per bundle, in run
 * order.
 */
export async function measureImportsInterleaved(
  files: readonly string[],
  runs: number,
  env: Readonly<Record<string, string>>,
  nodeFlags: readonly string[],
): Promise<ImportSample[][]> {
  const samples: ImportSample[][] = files.map(() => []);
  for (let run = 0; run < runs; run++) {
    for (const index of rotateOrder(files.length, run)) {
      const file = files[index];
      if (file !== undefined) samples[index]?.push(await measureImportOnce(file, env, nodeFlags));
    }
  }
  return samples;
}

/** The indices `0..count-1` starting at `run mod count`: the order of one interleaved run. */
export function rotateOrder(count: number, run: number): number[] {
  return Array.from({ length: count }, (_, offset) => (run + offset) % count);
}

function readNumber(value: unknown, field: string): number {
  const found = typeof value === 'object' && value !== null ? Reflect.get(value, field) : undefined;
  if (typeof found !== 'number') throw new Error(`import timing without ${field}`);
  return found;
}
