import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import {
  SAMPLE_APP_ID,
  SAMPLE_PENDING_SUBMISSION_ID,
  SAMPLE_PUBLISHED_SUBMISSION_ID,
  SAMPLE_TENANT,
} from '../../../tools/store-simulator/sample-state.ts';
import type { RunningSimulator } from '../../../tools/store-simulator/types.ts';
import { callStore, getToken, requestToken, startSimulator } from './support.ts';

const appPath = `applications/${SAMPLE_APP_ID}`;
const livePath = `${appPath}/submissions/${SAMPLE_PUBLISHED_SUBMISSION_ID}`;

function liveStatus(simulator: RunningSimulator): string {
  return simulator.control.rollout(SAMPLE_APP_ID, SAMPLE_PUBLISHED_SUBMISSION_ID).packageRolloutStatus;
}

async function waitForRequests(simulator: RunningSimulator, count: number): Promise<void> {
  for (let attempt = 0; attempt < 200 && simulator.control.requests.length < count; attempt += 1)
    await sleep(10);
  expect(simulator.control.requests.length).toBeGreaterThanOrEqual(count);
}

describe('Store simulator: request recording', () => {
  it('records kind, method, path, query, status and timing of every request', async () => {
    const simulator = await startSimulator();
    const token = await getToken(simulator);
    await callStore(simulator, 'POST', `${livePath}/updatepackagerolloutpercentage?percentage=30`, token);
    await callStore(simulator, 'GET', 'nowhere', undefined);

    const [tokenRequest, update, missing] = simulator.control.requests;

    expect(tokenRequest).toMatchObject({
      kind: 'token',
      method: 'POST',
      path: `/${SAMPLE_TENANT.tenantId}/oauth2/token`,
      query: '',
      status: 200,
    });
    expect(update).toMatchObject({
      kind: 'store',
      method: 'POST',
      path: `/v1.0/my/${livePath}/updatepackagerolloutpercentage`,
      query: '?percentage=30',
      status: 200,
    });
    expect(missing).toMatchObject({ kind: 'store', status: 401 });
    expect(update?.endedAt).toBeGreaterThanOrEqual(update?.startedAt ?? Number.POSITIVE_INFINITY);

    simulator.control.clearRequests();
    expect(simulator.control.requests).toEqual([]);
  });

  it('delays every answer by the configured latency, on the clock it is given, and records it', async () => {
    let now = 5_000;
    const slept: number[] = [];
    const simulator = await startSimulator({
      clock: {
        now: () => now,
        sleep: async (ms) => {
          slept.push(ms);
          now += ms;
        },
      },
    });
    const token = await getToken(simulator);
    simulator.control.setLatency(100);

    await callStore(simulator, 'GET', appPath, token);

    expect(slept).toEqual([100]);
    const recorded = simulator.control.requests.at(-1);
    expect(recorded).toMatchObject({ startedAt: 5_000, endedAt: 5_100, status: 200 });
  });
});

