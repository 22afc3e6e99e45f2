/**
 * On a Node.js older than the project needs, every command the docs show (the npm scripts and the CDK
 * commands, whose app cdk.json runs) stops at once with one line that names the version found, the
 * version needed and how to get it, and exits non-zero: no stack trace.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { parseMinimum, parseVersion, tooOldMessage } from '../../../tools/preflight/check-node.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const pkg: unknown = JSON.parse(readFileSync(resolve(root, 'package.json'), 'utf8'));
const enginesNode =
  typeof pkg === 'object' &&
  pkg !== null &&
  'engines' in pkg &&
  typeof pkg.engines === 'object' &&
  pkg.engines !== null &&
  'node' in pkg.engines
    ? String(pkg.engines.node)
    : '';
const minimum = parseMinimum(enginesNode);

/** The first `node` on PATH (or in the usual places) older than the project needs: the machine's own. */
function findOlderNode(): { path: string; version: string } | undefined {
  const candidates = new Set<string>(['/usr/bin/node', '/usr/local/bin/node', '/bin/node']);
  const which = spawnSync('which', ['-a', 'node'], { encoding: 'utf8' });
  for (const line of which.stdout?.split('\n') ?? []) if (line.trim() !== '') candidates.add(line.trim());
  for (const path of candidates) {
    const run = spawnSync(path, ['--version'], { encoding: 'utf8' });
    if (run.status !== 0) continue;
    const version = run.stdout.trim();
    if (tooOldMessage(version, minimum) !== undefined) return { path, version };
  }
  return undefined;
}

