/**
 * `store-watchdog halt`: the break-glass halt. The same decision code (`runWatchdog`) over the same
 * `RolloutPort` as the Lambda, so it halts exactly what the watchdog would (the last published
 * submission's rollout, never a pending one) and resolves an ambiguous halt the same way. A dry run
 * unless `--yes`; only apps in the watchdog's config can be halted.
 *
 * It is a person's explicit decision, so neither the global dry run nor an app's `mode: "dry-run"` stops
 * it (those govern what the watchdog does on its own); the output says when they are on.
 */
import { parseArgs } from 'node:util';
import { runWatchdog, type TargetDetail } from '../../functions/commons/domain/decide.ts';
import { nextStep, partnerCenterUrl } from '../../functions/commons/domain/notification.ts';
import type { RolloutPort } from '../../functions/commons/domain/ports.ts';
import type { TargetResult } from '../../functions/commons/domain/results.ts';
import type { ActingPlan } from '../../functions/commons/domain/targets.ts';
import type { WatchedApp } from '../../functions/commons/domain/watched-apps.ts';
import type { Flight } from '../../functions/commons/store/model.ts';
import {
  COMMON_HELP,
  COMMON_OPTIONS,
  closeCliStore,
  describeTarget,
  formatPercent,
  openCliStore,
  parseOrUsage,
  readAppId,
  readCommonOptions,
  readFlightId,
} from '../common.ts';
import { describeApp, findWatchedApp, loadCliConfig } from '../config.ts';
import { type CliIo, COMMAND_TIMEOUT_MS, cliCommand, EXIT_FAILED, EXIT_OK, EXIT_USAGE } from '../io.ts';

export const HALT_HELP = `Usage: store-watchdog halt --app ID [--flight ID] [--yes] [common options]

The break-glass halt: finds the app's live rollouts the way the watchdog does (the last published
submission, never a pending one) and halts them with the watchdog's own code. Without --yes it is a
dry run that changes nothing. Only apps in the watchdog's config can be halted. A halt cannot be undone.

Options:
  --app ID          the app's Store ID (12 characters, e.g. 9NBLGGH4R315, in any case); must be a
                    watched app
  --flight ID       only this package flight's rollout (a GUID); default: the main rollout and the
                    flights the config watches for the app
  --yes             halt for real (without it: a dry run)

${COMMON_HELP}
Exit status: 0 when done (or nothing to halt), 1 when a rollout could not be halted or the app is not
watched, 2 for a usage error or a flight the app does not have.
`;

export async function runHalt(argv: readonly string[], io: CliIo): Promise<number> {
  const { values } = parseOrUsage(
    () =>
      parseArgs({
        args: [...argv],
        options: {
          ...COMMON_OPTIONS,
          app: { type: 'string' },
          flight: { type: 'string' },
          yes: { type: 'boolean' },
        },
        strict: true,
        allowPositionals: false,
      }),
    HALT_HELP,
  );
  if (values.help === true) {
    io.stdout.write(HALT_HELP);
    return EXIT_OK;
  }
  const applicationId = readAppId(values.app, HALT_HELP);
  const requestedFlightId = values.flight === undefined ? undefined : readFlightId(values.flight, HALT_HELP);
  const enforce = values.yes === true;
  const options = readCommonOptions(values);
  const config = await loadCliConfig(options, io);
  // Refused before any credential is read or any request is sent.
  const app = findWatchedApp(config, applicationId);

  const signal = AbortSignal.timeout(COMMAND_TIMEOUT_MS);
  const { store, credentials } = await openCliStore(config, options, io.env, signal);
  try {
    // A flight is checked against the app's own list first: a mistyped ID is a usage error, never a
    // failed halt. The Store's spelling of the ID is the one used from then on.
    let flightId: string | undefined;
    if (requestedFlightId !== undefined) {
      const known = await store.client.listFlights(applicationId, signal);
      const flight = known.find(
        (candidate) => candidate.flightId.toLowerCase() === requestedFlightId.toLowerCase(),
      );
      if (flight === undefined) {
        io.stderr.write(
          `error: ${describeApp(app)} has no package flight ${requestedFlightId}: no such flight; ${describeFlights(known)}\n`,
        );
        return EXIT_USAGE;
      }
      flightId = flight.flightId;
    }
    const command = `${cliCommand(io)} halt --app ${applicationId}${flightId === undefined ? '' : ` --flight ${flightId}`}`;
    const plan: ActingPlan = {
      kind: 'act',
      trigger: { kind: 'manual', reason: `${command}${enforce ? ' --yes' : ''}`, enforceRequested: enforce },
      apps: [
        {
          app: { ...app, flights: flightId === undefined ? app.flights : [flightId] },
          dryRun: !enforce,
          ...(enforce ? {} : { dryRunCause: 'manual-event' as const }),
          why: enforce ? `a person ran ${command} --yes` : `${command} without --yes is a dry run`,
          alarmNames: [],
        },
      ],
      unmatchedAlarms: [],
    };
    const rollouts = flightId === undefined ? store.rolloutPort : onlyFlights(store.rolloutPort);
    const run = await runWatchdog(plan, { rollouts, now: () => performance.now() }, signal);

    const lines = [
      enforce
        ? `Halting the live rollouts of ${describeApp(app)}.`
        : `DRY RUN: nothing is changed. Add --yes to halt for real.`,
      ...describeModes(app, config.dryRun),
      '',
    ];
    run.targets.forEach((target, index) => {
      const detail = run.details[index];
      if (detail !== undefined) lines.push(...describeOutcome(target, index, detail, command, enforce), '');
    });
    io.stdout.write(lines.join('\n'));
    return run.targets.some((target) => target.result === 'failed') ? EXIT_FAILED : EXIT_OK;
  } finally {
    await closeCliStore(store, credentials);
  }
}