describe('Store simulator: injected failures', () => {
  it('fails the next matching request with the status and Retry-After given, and changes nothing', async () => {
    const simulator = await startSimulator();
    const token = await getToken(simulator);
    simulator.control.failNext({ status: 503, retryAfter: '7', match: { path: 'haltpackagerollout' } });

    const unaffected = await callStore(simulator, 'GET', `${livePath}/packagerollout`, token);
    const failed = await callStore(simulator, 'POST', `${livePath}/haltpackagerollout`, token);

    expect(unaffected.status).toBe(200);
    expect(failed.status).toBe(503);
    expect(failed.headers.get('retry-after')).toBe('7');
    expect(failed.body).toMatchObject({ code: 'ServiceError' });
    expect(liveStatus(simulator)).toBe('PackageRolloutInProgress');
    expect(simulator.control.effectiveHalts).toBe(0);
    expect((await callStore(simulator, 'POST', `${livePath}/haltpackagerollout`, token)).status).toBe(200);
  });

  it('fails exactly `count` requests matching method and pattern, with a custom body', async () => {
    const simulator = await startSimulator();
    const token = await getToken(simulator);
    simulator.control.failNext({
      status: 500,
      count: 2,
      match: { method: 'GET', path: /\/applications\/[0-9A-Z]{12}$/ },
      body: { custom: true },
    });

    const statuses = [];
    for (const path of [appPath, `${livePath}/packagerollout`, appPath, appPath]) {
      const response = await callStore(simulator, 'GET', path, token);
      statuses.push(response.status);
      if (response.status === 500) expect(response.body).toEqual({ custom: true });
    }

    expect(statuses).toEqual([500, 200, 500, 200]);
  });

  it('can fail token requests only', async () => {
    const simulator = await startSimulator();
    simulator.control.failNext({ status: 429, retryAfter: '3', match: { kind: 'token' } });

    const failed = await requestToken(simulator);
    const store = await callStore(simulator, 'GET', appPath, await getToken(simulator));

    expect(failed.status).toBe(429);
    expect(failed.headers.get('retry-after')).toBe('3');
    expect(failed.body).toEqual({
      statusCode: 429,
      message: 'Rate limit is exceeded. Try again in 3 seconds.',
    });
    expect(store.status).toBe(200);
  });

  it('applies injected faults before authorization, and after the throttle', async () => {
    const simulator = await startSimulator();
    const token = await getToken(simulator);
    simulator.control.failNext({ status: 503 });
    expect((await callStore(simulator, 'GET', appPath, undefined)).status).toBe(503);

    simulator.control.setThrottle({ limit: 1, windowMs: 60_000 });
    await callStore(simulator, 'GET', appPath, token);
    simulator.control.failNext({ status: 500 });
    expect((await callStore(simulator, 'GET', appPath, token)).status).toBe(429);
    simulator.control.setThrottle(null);
    expect((await callStore(simulator, 'GET', appPath, token)).status).toBe(500);
  });

  it('hangs the next request until the client gives up, then answers normally', async () => {
    const simulator = await startSimulator();
    const token = await getToken(simulator);
    simulator.control.hangNext({ match: { kind: 'store' } });
    const giveUp = new AbortController();
    const hanging = callStore(simulator, 'GET', appPath, token, { signal: giveUp.signal });
    // Give up only once the simulator has it (and the hang is spent), then a little longer.
    await waitForRequests(simulator, 2);
    await sleep(100);
    giveUp.abort();

    await expect(hanging).rejects.toThrow();
    const after = await callStore(simulator, 'GET', appPath, token);

    expect(simulator.control.requests.at(-2)).toMatchObject({ status: undefined, endedAt: undefined });
    expect(after.status).toBe(200);
  });

  it('closes promptly with a request still hanging, and the caller sees the connection end', async () => {
    const simulator = await startSimulator();
    const token = await getToken(simulator);
    simulator.control.hangNext({});
    const hanging = callStore(simulator, 'GET', appPath, token);
    const settled = hanging.then(
      () => 'answered',
      () => 'failed',
    );
    await waitForRequests(simulator, 2);
    await sleep(20);

    const closed = await Promise.race([
      simulator.close().then(() => 'closed'),
      sleep(5000).then(() => 'stuck'),
    ]);

    expect(closed).toBe('closed');
    expect(await settled).toBe('failed');
  });

  it('closes promptly while a delayed answer is pending', async () => {
    const simulator = await startSimulator();
    const token = await getToken(simulator);
    simulator.control.setLatency(60_000);
    const slow = callStore(simulator, 'GET', appPath, token).then(
      () => 'answered',
      () => 'failed',
    );
    await waitForRequests(simulator, 2);

    const closed = await Promise.race([
      simulator.close().then(() => 'closed'),
      sleep(5000).then(() => 'stuck'),
    ]);

    expect(closed).toBe('closed');
    expect(await slow).toBe('failed');
  });

  it('resets the connection of the next matching request without answering, and changes nothing', async () => {
    const simulator = await startSimulator();
    const token = await getToken(simulator);
    simulator.control.resetNext({ match: { method: 'POST' } });

    await expect(callStore(simulator, 'POST', `${livePath}/haltpackagerollout`, token)).rejects.toThrow(
      TypeError,
    );

    expect(simulator.control.requests.at(-1)).toMatchObject({ status: undefined });
    expect(liveStatus(simulator)).toBe('PackageRolloutInProgress');
    expect((await callStore(simulator, 'POST', `${livePath}/haltpackagerollout`, token)).status).toBe(200);
  });

  it('lets a halt take effect and then answers 503, so the retry meets 409 (as Store clients have seen: a halt answered 503 had worked)', async () => {
    const simulator = await startSimulator();
    const token = await getToken(simulator);
    simulator.control.haltAppliesThen503();

    const first = await callStore(simulator, 'POST', `${livePath}/haltpackagerollout`, token);
    const retry = await callStore(simulator, 'POST', `${livePath}/haltpackagerollout`, token);
    const read = await callStore(simulator, 'GET', `${livePath}/packagerollout`, token);

    expect(first.status).toBe(503);
    expect(first.body).toEqual({
      code: 'ServiceError',
      message:
        'InvalidOperation: This operation cannot be completed at this time. Retry your operation using exponential backoff.',
    });
    expect(retry.status).toBe(409);
    expect(retry.body).toMatchObject({ code: 'InvalidState' });
    expect(read.body).toMatchObject({
      packageRolloutStatus: 'PackageRolloutStopped',
      packageRolloutPercentage: 0,
    });
    expect(simulator.control.effectiveHalts).toBe(1);
  });

  it('keeps the 503 for a halt that takes effect: a refused halt answers its own 409', async () => {
    const simulator = await startSimulator();
    const token = await getToken(simulator);
    simulator.control.haltAppliesThen503();

    const refused = await callStore(
      simulator,
      'POST',
      `${appPath}/submissions/${SAMPLE_PENDING_SUBMISSION_ID}/haltpackagerollout`,
      token,
    );
    const effective = await callStore(simulator, 'POST', `${livePath}/haltpackagerollout`, token);

    expect(refused.status).toBe(409);
    expect(effective.status).toBe(503);
    expect(liveStatus(simulator)).toBe('PackageRolloutStopped');
  });
});

