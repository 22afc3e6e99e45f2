#!/usr/bin/env node
/**
 * Stops a command at once, with one line, when this Node.js is older than the project needs
 * (`engines.node` in package.json). Plain JavaScript that any Node.js still in use can parse, so it runs
 * before the TypeScript sources (which need Node's type stripping) are ever loaded.
 *
 * `node tools/preflight/check-node.mjs` exits 0 on a recent enough Node, 1 otherwise.
 */
import { readFileSync } from 'node:fs';

/** `>=22.19.0` → [22, 19, 0]. Only the `>=` form is used by this project. */
export function parseMinimum(range) {
  const match = /^>=\s*(\d+)\.(\d+)\.(\d+)$/.exec(String(range).trim());
  if (match === null)
    throw new Error(`package.json engines.node must look like ">=22.19.0"; got ${JSON.stringify(range)}`);
  return [Number(match[1]), Number(match[2]), Number(match[3])];
}

/** `v20.20.2` or `20.20.2` → [20, 20, 2]. */
export function parseVersion(version) {
  const match = /^v?(\d+)\.(\d+)\.(\d+)/.exec(String(version));
  if (match === null) throw new Error(`not a Node.js version: ${JSON.stringify(version)}`);
  return [Number(match[1]), Number(match[2]), Number(match[3])];
}

/** The one line to print when `found` is older than `minimum`, or `undefined` when it is recent enough. */
export function tooOldMessage(found, minimum) {
  const have = parseVersion(found);
  for (let i = 0; i < 3; i += 1) {
    if (have[i] > minimum[i]) return undefined;
    if (have[i] < minimum[i]) {
      const needed = minimum.join('.');
      return (
        `store-rollout-watchdog needs Node.js ${needed} or newer; this is Node.js ${have.join('.')}. ` +
        `Install Node.js 24 (for example \`nvm install 24\`, or from nodejs.org) and run the command again.`
      );
    }
  }
  return undefined;
}

function main() {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8'));
  const message = tooOldMessage(process.version, parseMinimum(pkg.engines.node));
  if (message !== undefined) {
    process.stderr.write(`${message}\n`);
    process.exitCode = 1;
  }
}

if (import.meta.url === new URL(process.argv[1] ?? '', 'file:').href) main();
