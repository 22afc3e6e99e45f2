/**
 * The deployed artifact is the contract's artifact: the single ES module the stack bundles (byte for
 * byte what `cdk synth` writes, see `watchdog-stack.test.ts`), copied outside the project so there is no
 * node_modules to fall back on, imported in a fresh Node process and invoked with a real SNS alarm
 * event: it halts the live rollout on the Store simulator, reads its credentials from Secrets Manager
 * and publishes its notification to SNS on moto.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { watchedAppsSchema } from '../../functions/commons/domain/watched-apps.ts';
import { createLambdaEsbuildOptions } from '../../infra/bundling.ts';
import { PROJECT_ROOT } from '../../infra/constructs/watchdog-function.ts';
import { start } from '../../tools/store-simulator/index.ts';
import {
  SAMPLE_APP_ID,
  SAMPLE_PUBLISHED_SUBMISSION_ID,
  sampleState,
} from '../../tools/store-simulator/sample-state.ts';
import type { RunningSimulator } from '../../tools/store-simulator/types.ts';
import { loadEventFixture } from '../fixtures/events/load.ts';
import { describeWithMoto, MOTO_SKIP_REASON, motoClientConfig } from '../support/aws.ts';
import { createNotificationSink, createSecret, motoClients } from '../support/aws-resources.ts';
import {
  FEDERATED_SECRET_STRING,
  FUNCTION_ROLE_ARN,
  SAMPLE_APPS,
  SAMPLE_SECRET_STRING,
  trustRole,
} from '../support/watchdog-harness.ts';

/** Imports the artifact, invokes `handler` once with a Lambda-like context, and writes the result. */
const INVOKER = `
const [asset, eventFile, resultFile] = process.argv.slice(1);
const { readFileSync, writeFileSync } = await import('node:fs');
const { handler } = await import(asset);
const event = JSON.parse(readFileSync(eventFile, 'utf8'));
const context = { awsRequestId: 'artifact-test', functionName: 'halt-rollout', getRemainingTimeInMillis: () => 30000 };
try {
  writeFileSync(resultFile, JSON.stringify({ result: await handler(event, context) }));
} catch (error) {
  writeFileSync(resultFile, JSON.stringify({ error: String(error) }));
}
`;

let workdir: string;
let simulator: RunningSimulator;

/** The sample app, main rollout only: what the artifacts are told to watch. */
const WATCHED = [{ ...SAMPLE_APPS[0], flights: undefined }];