describe('Store simulator: gathered requests', () => {
  const haltPath = `${livePath}/haltpackagerollout`;

  async function waitUntilHeld(simulator: RunningSimulator, count: number): Promise<void> {
    for (let attempt = 0; attempt < 500 && simulator.control.heldRequests < count; attempt += 1)
      await sleep(10);
    expect(simulator.control.heldRequests).toBe(count);
  }

  /** What `call` settled to, or 'still waiting' after five seconds (a failure, not a hang). */
  function within5s<T>(call: Promise<T>): Promise<T | 'still waiting'> {
    return Promise.race([call, sleep(5_000).then(() => 'still waiting' as const)]);
  }

  it('holds the next `count` matching requests until the last arrives, then carries them out in arrival order', async () => {
    const simulator = await startSimulator();
    const token = await getToken(simulator);
    simulator.control.gatherNext({ count: 3, match: { method: 'POST' } });

    // Each is held before the next is sent, so that the arrival order is the order of the calls.
    const first = callStore(simulator, 'POST', haltPath, token);
    await waitUntilHeld(simulator, 1);
    const second = callStore(simulator, 'POST', haltPath, token);
    await waitUntilHeld(simulator, 2);
    // Two of three have arrived: neither is answered, and a read that does not match goes on.
    expect(simulator.control.requests.slice(1).map((request) => request.status)).toEqual([
      undefined,
      undefined,
    ]);
    expect((await callStore(simulator, 'GET', livePath, token)).status).toBe(200);
    expect(liveStatus(simulator)).toBe('PackageRolloutInProgress');

    const third = callStore(simulator, 'POST', haltPath, token);
    const statuses = await Promise.all([first, second, third].map(async (call) => (await call).status));

    expect(statuses).toEqual([200, 409, 409]);
    expect(simulator.control.heldRequests).toBe(0);
    expect(simulator.control.effectiveHalts).toBe(1);
    // The gathering is spent: the next halt is answered at once.
    expect((await callStore(simulator, 'POST', haltPath, token)).status).toBe(409);
  });

  it('lets held requests go on when the faults are cleared', async () => {
    const simulator = await startSimulator();
    const token = await getToken(simulator);
    simulator.control.gatherNext({ count: 5, match: { method: 'POST' } });
    const held = callStore(simulator, 'POST', haltPath, token);
    await waitUntilHeld(simulator, 1);

    simulator.control.clearFaults();

    const answer = await within5s(held);
    expect(answer === 'still waiting' ? answer : answer.status).toBe(200);
    expect(simulator.control.heldRequests).toBe(0);
    expect(simulator.control.effectiveHalts).toBe(1);
  });

  it('closes promptly with a request held, which ends unanswered', async () => {
    const simulator = await startSimulator();
    const token = await getToken(simulator);
    simulator.control.gatherNext({ count: 2, match: { method: 'POST' } });
    const heldAtClose = callStore(simulator, 'POST', haltPath, token).then(
      () => 'answered',
      () => 'failed',
    );
    await waitUntilHeld(simulator, 1);

    expect(await within5s(simulator.close().then(() => 'closed'))).toBe('closed');
    expect(await heldAtClose).toBe('failed');
    // Let go rather than left suspended, and never carried out.
    expect(simulator.control.heldRequests).toBe(0);
    expect(simulator.control.effectiveHalts).toBe(0);
  });

  it('refuses a gathering of fewer than two requests', async () => {
    const simulator = await startSimulator();
    expect(() => simulator.control.gatherNext({ count: 1 })).toThrow(/at least 2, got 1/);
  });
});
