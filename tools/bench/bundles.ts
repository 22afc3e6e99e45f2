/**
 * Bundles the handler the way the stack does, the reference bundle with the same options, and the
 * benchmark's own child runner. The options come from `infra/bundling.ts` (`createLambdaEsbuildOptions`,
 * which `WatchdogFunction` hands to `NodejsFunction`), so "the artifact" here is byte for byte what
 * `cdk synth` writes; only a metafile is added, for the composition.
 */
import { mkdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { type BuildOptions, build, type Metafile } from 'esbuild';
import { createLambdaEsbuildOptions, ESM_REQUIRE_BANNER } from '../../infra/bundling.ts';
import { deriveWatchedApps, parseWatchdogConfig } from '../../infra/config.ts';

/**
 * The stack's esbuild options (`infra/bundling.ts`), with esbuild's warnings shown, and the app list of
 * the shipped `cdk.json` built in as `cdk synth` builds it, so the artifact measured is the one deployed
 * (the bench's handler processes still set `WATCHDOG_APPS` to their own JSON list, which wins).
 */
export function createStackBuildOptions(): BuildOptions {
  const cdkJson: unknown = JSON.parse(readFileSync(new URL('../../cdk.json', import.meta.url), 'utf8'));
  const watchdog =
    typeof cdkJson === 'object' &&
    cdkJson !== null &&
    'context' in cdkJson &&
    typeof cdkJson.context === 'object' &&
    cdkJson.context !== null &&
    'watchdog' in cdkJson.context
      ? cdkJson.context.watchdog
      : undefined;
  const bundledApps = deriveWatchedApps(parseWatchdogConfig(watchdog));
  return { ...createLambdaEsbuildOptions({ bundledApps }), logLevel: 'warning' };
}

export interface BuiltBundle {
  /** The bundle's `index.mjs`. */
  readonly file: string;
  readonly bytes: number;
  readonly gzipBytes: number;
  /** Its source map (deployed beside it; read by `--enable-source-maps`). */
  readonly mapBytes: number;
  /** Output bytes per package (or project folder), largest first. */
  readonly composition: readonly CompositionEntry[];
}

export interface CompositionEntry {
  readonly name: string;
  readonly bytes: number;
}

/** Bundles `entry` (relative to `projectRoot`) into `outDir/index.mjs` with the stack's options. */
export async function bundleWithStackOptions(
  projectRoot: string,
  entry: string,
  outDir: string,
): Promise<BuiltBundle> {
  mkdirSync(outDir, { recursive: true });
  const file = join(outDir, 'index.mjs');
  const result = await build({
    ...createStackBuildOptions(),
    absWorkingDir: projectRoot,
    entryPoints: [entry],
    outfile: file,
    metafile: true,
  });
  const code = readFileSync(file);
  return {
    file,
    bytes: code.length,
    gzipBytes: gzipSync(code).length,
    mapBytes: statSync(`${file}.map`).size,
    composition: summarizeComposition(result.metafile),
  };
}

/** Bundles the benchmark's child runner into plain JavaScript (no TypeScript loader needed to run it). */
export async function bundleChildRunner(projectRoot: string, outFile: string): Promise<string> {
  await build({
    absWorkingDir: projectRoot,
    entryPoints: ['tools/bench/invocation-child.ts'],
    outfile: outFile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node24',
    banner: { js: ESM_REQUIRE_BANNER },
    logLevel: 'warning',
  });
  return outFile;
}

/**
 * Output bytes per package, from an esbuild metafile: `node_modules/@scope/name/...` counts for
 * `@scope/name`, `node_modules/name/...` for `name`, and the project's own files for their first two
 * folders (`functions/commons`). Nested `node_modules` count for the innermost package. Largest first;
 * ties by name.
 */
export function summarizeComposition(metafile: Metafile): CompositionEntry[] {
  const totals = new Map<string, number>();
  for (const output of Object.values(metafile.outputs)) {
    for (const [path, input] of Object.entries(output.inputs)) {
      const name = namePackage(path);
      totals.set(name, (totals.get(name) ?? 0) + input.bytesInOutput);
    }
  }
  return [...totals]
    .map(([name, bytes]) => ({ name, bytes }))
    .sort((a, b) => b.bytes - a.bytes || a.name.localeCompare(b.name));
}

function namePackage(path: string): string {
  const normalized = path.replace(/\\/g, '/');
  const index = normalized.lastIndexOf('node_modules/');
  if (index >= 0) {
    const [first = '', second = ''] = normalized.slice(index + 'node_modules/'.length).split('/');
    return first.startsWith('@') ? `${first}/${second}` : first;
  }
  return normalized.split('/').slice(0, 2).join('/');
}
