/**
 * The parent's side of a handler process (see `invocation-child.ts`): start it, wait for its init and
 * cold invocation, send warm invocations, collect their reports and the process's peak memory.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { type ChildMessage, childMessageSchema, type InvocationReport } from './child-protocol.ts';

export interface HandlerProcessOptions {
  /** The bundled child runner (`bench-results/bundles/invocation-child.mjs`). */
  readonly runner: string;
  /** File URL of the handler module to import. */
  readonly handlerUrl: string;
  readonly env: Readonly<Record<string, string>>;
  /** Node flags, e.g. `--enable-source-maps` like the deployed function's `NODE_OPTIONS`. */
  readonly nodeFlags: readonly string[];
  /** The invocation right after the import: this event about this app. */
  readonly cold: { readonly event: unknown; readonly applicationId: string };
}

export interface HandlerProcess {
  /** How long the import took. */
  readonly importMs: number;
  readonly cold: InvocationReport;
  invoke(event: unknown, applicationId: string): Promise<InvocationReport>;
  /** Asks the child to exit; resolves with its peak memory (bytes). */
  exit(): Promise<number>;
  kill(): void;
}

/** Starts the child and waits until the handler is imported and its cold invocation is over. */
export async function startHandlerProcess(options: HandlerProcessOptions): Promise<HandlerProcess> {
  const child: ChildProcess = fork(
    options.runner,
    [
      '--handler',
      options.handlerUrl,
      '--cold-event',
      JSON.stringify(options.cold.event),
      '--cold-app',
      options.cold.applicationId,
    ],
    { env: { ...options.env }, execArgv: [...options.nodeFlags], stdio: ['ignore', 'ignore', 'pipe', 'ipc'] },
  );
  const stderrTail: string[] = [];
  child.stderr?.on('data', (chunk: Buffer) => {
    stderrTail.push(...chunk.toString('utf8').split('\n').filter(Boolean));
    stderrTail.splice(0, Math.max(0, stderrTail.length - 20));
  });

  const waiters = new Map<
    string,
    { resolve: (message: ChildMessage) => void; reject: (error: Error) => void }
  >();
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
  child.on('message', (raw: unknown) => {
    const parsed = childMessageSchema.safeParse(raw);
    if (!parsed.success) return failAll(new Error('unreadable message from the handler process'));
    const message = parsed.data;
    if (message.type === 'failed')
      return failAll(new Error(`handler process failed: ${message.message}\n${stderrTail.join('\n')}`));
    const key = message.type === 'invoked' ? `invoked:${message.id}` : message.type;
    waiters.get(key)?.resolve(message);
    waiters.delete(key);
  });
  child.on('exit', (code, signal) =>
    failAll(new Error(`handler process exited (${signal ?? code})\n${stderrTail.join('\n')}`)),
  );
  child.on('error', failAll);

  const ready = await expect('ready');
  if (ready.type !== 'ready') throw new Error('unexpected first message');
  let nextId = 1;
  return {
    importMs: ready.importMs,
    cold: ready.cold,
    async invoke(event, applicationId) {
      const id = nextId++;
      const answer = expect(`invoked:${id}`);
      child.send({ type: 'invoke', id, event, applicationId });
      const message = await answer;
      if (message.type !== 'invoked') throw new Error('unexpected answer to invoke');
      return message;
    },
    async exit() {
      const answer = expect('exiting');
      child.send({ type: 'exit' });
      const message = await answer;
      if (message.type !== 'exiting') throw new Error('unexpected answer to exit');
      return message.maxRssBytes;
    },
    kill() {
      if (child.exitCode === null) child.kill();
    },
  };
}
