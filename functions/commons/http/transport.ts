/**
 * One HTTP exchange over an injected undici dispatcher, and the dispatcher factory. Retries, auth and
 * error mapping live above this; here a failure is only classified (timeout, network, deadline).
 *
 * Only undici's `Agent` is imported, from its own module: undici is CommonJS, so importing the package
 * index would bundle all of it (fetch, WebSocket, caches, mocks) into the Lambda asset for one class.
 * The `request()` helper is attached to dispatchers by that index only, so an exchange goes through
 * the dispatcher's low-level `dispatch(options, handler)` API with the small handler below.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { Dispatcher } from 'undici';
import Agent from 'undici/lib/dispatcher/agent.js';

export interface DispatcherOptions {
  /** Time to open a TCP/TLS connection. @default 3_000 */
  readonly connectTimeoutMs?: number;
  /** Time from sending a request to receiving the response headers. @default 10_000 */
  readonly headersTimeoutMs?: number;
  /** Longest gap between two chunks of the response body. @default 10_000 */
  readonly bodyTimeoutMs?: number;
  /** How long an idle connection is kept for reuse. @default 30_000 */
  readonly keepAliveTimeoutMs?: number;
}

/**
 * A keep-alive dispatcher (for the Store API, the token endpoint, PagerDuty's Events API). Build it once
 * per process (the Lambda's module scope) so warm invocations reuse the TLS connections.
 */
export function createDispatcher(options: DispatcherOptions = {}): Dispatcher {
  return new Agent({
    connectTimeout: options.connectTimeoutMs ?? 3_000,
    headersTimeout: options.headersTimeoutMs ?? 10_000,
    bodyTimeout: options.bodyTimeoutMs ?? 10_000,
    keepAliveTimeout: options.keepAliveTimeoutMs ?? 30_000,
  });
}

export interface HttpRequest {
  readonly method: 'GET' | 'POST';
  readonly url: URL;
  readonly headers: Record<string, string>;
  readonly body?: string;
  readonly signal: AbortSignal;
}

export interface HttpResponse {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly text: string;
}

/** Responses larger than this are not read (the halt path's largest is a page of flights). */
export const MAX_RESPONSE_BYTES = 1024 * 1024;

/**
 * Sends one request and reads the whole answer (informational 1xx answers are skipped).
 *
 * Rejects (never throws synchronously) with what undici reports (see `classifyFailure`), with the
 * signal's reason as soon as the signal aborts (also before a connection is free: such a request is
 * then dropped by undici before it is written), or with code `RESPONSE_TOO_LARGE` when the body would
 * exceed `MAX_RESPONSE_BYTES` (the connection is closed rather than drained).
 */
export function sendHttpRequest(dispatcher: Dispatcher, request: HttpRequest): Promise<HttpResponse> {
  const { signal } = request;
  return new Promise<HttpResponse>((resolve, reject) => {
    if (signal.aborted) {
      reject(abortReason(signal));
      return;
    }
    const handler = createCollectingHandler(signal, resolve, reject);
    try {
      dispatcher.dispatch(
        {
          origin: request.url.origin,
          path: `${request.url.pathname}${request.url.search}`,
          method: request.method,
          headers: request.headers,
          body: request.body ?? null,
        },
        handler,
      );
    } catch (error) {
      // undici's dispatchers report through the handler; another dispatcher may throw instead.
      handler.onResponseError(undefined, toError(error));
    }
  });
}

interface CollectingHandler extends Dispatcher.DispatchHandler {
  onResponseError(controller: Dispatcher.DispatchController | undefined, error: Error): void;
}

/**
 * The dispatch handler behind `sendHttpRequest`: collects status, headers and body, settles the
 * promise exactly once, and stops the exchange when the signal aborts or the body is too large.
 */
