/**
 * The halt-rollout asset as `createLambdaEsbuildOptions()` builds it (byte for byte what `cdk synth`
 * deploys; `watchdog-stack.test.ts` checks that): its size budget, what it leaves out, and that it loads
 * and validates on its own (no node_modules, and no other zod in the process to lend it messages).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build, type Metafile } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLambdaEsbuildOptions } from '../../infra/bundling.ts';
import { PROJECT_ROOT } from '../../infra/constructs/watchdog-function.ts';

/**
 * The asset's budget: it was 1.5 MB before undici was cut down to its Agent and zod to zod/mini; a
 * dependency that brings a whole library back in shows up here first.
 */
const MAX_ASSET_BYTES = 900 * 1024;

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
  it(`stays within ${MAX_ASSET_BYTES / 1024} KB`, () => {
    expect(statSync(assetFile).size).toBeLessThanOrEqual(MAX_ASSET_BYTES);
  });

  it("bundles zod/mini and zod's English messages, not zod's classic API or its other locales", () => {
    const zod = bundledInputs.filter((path) => path.includes('node_modules/zod/'));

    expect(zod.some((path) => path.includes('node_modules/zod/v4/mini/'))).toBe(true);
    expect(zod.filter((path) => path.includes('/v4/classic/'))).toEqual([]);
    expect(zod.filter((path) => path.includes('/v4/locales/'))).toEqual([
      'node_modules/zod/v4/locales/en.js',
    ]);
  });

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

  it("rejects a bad event with zod's English messages naming the field, never the value", () => {
    const event = {
      source: 'aws.cloudwatch',
      'detail-type': 'CloudWatch Alarm State Change',
      detail: { alarmName: 12345, state: { value: 'ALARM', reason: 'r', timestamp: 't' } },
    };
    const script = `
      const { handler } = await import(${JSON.stringify(pathToFileURL(assetFile).href)});
      try {
        await handler(${JSON.stringify(event)}, { getRemainingTimeInMillis: () => 1000, awsRequestId: 'r', functionName: 'f' });
        console.error('RESULT no error');
      } catch (error) {
        console.error('RESULT ' + error.code + ' ' + error.message);
      }`;

    const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
      cwd: outdir,
      env: {
        STORE_CREDENTIALS_SECRET_ID: 'store/credentials',
        NOTIFICATION_TOPIC_ARN: 'arn:aws:sns:eu-west-1:123456789012:notifications',
        WATCHDOG_APPS: JSON.stringify([{ applicationId: '9NBLGGH4R315', alarmNames: ['crash-rate'] }]),
        AWS_REGION: 'eu-west-1',
        AWS_ACCESS_KEY_ID: 'testing',
        AWS_SECRET_ACCESS_KEY: 'testing',
        // Nothing listens on the discard port: the early credential fetch fails at once, quietly.
        AWS_ENDPOINT_URL: 'http://127.0.0.1:9',
      },
      encoding: 'utf8',
    });

    expect(child.status).toBe(0);
    const verdict = child.stderr.trim().split('\n').at(-1) ?? '';
    expect(verdict).toContain('RESULT INVALID_EVENT ');
    expect(verdict).toContain('event.detail.alarmName: Invalid input: expected string, received number');
    expect(verdict).not.toContain('12345');
  });
});
