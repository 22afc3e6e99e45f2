import { createServer, get, type Server } from 'node:http';
import { Agent } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { type NetworkProbe, startNetworkProbe } from '../../../tools/bench/network-probe.ts';

let server: Server | undefined;
let probe: NetworkProbe | undefined;

afterEach(async () => {
  probe?.stop();
  probe = undefined;
  await new Promise<void>((resolve) => (server === undefined ? resolve() : server.close(() => resolve())));
  server = undefined;
});

async function startServer(): Promise<string> {
  server = createServer((req, res) => {
    res.writeHead(req.url === '/missing' ? 404 : 200, { 'content-type': 'text/plain' });
    res.end('hello');
  });
  await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  return `http://127.0.0.1:${address !== null && typeof address === 'object' ? address.port : 0}`;
}

describe('network probe', () => {
  it('sees an undici exchange from start to the end of its body, with method, path and status', async () => {
    const origin = await startServer();
    probe = startNetworkProbe();
    const agent = new Agent();

    const response = await agent.request({ origin, path: '/store?x=1', method: 'GET' });
    await response.body.text();
    await agent.close();

    expect(probe.exchanges).toEqual([
      expect.objectContaining({ client: 'undici', method: 'GET', path: '/store?x=1', status: 200 }),
    ]);
    const [exchange] = probe.exchanges;
    expect(exchange?.endedAt).toBeGreaterThanOrEqual(exchange?.startedAt ?? Number.POSITIVE_INFINITY);
    expect(probe.inFlight).toBe(0);
  });

  it('sees an exchange of node:http (the AWS SDK client) once its body has been read', async () => {
    const origin = await startServer();
    probe = startNetworkProbe();

    await new Promise<void>((resolve, reject) => {
      get(`${origin}/missing`, (response) => {
        response.resume();
        response.on('end', resolve);
      }).on('error', reject);
    });
    // The probe's own 'end' listener runs after the one above; let it.
    await new Promise((resolve) => setImmediate(resolve));

    expect(probe.exchanges).toEqual([
      expect.objectContaining({ client: 'http', method: 'GET', path: '/missing', status: 404 }),
    ]);
  });

  it('forgets exchanges that ended before a time, and sees nothing once stopped', async () => {
    const origin = await startServer();
    probe = startNetworkProbe();
    const agent = new Agent();
    await (await agent.request({ origin, path: '/a', method: 'GET' })).body.text();

    probe.forgetBefore(performance.now() + 1);
    expect(probe.exchanges).toEqual([]);

    probe.stop();
    await (await agent.request({ origin, path: '/b', method: 'GET' })).body.text();
    await agent.close();
    expect(probe.exchanges).toEqual([]);
  });
});
