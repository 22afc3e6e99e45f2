/**
 * Watches, from inside the handler's process, every HTTP exchange it makes, through Node's diagnostics
 * channels: undici publishes `undici:request:*` (the Store and token calls; a bundled copy of undici
 * publishes to the same named channels), and Node's `http` client publishes `http.client.*` (the AWS
 * SDK's calls to Secrets Manager and SNS). Nothing in the handler is changed or wrapped.
 *
 * An exchange runs from the moment the client created the request to the moment the whole answer
 * (body included) was received, so the time the handler spends waiting on the network, the server's
 * own time included, can be subtracted from its wall time.
 */
import diagnosticsChannel from 'node:diagnostics_channel';
import type { ClientRequest, IncomingMessage } from 'node:http';
import type { RequestInterval } from './intervals.ts';

export interface ObservedExchange extends RequestInterval {
  readonly client: 'undici' | 'http';
  readonly method: string;
  /** Path and query (undici) or path (http). */
  readonly path: string;
  /** The HTTP status, when an answer came. */
  readonly status?: number;
}

export interface NetworkProbe {
  /** Every exchange that ended since the probe started (or since `clear`). */
  readonly exchanges: readonly ObservedExchange[];
  /** Exchanges started and not yet ended. */
  readonly inFlight: number;
  /** Forgets the exchanges that ended before `time`. */
  forgetBefore(time: number): void;
  clear(): void;
  stop(): void;
}

interface Pending {
  readonly client: 'undici' | 'http';
  readonly method: string;
  readonly path: string;
  readonly startedAt: number;
  status?: number;
}

/** Starts watching. Start it before the handler is imported so its first requests are seen. */
export function startNetworkProbe(now: () => number = () => performance.now()): NetworkProbe {
  const exchanges: ObservedExchange[] = [];
  const pending = new WeakMap<object, Pending>();
  let inFlight = 0;

  const begin = (key: object, entry: Pending) => {
    pending.set(key, entry);
    inFlight += 1;
  };
  const finish = (key: object) => {
    const entry = pending.get(key);
    if (entry === undefined) return;
    pending.delete(key);
    inFlight -= 1;
    exchanges.push({ ...entry, endedAt: now() });
  };

  const subscriptions: Array<[string, (message: unknown) => void]> = [
    [
      'undici:request:create',
      (message) => {
        const request = readField(message, 'request');
        if (!isObject(request)) return;
        begin(request, {
          client: 'undici',
          method: readString(request, 'method'),
          path: readString(request, 'path'),
          startedAt: now(),
        });
      },
    ],
    [
      'undici:request:headers',
      (message) => {
        const request = readField(message, 'request');
        const response = readField(message, 'response');
        const entry = isObject(request) ? pending.get(request) : undefined;
        const status = isObject(response) ? readField(response, 'statusCode') : undefined;
        if (entry !== undefined && typeof status === 'number') entry.status = status;
      },
    ],
    ['undici:request:trailers', (message) => finishField(message, 'request')],
    ['undici:request:error', (message) => finishField(message, 'request')],
    [
      'http.client.request.start',
      (message) => {
        const request = readField(message, 'request');
        if (!isClientRequest(request)) return;
        begin(request, { client: 'http', method: request.method, path: request.path, startedAt: now() });
      },
    ],
    [
      'http.client.response.finish',
      (message) => {
        const request = readField(message, 'request');
        const response = readField(message, 'response');
        if (!isClientRequest(request) || !isIncomingMessage(response)) return;
        const entry = pending.get(request);
        if (entry !== undefined && response.statusCode !== undefined) entry.status = response.statusCode;
        // Published when the headers arrive; the exchange ends when the body has been read.
        if (response.complete) finish(request);
        else {
          response.once('end', () => finish(request));
          response.once('close', () => finish(request));
        }
      },
    ],
    ['http.client.request.error', (message) => finishField(message, 'request')],
  ];

  function finishField(message: unknown, field: string) {
    const key = readField(message, field);
    if (isObject(key)) finish(key);
  }

  for (const [name, listener] of subscriptions) diagnosticsChannel.subscribe(name, listener);

  return {
    get exchanges() {
      return exchanges;
    },
    get inFlight() {
      return inFlight;
    },
    forgetBefore(time) {
      const kept = exchanges.filter((exchange) => (exchange.endedAt ?? Number.POSITIVE_INFINITY) >= time);
      exchanges.splice(0, exchanges.length, ...kept);
    },
    clear() {
      exchanges.length = 0;
    },
    stop() {
      for (const [name, listener] of subscriptions) diagnosticsChannel.unsubscribe(name, listener);
    },
  };
}

function isObject(value: unknown): value is object {
  return typeof value === 'object' && value !== null;
}

function readField(value: unknown, field: string): unknown {
  return isObject(value) && field in value ? Reflect.get(value, field) : undefined;
}

function readString(value: object, field: string): string {
  const found = readField(value, field);
  return typeof found === 'string' ? found : '';
}

function isClientRequest(value: unknown): value is ClientRequest {
  return (
    isObject(value) &&
    typeof readField(value, 'method') === 'string' &&
    typeof readField(value, 'path') === 'string'
  );
}

function isIncomingMessage(value: unknown): value is IncomingMessage {
  return isObject(value) && typeof readField(value, 'once') === 'function' && 'complete' in value;
}
