/**
 * `npm start`: the watchdog end to end on this machine (see `command.ts` and `--help`).
 */
import { runLocalRunCommand } from './command.ts';

// A reader that stops early (`| head`) closes the pipe: stop quietly, as other command-line tools do.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') throw error;
    process.exit(process.exitCode ?? 0);
  });
}

process.exitCode = await runLocalRunCommand(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  color: process.stdout.isTTY === true && process.stdout.hasColors(),
});
