#!/usr/bin/env node
/**
 * The `store-watchdog` executable: see `run-cli.ts` and `store-watchdog --help`.
 */
import { basename, relative } from 'node:path';
import { runCli } from './run-cli.ts';

/** How this process was started, so the commands the CLI suggests are the ones the person can run. */
function invokedAs(): string {
  if (process.env.npm_lifecycle_event === 'watchdog') return 'npm run watchdog --';
  const script = process.argv[1] ?? '';
  if (basename(script) === 'store-watchdog') return 'store-watchdog';
  return `node ${relative(process.cwd(), script) || script}`;
}

// A reader that stops early (`| head`) closes the pipe: stop quietly, as other command-line tools do.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') throw error;
    process.exit(process.exitCode ?? 0);
  });
}

process.exitCode = await runCli(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
  invokedAs: invokedAs(),
});
