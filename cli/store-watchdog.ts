#!/usr/bin/env node
/**
 * The `store-watchdog` executable: see `run-cli.ts` and `store-watchdog --help`.
 */
import { runCli } from './run-cli.ts';

process.exitCode = await runCli(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
});
