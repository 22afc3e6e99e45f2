/**
 * The transport under the Store client: one exchange through undici's low-level `dispatch` API. A plain
 * Node HTTP server on loopback plays the other side, so each test can shape the answer byte by byte
 * (status, repeated headers, 1xx, chunking, size, stalls, resets); the Store client suites cover the
 * same path against the Store simulator.
 */
import { getEventListeners } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { Agent, Dispatcher } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import {
  classifyFailure,
  createDispatcher,
  type DispatcherOptions,
  type HttpRequest,
  MAX_RESPONSE_BYTES,
  readHeader,
  sendHttpRequest,
} from '../../../../functions/commons/http/transport.ts';

interface ReceivedRequest {
  readonly method: string | undefined;
  readonly url: string | undefined;
  readonly headers: IncomingMessage['headers'];
  readonly body: string;
}

interface TestServer {
  readonly origin: string;
  /** Requests whose body has been read, in arrival order. */
  readonly received: ReceivedRequest[];
  /** Requests that reached the handler (before their body was read). */
  readonly arrived: () => number;
  /** Connections accepted so far. */
  readonly connections: () => number;
  /** Stops listening and drops every connection. */
  close(): Promise<void>;
}

const servers: Server[] = [];
const dispatchers: Dispatcher[] = [];

afterEach(async () => {
  await Promise.all(dispatchers.splice(0).map((dispatcher) => dispatcher.destroy()));
  await Promise.all(servers.splice(0).map(closeServer));
});

/** A loopback HTTP server answering with `answer` once the request body has been read. */
async function startServer(
  answer: (response: ServerResponse, request: ReceivedRequest) => void,
): Promise<TestServer> {
  const received: ReceivedRequest[] = [];
  let arrived = 0;
  let connections = 0;
  const server = createServer((request, response) => {
    arrived++;
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const seen = {
        method: request.method,
        url: request.url,
        headers: request.headers,
        body: Buffer.concat(chunks).toString('utf8'),
      };
      received.push(seen);
      answer(response, seen);
    });
  });
  server.on('connection', () => connections++);
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('the server has no TCP address');
  return {
    origin: `http://127.0.0.1:${address.port}`,
    received,
    arrived: () => arrived,
    connections: () => connections,
    close: () => closeServer(server),
  };
}

async function closeServer(server: Server): Promise<void> {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
}

function dispatcher(options: DispatcherOptions = {}): Dispatcher {
  const created = createDispatcher(options);
  dispatchers.push(created);
  return created;
}

function get(
  server: TestServer,
  path: string,
  signal: AbortSignal = AbortSignal.timeout(10_000),
): HttpRequest {
  return {
    method: 'GET',
    url: new URL(path, server.origin),
    headers: { accept: 'application/json' },
    signal,
  };
}

/** The rejection of `promise`; fails the test if it resolves. */
async function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
  const outcome = await promise.then(
    (value) => ({ resolved: true as const, value }),
    (error: unknown) => ({ resolved: false as const, error }),
  );
  if (outcome.resolved) throw new Error(`expected a rejection, got ${JSON.stringify(outcome.value)}`);
  return outcome.error;
}

function codeOf(error: unknown): unknown {
  return typeof error === 'object' && error !== null && 'code' in error ? error.code : undefined;
}