describe('the Node.js version check', () => {
  it('reads the minimum from package.json engines.node', () => {
    expect(enginesNode).toBe('>=22.19.0');
    expect(minimum).toEqual([22, 19, 0]);
    expect(() => parseMinimum('^22')).toThrow(/must look like ">=22.19.0"/);
  });

  it('passes the minimum and anything newer, stops anything older with one line naming both versions', () => {
    expect(tooOldMessage('v22.19.0', minimum)).toBeUndefined();
    expect(tooOldMessage('v22.20.1', minimum)).toBeUndefined();
    expect(tooOldMessage('v24.0.0', minimum)).toBeUndefined();
    expect(tooOldMessage(process.version, minimum)).toBeUndefined();
    const message = tooOldMessage('v22.18.9', minimum);
    expect(message).toBe(
      'store-rollout-watchdog needs Node.js 22.19.0 or newer; this is Node.js 22.18.9. ' +
        'Install Node.js 24 (for example `nvm install 24`, or from nodejs.org) and run the command again.',
    );
    expect(tooOldMessage('v20.20.2', minimum)).toMatch(/this is Node\.js 20\.20\.2\./);
    expect(tooOldMessage('v8.0.0', minimum)).toMatch(/needs Node\.js 22\.19\.0 or newer/);
    expect(parseVersion('v20.1.2')).toEqual([20, 1, 2]);
  });

  it('runs first in npm start, npm test, npm run watchdog, npm run bench and npm run simulator', () => {
    const scripts =
      typeof pkg === 'object' &&
      pkg !== null &&
      'scripts' in pkg &&
      typeof pkg.scripts === 'object' &&
      pkg.scripts !== null
        ? new Map(Object.entries(pkg.scripts))
        : new Map<string, unknown>();
    for (const name of ['start', 'test', 'watchdog', 'bench', 'simulator']) {
      expect(String(scripts.get(name)), name).toMatch(/^node tools\/preflight\/check-node\.mjs && /);
    }
  });

  const older = findOlderNode();
  describe.runIf(older !== undefined)(
    `with this machine's own older Node.js (${older?.path ?? 'none found'})`,
    () => {
      const bin = older === undefined ? '' : dirname(older.path);
      const env = { ...process.env, PATH: `${bin}:${process.env.PATH ?? ''}` };

      const commands = [
        { command: 'npm start', args: ['start'] },
        { command: 'npm test', args: ['test'] },
        { command: 'npm run watchdog -- status', args: ['run', 'watchdog', '--', 'status'] },
        { command: 'npm run bench -- --quick', args: ['run', 'bench', '--', '--quick'] },
      ];
      for (const { command, args } of commands) {
        it(`${command} stops at once with the one line, non-zero, no stack trace`, () => {
          const run = spawnSync('npm', ['--silent', ...args], {
            cwd: root,
            env,
            encoding: 'utf8',
            timeout: 60_000,
          });
          expect(run.status).not.toBe(0);
          const lines = run.stderr.split('\n').filter((line) => line.trim() !== '');
          expect(lines[0]).toBe(tooOldMessage(older?.version ?? '', minimum));
          expect(`${run.stdout}\n${run.stderr}`).not.toMatch(/ERR_UNKNOWN_FILE_EXTENSION|^\s+at /m);
        });
      }
    },
  );

  it("runs first in cdk.json's app, so cdk synth, deploy, bootstrap and diff check it before loading the stack", () => {
    const cdkJson: unknown = JSON.parse(readFileSync(resolve(root, 'cdk.json'), 'utf8'));
    const app = typeof cdkJson === 'object' && cdkJson !== null && 'app' in cdkJson ? cdkJson.app : undefined;
    expect(app).toBe('node tools/preflight/check-node.mjs && node infra/app.ts');
  });

  describe('with a Node.js that reports an old version (this Node, v20.20.2 to every script)', () => {
    const oldVersion = 'v20.20.2';
    const folder = mkdtempSync(join(tmpdir(), 'old-node-'));
    afterAll(() => rmSync(folder, { recursive: true, force: true }));
    // A `node` first on PATH that is this Node with `process.version` replaced before any script runs:
    // every `node` the commands start (npm, npx, the CDK CLI and the app it runs) reports the old version.
    const preload = join(folder, 'old-version.mjs');
    writeFileSync(
      preload,
      `Object.defineProperty(process, 'version', { value: ${JSON.stringify(oldVersion)} });\n`,
    );
    const fakeNode = join(folder, 'node');
    writeFileSync(
      fakeNode,
      `#!/bin/sh\nexec ${JSON.stringify(process.execPath)} --import ${JSON.stringify(preload)} "$@"\n`,
    );
    chmodSync(fakeNode, 0o755);
    // No AWS account is reachable from here, whatever happens: fake keys and an endpoint nothing listens on.
    const env = {
      PATH: `${folder}:${dirname(process.execPath)}:${process.env.PATH ?? ''}`,
      HOME: process.env.HOME ?? folder,
      AWS_ACCESS_KEY_ID: 'AKIAFAKEFAKEFAKEFAKE',
      AWS_SECRET_ACCESS_KEY: 'fake',
      AWS_REGION: 'us-east-1',
      AWS_ENDPOINT_URL: 'http://127.0.0.1:9',
      AWS_EC2_METADATA_DISABLED: 'true',
      CDK_DISABLE_VERSION_CHECK: 'true',
      CDK_DISABLE_CLI_TELEMETRY: 'true',
    };
    const expected = tooOldMessage(oldVersion, minimum);

    it('is seen by the check as the old version (so the cases below can fail)', () => {
      const run = spawnSync(fakeNode, ['tools/preflight/check-node.mjs'], {
        cwd: root,
        env,
        encoding: 'utf8',
      });
      expect(run.status).toBe(1);
      expect(run.stderr).toBe(`${expected}\n`);
    });

    const commands = [
      { command: 'npx cdk synth', bin: 'npx', args: ['cdk', 'synth'] },
      { command: 'npx cdk synth -q', bin: 'npx', args: ['cdk', 'synth', '-q'] },
      { command: 'npx cdk deploy', bin: 'npx', args: ['cdk', 'deploy', '--require-approval', 'never'] },
      { command: 'npx cdk bootstrap', bin: 'npx', args: ['cdk', 'bootstrap'] },
      { command: 'npx cdk diff', bin: 'npx', args: ['cdk', 'diff'] },
      { command: 'npm run simulator', bin: 'npm', args: ['--silent', 'run', 'simulator'] },
      { command: 'npm start', bin: 'npm', args: ['--silent', 'start'] },
    ];
    for (const { command, bin, args } of commands) {
      it(`${command} stops at once with the one line, non-zero, no stack trace`, () => {
        const run = spawnSync(bin, args, { cwd: root, env, encoding: 'utf8', timeout: 60_000 });
        expect(run.error, `${command} did not finish within 60 s`).toBeUndefined();
        expect(run.status).not.toBe(0);
        // Ours is the one line about the version; the CDK CLI may add its own notices around it (the AWS
        // SDK inside it warns about an old Node when it has credentials, and it says the app exited 1).
        const lines = run.stderr.split('\n').filter((line) => line.trim() !== '');
        expect(lines.filter((line) => line.startsWith('store-rollout-watchdog'))).toEqual([expected]);
        expect(`${run.stdout}\n${run.stderr}`).not.toMatch(/ERR_UNKNOWN_FILE_EXTENSION|^\s+at |Error:/m);
        expect(run.stdout).not.toMatch(/Stack|Resources|listening/);
      });
    }
  });
});
