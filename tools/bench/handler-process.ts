/**
 * The parent's side of a child process that runs the handler (see `invocation-child.ts`): start it,
 * wait for its init, send invocations, collect its reports and its peak memory.
 */
import { type ChildProcess, fork } from 'node:child_process';
import {
  type ChildMessage,
  childMessageSchema,
  type InvocationReport,
  type ParentMessage,
} from './child-protocol.ts';

export interface HandlerProcessOptions {
  /** The bundled child runner (`bench-results/bundles/invocation-child.mjs`). */
  readonly runner: string;
  /** File URL of the handler module to import. */
  readonly handlerUrl: string;
  readonly env: Readonly<Record<string, string>>;
  /** Node flags, e.g. `--enable-source-maps` like the deployed function's `NODE_OPTIONS`. */
  readonly nodeFlags?: readonly string[];
  /** Further runner arguments (`--throttle-module`, `--budget-limit`, ...). */
  readonly args?: readonly string[];
  /** Invoke once right after the import, with this event about this app. */
  readonly coldInvocation?: { readonly event: unknown; readonly applicationId: string };
}

export interface HandlerProcess {
  /** The init: how long the import took and the RSS before it. */
  readonly init: { readonly importMs: number; readonly baselineRssBytes: number };
  /** The invocation right after the import, when the options asked for one. */
  readonly cold: InvocationReport | undefined;
  /** Output lines the handler wrote (its JSON logs and metrics), counted, not kept. */
  readonly logLines: number;
  invoke(event: unknown, applicationId: string, remainingMs?: number): Promise<InvocationReport>;
  /** Raw back-to-back Store calls in the child (needs `--http-module`). */
  runRawRoundTrips(
    message: Omit<Extract<ParentMessage, { type: 'raw-round-trips' }>, 'type' | 'id'>,
  ): Promise<number[]>;
  /** Asks the child to exit; resolves with its peak memory. */
  exit(): Promise<{ readonly maxRssBytes: number; readonly heapUsedBytes: number }>;
  kill(): void;
}

type Waiter = { resolve: (message: ChildMessage) => void; reject: (error: Error) => void };

/** Starts the child and waits until the handler is imported. */
export async function startHandlerProcess(options: HandlerProcessOptions): Promise<HandlerProcess> {
  const coldArgs =
    options.coldInvocation === undefined
      ? []
      : [
          '--cold-event',
          JSON.stringify(options.coldInvocation.event),
          '--cold-app',
          options.coldInvocation.applicationId,
        ];
  const child: ChildProcess = fork(
    options.runner,
    ['--handler', options.handlerUrl, ...coldArgs, ...(options.args ?? [])],
    {
      env: { ...options.env },
      execArgv: [...(options.nodeFlags ?? [])],
      stdio: ['ignore', process.env.BENCH_STDOUT === 'ignore' ? 'ignore' : 'pipe', 'pipe', 'ipc'],
      serialization: 'json',
    },
  );
  let logLines = 0;
  const stderrTail: string[] = [];
  // Drain the output: a child writing to a full pipe would block.
  child.stdout?.on('data', (chunk: Buffer) => {
    for (const byte of chunk) if (byte === 10) logLines += 1;
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    stderrTail.push(
      ...chunk
        .toString('utf8')
        .split('\n')
        .filter((line) => line.length > 0),
    );
    stderrTail.splice(0, Math.max(0, stderrTail.length - 20));
  });

  const waiters = new Map<string, Waiter>();
  let nextId = 1;
  let failure: Error | undefined;
  const failAll = (error: Error) => {
    failure ??= error;
    for (const waiter of waiters.values()) waiter.reject(error);
    waiters.clear();
  };
  const expect = (key: string) =>
    new Promise<ChildMessage>((resolve, reject) => {
      if (failure !== undefined) reject(failure);
      else waiters.set(key, { resolve, reject });
    });
  const keyOf = (message: ChildMessage): string | undefined => {
    switch (message.type) {
      case 'ready':
      case 'exiting':
        return message.type;
      case 'invoked':
      case 'raw-done':
        return `${message.type}:${message.id}`;
      case 'failed':
        return undefined;
    }
  };

  child.on('message', (raw: unknown) => {
    const parsed = childMessageSchema.safeParse(raw);
    if (!parsed.success) {
      failAll(new Error('unreadable message from the handler process'));
      return;
    }
    const message = parsed.data;
    if (message.type === 'failed') {
      failAll(new Error(`handler process failed: ${message.message}\n${stderrTail.join('\n')}`));
      return;
    }
    const key = keyOf(message);
    const waiter = key === undefined ? undefined : waiters.get(key);
    if (key !== undefined && waiter !== undefined) {
      waiters.delete(key);
      waiter.resolve(message);
    }
  });
  child.on('exit', (code, signal) => {
    failAll(new Error(`handler process exited (${signal ?? code})\n${stderrTail.join('\n')}`));
  });
  child.on('error', (error) => failAll(error));

  const post = (message: ParentMessage) => {
    child.send(message);
  };

  const ready = await expect('ready');
  if (ready.type !== 'ready') throw new Error('unexpected first message');

  return {
    init: { importMs: ready.importMs, baselineRssBytes: ready.baselineRssBytes },
    cold: ready.cold,
    get logLines() {
      return logLines;
    },
    async invoke(event, applicationId, remainingMs = 60_000) {
      const id = nextId++;
      const answer = expect(`invoked:${id}`);
      post({ type: 'invoke', id, event, applicationId, remainingMs });
      const message = await answer;
      if (message.type !== 'invoked') throw new Error('unexpected answer to invoke');
      return message;
    },
    async runRawRoundTrips(request) {
      const id = nextId++;
      const answer = expect(`raw-done:${id}`);
      post({ type: 'raw-round-trips', id, ...request });
      const message = await answer;
      if (message.type !== 'raw-done') throw new Error('unexpected answer to raw-round-trips');
      return message.durationsMs;
    },
    async exit() {
      const answer = expect('exiting');
      post({ type: 'exit' });
      const message = await answer;
      if (message.type !== 'exiting') throw new Error('unexpected answer to exit');
      return { maxRssBytes: message.maxRssBytes, heapUsedBytes: message.heapUsedBytes };
    },
    kill() {
      if (child.exitCode === null) child.kill();
    },
  };
}
