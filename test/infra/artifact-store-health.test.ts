/**
 * The Store health probe's deployed artifact: the single ES module the stack bundles for it, copied
 * outside the project so there is no node_modules to fall back on, imported in a fresh Node process
 * and invoked with `{}` (as a manual run): it reads its credentials from Secrets Manager on moto, the
 * live rollout and the Store's reports from the simulator, and writes the figures as EMF on stdout.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createLambdaEsbuildOptions } from '../../infra/bundling.ts';
import { STORE_HEALTH_ENTRY } from '../../infra/constructs/store-health.ts';
import { PROJECT_ROOT } from '../../infra/constructs/watchdog-function.ts';
import { start } from '../../tools/store-simulator/index.ts';
import { SAMPLE_APP_ID, sampleState } from '../../tools/store-simulator/sample-state.ts';
import type { RunningSimulator } from '../../tools/store-simulator/types.ts';
import { figuresOf } from '../functions/store-health/store-health-harness.ts';
import { describeWithMoto, MOTO_SKIP_REASON, motoClientConfig } from '../support/aws.ts';
import { createSecret, motoClients } from '../support/aws-resources.ts';
import { SAMPLE_SECRET_STRING } from '../support/watchdog-harness.ts';

const INVOKER = `
const [asset, resultFile] = process.argv.slice(1);
const { writeFileSync } = await import('node:fs');
const { handler } = await import(asset);
const context = { awsRequestId: 'artifact-test', functionName: 'store-health', getRemainingTimeInMillis: () => 30000 };
try {
  writeFileSync(resultFile, JSON.stringify({ result: await handler({}, context) }));
} catch (error) {
  writeFileSync(resultFile, JSON.stringify({ error: String(error) }));
}
`;

let workdir: string;
let simulator: RunningSimulator;

beforeAll(async () => {
  workdir = mkdtempSync(join(tmpdir(), 'watchdog-store-health-artifact-'));
  await build({
    ...createLambdaEsbuildOptions(),
    absWorkingDir: PROJECT_ROOT,
    entryPoints: [join(PROJECT_ROOT, STORE_HEALTH_ENTRY)],
    outfile: join(workdir, 'index.mjs'),
    logLevel: 'silent',
  });
  simulator = await start({ state: sampleState() });
});

afterAll(async () => {
  await simulator.close();
  rmSync(workdir, { recursive: true, force: true });
});

function runNode(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd: workdir, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString('utf8');
    });
    child.stderr.on('data', (chunk: Buffer) => {
      output += chunk.toString('utf8');
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, output }));
  });
}

describeWithMoto(`the Store health probe's artifact${MOTO_SKIP_REASON}`, () => {
  it("runs on its own and publishes a live rollout's figures, read only", async () => {
    const secretId = await createSecret(motoClients().secrets, SAMPLE_SECRET_STRING);
    simulator.control.startCrashSpike({
      applicationId: SAMPLE_APP_ID,
      packageVersion: '1.4.0.0',
      crashDevicesPerHour: 20,
    });
    const aws = motoClientConfig();
    const resultFile = join(workdir, 'result.json');

    const { code, output } = await runNode(
      ['--input-type=module', '-e', INVOKER, pathToFileURL(join(workdir, 'index.mjs')).href, resultFile],
      {
        PATH: process.env.PATH,
        STORE_CREDENTIALS_SECRET_ID: secretId,
        WATCHDOG_APPS: JSON.stringify([{ applicationId: SAMPLE_APP_ID, name: 'Contoso Photos' }]),
        STORE_API_BASE_URL: simulator.storeBaseUrl,
        AZURE_AD_AUTHORITY: simulator.authority,
        AWS_ENDPOINT_URL: aws.endpoint,
        AWS_REGION: aws.region,
        AWS_ACCESS_KEY_ID: aws.credentials.accessKeyId,
        AWS_SECRET_ACCESS_KEY: aws.credentials.secretAccessKey,
      },
    );

    expect(code, output).toBe(0);
    expect(JSON.parse(readFileSync(resultFile, 'utf8'))).toEqual({
      result: {
        apps: [
          expect.objectContaining({ applicationId: SAMPLE_APP_ID, state: 'assessed', verdict: 'sufficient' }),
        ],
      },
    });
    const figures = figuresOf(output.split('\n'), SAMPLE_APP_ID);
    expect(figures?.dimensions).toEqual(['ApplicationId']);
    expect(figures?.values.CrashRateRatio).toBeGreaterThan(3);
    expect(
      simulator.control.requests
        .filter((request) => request.kind === 'store')
        .every((r) => r.method === 'GET'),
    ).toBe(true);
  });
});
