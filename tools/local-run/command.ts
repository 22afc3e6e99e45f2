/**
 * The local run's command line (`npm start -- [options]`): options in, the story (or JSON) out, and an
 * exit status that says whether the story ended as the scenario expects.
 */
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { describeError, WatchdogError } from '../../functions/commons/errors.ts';
import { definedProps } from '../../functions/commons/optional.ts';
import { runFederatedStory } from './federated-story.ts';
import { runLocalRun } from './local-run.ts';
import { renderJson, renderStory } from './render.ts';
import { runStoreHealthStory } from './store-health-story.ts';

/** Where the command writes, and how. */
export interface LocalRunIo {
  readonly stdout: { write(text: string): unknown };
  readonly stderr: { write(text: string): unknown };
  /** Colour the story (only for a terminal that wants colour). @default false */
  readonly color?: boolean;
  /** What `--event FILE` is relative to. @default process.cwd() */
  readonly cwd?: string;
}

/** Exit status: the story ended as expected. */
export const EXIT_OK = 0;
/** Exit status: the story did not end as expected, or the run broke. */
export const EXIT_FAILED = 1;
/** Exit status: the command line is wrong. */
export const EXIT_USAGE = 2;

export const LOCAL_RUN_HELP = `Usage: npm start -- [options]
       node tools/local-run/index.ts [options]

Runs the Store rollout watchdog end to end on this machine, with no AWS account and no network.
A Store simulator holds a sample app whose rollout is live at 20%; a sample crash alarm arrives; the
watchdog's own code finds the live rollout, halts it and builds the notification, and each step is
shown: the alarm, the Store round trips, the halt, how long it took, and the e-mail a person gets.

It runs its own sample config (the sample app, enforced, "dryRun": false unless --dry-run), not your
cdk.json: the "dryRun" in cdk.json (true in the shipped sample) governs only the deployed watchdog.

Options:
  --dry-run         global dry run ("dryRun": true): the watchdog reports "would halt" and changes nothing
  --manual          a manual console event instead of the alarm (a dry run unless --enforce)
  --enforce         with --manual: the event says "dryRun": false, so the watchdog halts
  --already-halted  the rollout was halted before the alarm: the watchdog reports already-halted
  --flaky           the Store answers 429 (Retry-After: 1) once, and 503 to the halt that took effect:
                    the rollout is still halted exactly once
  --latency MS      delay every answer of the simulator by MS milliseconds
  --event FILE      handle your own event instead (JSON: SNS, EventBridge or manual)
  --store-health    the Store health probe's story instead: a crash spike in the Store's own failure
                    reports, the probe's figures, the alarm (evaluated by hand), the halt, the notification
  --federated       the federated credentials story instead: a secret with no key; outbound identity
                    federation off, then switched on; Entra ID refusing an unknown function, then
                    trusting it; the halt signed in with the function's AWS identity
  --json            print the outcome as one JSON object only
  -h, --help        show this help

Exit status: 0 when the story ended as expected, 1 when it did not, 2 for a usage error.
`;

