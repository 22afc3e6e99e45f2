/**
 * The halt-rollout asset as `createLambdaEsbuildOptions()` builds it (byte for byte what `cdk synth`
 * deploys; `watchdog-stack.test.ts` checks that): what it leaves out, and that it loads on its own.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build, type Metafile } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLambdaEsbuildOptions } from '../../infra/bundling.ts';
import { PROJECT_ROOT } from '../../infra/constructs/watchdog-function.ts';

let outdir: string;
let assetFile: string;
let bundledInputs: string[];

beforeAll(async () => {
  outdir = mkdtempSync(join(tmpdir(), 'watchdog-asset-'));
  assetFile = join(outdir, 'index.mjs');
  const result = await build({
    ...createLambdaEsbuildOptions(),
    absWorkingDir: PROJECT_ROOT,
    entryPoints: [join(PROJECT_ROOT, 'functions/halt-rollout/handler.ts')],
    outfile: assetFile,
    metafile: true,
    logLevel: 'silent',
  });
  bundledInputs = inputsOf(result.metafile, 'index.mjs');
});

afterAll(() => {
  rmSync(outdir, { recursive: true, force: true });
});

/** The source files that put bytes into the output file named `name`. */
function inputsOf(metafile: Metafile, name: string): string[] {
  const output = Object.entries(metafile.outputs).find(([path]) => path.endsWith(`/${name}`));
  if (output === undefined) throw new Error(`no output ${name} in the metafile`);
  return Object.entries(output[1].inputs)
    .filter(([, input]) => input.bytesInOutput > 0)
    .map(([path]) => path);
}

describe('the halt-rollout asset', () => {
  it("leaves out undici's experimental Milo parser (the esbuildDetection define)", () => {
    expect(
      bundledInputs.some((path) => path.endsWith('node_modules/undici/lib/dispatcher/client-h1.js')),
    ).toBe(true);
    expect(
      bundledInputs.filter((path) => /node_modules\/undici\/lib\/(milo\/|dispatcher\/parser-h1)/.test(path)),
    ).toEqual([]);
  });

  it("bundles undici's Agent and what it needs, not the package index (fetch, WebSocket, caches, mocks)", () => {
    const undici = bundledInputs.filter((path) => path.includes('node_modules/undici/'));

    expect(undici).toContain('node_modules/undici/lib/dispatcher/agent.js');
    expect(
      undici.filter((path) =>
        /undici\/(index\.js|lib\/(api|mock|cache|interceptor|web\/(websocket|eventsource|cache|cookies)|web\/fetch\/index\.js))/.test(
          path,
        ),
      ),
    ).toEqual([]);
  });

  it('loads in a fresh process with no configuration, and the handler then reports the configuration error', () => {
    const script = `
      const { handler } = await import(${JSON.stringify(pathToFileURL(assetFile).href)});
      try {
        await handler({}, { getRemainingTimeInMillis: () => 1000, awsRequestId: 'r', functionName: 'f' });
        console.error('RESULT no error');
      } catch (error) {
        console.error('RESULT ' + error.name + ' ' + error.code);
      }`;

    const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
      cwd: outdir,
      env: {},
      encoding: 'utf8',
    });

    expect(child.status).toBe(0);
    const lines = child.stderr.trim().split('\n');
    expect(lines.at(-1)).toBe('RESULT ConfigurationError INVALID_ENVIRONMENT');
    expect(lines.join('\n')).toContain('STORE_CREDENTIALS_SECRET_ID is required');
  });
});
