/**
 * `store-watchdog drill` with a federated secret (no key): it says which mode is in use and checks the
 * whole exchange (STS web identity token of the AWS identity running it, Entra ID's v2 exchange) with
 * the stand-ins, with a fix line for each way that fails.
 */
import { afterEach, beforeEach, expect, it, vi } from 'vitest';
import { SAMPLE_APP_ID } from '../../tools/store-simulator/sample-state.ts';
import { describeWithMoto, motoClientConfig } from '../support/aws.ts';
import { createSecret, motoClients } from '../support/aws-resources.ts';
import { type CliStore, runCliCaptured, startCliStore } from './support.ts';

/** The subject the STS stand-in gives a caller it does not know (moto's access key). */
const CALLER_ROLE = 'arn:aws:iam::123456789012:role/store-watchdog-local';

async function federatedSecret(store: CliStore): Promise<string> {
  const { tenantId, clientId } = store.tenant;
  return createSecret(
    motoClients().secrets,
    JSON.stringify({ tenantId, clientId, credential: 'aws-federation' }),
  );
}

function withoutCredentials(env: Record<string, string>): Record<string, string> {
  const { STORE_TENANT_ID: _t, STORE_CLIENT_ID: _c, STORE_CLIENT_SECRET: _s, ...rest } = env;
  return rest;
}

/** The drill's line for one step, and its fix line, if any. */
function stepOf(stdout: string, name: string): { line: string; fix: string | undefined } {
  const lines = stdout.split('\n');
  const index = lines.findIndex((line) => line.slice(6).startsWith(name));
  const next = lines[index + 1]?.trim();
  return { line: lines[index] ?? '', fix: next?.startsWith('fix: ') === true ? next.slice(5) : undefined };
}

describeWithMoto('store-watchdog drill with federated credentials (moto, STS stand-in)', () => {
  let store: CliStore;
  beforeEach(async () => {
    store = await startCliStore();
    const aws = motoClientConfig();
    vi.stubEnv('AWS_ENDPOINT_URL', aws.endpoint);
    vi.stubEnv('AWS_ENDPOINT_URL_STS', store.simulator.stsEndpoint);
    vi.stubEnv('AWS_REGION', aws.region);
    vi.stubEnv('AWS_ACCESS_KEY_ID', aws.credentials.accessKeyId);
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', aws.credentials.secretAccessKey);
  });
  afterEach(() => {
    vi.unstubAllEnvs();
  });

  function trust(subject: string, audiences = ['api://AzureADTokenExchange']): void {
    store.simulator.control.addFederatedCredential(store.tenant.clientId, {
      issuer: store.simulator.federationIssuer,
      subject,
      audiences,
    });
  }

  async function drill(): Promise<{ code: number; stdout: string }> {
    const secretId = await federatedSecret(store);
    return runCliCaptured(
      ['drill', '--app', SAMPLE_APP_ID, '--secret-id', secretId],
      withoutCredentials(store.env),
    );
  }

  it('says it is federated and passes every step through the whole exchange', async () => {
    trust(CALLER_ROLE);

    const { code, stdout } = await drill();

    expect(code).toBe(0);
    expect(stepOf(stdout, 'credentials readable').line).toContain(
      'federated (no key: signs in with the AWS identity running this command)',
    );
    expect(stepOf(stdout, 'token obtained').line).toContain(
      'AWS STS issued a web identity token and Azure AD',
    );
    expect(store.simulator.control.requests.map((request) => request.kind).slice(0, 2)).toEqual([
      'sts',
      'token',
    ]);
  });

  it.each([
    ['no matching credential in Entra ID', () => {}, /AADSTS70021/, /az ad app federated-credential create/],
    [
      'another subject',
      () => trust('arn:aws:iam::123456789012:role/Watchdog-HaltRolloutRole-X'),
      /AADSTS700213/,
      /another subject than the one presented, arn:aws:iam::123456789012:role\/store-watchdog-local/,
    ],
    [
      'a wrong audience',
      () => trust(CALLER_ROLE, ['api://Wrong']),
      /AADSTS700212/,
      /must have the audience api:\/\/AzureADTokenExchange/,
    ],
  ])('fails the token step on %s, with its fix', async (_name, arrange, said, fix) => {
    arrange();

    const { code, stdout } = await drill();

    expect(code).toBe(1);
    const step = stepOf(stdout, 'token obtained');
    expect(step.line).toMatch(/^FAIL {2}token obtained {8}AUTH_REJECTED: /);
    expect(step.line).toMatch(said);
    expect(step.line).toContain(`subject ${CALLER_ROLE}`);
    expect(step.line).not.toContain('Fix:');
    expect(step.fix).toMatch(fix);
  });

  it('fails the token step when federation is off in the account, with the one-time command', async () => {
    trust(CALLER_ROLE);
    store.simulator.control.setOutboundFederation(false);

    const { code, stdout } = await drill();

    expect(code).toBe(1);
    const step = stepOf(stdout, 'token obtained');
    expect(step.line).toContain('FEDERATION_DISABLED');
    expect(step.fix).toContain('aws iam enable-outbound-web-identity-federation');
  });

  it('fails the token step on clock skew, with its fix', async () => {
    trust(CALLER_ROLE);
    store.simulator.control.skewEntraClock(400_000);

    const { stdout } = await drill();

    const step = stepOf(stdout, 'token obtained');
    expect(step.line).toContain('AADSTS700024');
    expect(step.fix).toMatch(/a clock is wrong/);
  });
});