beforeAll(async () => {
  workdir = mkdtempSync(join(tmpdir(), 'watchdog-artifact-'));
  const bundle = (outfile: string, content: Parameters<typeof createLambdaEsbuildOptions>[0]) =>
    build({
      ...createLambdaEsbuildOptions(content),
      absWorkingDir: PROJECT_ROOT,
      entryPoints: [join(PROJECT_ROOT, 'functions/halt-rollout/handler.ts')],
      outfile: join(workdir, outfile),
      logLevel: 'silent',
    });
  await bundle('index.mjs', {});
  // What the stack deploys: the app list built in, read through WATCHDOG_APPS=bundled.
  await bundle('bundled/index.mjs', { bundledApps: watchedAppsSchema.parse(WATCHED) });
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

/**
 * Invokes the artifact `asset` (below the work folder) once in a fresh process, with a new secret holding
 * `secretString`, a new notification sink, the Store at `store`, and `env` on top; `name` keeps its
 * files apart. Returns the exit code, the output, the result file and the sink.
 */
async function invokeArtifact(options: {
  readonly asset: string;
  readonly name: string;
  readonly store: RunningSimulator;
  readonly secretString: string;
  readonly env?: Readonly<Record<string, string>>;
}) {
  const clients = motoClients();
  const secretId = await createSecret(clients.secrets, options.secretString);
  const sink = await createNotificationSink(clients.sns, clients.sqs);
  const aws = motoClientConfig();
  const eventFile = join(workdir, `${options.name}-event.json`);
  const resultFile = join(workdir, `${options.name}-result.json`);
  writeFileSync(eventFile, JSON.stringify(loadEventFixture('sns-alarm')));
  const asset = pathToFileURL(join(workdir, options.asset)).href;
  const { code, output } = await runNode(
    ['--input-type=module', '-e', INVOKER, asset, eventFile, resultFile],
    {
      PATH: process.env.PATH,
      STORE_CREDENTIALS_SECRET_ID: secretId,
      NOTIFICATION_TOPIC_ARN: sink.topicArn,
      WATCHDOG_APPS: JSON.stringify(WATCHED),
      STORE_API_BASE_URL: options.store.storeBaseUrl,
      AZURE_AD_AUTHORITY: options.store.authority,
      AWS_ENDPOINT_URL: aws.endpoint,
      AWS_REGION: aws.region,
      AWS_ACCESS_KEY_ID: aws.credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: aws.credentials.secretAccessKey,
      ...options.env,
    },
  );
  const result: unknown = code === 0 ? JSON.parse(readFileSync(resultFile, 'utf8')) : undefined;
  return { code, output, result, sink };
}

describeWithMoto(`the deployed artifact${MOTO_SKIP_REASON}`, () => {
  it('runs on its own and halts the live rollout of an SNS-delivered alarm, notifying through SNS', async () => {
    const { code, output, result, sink } = await invokeArtifact({
      asset: 'index.mjs',
      name: 'key',
      store: simulator,
      secretString: SAMPLE_SECRET_STRING,
    });

    expect(code, output).toBe(0);
    expect(result).toEqual({
      result: {
        targets: [
          expect.objectContaining({
            applicationId: SAMPLE_APP_ID,
            submissionId: SAMPLE_PUBLISHED_SUBMISSION_ID,
            result: 'halted',
            rolloutPercentage: 20,
          }),
        ],
      },
    });
    expect(
      simulator.control.rollout(SAMPLE_APP_ID, SAMPLE_PUBLISHED_SUBMISSION_ID).packageRolloutStatus,
    ).toBe('PackageRolloutStopped');
    const notifications = await sink.drain({ expect: 1 });
    expect(notifications.map((notification) => notification.attributes.outcome)).toEqual(['halted']);
  });

  it('halts with federated credentials (no key): its STS client, loaded on first use, reaches AWS_ENDPOINT_URL_STS', async () => {
    const federated = await start({
      state: sampleState(),
      federation: { principals: { [motoClientConfig().credentials.accessKeyId]: FUNCTION_ROLE_ARN } },
    });
    try {
      trustRole(federated);

      const { code, output, result, sink } = await invokeArtifact({
        asset: 'index.mjs',
        name: 'federated',
        store: federated,
        secretString: FEDERATED_SECRET_STRING,
        env: { AWS_ENDPOINT_URL_STS: federated.stsEndpoint },
      });

      expect(code, output).toBe(0);
      expect(result).toEqual({ result: { targets: [expect.objectContaining({ result: 'halted' })] } });
      const [assertion] = federated.control.issuedAssertions();
      expect(assertion).toBeDefined();
      expect(output).not.toContain(assertion);
      await sink.drain({ expect: 1 });
    } finally {
      await federated.close();
    }
  });

  it('reads the app list built into it when WATCHDOG_APPS is "bundled", and halts from it', async () => {
    const fresh = await start({ state: sampleState() });
    try {
      const { code, output, result, sink } = await invokeArtifact({
        asset: 'bundled/index.mjs',
        name: 'bundled',
        store: fresh,
        secretString: SAMPLE_SECRET_STRING,
        env: { WATCHDOG_APPS: 'bundled' },
      });

      expect(code, output).toBe(0);
      expect(result).toEqual({
        result: {
          targets: [
            expect.objectContaining({
              applicationId: SAMPLE_APP_ID,
              result: 'halted',
              rolloutPercentage: 20,
            }),
          ],
        },
      });
      expect(fresh.control.rollout(SAMPLE_APP_ID, SAMPLE_PUBLISHED_SUBMISSION_ID).packageRolloutStatus).toBe(
        'PackageRolloutStopped',
      );
      expect((await sink.drain({ expect: 1 })).map((n) => n.attributes.outcome)).toEqual(['halted']);
    } finally {
      await fresh.close();
    }
  });
});
