/**
 * The process the benchmark runs the handler in, like one Lambda execution environment: it imports the
 * handler once (the init phase), then runs the invocations the parent sends over IPC and reports what
 * it measured from the inside (wall time, time to halt, time waiting on the network; see
 * `network-probe.ts`). The simulator and the AWS stand-in live in the parent process, so their work is
 * never counted as the handler's.
 *
 * The benchmark bundles this file with esbuild and runs the plain-JavaScript result, so a child that
 * runs the deployable artifact carries no TypeScript loader in its memory.
 *
 * Arguments: `--handler <file URL>` (the artifact, or `functions/halt-rollout/handler.ts`), and for the
 * source handler optionally `--throttle-module <file URL of throttle.ts> --tenant <id> --budget-limit N
 * --budget-window-ms W [--budget-follow-up-ms F]`, which registers that tenant's process-wide request budget before the handler is
 * imported (the handler's own default is 20 requests per 60 s; see `getTenantThrottle`), and
 * `--http-module <file URL of http.ts>` for the raw round trips. `--cold-event <JSON> --cold-app <id>`
 * invokes the handler once right after the import, before reporting ready.
 */

import { parseArgs } from 'node:util';
import type { Context } from 'aws-lambda';
import { type ChildMessage, type InvocationReport, parentMessageSchema } from './child-protocol.ts';
import { createLambdaContext } from '../fixtures/watchdog-apps.ts';
import { measureBusyTime } from './intervals.ts';
import { type ObservedExchange, startNetworkProbe } from './network-probe.ts';

type Handler = (event: unknown, context: Context) => Promise<unknown>;
type GetTenantThrottle = (
  tenantId: string,
  options: { limit: number; windowMs: number; followUpMs?: number },
) => unknown;
interface HttpModule {
  createStoreDispatcher(): unknown;
  sendHttpRequest(
    dispatcher: unknown,
    request: {
      method: 'GET' | 'POST';
      url: URL;
      headers: Record<string, string>;
      body?: string;
      signal: AbortSignal;
    },
  ): Promise<{ status: number; text: string }>;
}

const { values: args } = parseArgs({
  options: {
    handler: { type: 'string' },
    'throttle-module': { type: 'string' },
    'http-module': { type: 'string' },
    tenant: { type: 'string' },
    'budget-limit': { type: 'string' },
    'budget-window-ms': { type: 'string' },
    'budget-follow-up-ms': { type: 'string' },
    'cold-event': { type: 'string' },
    'cold-app': { type: 'string' },
  },
});

const probe = startNetworkProbe();
/** Start times of the invocations still running (their exchanges must be kept). */
const running = new Set<number>();

function send(message: ChildMessage): void {
  process.send?.(message);
}

function isObject(value: unknown): value is object {
  return typeof value === 'object' && value !== null;
}

function readField(value: unknown, field: string): unknown {
  return isObject(value) && field in value ? Reflect.get(value, field) : undefined;
}

function isHandler(value: unknown): value is Handler {
  return typeof value === 'function';
}

function isGetTenantThrottle(value: unknown): value is GetTenantThrottle {
  return typeof value === 'function';
}

function isHttpModule(value: unknown): value is HttpModule {
  return (
    typeof readField(value, 'createStoreDispatcher') === 'function' &&
    typeof readField(value, 'sendHttpRequest') === 'function'
  );
}

/** `targets[].result` and the failed targets' error codes, from a result or a `TargetsFailedError`'s report. */
function readTargets(value: unknown): { results: string[]; failureCodes: string[] } {
  const targets = readField(value, 'targets');
  const results: string[] = [];
  const failureCodes: string[] = [];
  if (Array.isArray(targets)) {
    for (const target of targets) {
      const result = readField(target, 'result');
      results.push(typeof result === 'string' ? result : 'unknown');
      const code = readField(readField(target, 'error'), 'code');
      if (typeof code === 'string') failureCodes.push(code);
    }
  }
  return { results, failureCodes };
}

async function invoke(
  handler: Handler,
  id: number,
  event: unknown,
  remainingMs: number,
  applicationId: string,
): Promise<InvocationReport> {
  const startedAt = performance.now();
  running.add(startedAt);
  let ok = true;
  let resultValue: unknown;
  let error: unknown;
  try {
    resultValue = await handler(event, createLambdaContext(remainingMs));
  } catch (caught) {
    ok = false;
    error = caught;
  }
  const endedAt = performance.now();
  running.delete(startedAt);

  const overlapping = probe.exchanges.filter(
    (exchange) => (exchange.endedAt ?? endedAt) > startedAt && exchange.startedAt < endedAt,
  );
  const isHalt = (exchange: ObservedExchange) =>
    exchange.method === 'POST' &&
    exchange.path.includes(`/applications/${applicationId}/`) &&
    exchange.path.endsWith('/haltpackagerollout') &&
    exchange.status !== undefined &&
    exchange.status < 300;
  const halt = overlapping.find(isHalt);
  const storeExchangeMs = overlapping
    .filter((exchange) => exchange.path.includes('/v1.0/my/'))
    .reduce(
      (sum, exchange) =>
        sum + (Math.min(exchange.endedAt ?? endedAt, endedAt) - Math.max(exchange.startedAt, startedAt)),
      0,
    );
  pruneExchanges();

  const targets = readTargets(ok ? resultValue : readField(readField(error, 'report'), 'result'));
  const errorName = error instanceof Error ? error.name : undefined;
  const errorCode = readField(error, 'code');
  return {
    type: 'invoked',
    id,
    ok,
    ...(errorName === undefined ? {} : { errorName }),
    ...(typeof errorCode === 'string' ? { errorCode } : {}),
    results: targets.results,
    failureCodes: targets.failureCodes,
    totalMs: endedAt - startedAt,
    ...(halt?.endedAt === undefined ? {} : { timeToHaltMs: halt.endedAt - startedAt }),
    networkMs: measureBusyTime(overlapping, startedAt, endedAt),
    exchanges: overlapping.length,
    storeExchangeMs,
  };
}

