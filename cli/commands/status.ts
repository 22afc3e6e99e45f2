/**
 * `store-watchdog status`: the live rollouts of every watched app, read the way the watchdog reads them
 * (`findLiveRollouts`). Read-only.
 */
import { parseArgs } from 'node:util';
import { safeError } from '../../functions/commons/domain/decide.ts';
import type { RolloutLookup } from '../../functions/commons/domain/ports.ts';
import type { WatchedApp } from '../../functions/commons/domain/watched-apps.ts';
import { definedProps } from '../../functions/commons/optional.ts';
import {
  COMMON_HELP,
  COMMON_OPTIONS,
  closeCliStore,
  describeLookup,
  describeTarget,
  lookupTarget,
  openCliStore,
  parseOrUsage,
  readCommonOptions,
} from '../common.ts';
import { describeApp, loadCliConfig } from '../config.ts';
import { type CliIo, COMMAND_TIMEOUT_MS, EXIT_FAILED, EXIT_OK } from '../io.ts';

export const STATUS_HELP = `Usage: store-watchdog status [--json] [common options]

Shows the live rollouts of every watched app: the main rollout and every package flight, with the
submission, the percentage, the state, and whether the watchdog watches it. Changes nothing.

Options:
  --json            one JSON object, for machines

${COMMON_HELP}
Exit status: 0 when every rollout could be read, 1 when one could not, 2 for a usage error.
`;

/** One rollout in `--json`. */
export interface StatusRollout {
  readonly flightId?: string;
  /** Whether the watchdog acts on this rollout when the app's alarm fires. */
  readonly watched: boolean;
  readonly state: RolloutLookup['state'];
  readonly submissionId?: string;
  readonly percentage?: number;
  readonly status?: string;
  readonly fallbackSubmissionId?: string;
  readonly reason?: string;
  readonly error?: { readonly code: string; readonly message: string };
}

export async function runStatus(argv: readonly string[], io: CliIo): Promise<number> {
  const { values } = parseOrUsage(
    () =>
      parseArgs({
        args: [...argv],
        options: { ...COMMON_OPTIONS, json: { type: 'boolean' } },
        strict: true,
        allowPositionals: false,
      }),
    STATUS_HELP,
  );
  if (values.help === true) {
    io.stdout.write(STATUS_HELP);
    return EXIT_OK;
  }
  const options = readCommonOptions(values);
  const config = await loadCliConfig(options, io);
  const signal = AbortSignal.timeout(COMMAND_TIMEOUT_MS);
  const { store, credentials } = await openCliStore(config, options, io.env, signal);
  try {
    // Every flight, watched or not: a person should see a live flight the watchdog would not halt.
    const apps = await Promise.all(
      config.apps.map(async (app) => ({
        app,
        lookups: await store.rolloutPort.findLiveRollouts(
          { applicationId: app.applicationId, flights: 'all' },
          signal,
        ),
      })),
    );
    const failed = apps.some(({ lookups }) => lookups.some((lookup) => lookup.state === 'failed'));

    if (values.json === true) {
      const json = {
        source: config.source,
        dryRun: config.dryRun,
        apps: apps.map(({ app, lookups }) => ({
          applicationId: app.applicationId,
          ...definedProps({ name: app.name }),
          mode: app.mode,
          alarmNames: app.alarmNames,
          ...definedProps({ flights: app.flights }),
          rollouts: lookups.map((lookup) => toStatusRollout(app, lookup)),
        })),
      };
      io.stdout.write(`${JSON.stringify(json, null, 2)}\n`);
    } else {
      const lines = [
        `Watched apps from ${config.source}.`,
        config.dryRun
          ? 'The watchdog is in dry run: on an alarm it reports what it would halt, and halts nothing.'
          : 'The watchdog halts on an alarm (apps in mode "dry-run" excepted).',
        '',
      ];
      for (const { app, lookups } of apps) {
        lines.push(
          `${describeApp(app)}: mode ${app.mode}, alarms ${app.alarmNames.join(', ') || 'none'}, ` +
            `flights watched: ${app.flights === undefined ? 'none' : app.flights === 'all' ? 'all' : app.flights.join(', ')}`,
        );
        for (const [index, lookup] of lookups.entries()) {
          const target = lookupTarget(lookup);
          const watched = isWatched(app, target.flightId);
          lines.push(
            `  ${describeTarget(target, index)}: ${describeLookup(lookup)}${watched ? '' : ' (not watched)'}`,
          );
        }
        lines.push('');
      }
      io.stdout.write(lines.join('\n'));
    }
    return failed ? EXIT_FAILED : EXIT_OK;
  } finally {
    await closeCliStore(store, credentials);
  }
}

function isWatched(app: WatchedApp, flightId: string | undefined): boolean {
  if (flightId === undefined) return true;
  if (app.flights === 'all') return true;
  return app.flights?.includes(flightId) ?? false;
}

function toStatusRollout(app: WatchedApp, lookup: RolloutLookup): StatusRollout {
  const target = lookupTarget(lookup);
  const base = { ...target, watched: isWatched(app, target.flightId), state: lookup.state };
  switch (lookup.state) {
    case 'in-progress':
    case 'stopped':
      return {
        ...base,
        submissionId: lookup.ref.submissionId,
        percentage: lookup.rollout.packageRolloutPercentage,
        status: lookup.rollout.packageRolloutStatus,
        fallbackSubmissionId: lookup.rollout.fallbackSubmissionId,
      };
    case 'none':
      return {
        ...base,
        ...definedProps({ submissionId: lookup.submissionId }),
        ...(lookup.rollout === undefined
          ? {}
          : {
              percentage: lookup.rollout.packageRolloutPercentage,
              status: lookup.rollout.packageRolloutStatus,
            }),
        reason: lookup.reason,
      };
    case 'failed':
      return {
        ...base,
        ...definedProps({ submissionId: lookup.submissionId }),
        error: safeError(lookup.error),
      };
  }
}
