import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { SAMPLE_TENANT } from '../../../tools/store-simulator/sample-state.ts';
import { callStore, getToken, parseBody, requestToken, startSimulator } from './support.ts';

describe('Store simulator: Azure AD v1 token endpoint', () => {
  it('issues a bearer token with v1 string lifetimes for valid client credentials', async () => {
    const simulator = await startSimulator({ tokenLifetimeSeconds: 120 });
    const before = Math.floor(Date.now() / 1000);

    const response = await requestToken(simulator);
    const after = Math.floor(Date.now() / 1000);

    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    expect(response.body).toMatchObject({
      token_type: 'Bearer',
      expires_in: '120',
      ext_expires_in: '120',
      resource: 'https://manage.devcenter.microsoft.com',
      access_token: expect.stringMatching(/^[\w-]{20,}$/),
    });
    const expiresOn = Number(
      parseBody(response, z.object({ expires_on: z.string().regex(/^\d+$/) })).expires_on,
    );
    expect(expiresOn).toBeGreaterThanOrEqual(before + 120);
    expect(expiresOn).toBeLessThanOrEqual(after + 121);
  });

  it('issues a different token on every request', async () => {
    const simulator = await startSimulator();
    expect(await getToken(simulator)).not.toBe(await getToken(simulator));
  });

  it('refuses a wrong secret with 401 invalid_client and never echoes the secret', async () => {
    const simulator = await startSimulator();
    const response = await requestToken(simulator, { client_secret: 'wrong-secret-value-123' });

    expect(response.status).toBe(401);
    expect(response.body).toMatchObject({
      error: 'invalid_client',
      error_description: expect.stringMatching(/^AADSTS7000215: /),
    });
    const text = JSON.stringify(response.body);
    expect(text).not.toContain('wrong-secret-value-123');
    expect(text).not.toContain(SAMPLE_TENANT.clientSecret);
  });

  it('refuses an unknown client with 401 invalid_client', async () => {
    const simulator = await startSimulator();
    const response = await requestToken(simulator, { client_id: '11111111-2222-4333-8444-555555555555' });
    expect(response.status).toBe(401);
    expect(response.body).toMatchObject({ error: 'invalid_client' });
  });

  it('refuses an unknown tenant with 400 invalid_request AADSTS90002', async () => {
    const simulator = await startSimulator();
    const response = await requestToken(simulator, {}, '99999999-0000-4000-8000-000000000000');
    expect(response.status).toBe(400);
    expect(response.body).toMatchObject({
      error: 'invalid_request',
      error_description: expect.stringMatching(/^AADSTS90002: /),
    });
  });

  it.each([
    ['a missing grant_type', { grant_type: undefined }, 'invalid_request'],
    ['another grant type', { grant_type: 'password' }, 'unsupported_grant_type'],
    ['a missing client_id', { client_id: undefined }, 'invalid_request'],
    ['a missing resource', { resource: undefined }, 'invalid_request'],
    ['another resource', { resource: 'https://graph.microsoft.com' }, 'invalid_resource'],
  ])('refuses %s with 400 %s', async (_label, fields, error) => {
    const simulator = await startSimulator();
    const response = await requestToken(simulator, fields);
    expect(response.status).toBe(400);
    expect(response.body).toMatchObject({ error, error_description: expect.stringMatching(/^AADSTS\d+: /) });
  });

  it('refuses a missing secret with 401 invalid_client', async () => {
    const simulator = await startSimulator();
    const response = await requestToken(simulator, { client_secret: undefined });
    expect(response.status).toBe(401);
    expect(response.body).toMatchObject({ error: 'invalid_client' });
  });
});

describe('Store simulator: authorization of Store calls', () => {
  const unauthorized = {
    statusCode: 401,
    message: 'APIM: Unauthorized. Access token is missing or invalid.',
  };

  it('answers 401 without a token', async () => {
    const simulator = await startSimulator();
    const response = await callStore(simulator, 'GET', 'applications/9NBLGGH4R315', undefined);
    expect(response.status).toBe(401);
    expect(response.body).toEqual(unauthorized);
  });

  it('answers 401 to an unknown token', async () => {
    const simulator = await startSimulator();
    const response = await callStore(simulator, 'GET', 'applications/9NBLGGH4R315', 'made-up-token');
    expect(response.status).toBe(401);
    expect(response.body).toEqual(unauthorized);
  });

  it('answers 401 to an expired token, and a fresh token works again', async () => {
    const simulator = await startSimulator();
    const old = await getToken(simulator);
    simulator.control.expireAllTokens();

    const refused = await callStore(simulator, 'GET', 'applications/9NBLGGH4R315', old);
    const fresh = await callStore(simulator, 'GET', 'applications/9NBLGGH4R315', await getToken(simulator));

    expect(refused.status).toBe(401);
    expect(refused.body).toEqual(unauthorized);
    expect(fresh.status).toBe(200);
  });

  it('expires a token once its lifetime has passed', async () => {
    const simulator = await startSimulator({ tokenLifetimeSeconds: 0 });
    const token = await getToken(simulator);
    const response = await callStore(simulator, 'GET', 'applications/9NBLGGH4R315', token);
    expect(response.status).toBe(401);
  });
});
