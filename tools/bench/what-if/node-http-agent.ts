/**
 * A what-if, for the benchmark only (never imported by the product): the undici `Agent` API the Store
 * client uses, on Node's own `http`/`https` modules with keep-alive agents. Bundled in place of undici it
 * shows what the artifact would weigh and how fast it would load without undici (the AWS SDK already
 * loads Node's HTTP client). Both forms the client has used are served: `request(options)` (a promise of
 * status, headers and a body stream) and the low-level `dispatch(options, handler)` with undici's
 * controller-style handler (`onRequestStart`, `onResponseStart`, `onResponseData`, `onResponseEnd`,
 * `onResponseError`). Timeouts carry undici's error codes, so `classifyFailure` reads them the same way.
 * Not production code: no connect timeout, no redirects, no trailers.
 */
import http from 'node:http';
import https from 'node:https';

export interface AgentOptions {
  readonly connect?: { readonly timeout?: number };
  readonly headersTimeout?: number;
  readonly bodyTimeout?: number;
  readonly keepAliveTimeout?: number;
}

export interface DispatchOptions {
  readonly origin: string;
  readonly path: string;
  readonly method: string;
  readonly headers?: Record<string, string>;
  readonly body?: string | null;
  readonly signal?: AbortSignal;
}

export interface DispatchController {
  readonly aborted: boolean;
  readonly paused: boolean;
  readonly reason: Error | null;
  abort(reason: Error): void;
  pause(): void;
  resume(): void;
}

export interface DispatchHandler {
  onRequestStart?(controller: DispatchController, context: object): void;
  onResponseStart?(
    controller: DispatchController,
    statusCode: number,
    headers: http.IncomingHttpHeaders,
    statusMessage?: string,
  ): void;
  onResponseData?(controller: DispatchController, chunk: Buffer): void;
  onResponseEnd?(controller: DispatchController, trailers: object): void;
  onResponseError?(controller: DispatchController, error: Error): void;
}

export interface ResponseData {
  readonly statusCode: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: http.IncomingMessage;
}

function timeoutError(code: string, message: string): Error {
  return Object.assign(new Error(message), { code });
}

/** Keep-alive HTTP(S) exchanges with the shape of undici's `Agent` (the subset the Store client uses). */
export class Agent {
  readonly #http: http.Agent;
  readonly #https: https.Agent;
  readonly #headersTimeout: number;
  readonly #bodyTimeout: number;

  constructor(options: AgentOptions = {}) {
    // Idle sockets are closed after `keepAliveTimeout`, like undici's.
    const agentOptions = { keepAlive: true, timeout: options.keepAliveTimeout ?? 30_000 };
    this.#http = new http.Agent(agentOptions);
    this.#https = new https.Agent(agentOptions);
    this.#headersTimeout = options.headersTimeout ?? 10_000;
    this.#bodyTimeout = options.bodyTimeout ?? 10_000;
  }

  /** undici's `dispatch`: reports through `handler`; returns whether more requests may be sent at once. */
  dispatch(options: DispatchOptions, handler: DispatchHandler): boolean {
    let request: http.ClientRequest | undefined;
    let response: http.IncomingMessage | undefined;
    let done = false;
    const state: { aborted: boolean; paused: boolean; reason: Error | null } = {
      aborted: false,
      paused: false,
      reason: null,
    };
    const controller: DispatchController = {
      get aborted() {
        return state.aborted;
      },
      get paused() {
        return state.paused;
      },
      get reason() {
        return state.reason;
      },
      abort(reason) {
        if (state.aborted) return;
        state.aborted = true;
        state.reason = reason;
        request?.destroy(reason);
      },
      pause() {
        state.paused = true;
        response?.pause();
      },
      resume() {
        state.paused = false;
        response?.resume();
      },
    };
    const fail = (error: Error) => {
      if (done) return;
      done = true;
      handler.onResponseError?.(controller, error);
    };
    handler.onRequestStart?.(controller, {});
    if (controller.aborted) {
      fail(controller.reason ?? new Error('aborted'));
      return true;
    }
    request = this.#send(options, (incoming) => {
      response = incoming;
      handler.onResponseStart?.(
        controller,
        incoming.statusCode ?? 0,
        incoming.headers,
        incoming.statusMessage,
      );
      incoming.on('data', (chunk: Buffer) => {
        if (!done) handler.onResponseData?.(controller, chunk);
      });
      incoming.on('end', () => {
        if (done) return;
        done = true;
        handler.onResponseEnd?.(controller, incoming.trailers);
      });
      incoming.on('error', fail);
    });
    request.on('error', fail);
    return true;
  }

  /** undici's `request`: resolves when the headers arrived, with the body as a stream. */
  request(options: DispatchOptions): Promise<ResponseData> {
    return new Promise((resolve, reject) => {
      const request = this.#send(options, (response) =>
        resolve({ statusCode: response.statusCode ?? 0, headers: response.headers, body: response }),
      );
      request.on('error', reject);
    });
  }

  #send(options: DispatchOptions, onResponse: (response: http.IncomingMessage) => void): http.ClientRequest {
    const url = new URL(options.path, options.origin);
    const secure = url.protocol === 'https:';
    const request = (secure ? https : http).request(url, {
      method: options.method,
      ...(options.headers === undefined ? {} : { headers: options.headers }),
      agent: secure ? this.#https : this.#http,
      ...(options.signal === undefined ? {} : { signal: options.signal }),
    });
    const headersTimer = setTimeout(
      () => request.destroy(timeoutError('UND_ERR_HEADERS_TIMEOUT', 'Headers Timeout Error')),
      this.#headersTimeout,
    );
    request.on('response', (response) => {
      clearTimeout(headersTimer);
      response.setTimeout(this.#bodyTimeout, () =>
        response.destroy(timeoutError('UND_ERR_BODY_TIMEOUT', 'Body Timeout Error')),
      );
      onResponse(response);
    });
    request.on('close', () => clearTimeout(headersTimer));
    request.end(options.body ?? undefined);
    return request;
  }
}
