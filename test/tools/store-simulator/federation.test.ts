/**
 * The simulator's stand-ins for federated credentials, over HTTP as a client sees them: STS
 * `GetWebIdentityToken` and IAM's federation switch in the AWS Query protocol, the issuer's discovery
 * document and JWKS, and the Entra ID v2 endpoint's checks.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { start } from '../../../tools/store-simulator/index.ts';
import { SAMPLE_TENANT, sampleState } from '../../../tools/store-simulator/sample-state.ts';
import type { RunningSimulator } from '../../../tools/store-simulator/types.ts';

const running: RunningSimulator[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((simulator) => simulator.close()));
});

async function simulatorWith(enabled = true): Promise<RunningSimulator> {
  const simulator = await start({
    state: sampleState(),
    federation: { enabled, now: () => Date.UTC(2026, 11, 7, 12, 0, 0) },
  });
  running.push(simulator);
  return simulator;
}

/** An AWS Query request, as the SDK sends it (the stand-in reads the access key of the signature). */
async function query(simulator: RunningSimulator, params: Record<string, string>) {
  const response = await fetch(`${simulator.stsEndpoint}/`, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded; charset=utf-8',
      authorization:
        'AWS4-HMAC-SHA256 Credential=AKIAEXAMPLE0000000/20261207/eu-west-1/sts/aws4_request, SignedHeaders=host, Signature=0',
    },
    body: new URLSearchParams(params).toString(),
  });
  return { status: response.status, text: await response.text() };
}

const GET_TOKEN = {
  Action: 'GetWebIdentityToken',
  Version: '2011-06-15',
  'Audience.member.1': 'api://AzureADTokenExchange',
  SigningAlgorithm: 'RS256',
  DurationSeconds: '300',
};

async function v2Token(simulator: RunningSimulator, form: Record<string, string>) {
  const response = await fetch(`${simulator.authority}/${SAMPLE_TENANT.tenantId}/oauth2/v2.0/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(form).toString(),
  });
  return { status: response.status, body: await response.json() };
}

describe('store simulator: federation stand-ins', () => {
  it('issues an RS256 token whose signature the published JWKS verifies, with the documented claims', async () => {
    const simulator = await simulatorWith();

    const { status, text } = await query(simulator, GET_TOKEN);

    expect(status).toBe(200);
    const token = /<WebIdentityToken>([^<]+)<\/WebIdentityToken>/.exec(text)?.[1] ?? '';
    expect(text).toContain('<Expiration>2026-12-07T12:05:00.000Z</Expiration>');
    const claims = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8'));
    expect(claims).toMatchObject({
      iss: simulator.federationIssuer,
      sub: 'arn:aws:iam::123456789012:role/store-watchdog-local',
      aud: 'api://AzureADTokenExchange',
      iat: Date.UTC(2026, 11, 7, 12, 0, 0) / 1000,
      exp: Date.UTC(2026, 11, 7, 12, 5, 0) / 1000,
    });
    const discovery = await (
      await fetch(`${simulator.federationIssuer}/.well-known/openid-configuration`)
    ).json();
    expect(discovery).toMatchObject({
      issuer: simulator.federationIssuer,
      jwks_uri: `${simulator.federationIssuer}/.well-known/jwks.json`,
      id_token_signing_alg_values_supported: ['RS256'],
    });
    const jwks = await (await fetch(`${simulator.federationIssuer}/.well-known/jwks.json`)).json();
    expect(jwks).toEqual({ keys: [expect.objectContaining({ kty: 'RSA', alg: 'RS256', use: 'sig' })] });
    expect(simulator.control.issuedAssertions()).toEqual([token]);
  });

  it.each([
    [{ 'Audience.member.1': undefined }, 'ValidationError', /Audience must have 1 to 10 members/],
    [{ SigningAlgorithm: 'HS256' }, 'ValidationError', /SigningAlgorithm must be RS256 or ES384/],
    [{ DurationSeconds: '3601' }, 'ValidationError', /DurationSeconds must be between 60 and 3600/],
    [{ Action: 'AssumeRole' }, 'InvalidAction', /not valid/],
  ])('refuses a bad request as AWS does (%#)', async (change, code, message) => {
    const simulator = await simulatorWith();
    const params: Record<string, string> = {};
    for (const [key, value] of Object.entries({ ...GET_TOKEN, ...change }))
      if (value !== undefined) params[key] = value;

    const { status, text } = await query(simulator, params);

    expect(status).toBe(400);
    expect(text).toContain(`<Code>${code}</Code>`);
    expect(text).toMatch(message);
  });

  it('answers OutboundWebIdentityFederationDisabledException (403) until IAM switches federation on', async () => {
    const simulator = await simulatorWith(false);

    const refused = await query(simulator, GET_TOKEN);
    const info = await query(simulator, {
      Action: 'GetOutboundWebIdentityFederationInfo',
      Version: '2010-05-08',
    });
    const enabled = await query(simulator, {
      Action: 'EnableOutboundWebIdentityFederation',
      Version: '2010-05-08',
    });
    const again = await query(simulator, {
      Action: 'EnableOutboundWebIdentityFederation',
      Version: '2010-05-08',
    });
    const issued = await query(simulator, GET_TOKEN);

    expect(refused.status).toBe(403);
    expect(refused.text).toContain('<Code>OutboundWebIdentityFederationDisabledException</Code>');
    expect(info.status).toBe(409);
    expect(info.text).toContain('<Code>FeatureDisabled</Code>');
    expect(enabled.status).toBe(200);
    expect(enabled.text).toContain(`<IssuerIdentifier>${simulator.federationIssuer}</IssuerIdentifier>`);
    expect(again.status).toBe(409);
    expect(again.text).toContain('<Code>FeatureEnabled</Code>');
    expect(issued.status).toBe(200);
  });

  it('the v2 endpoint answers in Entra ID’s error format, and wants the Store scope', async () => {
    const simulator = await simulatorWith();
    simulator.control.addFederatedCredential(SAMPLE_TENANT.clientId, {
      issuer: simulator.federationIssuer,
      subject: 'arn:aws:iam::123456789012:role/store-watchdog-local',
      audiences: ['api://AzureADTokenExchange'],
    });
    const token = /<WebIdentityToken>([^<]+)</.exec((await query(simulator, GET_TOKEN)).text)?.[1] ?? '';
    const form = {
      grant_type: 'client_credentials',
      client_id: SAMPLE_TENANT.clientId,
      client_assertion: token,
      client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
    };
    simulator.control.skewEntraClock(0);

    const noScope = await v2Token(simulator, form);
    const wrongType = await v2Token(simulator, { ...form, client_assertion_type: 'password', scope: 'x' });
    const accepted = await v2Token(simulator, {
      ...form,
      scope: 'https://manage.devcenter.microsoft.com/.default',
    });

    expect(noScope).toMatchObject({ status: 400, body: { error: 'invalid_request', error_codes: [900144] } });
    expect(noScope.body).toMatchObject({
      error_description: expect.stringMatching(/^AADSTS900144: .*'scope'/),
    });
    expect(wrongType.body).toMatchObject({ error_codes: [50027] });
    expect(accepted).toMatchObject({ status: 200, body: { token_type: 'Bearer', expires_in: 3599 } });
    expect(JSON.stringify([noScope, wrongType])).not.toContain(token);
  });
});
