import { createServer, type Server } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { Agent, type DispatchHandler } from '../../../tools/bench/what-if/node-http-agent.ts';

let server: Server | undefined;

afterEach(async () => {
  await new Promise<void>((resolve) => (server === undefined ? resolve() : server.close(() => resolve())));
  server = undefined;
});

async function startServer(): Promise<string> {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => {
      body += chunk.toString('utf8');
    });
    req.on('end', () => {
      res.writeHead(201, { 'content-type': 'application/json', 'x-path': req.url ?? '' });
      res.end(JSON.stringify({ method: req.method, body }));
    });
  });
  await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  return `http://127.0.0.1:${address !== null && typeof address === 'object' ? address.port : 0}`;
}

/** Runs one `dispatch` and collects what the handler was told. */
function dispatchAndCollect(agent: Agent, options: Parameters<Agent['dispatch']>[0]) {
  return new Promise<{ status: number; headers: Record<string, unknown>; text: string }>(
    (resolve, reject) => {
      let status = 0;
      let headers: Record<string, unknown> = {};
      const chunks: Buffer[] = [];
      const handler: DispatchHandler = {
        onResponseStart(_controller, statusCode, responseHeaders) {
          status = statusCode;
          headers = responseHeaders;
        },
        onResponseData(_controller, chunk) {
          chunks.push(chunk);
        },
        onResponseEnd() {
          resolve({ status, headers, text: Buffer.concat(chunks).toString('utf8') });
        },
        onResponseError(_controller, error) {
          reject(error);
        },
      };
      agent.dispatch(options, handler);
    },
  );
}

describe('what-if node:http agent', () => {
  it('dispatches a request with its body and reports status, headers and body to the handler', async () => {
    const origin = await startServer();

    const answer = await dispatchAndCollect(new Agent(), {
      origin,
      path: '/v1.0/my/x?y=1',
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body: 'hello',
    });

    expect(answer.status).toBe(201);
    expect(answer.headers['x-path']).toBe('/v1.0/my/x?y=1');
    expect(JSON.parse(answer.text)).toEqual({ method: 'POST', body: 'hello' });
  });

  it('serves the promise form too, with the body as a stream', async () => {
    const origin = await startServer();

    const response = await new Agent().request({ origin, path: '/', method: 'GET' });
    const chunks: Buffer[] = [];
    for await (const chunk of response.body) chunks.push(Buffer.from(chunk));

    expect(response.statusCode).toBe(201);
    expect(JSON.parse(Buffer.concat(chunks).toString('utf8'))).toEqual({ method: 'GET', body: '' });
  });

  it('reports a refused connection to the handler as an error with its code', async () => {
    const origin = await startServer();
    await new Promise<void>((resolve) => server?.close(() => resolve()));
    server = undefined;

    await expect(dispatchAndCollect(new Agent(), { origin, path: '/', method: 'GET' })).rejects.toMatchObject(
      {
        code: 'ECONNREFUSED',
      },
    );
  });

  it('drops a request the handler aborts as it starts, and tells the handler', async () => {
    const origin = await startServer();
    const reason = new Error('deadline');

    const error = await new Promise<Error>((resolve) => {
      new Agent().dispatch(
        { origin, path: '/', method: 'GET' },
        {
          onRequestStart(controller) {
            controller.abort(reason);
          },
          onResponseError(_controller, failure) {
            resolve(failure);
          },
        },
      );
    });

    expect(error).toBe(reason);
  });
});
