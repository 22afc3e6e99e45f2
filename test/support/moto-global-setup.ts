/**
 * Vitest global setup: starts moto's server (a real local AWS emulator) on a free loopback port for the
 * whole run and stops it afterwards. Tests read its URL with `inject('motoEndpoint')`.
 *
 * Where `moto_server` is missing, the moto-backed tests are skipped with the install hint, except under
 * CI (`CI` set), where a missing emulator fails the run.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import type { TestProject } from 'vitest/node';
import { freePort } from '../../tools/aws/moto.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Base URL of the moto server, or `null` when moto is not installed (outside CI only). */
    motoEndpoint: string | null;
  }
}

export const MOTO_INSTALL_HINT = 'moto_server not found: install it with `pip install "moto[server]"`';

/** Starting attempts: another process may take the free port in the seconds moto needs to bind it. */
const START_ATTEMPTS = 3;
const READY_TIMEOUT_MS = 60_000;

interface StartedMoto {
  readonly url: string;
  readonly child: ChildProcess;
}

function hasExited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

async function waitUntilReady(
  url: string,
  child: ChildProcess,
  stderr: () => string,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (hasExited(child))
      throw new Error(
        `moto_server exited early (${child.exitCode ?? child.signalCode}): ${stderr() || 'no output'}`,
      );
    try {
      const response = await fetch(`${url}/moto-api/`, { signal: AbortSignal.timeout(2_000) });
      // Ours only if it is still running: another process may have taken the port and be answering.
      if (response.ok && !hasExited(child)) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  child.kill('SIGKILL');
  throw new Error(`moto_server did not answer on ${url} within ${timeoutMs} ms: ${stderr() || 'no output'}`);
}

/** Starts moto on a free port, on a new port when another process took the first one meanwhile. */
async function startMoto(): Promise<StartedMoto> {
  const failures: string[] = [];
  for (let attempt = 1; attempt <= START_ATTEMPTS; attempt += 1) {
    const port = await freePort();
    const child = spawn('moto_server', ['-H', '127.0.0.1', '-p', String(port)], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    // Read all along (a full pipe would block moto, which logs every request there); the last few lines
    // are enough to say why it stopped.
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr = `${stderr}${chunk.toString('utf8')}`.slice(-2_000);
    });
    const url = `http://127.0.0.1:${port}`;
    try {
      await waitUntilReady(url, child, () => stderr.trim(), READY_TIMEOUT_MS);
      return { url, child };
    } catch (error) {
      failures.push(
        `attempt ${attempt} on port ${port}: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
  }
  throw new Error(`moto_server could not be started:\n${failures.join('\n')}`);
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const found = spawnSync('moto_server', ['--help'], { stdio: 'ignore' });
  if (found.error !== undefined || found.status !== 0) {
    if (process.env.CI) throw new Error(`${MOTO_INSTALL_HINT} (required under CI)`);
    console.warn(`${MOTO_INSTALL_HINT}; the tests against AWS are skipped.`);
    project.provide('motoEndpoint', null);
    return async () => {};
  }
  const { url, child } = await startMoto();
  project.provide('motoEndpoint', url);
  return async () => {
    if (hasExited(child)) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
  };
}
