/**
 * `npm start`: the watchdog end to end on this machine (see `command.ts` and `--help`).
 */
import { runLocalRunCommand } from './command.ts';

process.exitCode = await runLocalRunCommand(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  color: process.stdout.isTTY === true && process.stdout.hasColors(),
});
