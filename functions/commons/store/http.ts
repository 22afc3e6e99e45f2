/**
 * One HTTP exchange over an injected undici dispatcher, and the dispatcher factory. Retries, auth and
 * error mapping live above this; here a failure is only classified (timeout, network, deadline).
 */
import type { IncomingHttpHeaders } from 'node:http';
import { Agent, type Dispatcher } from 'undici';

export interface StoreDispatcherOptions {
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
 * A keep-alive dispatcher for the Store API and the token endpoint. Build it once per process (the
 * Lambda's module scope) so warm invocations reuse the TLS connections.
 */
export function createStoreDispatcher(options: StoreDispatcherOptions = {}): Dispatcher {
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
const MAX_BODY_BYTES = 1024 * 1024;

/** Sends one request and reads the whole answer. Throws what undici throws (see `classifyFailure`). */
export async function sendHttpRequest(dispatcher: Dispatcher, request: HttpRequest): Promise<HttpResponse> {
  const response = await dispatcher.request({
    origin: request.url.origin,
    path: `${request.url.pathname}${request.url.search}`,
    method: request.method,
    headers: request.headers,
    body: request.body ?? null,
    signal: request.signal,
  });
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of response.body) {
    const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk));
    size += buffer.length;
    if (size > MAX_BODY_BYTES) {
      response.body.destroy();
      throw new ResponseTooLargeError();
    }
    chunks.push(buffer);
  }
  return {
    status: response.statusCode,
    headers: response.headers,
    text: Buffer.concat(chunks).toString('utf8'),
  };
}

class ResponseTooLargeError extends Error {
  readonly code = 'RESPONSE_TOO_LARGE';
  constructor() {
    super(`response body larger than ${MAX_BODY_BYTES} bytes`);
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
