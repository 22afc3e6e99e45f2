import { describe, expect, it } from 'vitest';
import {
  app,
  publishedSubmission,
  SAMPLE_APP_ID,
  SAMPLE_PUBLISHED_SUBMISSION_ID,
  sampleState,
} from '../../../tools/store-simulator/sample-state.ts';
import { callStore, getToken, requestToken, startSimulator } from './support.ts';

const appPath = `applications/${SAMPLE_APP_ID}`;
const haltPath = `${appPath}/submissions/${SAMPLE_PUBLISHED_SUBMISSION_ID}/haltpackagerollout`;

describe('Store simulator: per-tenant throttle', () => {
  it('answers 429 with Retry-After and a "Try again in N seconds" body once the limit is spent', async () => {
    // The real window: the three calls certainly fall inside it, however slow the machine.
    const simulator = await startSimulator({ throttle: { limit: 2, windowMs: 60_000 } });
    const token = await getToken(simulator);

    const admitted = [
      await callStore(simulator, 'GET', appPath, token),
      await callStore(simulator, 'GET', appPath, token),
    ];
    const throttled = await callStore(simulator, 'GET', appPath, token);

    expect(admitted.map((response) => response.status)).toEqual([200, 200]);
    expect(throttled.status).toBe(429);
    // Until the oldest call leaves the window: 60 s, less the time the calls took (whole seconds, up).
    const retryAfter = Number(throttled.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThanOrEqual(50);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect(throttled.headers.get('ms-correlationid')).toMatch(/^[0-9a-f-]{36}$/);
    expect(throttled.body).toEqual({
      statusCode: 429,
      message: `Rate limit is exceeded. Try again in ${retryAfter} seconds.`,
    });
  });

  it('admits calls again once the window has passed, on the clock it is given', async () => {
    let now = 1_000;
    const simulator = await startSimulator({
      throttle: { limit: 1, windowMs: 60_000 },
      clock: { now: () => now, sleep: () => Promise.reject(new Error('no latency set')) },
    });
    const token = await getToken(simulator);
    await callStore(simulator, 'GET', appPath, token);
    now = 60_999;
    const throttled = await callStore(simulator, 'GET', appPath, token);
    expect(throttled.status).toBe(429);
    expect(throttled.headers.get('retry-after')).toBe('1');

    now = 61_000;

    expect((await callStore(simulator, 'GET', appPath, token)).status).toBe(200);
    expect(simulator.control.requests.filter((r) => r.kind === 'store').map((r) => r.startedAt)).toEqual([
      1_000, 60_999, 61_000,
    ]);
  });

  it('changes nothing when it throttles a halt', async () => {
    const simulator = await startSimulator({ throttle: { limit: 1, windowMs: 60_000 } });
    const token = await getToken(simulator);
    await callStore(simulator, 'GET', appPath, token);

    const response = await callStore(simulator, 'POST', haltPath, token);

    expect(response.status).toBe(429);
    expect(
      simulator.control.rollout(SAMPLE_APP_ID, SAMPLE_PUBLISHED_SUBMISSION_ID).packageRolloutStatus,
    ).toBe('PackageRolloutInProgress');
    expect(simulator.control.effectiveHalts).toBe(0);
  });

  it('does not count token requests (they go to Azure AD) nor calls without a known token', async () => {
    const simulator = await startSimulator({ throttle: { limit: 1, windowMs: 60_000 } });
    for (let index = 0; index < 4; index += 1) expect((await requestToken(simulator)).status).toBe(200);
    expect((await callStore(simulator, 'GET', appPath, undefined)).status).toBe(401);
    expect((await callStore(simulator, 'GET', appPath, 'unknown-token')).status).toBe(401);

    expect((await callStore(simulator, 'GET', appPath, await getToken(simulator))).status).toBe(200);
  });

  it('keeps a separate budget per tenant', async () => {
    const otherTenant = {
      tenantId: '00000000-0000-4000-8000-000000000002',
      clientId: '00000000-0000-4000-8000-0000000000c2',
      clientSecret: 'sim-secret-other-tenant',
    };
    const state = sampleState();
    state.tenants.push(otherTenant);
    state.apps.push(
      app('9OTHERTENANT', [publishedSubmission('1152921504629999999', 10)], {
        tenantId: otherTenant.tenantId,
      }),
    );
    const simulator = await startSimulator({ state, throttle: { limit: 1, windowMs: 60_000 } });
    const token = await getToken(simulator);
    await callStore(simulator, 'GET', appPath, token);
    expect((await callStore(simulator, 'GET', appPath, token)).status).toBe(429);

    const other = await callStore(
      simulator,
      'GET',
      'applications/9OTHERTENANT',
      await getToken(simulator, otherTenant),
    );

    expect(other.status).toBe(200);
  });

  it('can be turned on and off at run time', async () => {
    const simulator = await startSimulator();
    const token = await getToken(simulator);
    simulator.control.setThrottle({ limit: 1, windowMs: 60_000 });
    await callStore(simulator, 'GET', appPath, token);
    expect((await callStore(simulator, 'GET', appPath, token)).status).toBe(429);

    simulator.control.setThrottle(null);

    expect((await callStore(simulator, 'GET', appPath, token)).status).toBe(200);
  });

  it('counts an expired token against its tenant (the throttle comes before authorization)', async () => {
    const simulator = await startSimulator({ throttle: { limit: 1, windowMs: 60_000 } });
    const token = await getToken(simulator);
    simulator.control.expireAllTokens();
    expect((await callStore(simulator, 'GET', appPath, token)).status).toBe(401);
    expect((await callStore(simulator, 'GET', appPath, token)).status).toBe(429);
  });
});
