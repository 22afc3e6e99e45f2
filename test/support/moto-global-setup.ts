/**
 * Vitest global setup: starts moto's server (a real local AWS emulator) on a free loopback port for the
 * whole run and stops it afterwards. Tests read its URL with `inject('motoEndpoint')`.
 *
 * Where `moto_server` is missing, the moto-backed tests are skipped with the install hint, except under
 * CI (`CI` set), where a missing emulator fails the run.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { createServer } from 'node:net';
import type { TestProject } from 'vitest/node';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Base URL of the moto server, or `null` when moto is not installed (outside CI only). */
    motoEndpoint: string | null;
  }
}

export const MOTO_INSTALL_HINT = 'moto_server not found: install it with `pip install "moto[server]"`';

function freePort(): Promise<number> {
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

async function waitUntilReady(url: string, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`moto_server exited early with code ${child.exitCode}`);
    try {
      const response = await fetch(`${url}/moto-api/`);
      if (response.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`moto_server did not answer on ${url} within ${timeoutMs} ms`);
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const found = spawnSync('moto_server', ['--help'], { stdio: 'ignore' });
  if (found.error !== undefined || found.status !== 0) {
    if (process.env.CI) throw new Error(`${MOTO_INSTALL_HINT} (required under CI)`);
    console.warn(`${MOTO_INSTALL_HINT}; the tests against AWS are skipped.`);
    project.provide('motoEndpoint', null);
    return async () => {};
  }
  const port = await freePort();
  const child = spawn('moto_server', ['-H', '127.0.0.1', '-p', String(port)], { stdio: 'ignore' });
  const url = `http://127.0.0.1:${port}`;
  await waitUntilReady(url, child, 30_000);
  project.provide('motoEndpoint', url);
  return async () => {
    child.kill('SIGTERM');
    await new Promise((resolve) => {
      if (child.exitCode !== null) resolve(undefined);
      else child.once('exit', resolve);
    });
  };
}
