import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';

const commands = [
  ['the CLI', fileURLToPath(new URL('../../cli/store-watchdog.ts', import.meta.url))],
  ['the local run', fileURLToPath(new URL('../../tools/local-run/index.ts', import.meta.url))],
] as const;

it.each(commands)('%s stops quietly when its reader has closed the pipe (like `| head`)', (_label, file) => {
  // `true` exits without reading, so the command writes into a closed pipe.
  const shell = spawnSync(
    'bash',
    ['-c', 'set -o pipefail; "$0" "$1" --help | true', process.execPath, file],
    {
      encoding: 'utf8',
    },
  );

  expect(shell.stderr).not.toMatch(/EPIPE|Unhandled/);
  expect(shell.status).toBe(0);
});