describe('sendHttpRequest', () => {
  it('sends method, path with query, headers and body, and returns status, headers and the body text', async () => {
    const server = await startServer((response, request) => {
      response.setHeader('MS-CorrelationId', 'corr-1');
      response.setHeader('Set-Cookie', ['a=1', 'b=2']);
      response.writeHead(201, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ echoed: request.body }));
    });

    const response = await sendHttpRequest(dispatcher(), {
      method: 'POST',
      url: new URL('/v1.0/my/applications/9NBLGGH4R315/halt?x=1&y=%2F', server.origin),
      headers: { authorization: 'Bearer t', 'content-type': 'application/x-www-form-urlencoded' },
      body: 'grant_type=client_credentials',
      signal: AbortSignal.timeout(10_000),
    });

    expect(server.received).toEqual([
      {
        method: 'POST',
        url: '/v1.0/my/applications/9NBLGGH4R315/halt?x=1&y=%2F',
        headers: expect.objectContaining({
          authorization: 'Bearer t',
          'content-type': 'application/x-www-form-urlencoded',
          'content-length': String('grant_type=client_credentials'.length),
        }),
        body: 'grant_type=client_credentials',
      },
    ]);
    expect(response.status).toBe(201);
    expect(JSON.parse(response.text)).toEqual({ echoed: 'grant_type=client_credentials' });
    expect(readHeader(response.headers, 'MS-CorrelationId')).toBe('corr-1');
    expect(response.headers['set-cookie']).toEqual(['a=1', 'b=2']);
  });

  it('returns error statuses as responses, with their body', async () => {
    const server = await startServer((response) => {
      response.writeHead(409, { 'retry-after': '3' });
      response.end('{"code":"InvalidState"}');
    });

    const response = await sendHttpRequest(dispatcher(), get(server, '/conflict'));

    expect(response).toMatchObject({ status: 409, text: '{"code":"InvalidState"}' });
    expect(readHeader(response.headers, 'retry-after')).toBe('3');
  });

  it('joins a chunked body whose multi-byte characters are split across chunks', async () => {
    const text = 'Contoso Fotos – «Übersicht» 写真 ✓';
    const bytes = Buffer.from(text, 'utf8');
    const server = await startServer((response) => {
      response.writeHead(200);
      // One byte at a time: every multi-byte character is split.
      const writeFrom = (index: number) => {
        if (index === bytes.length) {
          response.end();
          return;
        }
        response.write(bytes.subarray(index, index + 1), () => writeFrom(index + 1));
      };
      writeFrom(0);
    });

    const response = await sendHttpRequest(dispatcher(), get(server, '/chunked'));

    expect(response.text).toBe(text);
  });

  it('skips informational answers and returns the final one', async () => {
    const server = await startServer((response) => {
      response.writeEarlyHints({ link: '</style.css>; rel=preload' });
      response.writeHead(200, { 'x-final': 'yes' });
      response.end('done');
    });

    const response = await sendHttpRequest(dispatcher(), get(server, '/hints'));

    expect(response.status).toBe(200);
    expect(response.text).toBe('done');
    expect(readHeader(response.headers, 'x-final')).toBe('yes');
    expect(response.headers.link).toBeUndefined();
  });

  it('reads a body of exactly the size limit', async () => {
    const server = await startServer((response) => {
      response.end('x'.repeat(MAX_RESPONSE_BYTES));
    });

    const response = await sendHttpRequest(dispatcher(), get(server, '/limit'));

    expect(response.text.length).toBe(MAX_RESPONSE_BYTES);
  });

  it('refuses a body that declares more than the limit, without reading it', async () => {
    const server = await startServer((response) => {
      response.writeHead(200, { 'content-length': String(MAX_RESPONSE_BYTES + 1) });
      // Sends only the start: the refusal must not wait for the rest.
      response.write('x');
    });

    const error = await rejectionOf(sendHttpRequest(dispatcher(), get(server, '/declared')));

    expect(codeOf(error)).toBe('RESPONSE_TOO_LARGE');
    expect(classifyFailure(error, new AbortController().signal)).toEqual({
      kind: 'network',
      detail: 'RESPONSE_TOO_LARGE',
      retryable: false,
    });
  });

  it('refuses a chunked body once it grows past the limit, without waiting for its end', async () => {
    const server = await startServer((response) => {
      response.writeHead(200);
      response.write('x'.repeat(MAX_RESPONSE_BYTES));
      // The byte over the limit arrives, and then the server stalls (never ends the body).
      response.write('y');
    });

    const error = await rejectionOf(
      sendHttpRequest(dispatcher({ bodyTimeoutMs: 20_000 }), get(server, '/big')),
    );

    expect(codeOf(error)).toBe('RESPONSE_TOO_LARGE');
  });

  it('rejects at once, sending nothing, when the signal has already aborted', async () => {
    const server = await startServer((response) => response.end('never'));
    const controller = new AbortController();
    const reason = new Error('deadline passed');
    controller.abort(reason);

    const sent = sendHttpRequest(dispatcher(), get(server, '/aborted', controller.signal));

    await expect(sent).rejects.toBe(reason);
    expect(server.arrived()).toBe(0);
  });

  it('rejects with the signal reason when it aborts while waiting for the headers, and classifies it as the deadline', async () => {
    const server = await startServer(() => {
      // Never answers.
    });
    const controller = new AbortController();
    const sent = sendHttpRequest(dispatcher(), get(server, '/stall', controller.signal));
    await waitFor(() => server.received.length === 1);

    controller.abort(new Error('deadline passed'));
    const error = await rejectionOf(sent);

    expect(error).toEqual(new Error('deadline passed'));
    expect(classifyFailure(error, controller.signal)).toEqual({ kind: 'deadline' });
  });

  it('rejects when the signal aborts in the middle of the body', async () => {
    const server = await startServer((response) => {
      response.writeHead(200);
      response.write('partial');
    });
    const controller = new AbortController();
    const sent = sendHttpRequest(dispatcher(), get(server, '/partial', controller.signal));
    await waitFor(() => server.received.length === 1);

    setTimeout(() => controller.abort(new Error('deadline passed')), 50);
    const error = await rejectionOf(sent);

    expect(error).toEqual(new Error('deadline passed'));
  });

  it('rejects a request still queued for a connection as soon as the signal aborts, and never sends it', async () => {
    // One connection per origin: the second request waits in the queue behind the first, which stalls.
    let release = () => {};
    const server = await startServer((response, request) => {
      if (request.url === '/first') release = () => response.end('first');
      else response.end('second');
    });
    const agent = new Agent({ connections: 1 });
    dispatchers.push(agent);
    const first = sendHttpRequest(agent, get(server, '/first'));
    await waitFor(() => server.received.length === 1);
    const controller = new AbortController();
    const second = sendHttpRequest(agent, get(server, '/second', controller.signal));

    controller.abort(new Error('deadline passed'));
    await expect(second).rejects.toEqual(new Error('deadline passed'));
    release();
    await expect(first).resolves.toMatchObject({ status: 200, text: 'first' });
    // The connection is free again; a later request goes through, the aborted one was dropped.
    await expect(sendHttpRequest(agent, get(server, '/third'))).resolves.toMatchObject({ status: 200 });

    expect(server.received.map((request) => request.url)).toEqual(['/first', '/third']);
  });

  it('reports a headers timeout with undici’s code, classified as a timeout', async () => {
    const server = await startServer(() => {
      // Never answers.
    });

    const error = await rejectionOf(
      sendHttpRequest(dispatcher({ headersTimeoutMs: 200 }), get(server, '/slow')),
    );

    expect(codeOf(error)).toBe('UND_ERR_HEADERS_TIMEOUT');
    expect(classifyFailure(error, AbortSignal.timeout(10_000))).toEqual({
      kind: 'timeout',
      detail: 'UND_ERR_HEADERS_TIMEOUT',
    });
  });

  it('reports a body timeout with undici’s code', async () => {
    const server = await startServer((response) => {
      response.writeHead(200);
      response.write('partial');
    });

    const error = await rejectionOf(
      sendHttpRequest(dispatcher({ bodyTimeoutMs: 200 }), get(server, '/trickle')),
    );

    expect(codeOf(error)).toBe('UND_ERR_BODY_TIMEOUT');
  });

  it('reports a connection reset as a retryable network failure', async () => {
    const server = await startServer((response) => {
      response.socket?.destroy();
    });

    const error = await rejectionOf(sendHttpRequest(dispatcher(), get(server, '/reset')));

    expect(classifyFailure(error, AbortSignal.timeout(10_000))).toMatchObject({
      kind: 'network',
      retryable: true,
    });
  });

  it('reports a refused connection as a retryable network failure', async () => {
    const server = await startServer(() => {});
    await server.close();

    const error = await rejectionOf(sendHttpRequest(dispatcher(), get(server, '/gone')));

    expect(classifyFailure(error, AbortSignal.timeout(10_000))).toEqual({
      kind: 'network',
      detail: 'ECONNREFUSED',
      retryable: true,
    });
  });

  it('rejects (never throws) when the dispatcher is already destroyed', async () => {
    const server = await startServer((response) => response.end('never'));
    const destroyed = dispatcher();
    await destroyed.destroy();

    const sent = sendHttpRequest(destroyed, get(server, '/destroyed'));

    expect(codeOf(await rejectionOf(sent))).toBe('UND_ERR_DESTROYED');
  });

  it('rejects (never throws) when a dispatcher throws from dispatch', async () => {
    const server = await startServer((response) => response.end('never'));

    const sent = sendHttpRequest(new ThrowingDispatcher(), get(server, '/thrower'));

    await expect(sent).rejects.toEqual(new TypeError('bad header'));
  });

  it('leaves no listener on the signal once the exchange is over, whatever its outcome', async () => {
    const server = await startServer((response, request) => {
      if (request.url === '/reset') response.socket?.destroy();
      else response.end('ok');
    });
    const shared = new AbortController();
    const agent = dispatcher();

    for (let round = 0; round < 5; round++) {
      await sendHttpRequest(agent, get(server, '/ok', shared.signal));
      await rejectionOf(sendHttpRequest(agent, get(server, '/reset', shared.signal)));
    }

    expect(getEventListeners(shared.signal, 'abort')).toEqual([]);
  });

  it('reuses one kept-alive connection for requests sent back to back (the halt path)', async () => {
    const server = await startServer((response) => response.end('ok'));
    const agent = dispatcher();

    for (let round = 0; round < 4; round++) {
      await sendHttpRequest(agent, get(server, `/keep-${round}`));
    }

    expect(server.received).toHaveLength(4);
    expect(server.connections()).toBe(1);
  });
});

/** A dispatcher that throws from `dispatch` instead of reporting through the handler. */
class ThrowingDispatcher extends Dispatcher {
  override dispatch(): boolean {
    throw new TypeError('bad header');
  }
}

async function waitFor(condition: () => boolean): Promise<void> {
  const deadline = Date.now() + 5_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met within 5 s');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
