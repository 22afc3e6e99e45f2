import { describe, expect, it } from 'vitest';
import {
  SAMPLE_APP_ID,
  SAMPLE_PUBLISHED_SUBMISSION_ID,
  SAMPLE_TENANT,
} from '../../../tools/store-simulator/sample-state.ts';
import { callStore, getToken, requestToken, startSimulator } from './support.ts';

const appPath = `applications/${SAMPLE_APP_ID}`;
const haltPath = `${appPath}/submissions/${SAMPLE_PUBLISHED_SUBMISSION_ID}/haltpackagerollout`;

describe('Store simulator: control API for leak and recovery proofs', () => {
  it('lists every access token it issued, expired ones too, and nothing it refused', async () => {
    const simulator = await startSimulator();
    expect(simulator.control.issuedTokens()).toEqual([]);

    const first = await getToken(simulator);
    simulator.control.expireAllTokens();
    const second = await getToken(simulator);
    await requestToken(simulator, { client_secret: 'wrong-secret-value-123' });

    expect(simulator.control.issuedTokens()).toEqual([first, second]);
    expect(simulator.control.issuedTokens()).not.toContain(SAMPLE_TENANT.clientSecret);
  });

  it('drops every queued fault and pending halt-then-503 on clearFaults, so the service answers normally', async () => {
    const simulator = await startSimulator();
    const token = await getToken(simulator);
    simulator.control.failNext({ status: 500, count: 10, match: { path: appPath } });
    simulator.control.hangNext({ count: 10, match: { method: 'POST' } });
    simulator.control.haltAppliesThen503({ count: 3 });
    expect((await callStore(simulator, 'GET', appPath, token)).status).toBe(500);

    simulator.control.clearFaults();

    expect((await callStore(simulator, 'GET', appPath, token)).status).toBe(200);
    const halt = await callStore(simulator, 'POST', haltPath, token, { signal: AbortSignal.timeout(5_000) });
    expect(halt.status).toBe(200);
    expect(simulator.control.effectiveHalts).toBe(1);
  });
});
