/**
 * What every command is handed, the exit statuses, and the usage error.
 */
import { BadInputError } from '../functions/commons/errors.ts';

/** Where the CLI writes and what it reads from its surroundings. */
export interface CliIo {
  readonly stdout: { write(text: string): unknown };
  readonly stderr: { write(text: string): unknown };
  /**
   * The watchdog's variables (`STORE_*`, `WATCHDOG_APPS`, `DRY_RUN`, `AZURE_AD_AUTHORITY`). The AWS SDK
   * reads its own standard configuration (`AWS_REGION`, `AWS_ENDPOINT_URL`, ...) from the process.
   */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Where the default `cdk.json` is looked for. @default process.cwd() */
  readonly cwd?: string;
  /**
   * How the person started the CLI, for the commands it suggests next: `npm run watchdog --`,
   * `store-watchdog` (after `npm link`) or `node cli/store-watchdog.ts`. @default `npm run watchdog --`
   */
  readonly invokedAs?: string;
}

/** The form of the CLI the person ran, to prefix the commands it suggests. */
export function cliCommand(io: CliIo): string {
  return io.invokedAs ?? 'npm run watchdog --';
}

/** Done: every check passed, or the operation did what was asked. */
export const EXIT_OK = 0;
/** A check or an operation failed (or was refused). */
export const EXIT_FAILED = 1;
/** The command line is wrong. */
export const EXIT_USAGE = 2;

/** The command line is wrong: unknown command or option, missing or malformed argument. */
export class UsageError extends BadInputError {
  /** The help to show with the message. */
  readonly help: string;

  constructor(message: string, help: string) {
    super('USAGE', message);
    this.name = 'UsageError';
    this.help = help;
  }
}

/** How long a command may talk to the Store (and AWS) before it gives up. */
export const COMMAND_TIMEOUT_MS = 60_000;
