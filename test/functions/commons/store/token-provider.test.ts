import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { AuthError, DeadlineExceededError } from '../../../../functions/commons/errors.ts';
import { createDeadline } from '../../../../functions/commons/http/deadline.ts';
import { AccessToken, createTokenProvider } from '../../../../functions/commons/store/token-provider.ts';
import { SAMPLE_TENANT } from '../../../../tools/store-simulator/sample-state.ts';
import type { RunningSimulator } from '../../../../tools/store-simulator/types.ts';
import {
  collectError,
  connect,
  recordingSleep,
  rejectionOf,
  roomySignal,
  startSimulator,
  tokenRequests,
} from './support.ts';

const WRONG_SECRET = 'wrong-secret-7f3a9c-never-print-me';

/** A provider over the simulator with a clock the test moves. */
function providerWithClock(simulator: RunningSimulator) {
  const clock = { time: 1_000_000 };
  const access = connect(simulator, { environment: { now: () => clock.time } });
  return { clock, provider: access.tokenProvider };
}

describe('token provider', () => {
  it('gets a token with the v1 client-credentials form and uses it on the Store API', async () => {
    const simulator = await startSimulator();
    const { client } = connect(simulator);

    const app = await client.getApplication('9NBLGGH4R315', roomySignal());

    expect(app.id).toBe('9NBLGGH4R315');
    const [request] = tokenRequests(simulator);
    expect(tokenRequests(simulator)).toHaveLength(1);
    expect(request).toMatchObject({
      method: 'POST',
      path: `/${SAMPLE_TENANT.tenantId}/oauth2/token`,
      status: 200,
    });
  });

  it('reuses the cached token, and concurrent callers share one request', async () => {
    const simulator = await startSimulator();
    const { tokenProvider } = connect(simulator);

    const tokens = await Promise.all(Array.from({ length: 5 }, () => tokenProvider.getToken(roomySignal())));
    const again = await tokenProvider.getToken(roomySignal());

    expect(tokenRequests(simulator)).toHaveLength(1);
    expect(new Set([...tokens, again].map((token) => token.value)).size).toBe(1);
    expect(again.tenantId).toBe(SAMPLE_TENANT.tenantId);
  });

  it('renews at least 5 minutes before expiry (expires_in "3599" as a string)', async () => {
    const simulator = await startSimulator({ tokenLifetimeSeconds: 3599 });
    const { clock, provider } = providerWithClock(simulator);
    const first = await provider.getToken(roomySignal());

    clock.time += (3599 - 301) * 1000;
    expect((await provider.getToken(roomySignal())).value).toBe(first.value);
    clock.time += 2_000; // now 299 s before expiry
    const renewed = await provider.getToken(roomySignal());

    expect(renewed.value).not.toBe(first.value);
    expect(tokenRequests(simulator)).toHaveLength(2);
  });

  it('accepts expires_in as a number and renews a short-lived token at half its life', async () => {
    const simulator = await startSimulator();
    simulator.control.failNext({
      status: 200,
      match: { kind: 'token' },
      body: { token_type: 'Bearer', expires_in: 120, access_token: 'short-lived-token-value' },
    });
    const { clock, provider } = providerWithClock(simulator);
    await provider.getToken(roomySignal());

    clock.time += 59_000;
    await provider.getToken(roomySignal());
    expect(tokenRequests(simulator)).toHaveLength(1);
    clock.time += 1_000;
    await provider.getToken(roomySignal());
    expect(tokenRequests(simulator)).toHaveLength(2);
  });

  it('assumes about 59 minutes when Azure AD does not say how long the token lives', async () => {
    const simulator = await startSimulator();
    simulator.control.failNext({
      status: 200,
      match: { kind: 'token' },
      body: { token_type: 'Bearer', access_token: 'token-without-lifetime' },
    });
    const { clock, provider } = providerWithClock(simulator);
    await provider.getToken(roomySignal());

    clock.time += (59 * 60 - 301) * 1000;
    await provider.getToken(roomySignal());
    expect(tokenRequests(simulator)).toHaveLength(1);
    clock.time += 2_000;
    await provider.getToken(roomySignal());
    expect(tokenRequests(simulator)).toHaveLength(2);
  });

  it('forgets a token only if it is still the cached one', async () => {
    const simulator = await startSimulator();
    const { tokenProvider } = connect(simulator);
    const first = await tokenProvider.getToken(roomySignal());
    tokenProvider.invalidate(first);
    const second = await tokenProvider.getToken(roomySignal());

    tokenProvider.invalidate(first); // a stale 401 must not throw away the new token
    expect((await tokenProvider.getToken(roomySignal())).value).toBe(second.value);
    expect(tokenRequests(simulator)).toHaveLength(2);
  });

  it('fails with AuthError naming the client and the Azure AD code, never the secret, and does not retry', async () => {
    const simulator = await startSimulator();
    const { tokenProvider } = connect(simulator, {
      credentials: { ...SAMPLE_TENANT, clientSecret: WRONG_SECRET },
    });

    const error = await rejectionOf(tokenProvider.getToken(roomySignal()));

    expect(error).toBeInstanceOf(AuthError);
    expect(error).toMatchObject({
      code: 'AUTH_REJECTED',
      kind: 'auth',
      status: 401,
      storeCode: 'invalid_client',
    });
    expect(String(error)).toContain(SAMPLE_TENANT.clientId);
    expect(String(error)).toContain('AADSTS7000215');
    expect(String(error)).not.toContain(WRONG_SECRET);
    expect(JSON.stringify(error)).not.toContain(WRONG_SECRET);
    expect(tokenRequests(simulator)).toHaveLength(1);
  });

  it('re-reads rotated credentials once after a rejection and succeeds with them', async () => {
    const simulator = await startSimulator();
    const rejections: string[] = [];
    const dispatcherAccess = connect(simulator);
    const provider = createTokenProvider({
      authority: simulator.authority,
      dispatcher: dispatcherAccess.dispatcher,
      getCredentials: async () => ({ ...SAMPLE_TENANT, clientSecret: WRONG_SECRET }),
      refreshCredentials: async () => ({ credentials: SAMPLE_TENANT, changed: true }),
      onCredentialsRejected: (error) => rejections.push(collectError(error).code),
    });

    const token = await provider.getToken(roomySignal());

    expect(token.tenantId).toBe(SAMPLE_TENANT.tenantId);
    expect(rejections).toEqual(['AUTH_REJECTED']);
    expect(tokenRequests(simulator).map((request) => request.status)).toEqual([401, 200]);
  });

  it('does not ask again when the re-read credentials did not change', async () => {
    const simulator = await startSimulator();
    let reads = 0;
    const { tokenProvider } = connect(simulator, {
      credentials: { ...SAMPLE_TENANT, clientSecret: WRONG_SECRET },
      refreshCredentials: async () => {
        reads++;
        return { credentials: { ...SAMPLE_TENANT, clientSecret: WRONG_SECRET }, changed: false };
      },
    });

    const error = await rejectionOf(tokenProvider.getToken(roomySignal()));

    expect(error).toMatchObject({ code: 'AUTH_REJECTED' });
    expect(reads).toBe(1);
    expect(tokenRequests(simulator)).toHaveLength(1);
  });

  it('rejects an unknown tenant as bad credentials (400 invalid_request)', async () => {
    const simulator = await startSimulator();
    const { tokenProvider } = connect(simulator, {
      credentials: { ...SAMPLE_TENANT, tenantId: '11111111-1111-4111-8111-111111111111' },
    });
    const error = await rejectionOf(tokenProvider.getToken(roomySignal()));
    expect(error).toMatchObject({ code: 'AUTH_REJECTED', status: 400, storeCode: 'invalid_request' });
  });

  it('retries 429 (honouring Retry-After) and 5xx from the token endpoint', async () => {
    const simulator = await startSimulator();
    simulator.control.failNext({ status: 429, retryAfter: '3', match: { kind: 'token' } });
    simulator.control.failNext({ status: 503, match: { kind: 'token' } });
    const sleep = recordingSleep();
    const { tokenProvider } = connect(simulator, { environment: { sleep } });

    await tokenProvider.getToken(roomySignal());

    expect(tokenRequests(simulator).map((request) => request.status)).toEqual([429, 503, 200]);
    expect(sleep.calls[0]).toBe(3_000);
    expect(sleep.calls).toHaveLength(2);
  });

  it('reports a malformed token answer as AUTH_BAD_RESPONSE naming the field', async () => {
    const simulator = await startSimulator();
    simulator.control.failNext({ status: 200, match: { kind: 'token' }, body: { token_type: 'Bearer' } });
    const { tokenProvider } = connect(simulator);
    const error = await rejectionOf(tokenProvider.getToken(roomySignal()));
    expect(error).toMatchObject({ code: 'AUTH_BAD_RESPONSE' });
    expect(String(error)).toContain('access_token');
  });

  it('gives up at the deadline when the token endpoint hangs', async () => {
    const simulator = await startSimulator();
    simulator.control.hangNext({ match: { kind: 'token' } });
    const { tokenProvider } = connect(simulator);
    const started = Date.now();

    const error = await rejectionOf(tokenProvider.getToken(createDeadline({ timeoutMs: 300 })));

    expect(error).toBeInstanceOf(DeadlineExceededError);
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('asks again under its own signal when the shared request it joined was given up by its first caller', async () => {
    const simulator = await startSimulator();
    simulator.control.hangNext({ match: { kind: 'token' } });
    const { tokenProvider } = connect(simulator);

    // The init-phase warm-up starts the request with a short signal; the invocation joins it with its own.
    const warmUp = tokenProvider.getToken(createDeadline({ timeoutMs: 200 }));
    const invocation = tokenProvider.getToken(roomySignal());

    expect(await rejectionOf(warmUp)).toBeInstanceOf(DeadlineExceededError);
    expect((await invocation).tenantId).toBe(SAMPLE_TENANT.tenantId);
    expect(tokenRequests(simulator).map((request) => request.status)).toEqual([undefined, 200]);
  });

  it('never shows the token when logged or serialized', () => {
    const token = new AccessToken('eyJ0eXAiOiJKV1QiLCJhbGciOi-secret-token', SAMPLE_TENANT.tenantId);
    expect(token.value).toBe('eyJ0eXAiOiJKV1QiLCJhbGciOi-secret-token');
    expect(JSON.stringify({ token })).not.toContain('secret-token');
    expect(inspect(token)).not.toContain('secret-token');
    expect(inspect(token)).toContain(SAMPLE_TENANT.tenantId);
  });
});
