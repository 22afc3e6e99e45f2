/**
 * The process the benchmark runs the handler in, like one Lambda execution environment: it imports the
 * handler once (the init phase), invokes it at once with the cold event (as Lambda's first invoke
 * follows the init), then runs the invocations the parent sends over IPC. It reports, from the inside,
 * when each invocation's halt POST's answer was read and the connections undici opened,
 * watched through undici's diagnostics channels (the handler is not changed or wrapped; a bundled copy of
 * undici publishes to the same named channels). The simulator and the AWS stand-in live in the parent.
 *
 * The benchmark bundles this file with esbuild, so a child carries no TypeScript loader in its memory.
 * Arguments: `--handler <file URL> --cold-event <JSON> --cold-app <application ID>`.
 */
import diagnosticsChannel from 'node:diagnostics_channel';
import { parseArgs } from 'node:util';
import type { Context } from 'aws-lambda';
import { definedProps } from '../../functions/commons/optional.ts';
import { createLambdaContext } from '../fixtures/watchdog-apps.ts';
import { type ChildMessage, type InvocationReport, parentMessageSchema } from './child-protocol.ts';

type Handler = (event: unknown, context: Context) => Promise<unknown>;

const { values: args } = parseArgs({
  options: {
    handler: { type: 'string' },
    'cold-event': { type: 'string' },
    'cold-app': { type: 'string' },
  },
});

/** Successful halt POSTs, by the path they were sent to, with when their answer was read. */
const haltsAnswered = new Map<string, number>();
const openHalts = new WeakMap<object, string>();
let connections = 0;

diagnosticsChannel.subscribe('undici:client:connected', () => {
  connections += 1;
});
diagnosticsChannel.subscribe('undici:request:headers', (message) => {
  const request = readField(message, 'request');
  const status = readField(readField(message, 'response'), 'statusCode');
  const path = readField(request, 'path');
  const method = readField(request, 'method');
  if (
    isObject(request) &&
    method === 'POST' &&
    typeof path === 'string' &&
    path.endsWith('/haltpackagerollout') &&
    typeof status === 'number' &&
    status < 300
  )
    openHalts.set(request, path);
});
diagnosticsChannel.subscribe('undici:request:trailers', (message) => {
  const request = readField(message, 'request');
  const path = isObject(request) ? openHalts.get(request) : undefined;
  if (path !== undefined) haltsAnswered.set(path, performance.now());
});

function isObject(value: unknown): value is object {
  return typeof value === 'object' && value !== null;
}

function readField(value: unknown, field: string): unknown {
  return isObject(value) && field in value ? Reflect.get(value, field) : undefined;
}

function isHandler(value: unknown): value is Handler {
  return typeof value === 'function';
}

function send(message: ChildMessage): void {
  process.send?.(message);
}

/** `targets[].result` of a result or of a `TargetsFailedError`'s report. */
function readResults(value: unknown): string[] {
  const targets = readField(value, 'targets');
  if (!Array.isArray(targets)) return [];
  return targets.map((target) => {
    const result = readField(target, 'result');
    return typeof result === 'string' ? result : 'unknown';
  });
}

async function invoke(
  handler: Handler,
  id: number,
  event: unknown,
  applicationId: string,
): Promise<InvocationReport> {
  const connectionsBefore = connections;
  const startedAt = performance.now();
  let ok = true;
  let value: unknown;
  try {
    value = await handler(event, createLambdaContext(60_000));
  } catch (error) {
    ok = false;
    value = error;
  }
  const haltAt = [...haltsAnswered].find(([path]) => path.includes(`/applications/${applicationId}/`))?.[1];
  haltsAnswered.clear();
  const errorName = ok || !(value instanceof Error) ? undefined : value.name;
  const errorCode = ok ? undefined : readField(value, 'code');
  return {
    type: 'invoked',
    id,
    ok,
    ...definedProps({ errorName }),
    ...(typeof errorCode === 'string' ? { errorCode } : {}),
    results: readResults(ok ? value : readField(readField(value, 'report'), 'result')),
    ...(haltAt === undefined || haltAt < startedAt ? {} : { timeToHaltMs: haltAt - startedAt }),
    connections: connections - connectionsBefore,
  };
}

async function main(): Promise<void> {
  const { handler: handlerUrl, 'cold-event': coldEvent, 'cold-app': coldApp } = args;
  if (handlerUrl === undefined || coldEvent === undefined || coldApp === undefined)
    throw new Error('--handler, --cold-event and --cold-app are required');
  const importStartedAt = performance.now();
  const module: unknown = await import(handlerUrl);
  const importMs = performance.now() - importStartedAt;
  const handler = readField(module, 'handler');
  if (!isHandler(handler)) throw new Error(`${handlerUrl} exports no handler function`);

  process.on('message', (raw: unknown) => {
    const parsed = parentMessageSchema.safeParse(raw);
    if (!parsed.success) {
      send({ type: 'failed', message: 'unreadable message from the benchmark' });
      return;
    }
    const message = parsed.data;
    if (message.type === 'exit') {
      const exiting: ChildMessage = { type: 'exiting', maxRssBytes: process.resourceUsage().maxRSS * 1024 };
      process.send?.(exiting, () => process.exit(0));
      return;
    }
    invoke(handler, message.id, message.event, message.applicationId).then(send, (error: unknown) =>
      send({ type: 'failed', message: String(error) }),
    );
  });
  const cold = await invoke(handler, 0, JSON.parse(coldEvent), coldApp);
  send({ type: 'ready', importMs, cold });
}

main().catch((error: unknown) => {
  const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
  process.send?.({ type: 'failed', message } satisfies ChildMessage, () => process.exit(1));
});
