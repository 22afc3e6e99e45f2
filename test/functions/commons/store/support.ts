/**
 * Helpers for the Store client tests: a simulator on loopback per test, the client wired to it with a
 * real undici dispatcher, and a ledger of every error message and token, so a suite can prove that no
 * message ever carried a token or the client secret.
 */

import type { Dispatcher } from 'undici';
import { afterAll, afterEach, expect } from 'vitest';
import type { RetryEnvironment, RetryPolicy } from '../../../../functions/commons/http/retry.ts';
import { createDispatcher, type DispatcherOptions } from '../../../../functions/commons/http/transport.ts';
import { definedProps } from '../../../../functions/commons/optional.ts';
import { createRolloutPort } from '../../../../functions/commons/store/rollouts.ts';
import type { StoreAccess } from '../../../../functions/commons/store/store-access.ts';
import { createStoreClient } from '../../../../functions/commons/store/store-client.ts';
import {
  createThrottle,
  type RequestBudget,
  type ThrottleOptions,
} from '../../../../functions/commons/store/throttle.ts';
import {
  type ClientAssertion,
  type ClientCredentials,
  createTokenProvider,
  type TokenProvider,
} from '../../../../functions/commons/store/token-provider.ts';
import { start } from '../../../../tools/store-simulator/index.ts';
import { SAMPLE_TENANT, sampleState } from '../../../../tools/store-simulator/sample-state.ts';
import type {
  RecordedRequest,
  RunningSimulator,
  SimulatorOptions,
  SimulatorState,
} from '../../../../tools/store-simulator/types.ts';

const running: RunningSimulator[] = [];
const dispatchers: Dispatcher[] = [];

/** Every token handed out and every secret used, and every error message seen, in this test file. */
const secrets = new Set<string>([SAMPLE_TENANT.clientSecret]);
const messages: string[] = [];

afterEach(async () => {
  await Promise.all(dispatchers.splice(0).map((dispatcher) => dispatcher.destroy()));
  await Promise.all(running.splice(0).map((simulator) => simulator.close()));
});

afterAll(() => {
  // Proves the rule "no token or client secret in any error message" over every error the file saw.
  for (const message of messages) {
    for (const secret of secrets) expect(message).not.toContain(secret);
  }
});

/** Records an error's message (and its causes') for the end-of-file secret check, and returns it. */
export function collectError<T>(error: T): T {
  let current: unknown = error;
  for (let depth = 0; current instanceof Error && depth < 5; depth++) {
    messages.push(current.message, String(current), JSON.stringify(current));
    current = current.cause;
  }
  return error;
}

/** The rejection of `promise`, recorded with `collectError`; fails the test if it resolves. */
export async function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
  const outcome = await promise.then(
    (value) => ({ resolved: true as const, value }),
    (error: unknown) => ({ resolved: false as const, error }),
  );
  if (outcome.resolved) throw new Error(`expected a rejection, got ${JSON.stringify(outcome.value)}`);
  return collectError(outcome.error);
}

/** Starts a simulator (closed after the test) with the sample state unless told otherwise. */
export async function startSimulator(
  options: Partial<SimulatorOptions> & { readonly state?: SimulatorState } = {},
): Promise<RunningSimulator> {
  const simulator = await start({ ...options, state: options.state ?? sampleState() });
  running.push(simulator);
  return simulator;
}

/** Sleeps asked for by the code under test, answered at once (the simulator needs no real waiting). */
export function recordingSleep(): RetryEnvironment['sleep'] & { readonly calls: number[] } {
  const calls: number[] = [];
  const sleep = async (ms: number, signal: AbortSignal) => {
    signal.throwIfAborted();
    calls.push(ms);
  };
  return Object.assign(sleep, { calls });
}

export interface AccessOptions {
  readonly credentials?: ClientCredentials;
  readonly refreshCredentials?: (
    signal: AbortSignal,
  ) => Promise<{ readonly credentials: ClientCredentials; readonly changed: boolean }>;
  readonly throttle?: ThrottleOptions | false;
  /** For federated credentials: where the assertion comes from (e.g. the simulator's STS stand-in). */
  readonly getClientAssertion?: (signal: AbortSignal) => Promise<ClientAssertion>;
  readonly retry?: Partial<RetryPolicy>;
  readonly environment?: Partial<RetryEnvironment>;
  readonly timeouts?: DispatcherOptions;
}