function createCollectingHandler(
  signal: AbortSignal,
  resolve: (response: HttpResponse) => void,
  reject: (error: Error) => void,
): CollectingHandler {
  let settled = false;
  let controller: Dispatcher.DispatchController | undefined;
  let status = 0;
  let headers: IncomingHttpHeaders = {};
  const chunks: Buffer[] = [];
  let size = 0;

  const finish = (): boolean => {
    if (settled) return false;
    settled = true;
    signal.removeEventListener('abort', onAbort);
    return true;
  };
  const fail = (error: Error): void => {
    if (finish()) reject(error);
  };
  /** Fails and stops the exchange (undici then reports the same error back, which is ignored). */
  const stop = (error: Error): void => {
    fail(error);
    if (controller !== undefined && !controller.aborted) controller.abort(error);
  };
  // Not waiting for undici: a request still queued for a connection learns of the abort only when it
  // starts (onRequestStart below), and the caller must not wait that long.
  function onAbort(): void {
    stop(abortReason(signal));
  }
  signal.addEventListener('abort', onAbort, { once: true });

  return {
    onRequestStart(started) {
      controller = started;
      // Aborted (or failed) while queued: drop the request before it is written.
      if (settled) started.abort(abortReason(signal));
    },
    onResponseStart(_controller, statusCode, responseHeaders) {
      if (settled || statusCode < 200) return;
      status = statusCode;
      headers = responseHeaders;
      const declared = Number(readHeader(responseHeaders, 'content-length'));
      if (declared > MAX_RESPONSE_BYTES) stop(new ResponseTooLargeError());
    },
    onResponseData(_controller, chunk) {
      if (settled) return;
      size += chunk.length;
      if (size > MAX_RESPONSE_BYTES) {
        stop(new ResponseTooLargeError());
        return;
      }
      chunks.push(chunk);
    },
    onResponseEnd() {
      if (!finish()) return;
      const response = { status, headers, text: Buffer.concat(chunks).toString('utf8') };
      // undici hands the connection back to the pool on an event-loop turn it schedules after this
      // callback (client-h1.js: "We must wait a full event loop cycle to reuse this socket"). Resolving
      // two turns later lets the next sequential call (the halt path is three in a row) reuse the
      // connection instead of opening a new one: a new TLS handshake against the real Store.
      setImmediate(() => setImmediate(() => resolve(response)));
    },
    onResponseError(_controller, error) {
      fail(error);
    },
  };
}

function abortReason(signal: AbortSignal): Error {
  const reason: unknown = signal.reason;
  return reason instanceof Error ? reason : new DOMException('This operation was aborted', 'AbortError');
}

function toError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}

/** The code of the error a response past `MAX_RESPONSE_BYTES` fails with. */
export const RESPONSE_TOO_LARGE_CODE = 'RESPONSE_TOO_LARGE';

class ResponseTooLargeError extends Error {
  readonly code = RESPONSE_TOO_LARGE_CODE;
  constructor() {
    super(`response body larger than ${MAX_RESPONSE_BYTES} bytes`);
    this.name = 'ResponseTooLargeError';
  }
}

/** The first value of a response header. */
export function readHeader(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name.toLowerCase()];
  return Array.isArray(value) ? value[0] : value;
}

/** What went wrong with an exchange that got no HTTP answer. */
export type TransportFailure =
  /** The caller's signal aborted: the deadline passed (or the caller gave up). */
  | { readonly kind: 'deadline' }
  /** No answer in time (connect, headers or body timeout). Worth retrying. */
  | { readonly kind: 'timeout'; readonly detail: string }
  /** The connection failed or was reset. Worth retrying when `retryable`. */
  | { readonly kind: 'network'; readonly detail: string; readonly retryable: boolean };

const TIMEOUT_CODES = new Set([
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'ETIMEDOUT',
]);
const TRANSIENT_NETWORK_CODES = new Set([
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
  'EAI_AGAIN',
  'ENOTFOUND',
]);

function errorCode(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null || !('code' in error)) return undefined;
  return typeof error.code === 'string' ? error.code : undefined;
}

/**
 * Classifies an exception from `sendHttpRequest`. The detail names the error code only: undici's
 * messages are safe, but the code is what a person can act on.
 */
export function classifyFailure(error: unknown, signal: AbortSignal): TransportFailure {
  if (signal.aborted) return { kind: 'deadline' };
  const code = errorCode(error) ?? errorCode(error instanceof Error ? error.cause : undefined);
  const name = error instanceof Error ? error.name : typeof error;
  const detail = code ?? name;
  if (code !== undefined && TIMEOUT_CODES.has(code)) return { kind: 'timeout', detail };
  return { kind: 'network', detail, retryable: code !== undefined && TRANSIENT_NETWORK_CODES.has(code) };
}
