/**
 * `npm run simulator`: a real `--help`, a clear usage error, and an `export` line that, pasted into a
 * shell, points the watchdog's CLI at the running simulator (the sample app is the one in cdk.json).
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { SIMULATOR_HELP } from '../../../tools/store-simulator/cli-text.ts';
import {
  SAMPLE_APP_ID,
  SAMPLE_PUBLISHED_SUBMISSION_ID,
} from '../../../tools/store-simulator/sample-state.ts';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const SIMULATOR = 'tools/store-simulator/cli.ts';

const children: ChildProcess[] = [];
afterEach(() => {
  for (const child of children.splice(0)) child.kill('SIGTERM');
});

/** Starts the simulator and resolves with what it printed once it says how to stop it. */
function startSimulator(): Promise<string> {
  const child = spawn(process.execPath, [SIMULATOR], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  return new Promise((resolvePrinted, reject) => {
    let printed = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      printed += chunk.toString('utf8');
      if (printed.includes('Ctrl-C to stop.')) resolvePrinted(printed);
    });
    child.on('exit', (code) =>
      reject(new Error(`the simulator exited (${code}) before it listened: ${printed}`)),
    );
  });
}

describe('npm run simulator', () => {
  it('--help says what it is, how to use it with the CLI, and each option', () => {
    const run = spawnSync(process.execPath, [SIMULATOR, '--help'], { cwd: root, encoding: 'utf8' });

    expect(run.status).toBe(0);
    expect(run.stdout).toBe(SIMULATOR_HELP);
    for (const option of ['--port N', '--latency MS', '--throttle N', '-h, --help']) {
      expect(run.stdout).toContain(option);
    }
    expect(run.stdout).toContain(`npm run watchdog -- halt --app ${SAMPLE_APP_ID}`);
  });

  it('an unknown option is a usage error with the help, exit 2', () => {
    const run = spawnSync(process.execPath, [SIMULATOR, '--prot', '8080'], { cwd: root, encoding: 'utf8' });

    expect(run.status).toBe(2);
    expect(run.stderr.startsWith("error: Unknown option '--prot'")).toBe(true);
    expect(run.stderr.endsWith(`\n\n${SIMULATOR_HELP}`)).toBe(true);
    expect(run.stdout).toBe('');
  });

  it('prints an export line that, pasted into a shell, lets the CLI read the simulated rollout', async () => {
    const printed = await startSimulator();
    const line = printed.split('\n').find((text) => text.trim().startsWith('export '));
    expect(line).toMatch(
      /^ {2}export STORE_API_BASE_URL=\S+ AZURE_AD_AUTHORITY=\S+ STORE_TENANT_ID=\S+ STORE_CLIENT_ID=\S+ STORE_CLIENT_SECRET=\S+$/,
    );

    // As a person would: paste the line, then run the CLI from the project folder (its cdk.json).
    const { WATCHDOG_APPS: _apps, STORE_CREDENTIALS_SECRET_ID: _secret, ...env } = process.env;
    const shell = spawnSync('sh', ['-c', `${line?.trim()}\nnode cli/store-watchdog.ts status`], {
      cwd: root,
      env,
      encoding: 'utf8',
      timeout: 60_000,
    });

    expect(shell.stderr).toBe('');
    expect(shell.status).toBe(0);
    expect(shell.stdout).toContain(`Contoso Photos (${SAMPLE_APP_ID})`);
    expect(shell.stdout).toContain(`IN PROGRESS at 20%, submission ${SAMPLE_PUBLISHED_SUBMISSION_ID}`);
  });
});