/**
 * The client, token provider and port, wired as `createStoreAccess` does but with the provider
 * wrapped so every token it hands out is known to the end-of-file secret check. No client-side
 * budget unless asked.
 */
export function connect(simulator: RunningSimulator, options: AccessOptions = {}): StoreAccess {
  const credentials = options.credentials ?? SAMPLE_TENANT;
  if (credentials.clientSecret !== undefined) secrets.add(credentials.clientSecret);
  const dispatcher = createDispatcher(options.timeouts);
  dispatchers.push(dispatcher);
  const retry = { baseDelayMs: 20, maxDelayMs: 100, ...options.retry };
  const environment = options.environment === undefined ? {} : { environment: options.environment };
  const tokenProvider = recordTokens(
    createTokenProvider({
      authority: simulator.authority,
      dispatcher,
      getCredentials: async () => credentials,
      ...(options.getClientAssertion === undefined
        ? {}
        : { getClientAssertion: recordAssertions(options.getClientAssertion) }),
      ...definedProps({ refreshCredentials: options.refreshCredentials }),
      retry,
      ...environment,
    }),
  );
  const throttle = options.throttle ?? false;
  const client = createStoreClient({
    baseUrl: simulator.storeBaseUrl,
    dispatcher,
    tokenProvider,
    ...(throttle === false ? {} : { throttle: () => createThrottleOnce(throttle) }),
    retry,
    ...environment,
  });
  return {
    client,
    rolloutPort: createRolloutPort(client, { retry, ...environment }),
    tokenProvider,
    dispatcher,
  };
}

const throttles = new WeakMap<ThrottleOptions, RequestBudget>();

/** One budget per options object, so every call of one test shares it (like one tenant's). */
function createThrottleOnce(options: ThrottleOptions): RequestBudget {
  let throttle = throttles.get(options);
  if (throttle === undefined) {
    throttle = createThrottle(options);
    throttles.set(options, throttle);
  }
  return throttle;
}

/** Remembers every assertion presented, for the end-of-file secret check. */
function recordAssertions(
  getClientAssertion: (signal: AbortSignal) => Promise<ClientAssertion>,
): (signal: AbortSignal) => Promise<ClientAssertion> {
  return async (signal) => {
    const assertion = await getClientAssertion(signal);
    secrets.add(assertion.value);
    return assertion;
  };
}

/** Remembers every token the provider hands out, for the end-of-file secret check. */
function recordTokens(provider: TokenProvider): TokenProvider {
  return {
    async getToken(signal) {
      const token = await provider.getToken(signal);
      secrets.add(token.value);
      return token;
    },
    invalidate: (token) => provider.invalidate(token),
  };
}

/** A signal with plenty of time, for tests that are not about deadlines. */
export function roomySignal(): AbortSignal {
  return AbortSignal.timeout(20_000);
}

/** The Store requests (not token requests) as "METHOD path-after-/v1.0/my/". */
export function storeCalls(simulator: RunningSimulator): string[] {
  return simulator.control.requests
    .filter((request) => request.kind === 'store')
    .map((request) => `${request.method} ${request.path.replace('/v1.0/my/', '')}`);
}

export function tokenRequests(simulator: RunningSimulator): RecordedRequest[] {
  return simulator.control.requests.filter((request) => request.kind === 'token');
}

/** Whether two recorded requests were in flight at the same time. */
export function overlap(a: RecordedRequest, b: RecordedRequest): boolean {
  const aEnd = a.endedAt ?? Number.POSITIVE_INFINITY;
  const bEnd = b.endedAt ?? Number.POSITIVE_INFINITY;
  return a.startedAt < bEnd && b.startedAt < aEnd;
}

/**
 * The number of sequential round trips: the longest chain of requests each of which started after the
 * previous one ended.
 */
export function sequentialDepth(requests: readonly RecordedRequest[]): number {
  const sorted = [...requests].sort((a, b) => a.startedAt - b.startedAt);
  const depth: number[] = [];
  sorted.forEach((request, index) => {
    let best = 0;
    for (let before = 0; before < index; before++) {
      const previous = sorted[before];
      if (previous?.endedAt !== undefined && previous.endedAt <= request.startedAt) {
        best = Math.max(best, depth[before] ?? 0);
      }
    }
    depth.push(best + 1);
  });
  return Math.max(0, ...depth);
}
