/**
 * A virtual clock for tests of storms and budgets: time in milliseconds that moves only when every party
 * sleeps on it, so a test runs minutes of the Store's windows in the time its real I/O takes, and what it
 * asserts about time is exact (no scaled window, no margin against a loaded machine).
 *
 * - `now()` reads virtual time; it never moves by itself.
 * - `sleep(ms, signal)` wakes at `now() + ms`. Sleepers wake in the order of their wake times (then of
 *   their calls), one macrotask apart, each running until its next `await` before the next wakes.
 * - Time moves forward (to the earliest sleeper's wake time) only when nothing real is in flight: no HTTP
 *   request of this process (undici's, the Store client's and the token endpoint's; `node:http`'s, the
 *   AWS SDK's to moto) between its start and its end, no `hold()` unreleased, and a few macrotasks passed
 *   with nothing new (what a request's answer sets going, such as the next request, has started). A
 *   request to moto or to the simulator takes no virtual time, however long the machine takes for it.
 * - `server` is the clock for the Store simulator in this process: its latency sleeps stand for the
 *   request in flight that waits on them, so time can pass while a request waits there.
 *
 * One clock at a time per process: it watches the process's HTTP through `node:diagnostics_channel`.
 */
import diagnostics from 'node:diagnostics_channel';
import { ClientRequest } from 'node:http';
import { createDeadline, type Sleep } from '../../functions/commons/http/deadline.ts';

/** Macrotasks with nothing in flight and nothing new before time may move. */
const SETTLE_TURNS = 8;

export interface SimulatorClock {
  readonly now: () => number;
  readonly sleep: Sleep;
}

export interface VirtualClock {
  /** Virtual milliseconds (epoch milliseconds when `start` is one). */
  readonly now: () => number;
  readonly sleep: Sleep;
  /** A deadline signal on this clock (`createDeadline` with its `now` and `sleep`). */
  deadline(timeoutMs: number, signal?: AbortSignal): AbortSignal;
  /** The Store simulator's clock (see the module comment). */
  readonly server: SimulatorClock;
  /** Marks real work that is not an HTTP request: time stands still until the returned release is called. */
  hold(): () => void;
  /** How many sleepers are waiting. */
  readonly sleepers: number;
  /** Stops watching the process's HTTP; sleepers still waiting never wake. */
  close(): void;
}

interface Sleeper {
  readonly wakeAt: number;
  readonly order: number;
  readonly wake: () => void;
}

const UNDICI_CREATE = 'undici:request:create';
const UNDICI_END = 'undici:request:trailers';
const UNDICI_ERROR = 'undici:request:error';
const HTTP_CREATED = 'http.client.request.created';

let open: VirtualClock | undefined;

/** A virtual clock starting at `start` (default 0). */
export function createVirtualClock(options: { readonly start?: number } = {}): VirtualClock {
  if (open !== undefined) throw new Error('a virtual clock is open already: close it first');
  let time = options.start ?? 0;
  let calls = 0;
  /** Earliest first (then by call). */
  const queue: Sleeper[] = [];
  /** HTTP requests in flight, and holds. */
  const inFlight = new Set<object>();
  /** Simulator latency sleeps: each stands for one request in flight. */
  let parked = 0;
  let idleTurns = 0;
  let stepping = false;
  let closed = false;

  const busy = () => inFlight.size - parked > 0;

  const schedule = () => {
    if (stepping || closed) return;
    stepping = true;
    setImmediate(step);
  };

  /** Something happened: time waits for it to settle. */
  const activity = () => {
    idleTurns = 0;
    schedule();
  };

  function step(): void {
    stepping = false;
    if (closed) return;
    const head = queue[0];
    if (head === undefined) return;
    if (head.wakeAt > time) {
      // Time would move: only once nothing real is in flight (a release steps again) and all is settled.
      if (busy()) return;
      if (idleTurns < SETTLE_TURNS) {
        idleTurns += 1;
        schedule();
        return;
      }
      time = head.wakeAt;
    }
    queue.shift();
    idleTurns = 0;
    head.wake();
    schedule();
  }

  const sleep: Sleep = (ms, signal) => {
    if (signal.aborted) return Promise.reject(signal.reason);
    return new Promise<void>((resolve, reject) => {
      const onAbort = () => {
        const index = queue.indexOf(sleeper);
        if (index >= 0) queue.splice(index, 1);
        reject(signal.reason);
        activity();
      };
      const sleeper: Sleeper = {
        wakeAt: time + Math.max(0, ms),
        order: calls++,
        wake: () => {
          signal.removeEventListener('abort', onAbort);
          resolve();
        },
      };
      signal.addEventListener('abort', onAbort, { once: true });
      const after = queue.findIndex((queued) => queued.wakeAt > sleeper.wakeAt);
      queue.splice(after < 0 ? queue.length : after, 0, sleeper);
      activity();
    });
  };

  const start = (key: object) => {
    inFlight.add(key);
    idleTurns = 0;
  };
  const end = (key: object) => {
    if (inFlight.delete(key)) activity();
  };

  const onUndiciCreate = (message: unknown) => {
    const request = requestOf(message);
    if (request !== undefined) start(request);
  };
  const onUndiciEnd = (message: unknown) => {
    const request = requestOf(message);
    if (request !== undefined) end(request);
  };
  const onHttpCreated = (message: unknown) => {
    const request = requestOf(message);
    if (!(request instanceof ClientRequest)) return;
    start(request);
    // After the response's end (or the request's failure): the SDK has read the whole answer.
    request.once('close', () => end(request));
  };
  diagnostics.subscribe(UNDICI_CREATE, onUndiciCreate);
  diagnostics.subscribe(UNDICI_END, onUndiciEnd);
  diagnostics.subscribe(UNDICI_ERROR, onUndiciEnd);
  diagnostics.subscribe(HTTP_CREATED, onHttpCreated);

  const clock: VirtualClock = {
    now: () => time,
    sleep,
    deadline: (timeoutMs, signal) =>
      createDeadline({ timeoutMs, now: clock.now, sleep, ...(signal === undefined ? {} : { signal }) }),
    server: {
      now: () => time,
      sleep: async (ms, signal) => {
        parked += 1;
        // Parked before the sleep is queued, so the step it prompts may move time.
        try {
          await sleep(ms, signal);
        } finally {
          parked -= 1;
        }
      },
    },
    hold: () => {
      const key = {};
      start(key);
      return () => end(key);
    },
    get sleepers() {
      return queue.length;
    },
    close: () => {
      if (closed) return;
      closed = true;
      queue.length = 0;
      diagnostics.unsubscribe(UNDICI_CREATE, onUndiciCreate);
      diagnostics.unsubscribe(UNDICI_END, onUndiciEnd);
      diagnostics.unsubscribe(UNDICI_ERROR, onUndiciEnd);
      diagnostics.unsubscribe(HTTP_CREATED, onHttpCreated);
      if (open === clock) open = undefined;
    },
  };
  open = clock;
  return clock;
}

function requestOf(message: unknown): object | undefined {
  if (typeof message !== 'object' || message === null || !('request' in message)) return undefined;
  const { request } = message;
  return typeof request === 'object' && request !== null ? request : undefined;
}
