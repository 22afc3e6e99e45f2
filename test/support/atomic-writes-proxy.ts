/**
 * A loopback proxy in front of moto that lets DynamoDB's writes through one at a time. DynamoDB checks
 * a write's condition and writes atomically; moto's threaded server does not (two conditional writes
 * on one version can both win, about once in 200 rounds of twelve), and a grant of the Store budget lost
 * that way lets 21 requests into a window. Tests whose handlers build their own clients point
 * `AWS_ENDPOINT_URL` here; every other request passes through as it comes.
 */
import { createServer, type IncomingMessage, request, type Server } from 'node:http';

const WRITES = /^DynamoDB_\d+\.(PutItem|UpdateItem|DeleteItem|BatchWriteItem|TransactWriteItems)$/;

export interface AtomicWritesProxy {
  readonly url: string;
  close(): Promise<void>;
}

async function readAll(stream: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.from(chunk));
  return Buffer.concat(chunks);
}

/** Starts the proxy in front of `target` (moto's base URL). */
export async function startAtomicWritesProxy(target: string): Promise<AtomicWritesProxy> {
  const upstream = new URL(target);
  let turn: Promise<void> = Promise.resolve();
  const forward = (req: IncomingMessage, body: Buffer) =>
    new Promise<{ status: number; headers: IncomingMessage['headers']; body: Buffer }>((resolve, reject) => {
      const out = request(
        {
          host: upstream.hostname,
          port: upstream.port,
          method: req.method,
          path: req.url,
          headers: { ...req.headers, host: upstream.host },
        },
        (res) => {
          readAll(res).then(
            (answer) => resolve({ status: res.statusCode ?? 502, headers: res.headers, body: answer }),
            reject,
          );
        },
      );
      out.on('error', reject);
      out.end(body);
    });
  const server: Server = createServer((req, res) => {
    void (async () => {
      const body = await readAll(req);
      const target = req.headers['x-amz-target'];
      const write = typeof target === 'string' && WRITES.test(target);
      let done = () => {};
      const before = turn;
      if (write) {
        turn = new Promise((resolve) => {
          done = resolve;
        });
        await before;
      }
      try {
        const answer = await forward(req, body);
        res.writeHead(answer.status, answer.headers);
        res.end(answer.body);
      } finally {
        done();
      }
    })().catch(() => {
      res.destroy();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('the proxy has no port');
  return {
    url: `http://127.0.0.1:${address.port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
