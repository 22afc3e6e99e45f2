/**
 * A rotated Store secret (moto's Secrets Manager, the Store simulator, an injected clock): the token
 * issued for the old version is used until the credentials cache goes stale, and not after: the next
 * Store call once the re-read finds a new version asks Azure AD for a new token first. A re-read that
 * finds the same version keeps the token.
 */
import { PutSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createCredentialsSource } from '../../../../functions/commons/aws/credentials.ts';
import { createStoreAccess } from '../../../../functions/commons/store/store-access.ts';
import { start } from '../../../../tools/store-simulator/index.ts';
import { SAMPLE_APP_ID, sampleState } from '../../../../tools/store-simulator/sample-state.ts';
import type { RunningSimulator } from '../../../../tools/store-simulator/types.ts';
import { describeWithMoto } from '../../../support/aws.ts';
import { createSecret, motoClients } from '../../../support/aws-resources.ts';
import { SAMPLE_SECRET_STRING } from '../../../support/watchdog-harness.ts';

const TTL_MS = 300_000;

describeWithMoto('the Store token after the secret is rotated', () => {
  let simulator: RunningSimulator;
  beforeAll(async () => {
    simulator = await start({ state: sampleState() });
  });
  afterAll(async () => {
    await simulator.close();
  });

  /** The kinds of the simulator's requests since `from`, in order: `token` or `store`. */
  const kindsSince = (from: number) => simulator.control.requests.slice(from).map((request) => request.kind);

  it('never waits for the re-read of a stale secret, and drops the old token once it finds a new version', async () => {
    const { secrets } = motoClients();
    const secretId = await createSecret(secrets, SAMPLE_SECRET_STRING);
    let time = 10_000;
    const credentials = createCredentialsSource(secrets, secretId, { ttlMs: TTL_MS, now: () => time });
    const store = createStoreAccess({
      baseUrl: simulator.storeBaseUrl,
      authority: simulator.authority,
      getCredentials: (signal) => credentials.get(signal),
      refreshCredentials: (signal) => credentials.refresh(signal),
      throttle: false,
    });
    const read = () => store.client.getApplication(SAMPLE_APP_ID, AbortSignal.timeout(10_000));
    const from = simulator.control.requests.length;

    await read();
    expect(kindsSince(from)).toEqual(['token', 'store']);

    // Rotated (the same application's key stored again as a new version).
    await secrets.send(new PutSecretValueCommand({ SecretId: secretId, SecretString: SAMPLE_SECRET_STRING }));
    time += TTL_MS - 1;
    await read();
    // Within the cache's time, the old token still serves.
    expect(kindsSince(from)).toEqual(['token', 'store', 'store']);

    time += 1;
    await read();
    // The cache is stale: the halt does not wait for the re-read, the old token serves this call.
    expect(kindsSince(from)).toEqual(['token', 'store', 'store', 'store']);
    // The re-read it started finds a new version (joining it here waits for exactly that read).
    await credentials.get(AbortSignal.timeout(10_000));
    await read();
    // The token of the old version is not used again: a new token before the next Store call.
    expect(kindsSince(from)).toEqual(['token', 'store', 'store', 'store', 'token', 'store']);
    expect(new Set(simulator.control.issuedTokens()).size).toBe(simulator.control.issuedTokens().length);

    time += TTL_MS;
    await read();
    await credentials.get(AbortSignal.timeout(10_000));
    await read();
    // Stale again, but the secret did not change: the token stays.
    expect(kindsSince(from)).toEqual([
      'token',
      'store',
      'store',
      'store',
      'token',
      'store',
      'store',
      'store',
    ]);
  });
});
