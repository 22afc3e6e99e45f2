import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, expect, it, vi } from 'vitest';
import { SAMPLE_APP_ID, SAMPLE_PUBLISHED_SUBMISSION_ID } from '../../tools/store-simulator/sample-state.ts';
import { describeWithMoto, motoClientConfig } from '../support/aws.ts';
import { createSecret, motoClients } from '../support/aws-resources.ts';
import {
  type CliStore,
  runCliCaptured,
  sampleWatchdogContext,
  startCliStore,
  writeCdkJson,
} from './support.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** The CLI's environment without the credential variables: only the secret can supply them. */
function withoutCredentials(env: Record<string, string>): Record<string, string> {
  const { STORE_TENANT_ID: _t, STORE_CLIENT_ID: _c, STORE_CLIENT_SECRET: _s, ...rest } = env;
  return rest;
}

async function createTenantSecret(store: CliStore, name?: string): Promise<string> {
  const { tenantId, clientId, clientSecret } = store.tenant;
  return createSecret(motoClients().secrets, JSON.stringify({ tenantId, clientId, clientSecret }), name);
}

describeWithMoto('store-watchdog: credentials from Secrets Manager (moto)', () => {
  beforeEach(() => {
    const aws = motoClientConfig();
    vi.stubEnv('AWS_ENDPOINT_URL', aws.endpoint);
    vi.stubEnv('AWS_REGION', aws.region);
    vi.stubEnv('AWS_ACCESS_KEY_ID', aws.credentials.accessKeyId);
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', aws.credentials.secretAccessKey);
  });
  afterEach(() => {
    vi.unstubAllEnvs();
  });

  it('reads the secret named by --secret-id', async () => {
    const store = await startCliStore();
    const secretId = await createTenantSecret(store);

    const { code, stdout, stderr } = await runCliCaptured(
      ['status', '--secret-id', secretId],
      withoutCredentials(store.env),
    );

    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(stdout).toContain(
      `main rollout: IN PROGRESS at 20%, submission ${SAMPLE_PUBLISHED_SUBMISSION_ID}`,
    );
    expect(stdout).not.toContain(store.tenant.clientSecret);
  });

  it('reads the secret named by STORE_CREDENTIALS_SECRET_ID, and --secret-id wins over the variables', async () => {
    const store = await startCliStore();
    const secretId = await createTenantSecret(store);

    const fromVariable = await runCliCaptured(['status'], {
      ...withoutCredentials(store.env),
      STORE_CREDENTIALS_SECRET_ID: secretId,
    });
    const overWrongVariables = await runCliCaptured(['status', '--secret-id', secretId], {
      ...store.env,
      STORE_CLIENT_SECRET: 'a-wrong-secret',
    });

    expect(fromVariable.code).toBe(0);
    expect(overWrongVariables.code).toBe(0);
  });

  it('reads the secret the stack config names when nothing else is given', async () => {
    const store = await startCliStore();
    const name = `store-credentials-${randomUUID()}`;
    await createTenantSecret(store, name);
    const folder = await writeCdkJson(sampleWatchdogContext({ secret: { name } }));
    const { WATCHDOG_APPS: _unused, ...env } = withoutCredentials(store.env);

    const { code, stdout } = await runCliCaptured(['drill', '--app', SAMPLE_APP_ID], env, folder);

    expect(code).toBe(0);
    expect(stdout).toContain(
      `PASS  credentials readable  tenant ${store.tenant.tenantId}, client ${store.tenant.clientId}, signs in with the key, from Secrets Manager secret ${name} (the config's "secret")`,
    );
  });

  it('a missing secret is one clear line and exit 1 for status', async () => {
    const store = await startCliStore();
    const secretId = `store-credentials-missing-${randomUUID()}`;

    const { code, stdout, stderr } = await runCliCaptured(
      ['status', '--secret-id', secretId],
      withoutCredentials(store.env),
    );

    expect(code).toBe(1);
    expect(stdout).toBe('');
    expect(stderr).toBe(`error: SECRET_NOT_FOUND: secret ${secretId} does not exist\n`);
    expect(store.simulator.control.requests).toEqual([]);
  });

  it("a missing secret fails the drill's credentials step with the fix", async () => {
    const store = await startCliStore();
    const secretId = `store-credentials-missing-${randomUUID()}`;

    const { code, stdout } = await runCliCaptured(
      ['drill', '--app', SAMPLE_APP_ID, '--secret-id', secretId],
      withoutCredentials(store.env),
    );

    expect(code).toBe(1);
    expect(stdout).toContain(
      `FAIL  credentials readable  SECRET_NOT_FOUND: secret ${secretId} does not exist`,
    );
    expect(stdout).toContain(
      'fix: check the secret id (the stack output StoreCredentialsSecretId) and the AWS region',
    );
  });

  it('a malformed secret names the missing field, never a value', async () => {
    const store = await startCliStore();
    const secretId = await createSecret(
      motoClients().secrets,
      JSON.stringify({ tenantId: store.tenant.tenantId, clientSecret: store.tenant.clientSecret }),
    );

    const { code, stdout } = await runCliCaptured(
      ['drill', '--app', SAMPLE_APP_ID, '--secret-id', secretId],
      withoutCredentials(store.env),
    );

    expect(code).toBe(1);
    expect(stdout).toContain(
      `FAIL  credentials readable  SECRET_MALFORMED: secret ${secretId} is malformed: the field clientId is missing`,
    );
    expect(stdout).toContain(
      'fix: store {"tenantId": "...", "clientId": "...", "clientSecret": "..."} in the secret',
    );
    expect(stdout).not.toContain(store.tenant.clientSecret);
  });

  it('runs as a command (`node cli/store-watchdog.ts`), the AWS SDK configured by AWS_ENDPOINT_URL', async () => {
    const store = await startCliStore();
    const secretId = await createTenantSecret(store);
    const aws = motoClientConfig();

    const { code, stdout } = await new Promise<{ code: number | null; stdout: string }>((resolve, reject) => {
      const child = spawn(
        process.execPath,
        ['cli/store-watchdog.ts', 'halt', '--app', SAMPLE_APP_ID, '--yes'],
        {
          cwd: ROOT,
          timeout: 90_000,
          env: {
            PATH: process.env.PATH,
            ...withoutCredentials(store.env),
            STORE_CREDENTIALS_SECRET_ID: secretId,
            AWS_ENDPOINT_URL: aws.endpoint,
            AWS_REGION: aws.region,
            AWS_ACCESS_KEY_ID: aws.credentials.accessKeyId,
            AWS_SECRET_ACCESS_KEY: aws.credentials.secretAccessKey,
          },
        },
      );
      let out = '';
      child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')));
      child.once('error', reject);
      child.once('close', (exitCode) => resolve({ code: exitCode, stdout: out }));
    });

    expect(code).toBe(0);
    expect(stdout).toContain(
      `main rollout: HALTED submission ${SAMPLE_PUBLISHED_SUBMISSION_ID} (live at 20%)`,
    );
    expect(store.simulator.control.effectiveHalts).toBe(2);
    expect(stdout).not.toContain(store.tenant.clientSecret);
  });
});
