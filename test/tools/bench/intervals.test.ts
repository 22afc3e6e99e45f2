import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { countSequentialRoundTrips } from '../../../tools/bench/intervals.ts';
import { start } from '../../../tools/store-simulator/index.ts';
import {
  SAMPLE_APP_ID,
  SAMPLE_PUBLISHED_SUBMISSION_ID,
  SAMPLE_TENANT,
  sampleState,
} from '../../../tools/store-simulator/sample-state.ts';

const span = (startedAt: number, endedAt?: number) => ({ startedAt, endedAt });

describe('countSequentialRoundTrips', () => {
  it('counts requests that each started after the previous one ended', () => {
    expect(countSequentialRoundTrips([span(0, 10), span(11, 20), span(21, 30)])).toBe(3);
  });

  it('counts requests in flight together once', () => {
    // Two lookups in parallel, then the halt.
    expect(countSequentialRoundTrips([span(0, 10), span(1, 12), span(13, 20)])).toBe(2);
  });

  it('counts a request that starts exactly when the previous ended as waiting for it', () => {
    expect(countSequentialRoundTrips([span(0, 10), span(10, 20)])).toBe(2);
  });

  it('finds the longest chain whatever the order of the records', () => {
    // A long request overlapping a chain of three short ones: the chain wins.
    const records = [span(12, 20), span(0, 25), span(0, 5), span(6, 11)];

    expect(countSequentialRoundTrips(records)).toBe(3);
  });

  it('leaves out requests that never ended, and counts nothing for no requests', () => {
    expect(countSequentialRoundTrips([span(0, 10), span(11)])).toBe(1);
    expect(countSequentialRoundTrips([])).toBe(0);
  });

  it('counts the cold path from server records: secret, token, then three Store calls', () => {
    const cold = [span(0, 25), span(26, 52), span(53, 79), span(80, 105), span(106, 131)];

    expect(countSequentialRoundTrips(cold)).toBe(5);
  });

  it('counts from the Store simulator own records: three calls in a row, then two at once', async () => {
    const simulator = await start({ state: sampleState() });
    try {
      const form = new URLSearchParams({
        grant_type: 'client_credentials',
        client_id: SAMPLE_TENANT.clientId,
        client_secret: SAMPLE_TENANT.clientSecret,
        resource: 'https://manage.devcenter.microsoft.com',
      });
      const tokenResponse = await fetch(`${simulator.authority}/${SAMPLE_TENANT.tenantId}/oauth2/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: form,
      });
      const { access_token: token } = z
        .object({ access_token: z.string() })
        .parse(await tokenResponse.json());
      const get = (path: string) =>
        fetch(new URL(path, simulator.storeBaseUrl), {
          headers: { authorization: `Bearer ${token}` },
        }).then((response) => response.text());
      const app = `applications/${SAMPLE_APP_ID}`;
      const rollout = `${app}/submissions/${SAMPLE_PUBLISHED_SUBMISSION_ID}/packagerollout`;
      simulator.control.clearRequests();

      await get(app);
      await get(rollout);
      await get(app);
      // Neither of the last two is answered before both have arrived: certainly in flight together.
      simulator.control.gatherNext({ count: 2, match: { method: 'GET' } });
      await Promise.all([get(app), get(rollout)]);

      const records = simulator.control.requests;
      expect(records).toHaveLength(5);
      expect(countSequentialRoundTrips(records)).toBe(4);
    } finally {
      await simulator.close();
    }
  });
});