/** `its flights are A (name), B` or `it has no package flights`, for a flight ID that is not the app's. */
function describeFlights(flights: readonly Flight[]): string {
  if (flights.length === 0) return 'it has no package flights';
  const listed = flights.map((flight) =>
    flight.friendlyName === undefined ? flight.flightId : `${flight.flightId} (${flight.friendlyName})`,
  );
  return `its flights are ${listed.join(', ')}`;
}

/** The port with the main rollout's lookup left out, for `--flight`: only that flight is acted on. */
function onlyFlights(port: RolloutPort): RolloutPort {
  return {
    async findLiveRollouts(request, signal) {
      const lookups = await port.findLiveRollouts(request, signal);
      return lookups.filter((lookup) =>
        lookup.state === 'in-progress' || lookup.state === 'stopped'
          ? lookup.ref.flightId !== undefined
          : lookup.flightId !== undefined,
      );
    },
    haltRollout: (found, signal) => port.haltRollout(found, signal),
  };
}

function describeModes(app: WatchedApp, globalDryRun: boolean): string[] {
  const notes: string[] = [];
  if (globalDryRun) {
    notes.push(
      'Note: the watchdog itself is in dry run (it would only report on an alarm); this command is not.',
    );
  }
  if (app.mode === 'dry-run') {
    notes.push('Note: the app\'s mode is "dry-run" (the watchdog only reports on it); this command is not.');
  }
  return notes;
}

const RESULT_WORDS: Record<TargetResult['result'], string> = {
  halted: 'HALTED',
  'would-halt': 'WOULD HALT',
  'already-halted': 'ALREADY HALTED (nothing changed)',
  'no-active-rollout': 'NOTHING TO HALT',
  failed: 'FAILED',
};

function describeOutcome(
  target: TargetResult,
  index: number,
  detail: TargetDetail,
  command: string,
  enforce: boolean,
): string[] {
  const name = detail.planned.app.name ?? target.applicationId;
  // A stopped rollout reads 0%: only a live one has a percentage worth showing.
  const shown = target.result !== 'already-halted' && target.result !== 'no-active-rollout';
  const live =
    target.rolloutPercentage === undefined || !shown
      ? ''
      : ` (live at ${formatPercent(target.rolloutPercentage)})`;
  const submission = target.submissionId === undefined ? '' : ` submission ${target.submissionId}`;
  const lines = [
    `${name} (${target.applicationId}) ${describeTarget(target, index)}: ${enforce || target.result !== 'failed' ? RESULT_WORDS[target.result] : 'COULD NOT CHECK'}${submission}${live}`,
  ];
  if (detail.note !== undefined) lines.push(`  ${detail.note}`);
  if (target.error !== undefined) lines.push(`  Error: ${target.error.code}: ${target.error.message}`);
  if (target.result === 'halted') lines.push(`  Took ${Math.round(detail.elapsedMs)} ms.`);
  lines.push(`  Next step: ${describeNextStep(target, detail, command, enforce)}`);
  return lines;
}

function describeNextStep(
  target: TargetResult,
  detail: TargetDetail,
  command: string,
  enforce: boolean,
): string {
  switch (target.result) {
    case 'would-halt':
      return `nothing was changed. To halt it now, run: ${command} --yes`;
    case 'failed':
      // A dry run that could not read the rollout asked nothing of the Store: nothing to do by hand yet.
      if (!enforce) return 'nothing was changed (a dry run). Fix the error above and run the command again.';
      return (
        `halt it by hand in Partner Center now (${partnerCenterUrl(target.applicationId)}: "Halt package rollout"), ` +
        `or run the command again once the error above is fixed.`
      );
    default:
      // The notification's words: the same situation, the same advice.
      return nextStep(target, detail);
  }
}
