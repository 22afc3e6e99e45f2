/**
 * moto's server (the local AWS emulator) for a tool's run: started on a free loopback port, stopped by
 * the caller. `moto_server` must be on the PATH (`pip install "moto[server]"`).
 */
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';

export interface RunningMoto {
  readonly endpoint: string;
  stop(): void;
}

/** A loopback port free right now (another process may still take it before it is bound). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Starts moto and resolves once it answers (within 60 s). */
export async function startMoto(): Promise<RunningMoto> {
  const port = await freePort();
  const endpoint = `http://127.0.0.1:${port}`;
  const child = spawn('moto_server', ['-H', '127.0.0.1', '-p', String(port)], { stdio: 'ignore' });
  const failed = new Promise<never>((_, reject) => {
    child.once('error', (error) => reject(new Error(`moto_server did not start: ${error.message}`)));
    child.once('exit', (code) => reject(new Error(`moto_server exited early (${code})`)));
  });
  const ready = (async () => {
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
      const ok = await fetch(`${endpoint}/moto-api/`, { signal: AbortSignal.timeout(2_000) }).then(
        (response) => response.ok,
        () => false,
      );
      if (ok) return;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error(`moto_server did not answer on ${endpoint} within 60 s`);
  })();
  try {
    await Promise.race([ready, failed]);
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  }
  failed.catch(() => {});
  return { endpoint, stop: () => child.kill('SIGTERM') };
}