/** Forgets the exchanges no running invocation can still need. */
function pruneExchanges(): void {
  // With no invocation running, `Math.min()` is Infinity: everything that ended goes.
  probe.forgetBefore(Math.min(...running));
}

/** Three Store calls back to back on one keep-alive pool, with nothing of the handler around them. */
async function runRawRoundTrips(
  http: HttpModule,
  message: Extract<ReturnType<typeof parentMessageSchema.parse>, { type: 'raw-round-trips' }>,
): Promise<number[]> {
  const dispatcher = http.createStoreDispatcher();
  const signal = AbortSignal.timeout(60_000);
  const form = new URLSearchParams({
    grant_type: 'client_credentials',
    client_id: message.clientId,
    client_secret: message.clientSecret,
    resource: 'https://manage.devcenter.microsoft.com',
  });
  const tokenResponse = await http.sendHttpRequest(dispatcher, {
    method: 'POST',
    url: new URL(`${message.authority}/${message.tenantId}/oauth2/token`),
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: form.toString(),
    signal,
  });
  const token = readField(JSON.parse(tokenResponse.text), 'access_token');
  if (typeof token !== 'string') throw new Error(`no token (HTTP ${tokenResponse.status})`);
  const headers = { authorization: `Bearer ${token}`, accept: 'application/json' };
  const durations: number[] = [];
  for (const app of message.apps) {
    const submission = `applications/${app.applicationId}/submissions/${app.submissionId}`;
    const calls: Array<['GET' | 'POST', string]> = [
      ['GET', `applications/${app.applicationId}`],
      ['GET', `${submission}/packagerollout`],
      ['POST', `${submission}/haltpackagerollout`],
    ];
    const startedAt = performance.now();
    for (const [method, path] of calls) {
      const response = await http.sendHttpRequest(dispatcher, {
        method,
        url: new URL(path, message.storeBaseUrl),
        headers,
        signal,
      });
      if (response.status !== 200) throw new Error(`${method} ${path} answered ${response.status}`);
    }
    durations.push(performance.now() - startedAt);
  }
  return durations;
}

async function main(): Promise<void> {
  const handlerUrl = args.handler;
  if (handlerUrl === undefined) throw new Error('--handler is required');
  const baselineRssBytes = process.memoryUsage.rss();

  const throttleUrl = args['throttle-module'];
  if (throttleUrl !== undefined) {
    const throttle: unknown = await import(throttleUrl);
    const getTenantThrottle = readField(throttle, 'getTenantThrottle');
    if (!isGetTenantThrottle(getTenantThrottle) || args.tenant === undefined) {
      throw new Error('--throttle-module must export getTenantThrottle, and --tenant is required with it');
    }
    const followUpMs = args['budget-follow-up-ms'];
    getTenantThrottle(args.tenant, {
      limit: Number(args['budget-limit'] ?? '20'),
      windowMs: Number(args['budget-window-ms'] ?? '60000'),
      ...(followUpMs === undefined ? {} : { followUpMs: Number(followUpMs) }),
    });
  }

  const importStartedAt = performance.now();
  const module: unknown = await import(handlerUrl);
  const importMs = performance.now() - importStartedAt;
  const handler = readField(module, 'handler');
  if (!isHandler(handler)) throw new Error(`${handlerUrl} exports no handler function`);

  let http: HttpModule | undefined;
  const httpUrl = args['http-module'];
  if (httpUrl !== undefined) {
    const loaded: unknown = await import(httpUrl);
    if (!isHttpModule(loaded)) throw new Error(`${httpUrl} is not the Store HTTP module`);
    http = loaded;
  }

  process.on('message', (raw: unknown) => {
    const parsed = parentMessageSchema.safeParse(raw);
    if (!parsed.success) {
      send({ type: 'failed', message: 'unreadable message from the benchmark' });
      return;
    }
    const message = parsed.data;
    switch (message.type) {
      case 'invoke':
        invoke(handler, message.id, message.event, message.remainingMs, message.applicationId).then(
          send,
          (error: unknown) => send({ type: 'failed', message: String(error) }),
        );
        return;
      case 'raw-round-trips':
        if (http === undefined) {
          send({ type: 'failed', message: 'raw round trips need --http-module' });
          return;
        }
        runRawRoundTrips(http, message).then(
          (durationsMs) => send({ type: 'raw-done', id: message.id, durationsMs }),
          (error: unknown) => send({ type: 'failed', message: `raw round trips: ${String(error)}` }),
        );
        return;
      case 'exit': {
        const usage = process.resourceUsage();
        const exiting: ChildMessage = {
          type: 'exiting',
          maxRssBytes: usage.maxRSS * 1024,
          heapUsedBytes: process.memoryUsage().heapUsed,
        };
        process.send?.(exiting, () => process.exit(0));
        return;
      }
    }
  });
  // The first invocation follows the import at once, as Lambda's first invoke follows the init.
  const coldEvent = args['cold-event'];
  const cold =
    coldEvent === undefined
      ? undefined
      : await invoke(handler, 0, JSON.parse(coldEvent), 60_000, args['cold-app'] ?? '');
  send({ type: 'ready', importMs, baselineRssBytes, ...(cold === undefined ? {} : { cold }) });
}

main().catch((error: unknown) => {
  const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
  process.send?.({ type: 'failed', message } satisfies ChildMessage, () => process.exit(1));
});
