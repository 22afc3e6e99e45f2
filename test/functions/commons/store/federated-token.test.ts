/**
 * Federated Store credentials end to end against the stand-ins: the function's STS client asks the
 * simulator's STS stand-in for a web identity token (AWS Query protocol, SigV4-signed by the SDK), and
 * the token provider exchanges it at the simulator's v2 endpoint, which verifies it through the
 * issuer's JWKS and the application's federated credentials, as Entra ID does.
 */
import { inspect } from 'node:util';
import { STSClient } from '@aws-sdk/client-sts';
import { afterEach, describe, expect, it } from 'vitest';
import {
  createClientAssertionSource,
  readPresentedIdentity,
} from '../../../../functions/commons/aws/web-identity.ts';
import { ENTRA_TOKEN_EXCHANGE_AUDIENCE } from '../../../../functions/commons/domain/federation.ts';
import { AuthError, ConfigurationError } from '../../../../functions/commons/errors.ts';
import { ClientAssertion } from '../../../../functions/commons/store/token-provider.ts';
import { SAMPLE_APP_ID, SAMPLE_TENANT } from '../../../../tools/store-simulator/sample-state.ts';
import type { RunningSimulator } from '../../../../tools/store-simulator/types.ts';
import {
  collectError,
  connect,
  recordingSleep,
  rejectionOf,
  roomySignal,
  startSimulator,
} from './support.ts';

const ROLE = 'arn:aws:iam::123456789012:role/Watchdog-HaltRolloutRole-ABC123';
const OTHER_ROLE = 'arn:aws:iam::123456789012:role/Watchdog-SelfCheckRole-XYZ789';
const ACCESS_KEY = 'ASIAHALTROLLOUT00001';
const STS_NOW = Date.UTC(2026, 11, 7, 22, 0, 0);
const FEDERATED = {
  tenantId: SAMPLE_TENANT.tenantId,
  clientId: SAMPLE_TENANT.clientId,
  credential: 'aws-federation',
} as const;

const stsClients: STSClient[] = [];
afterEach(() => {
  for (const client of stsClients.splice(0)) client.destroy();
});

/** The SDK's STS client, pointed at the simulator as `AWS_ENDPOINT_URL_STS` would, signing as `ACCESS_KEY`. */
function stsFor(simulator: RunningSimulator): STSClient {
  const client = new STSClient({
    endpoint: simulator.stsEndpoint,
    region: 'eu-west-1',
    credentials: { accessKeyId: ACCESS_KEY, secretAccessKey: 'stand-in-secret-key' },
    maxAttempts: 1,
  });
  stsClients.push(client);
  return client;
}

/** A simulator whose STS knows `ACCESS_KEY` as `ROLE`, and whose application trusts `credential`. */
async function federatedSimulator(
  credential: { issuer?: string; subject?: string; audiences?: string[] } | null = {},
) {
  const simulator = await startSimulator({
    // A fixed STS clock: a token's 300 s are exact for Entra ID's (skewed) clock.
    federation: { principals: { [ACCESS_KEY]: ROLE }, now: () => STS_NOW },
  });
  if (credential !== null) {
    simulator.control.addFederatedCredential(SAMPLE_TENANT.clientId, {
      issuer: credential.issuer ?? simulator.federationIssuer,
      subject: credential.subject ?? ROLE,
      audiences: credential.audiences ?? [ENTRA_TOKEN_EXCHANGE_AUDIENCE],
    });
  }
  const access = connect(simulator, {
    credentials: FEDERATED,
    getClientAssertion: createClientAssertionSource(stsFor(simulator)),
  });
  return { simulator, access };
}

function requestsOf(simulator: RunningSimulator) {
  return simulator.control.requests.map((request) => `${request.kind} ${request.path} ${request.status}`);
}

