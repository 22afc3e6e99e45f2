/**
 * The operator CLI, `store-watchdog <command>`: for the people who own the rollouts, against the real
 * Store API (or the simulator, with `--store-url` and `--authority`). Testable as a function: arguments
 * and surroundings in, exit status out; `store-watchdog.ts` is the thin executable around it.
 *
 * Expected errors (`WatchdogError`: configuration, credentials, refused apps, usage) print one line
 * without a stack; anything else is a bug and prints its stack. No output ever contains the client
 * secret or a token.
 */
import { redactTokens } from '../functions/commons/domain/decide.ts';
import { WatchdogError } from '../functions/commons/errors.ts';
import { runDrill } from './commands/drill.ts';
import { runHalt } from './commands/halt.ts';
import { runHealth } from './commands/health.ts';
import { runReplay } from './commands/replay.ts';
import { runStatus } from './commands/status.ts';
import { type CliIo, EXIT_FAILED, EXIT_OK, EXIT_USAGE, UsageError } from './io.ts';

export type { CliIo } from './io.ts';
export { EXIT_FAILED, EXIT_OK, EXIT_USAGE } from './io.ts';

export const MAIN_HELP = `Usage: store-watchdog <command> [options]
       npm run watchdog -- <command> [options]

For the people who own the rollouts, against the Microsoft Store API:
  status   the live rollouts (main and package flights) of every watched app; changes nothing
  halt     halt an app's live rollout by hand, with the watchdog's own code (a dry run unless --yes)
  drill    prove the watchdog is armed for an app: config, alarms, credentials, token, app, live
           rollout, decision; each step PASS or FAIL with the fix
           (--through-aws: a drill through the deployed account, from the drill alarm to the topic)
  replay   what the current config would have decided for each past transition into ALARM of the
           watched alarms (CloudWatch history or a saved file); no Store call
  health   what the Store health probe sees: crash rates of the rolled-out package against the
           fallback's, from the Store's own failure reports; changes nothing

"store-watchdog <command> --help" shows a command's options.

Configuration
  Apps         the "watchdog" context of ./cdk.json (the stack's config), or --config FILE;
               or WATCHDOG_APPS (JSON, as the function reads it, with DRY_RUN) when set and no --config
  Credentials  STORE_TENANT_ID, STORE_CLIENT_ID and STORE_CLIENT_SECRET; or a Secrets Manager secret
               (--secret-id, STORE_CREDENTIALS_SECRET_ID, or the config's "secret"), read with the AWS
               SDK's standard configuration (AWS_PROFILE, AWS_REGION, AWS_ENDPOINT_URL)
  Endpoints    STORE_API_BASE_URL (--store-url) and AZURE_AD_AUTHORITY (--authority); default Microsoft's

Exit status: 0 done, 1 a check or an operation failed, 2 usage error.
`;

const COMMANDS: Record<string, (argv: readonly string[], io: CliIo) => Promise<number>> = {
  status: runStatus,
  halt: runHalt,
  drill: runDrill,
  replay: runReplay,
  health: runHealth,
};

/** Runs one command line (without `node` and the script); resolves to the exit status. Never rejects. */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined) return usage(io, 'a command is required', MAIN_HELP);
  if (command === '--help' || command === '-h' || command === 'help') {
    io.stdout.write(MAIN_HELP);
    return EXIT_OK;
  }
  const run = Object.hasOwn(COMMANDS, command) ? COMMANDS[command] : undefined;
  if (run === undefined) return usage(io, `unknown command ${JSON.stringify(command)}`, MAIN_HELP);
  try {
    return await run(rest, io);
  } catch (error) {
    if (error instanceof UsageError) return usage(io, error.message, error.help);
    if (error instanceof WatchdogError) {
      io.stderr.write(`error: ${error.code}: ${redactTokens(error.message)}\n`);
      return EXIT_FAILED;
    }
    const text = error instanceof Error ? (error.stack ?? error.message) : String(error);
    io.stderr.write(`unexpected error (a bug; please report it):\n${redactTokens(text)}\n`);
    return EXIT_FAILED;
  }
}

function usage(io: CliIo, message: string, help: string): number {
  io.stderr.write(`error: ${message}\n\n${help}`);
  return EXIT_USAGE;
}
