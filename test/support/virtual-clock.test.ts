/**
 * The tests' virtual clock: sleepers wake in the order of their wake times, each at its own time; an
 * abort takes a sleeper out; time stands still while an HTTP request is in flight (undici's and
 * `node:http`'s) or a hold is kept, and moves while the simulator's latency is all that is left.
 */
import { createServer, request as httpRequest, type Server } from 'node:http';
import { Agent, request as undiciRequest } from 'undici';
import { afterEach, expect, it } from 'vitest';
import { deadlineOf } from '../../functions/commons/http/deadline.ts';
import { createVirtualClock, type VirtualClock } from './virtual-clock.ts';

let clock: VirtualClock | undefined;
afterEach(() => clock?.close());

function open(start?: number): VirtualClock {
  clock = createVirtualClock(start === undefined ? {} : { start });
  return clock;
}

const never = new AbortController().signal;

it('wakes sleepers in the order of their wake times, each at its time, the same time in call order', async () => {
  const c = open(1_000);
  const woke: Array<[string, number]> = [];
  const sleeper = async (name: string, ms: number) => {
    await c.sleep(ms, never);
    woke.push([name, c.now()]);
  };
  await Promise.all([
    sleeper('c', 60_000),
    sleeper('a', 250),
    sleeper('b', 60_000),
    sleeper('zero', 0),
    sleeper('d', 59_999),
  ]);
  expect(woke).toEqual([
    ['zero', 1_000],
    ['a', 1_250],
    ['d', 60_999],
    ['c', 61_000],
    ['b', 61_000],
  ]);
});

it('runs each sleeper until its next await before the next wakes', async () => {
  const c = open();
  const steps: string[] = [];
  const sleeper = async (name: string) => {
    await c.sleep(10, never);
    steps.push(`${name} woke`);
    await Promise.resolve();
    steps.push(`${name} went on`);
    await c.sleep(10, never);
    steps.push(`${name} woke again at ${c.now()}`);
  };
  await Promise.all([sleeper('a'), sleeper('b')]);
  expect(steps).toEqual([
    'a woke',
    'a went on',
    'b woke',
    'b went on',
    'a woke again at 20',
    'b woke again at 20',
  ]);
});

it('an aborted sleeper rejects with the reason at once, and the others keep their times', async () => {
  const c = open();
  const abort = new AbortController();
  const aborted = c.sleep(5_000, abort.signal);
  const kept = c.sleep(10_000, never).then(() => c.now());
  abort.abort(new Error('gave up'));
  await expect(aborted).rejects.toThrow('gave up');
  expect(c.now()).toBe(0);
  expect(await kept).toBe(10_000);
  const before = new AbortController();
  before.abort(new Error('already'));
  await expect(c.sleep(1, before.signal)).rejects.toThrow('already');
});

it('builds deadlines that fire on the virtual clock, and remember when', async () => {
  const c = open(500);
  const signal = c.deadline(60_000);
  expect(deadlineOf(signal)).toBe(60_500);
  const inner = c.deadline(120_000, signal);
  expect(deadlineOf(inner)).toBe(60_500);
  const fired = new Promise<number>((resolve) => {
    signal.addEventListener('abort', () => resolve(c.now()));
  });
  // Something to sleep past the deadline, as a waiting party would.
  await c.sleep(70_000, never).catch(() => undefined);
  expect(await fired).toBe(60_500);
  expect(signal.reason).toBeInstanceOf(DOMException);
  expect(inner.aborted).toBe(true);
});

async function listen(server: Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('the server has no port');
  return address.port;
}

/** A loopback server whose answers wait until `answer` is called. */
async function heldServer() {
  const waiting: Array<() => void> = [];
  let received = 0;
  const server = createServer((_req, res) => {
    received += 1;
    waiting.push(() => res.end('ok'));
  });
  const port = await listen(server);
  return {
    url: `http://127.0.0.1:${port}/`,
    port,
    get received() {
      return received;
    },
    answer: () => {
      for (const send of waiting.splice(0)) send();
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** Resolves once `condition` holds, checking after each macrotask (a real event, not a time). */
async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setImmediate(resolve));
}

it('stands still while an undici request is in flight, and moves once it is answered', async () => {
  const server = await heldServer();
  const agent = new Agent();
  try {
    const c = open();
    const slept = c.sleep(1_000, never).then(() => c.now());
    const response = undiciRequest(server.url, { dispatcher: agent }).then(async (r) => {
      const text = await r.body.text();
      return { text, at: c.now() };
    });
    await until(() => server.received === 1);
    // Many macrotasks with the sleeper due later and the request unanswered: time has not moved.
    for (let turn = 0; turn < 50; turn++) await new Promise((resolve) => setImmediate(resolve));
    expect(c.now()).toBe(0);
    server.answer();
    expect(await response).toEqual({ text: 'ok', at: 0 });
    expect(await slept).toBe(1_000);
  } finally {
    await agent.close();
    await server.close();
  }
});

it("stands still while a node:http request (the AWS SDK's) is in flight, and while a hold is kept", async () => {
  const server = await heldServer();
  try {
    const c = open();
    const slept = c.sleep(1_000, never).then(() => c.now());
    const answered = new Promise<number>((resolve, reject) => {
      const req = httpRequest({ host: '127.0.0.1', port: server.port, path: '/' }, (res) => {
        res.resume();
        res.on('end', () => resolve(c.now()));
      });
      req.on('error', reject);
      req.end();
    });
    await until(() => server.received === 1);
    for (let turn = 0; turn < 50; turn++) await new Promise((resolve) => setImmediate(resolve));
    expect(c.now()).toBe(0);
    const release = c.hold();
    server.answer();
    expect(await answered).toBe(0);
    for (let turn = 0; turn < 50; turn++) await new Promise((resolve) => setImmediate(resolve));
    expect(c.now()).toBe(0);
    release();
    expect(await slept).toBe(1_000);
  } finally {
    await server.close();
  }
});

it("moves while the request in flight waits on the simulator's latency", async () => {
  const c = open();
  const agent = new Agent();
  const server = createServer((_req, res) => {
    c.server.sleep(100, never).then(() => res.end(String(c.now())));
  });
  const port = await listen(server);
  try {
    const response = await undiciRequest(`http://127.0.0.1:${port}/`, { dispatcher: agent });
    expect(await response.body.text()).toBe('100');
    expect(c.now()).toBe(100);
  } finally {
    await agent.close();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
});

it('is one per process at a time', () => {
  open();
  expect(() => createVirtualClock()).toThrow(/open already/);
});