describe('federated Store credentials', () => {
  it('exchanges an STS web identity token at the v2 endpoint and uses the Store token it gets', async () => {
    const { simulator, access } = await federatedSimulator();

    const app = await access.client.getApplication(SAMPLE_APP_ID, roomySignal());

    expect(app.id).toBe(SAMPLE_APP_ID);
    expect(requestsOf(simulator)).toEqual([
      'sts / 200',
      // Recorded on arrival: the exchange arrives, then Entra ID reads the issuer's keys to verify it.
      `token /${SAMPLE_TENANT.tenantId}/oauth2/v2.0/token 200`,
      'oidc /outbound-federation/.well-known/openid-configuration 200',
      'oidc /outbound-federation/.well-known/jwks.json 200',
      `store /v1.0/my/applications/${SAMPLE_APP_ID} 200`,
    ]);
  });

  it('asks STS for the Entra audience, RS256 and 300 s, and the token names the role as subject', async () => {
    const simulator = await startSimulator({ federation: { principals: { [ACCESS_KEY]: ROLE } } });
    const assertion = await createClientAssertionSource(stsFor(simulator))(roomySignal());

    expect(assertion).toBeInstanceOf(ClientAssertion);
    expect({ issuer: assertion.issuer, subject: assertion.subject }).toEqual({
      issuer: simulator.federationIssuer,
      subject: ROLE,
    });
    const [header, claims] = assertion.value
      .split('.')
      .slice(0, 2)
      .map((part) => JSON.parse(Buffer.from(part, 'base64url').toString('utf8')));
    expect(header).toMatchObject({ alg: 'RS256', typ: 'JWT' });
    expect(claims).toMatchObject({
      iss: simulator.federationIssuer,
      sub: ROLE,
      aud: ENTRA_TOKEN_EXCHANGE_AUDIENCE,
    });
    expect(claims.exp - claims.iat).toBe(300);
    expect(typeof claims.jti).toBe('string');
    expect(readPresentedIdentity(assertion.value)).toEqual({
      issuer: simulator.federationIssuer,
      subject: ROLE,
    });
    // Logged or serialized, the assertion shows who it is, never the token.
    expect(JSON.stringify(assertion)).not.toContain(assertion.value);
    expect(inspect(assertion)).not.toContain(assertion.value);
  });

  it('caches the Store token: concurrent callers share one STS call and one exchange', async () => {
    const { simulator, access } = await federatedSimulator();

    const tokens = await Promise.all(
      Array.from({ length: 4 }, () => access.tokenProvider.getToken(roomySignal())),
    );

    expect(new Set(tokens.map((token) => token.value)).size).toBe(1);
    expect(simulator.control.requests.filter((request) => request.kind === 'sts')).toHaveLength(1);
    expect(simulator.control.requests.filter((request) => request.kind === 'token')).toHaveLength(1);
  });

  it('retries a 503 of the token endpoint with the same assertion (one STS call)', async () => {
    const { simulator } = await federatedSimulator();
    simulator.control.failNext({ status: 503, match: { kind: 'token' } });
    const sleep = recordingSleep();
    const access = connect(simulator, {
      credentials: FEDERATED,
      getClientAssertion: createClientAssertionSource(stsFor(simulator)),
      environment: { sleep },
    });

    await access.tokenProvider.getToken(roomySignal());

    expect(simulator.control.requests.filter((r) => r.kind === 'token').map((r) => r.status)).toEqual([
      503, 200,
    ]);
    expect(simulator.control.requests.filter((request) => request.kind === 'sts')).toHaveLength(1);
    expect(sleep.calls).toHaveLength(1);
  });

  it.each([
    ['a wrong subject', { subject: OTHER_ROLE }, '700213', /name another subject than the one presented/],
    [
      'a wrong audience',
      { audiences: ['api://SomethingElse'] },
      '700212',
      /must have the audience api:\/\/AzureADTokenExchange/,
    ],
    [
      'a wrong issuer',
      { issuer: 'https://00000000.tokens.sts.global.api.aws' },
      '700211',
      /names the issuer/,
    ],
    ['no federated credential at all', null, '70021', /has no federated credential/],
  ])(
    'reports %s with the issuer and subject presented and the fix, never the token',
    async (_name, credential, aadsts, fix) => {
      const { simulator, access } = await federatedSimulator(credential);

      const error = await rejectionOf(access.tokenProvider.getToken(roomySignal()));

      expect(error).toBeInstanceOf(AuthError);
      expect(error).toMatchObject({ code: 'AUTH_REJECTED', storeCode: 'invalid_client' });
      const message = String(error);
      expect(message).toContain(`AADSTS${aadsts}:`);
      expect(message).toContain(`issuer ${simulator.federationIssuer}, subject ${ROLE}`);
      expect(message).toContain(`client ${SAMPLE_TENANT.clientId}`);
      expect(message).toMatch(fix);
      expect(message).not.toMatch(/eyJ[\w-]+\.eyJ/); // no JWT
    },
  );

  it('reports an expired assertion (Entra ID’s clock past its 300 s) as a time problem', async () => {
    const { simulator, access } = await federatedSimulator();
    simulator.control.skewEntraClock(301_000);

    const error = await rejectionOf(access.tokenProvider.getToken(roomySignal()));

    expect(String(error)).toContain('AADSTS700024');
    expect(String(error)).toMatch(/outside its valid time.*clock/);
    simulator.control.skewEntraClock(300_000); // exactly at exp: still valid
    expect((await access.tokenProvider.getToken(roomySignal())).tenantId).toBe(SAMPLE_TENANT.tenantId);
  });

  it('refuses an assertion signed by another key (a forged token) with AADSTS700027', async () => {
    const { simulator } = await federatedSimulator();
    const genuine = await createClientAssertionSource(stsFor(simulator))(roomySignal());
    const [header, claims] = genuine.value.split('.');
    const forged = new ClientAssertion(
      `${header}.${claims}.${Buffer.from('not the signature').toString('base64url')}`,
      genuine,
    );
    const access = connect(simulator, { credentials: FEDERATED, getClientAssertion: async () => forged });

    const error = await rejectionOf(access.tokenProvider.getToken(roomySignal()));

    expect(String(error)).toContain('AADSTS700027');
    expect(String(error)).toMatch(/could not verify the AWS token's signature/);
  });

  it('says so, with the one-time command, when outbound identity federation is switched off', async () => {
    const { simulator, access } = await federatedSimulator();
    simulator.control.setOutboundFederation(false);

    const error = collectError(await rejectionOf(access.tokenProvider.getToken(roomySignal())));

    expect(error).toBeInstanceOf(ConfigurationError);
    expect(error).toMatchObject({ code: 'FEDERATION_DISABLED' });
    expect(String(error)).toContain('aws iam enable-outbound-web-identity-federation');
    expect(simulator.control.requests.filter((request) => request.kind === 'token')).toHaveLength(0);
  });

  it('re-reads the secret after a refusal, and signs in with the key it now holds', async () => {
    const { simulator } = await federatedSimulator(null);
    const access = connect(simulator, {
      credentials: FEDERATED,
      getClientAssertion: createClientAssertionSource(stsFor(simulator)),
      refreshCredentials: async () => ({ credentials: SAMPLE_TENANT, changed: true }),
    });

    await access.tokenProvider.getToken(roomySignal());

    expect(requestsOf(simulator).filter((line) => line.startsWith('token'))).toEqual([
      `token /${SAMPLE_TENANT.tenantId}/oauth2/v2.0/token 400`,
      `token /${SAMPLE_TENANT.tenantId}/oauth2/token 200`,
    ]);
  });

  it('is a configuration error when the program cannot obtain an AWS identity token', async () => {
    const simulator = await startSimulator();
    const access = connect(simulator, { credentials: FEDERATED });

    const error = await rejectionOf(access.tokenProvider.getToken(roomySignal()));

    expect(error).toMatchObject({ code: 'FEDERATION_UNAVAILABLE' });
    expect(simulator.control.requests).toHaveLength(0);
  });
});
