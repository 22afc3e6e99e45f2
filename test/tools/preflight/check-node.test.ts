/**
 * On a Node.js older than the project needs, the four everyday commands stop at once with one line that
 * names the version found, the version needed and how to get it, and exit non-zero: no stack trace.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
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

  it('runs first in npm start, npm test, npm run watchdog and npm run bench', () => {
    const scripts =
      typeof pkg === 'object' &&
      pkg !== null &&
      'scripts' in pkg &&
      typeof pkg.scripts === 'object' &&
      pkg.scripts !== null
        ? new Map(Object.entries(pkg.scripts))
        : new Map<string, unknown>();
    for (const name of ['start', 'test', 'watchdog', 'bench']) {
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
});