const OPTIONS = {
  'dry-run': { type: 'boolean' },
  manual: { type: 'boolean' },
  enforce: { type: 'boolean' },
  'already-halted': { type: 'boolean' },
  flaky: { type: 'boolean' },
  latency: { type: 'string' },
  event: { type: 'string' },
  'store-health': { type: 'boolean' },
  federated: { type: 'boolean' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** Runs the local run as the command line asks; resolves to the exit status. */
export async function runLocalRunCommand(argv: readonly string[], io: LocalRunIo): Promise<number> {
  const usage = (message: string): number => {
    io.stderr.write(`error: ${message}\n\n${LOCAL_RUN_HELP}`);
    return EXIT_USAGE;
  };

  let values: ReturnType<typeof parseOptions>;
  try {
    values = parseOptions(argv);
  } catch (error) {
    return usage(error instanceof Error ? error.message : String(error));
  }
  if (values.help === true) {
    io.stdout.write(LOCAL_RUN_HELP);
    return EXIT_OK;
  }
  if (values.federated === true) {
    const others = [
      'dry-run',
      'manual',
      'enforce',
      'already-halted',
      'flaky',
      'latency',
      'event',
      'store-health',
    ] as const;
    const clash = others.find((name) => values[name] !== undefined);
    if (clash !== undefined) return usage(`--federated tells its own story; leave out --${clash}`);
    const story = await runFederatedStory();
    io.stdout.write(
      values.json === true
        ? `${JSON.stringify({ ok: story.ok, problems: story.problems, refusals: story.refusals, halted: story.halted }, null, 2)}\n`
        : `${story.lines.join('\n')}\n`,
    );
    return story.ok ? EXIT_OK : EXIT_FAILED;
  }
  if (values['store-health'] === true) {
    const others = ['dry-run', 'manual', 'enforce', 'already-halted', 'flaky', 'latency', 'event'] as const;
    const clash = others.find((name) => values[name] !== undefined);
    if (clash !== undefined) return usage(`--store-health tells its own story; leave out --${clash}`);
    const story = await runStoreHealthStory();
    io.stdout.write(
      values.json === true
        ? `${JSON.stringify(
            {
              ok: story.ok,
              problems: story.problems,
              ratios: story.ratios,
              halted: story.halted,
              ...(story.notification === undefined
                ? {}
                : {
                    notification: {
                      subject: story.notification.subject,
                      outcome: story.notification.outcome,
                    },
                  }),
            },
            null,
            2,
          )}\n`
        : `${story.lines.join('\n')}\n`,
    );
    return story.ok ? EXIT_OK : EXIT_FAILED;
  }
  if (values.enforce === true && values.manual !== true) return usage('--enforce goes with --manual');
  if (values.event !== undefined && values.manual === true) {
    return usage('--event and --manual both name the event; give one');
  }
  let latencyMs = 0;
  if (values.latency !== undefined) {
    if (!/^\d{1,6}$/.test(values.latency)) {
      return usage(`--latency must be a whole number of milliseconds, got ${JSON.stringify(values.latency)}`);
    }
    latencyMs = Number(values.latency);
  }
  let event: { label: string; value: unknown } | undefined;
  if (values.event !== undefined) {
    const path = resolve(io.cwd ?? process.cwd(), values.event);
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (error) {
      return usage(`cannot read --event ${values.event}: ${describeFileError(error)}`);
    }
    try {
      event = { label: `your event from ${values.event}`, value: JSON.parse(text) };
    } catch {
      return usage(`--event ${values.event} is not JSON`);
    }
  }

  try {
    const outcome = await runLocalRun({
      dryRun: values['dry-run'] === true,
      manual: values.manual === true,
      enforce: values.enforce === true,
      alreadyHalted: values['already-halted'] === true,
      flaky: values.flaky === true,
      latencyMs,
      ...definedProps({ event }),
    });
    io.stdout.write(
      values.json === true ? renderJson(outcome) : renderStory(outcome, { color: io.color === true }),
    );
    return outcome.ok ? EXIT_OK : EXIT_FAILED;
  } catch (error) {
    // Expected failures get one line; anything else is a bug worth its stack.
    if (error instanceof WatchdogError) io.stderr.write(`error: ${error.code}: ${error.message}\n`);
    else
      io.stderr.write(
        `unexpected error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
      );
    return EXIT_FAILED;
  }
}

/** The errno code (`ENOENT`, `EACCES`, ...) of a failed read; never the path or contents. */
function describeFileError(error: unknown): string {
  if (error instanceof Error && 'code' in error && typeof error.code === 'string') return error.code;
  return describeError(error).code;
}

function parseOptions(argv: readonly string[]) {
  return parseArgs({ args: [...argv], options: OPTIONS, strict: true, allowPositionals: false }).values;
}
