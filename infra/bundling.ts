/**
 * How every watchdog Lambda asset is bundled, in one place: `WatchdogFunction` hands these options to
 * `NodejsFunction` (which runs esbuild during `cdk synth`), and anything that must measure or run "what
 * the stack deploys" (the benchmark) passes the same options to esbuild's `build()` itself.
 */
import type { BuildOptions } from 'esbuild';

/**
 * esbuild writes an ES module; bundled CommonJS dependencies still call `require` for Node built-ins,
 * which an ES module lacks. The banner gives the bundle one (the alias avoids clashing with bundle code).
 */
export const ESM_REQUIRE_BANNER =
  "import { createRequire as __watchdogCreateRequire } from 'node:module'; const require = __watchdogCreateRequire(import.meta.url);";

/** The esbuild options of a watchdog Lambda asset (entry point and output file are the caller's). */
export interface LambdaEsbuildOptions {
  readonly bundle: true;
  readonly platform: 'node';
  readonly format: 'esm';
  readonly target: string;
  readonly mainFields: string[];
  readonly minify: boolean;
  readonly sourcemap: boolean;
  readonly sourcesContent: boolean;
  readonly banner: { readonly js: string };
  readonly define: Record<string, string>;
  readonly external: string[];
}

/**
 * The esbuild options `cdk synth` bundles each watchdog function with. A fresh object per call, so a
 * caller may add to it (`{ ...createLambdaEsbuildOptions(), entryPoints, outfile, metafile: true }`)
 * without changing what the stack deploys.
 */
export function createLambdaEsbuildOptions(): LambdaEsbuildOptions {
  const options = {
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node24',
    // ESM builds of dependencies first: esbuild can drop the unused parts of those.
    mainFields: ['module', 'main'],
    minify: true,
    sourcemap: true,
    // The map keeps names and lines for `--enable-source-maps`; the sources themselves would only
    // make the asset larger.
    sourcesContent: false,
    banner: { js: ESM_REQUIRE_BANNER },
    define: {
      // undici leaves out its experimental Milo HTTP/1 parser (opt-in through UNDICI_USE_MILO; llhttp
      // is the default and stays) when this global exists: `lib/dispatcher/client-h1.js`,
      // `typeof esbuildDetection === 'undefined' ? require('./parser-h1.js') : {}`, the check Node.js
      // core relies on when it bundles undici. Without it that parser and its WebAssembly ship unused.
      esbuildDetection: 'true',
    },
    // The asset must run on its own, with the SDK version we tested, not the runtime's.
    external: [],
  } satisfies LambdaEsbuildOptions & BuildOptions;
  return options;
}
