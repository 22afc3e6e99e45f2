/**
 * `store-watchdog health`: what the Store health probe sees, live from the Store, with the probe's own
 * code (`runStoreHealth`): for each watched app's live main rollout and watched package flights, the two cohorts (the package
 * versions being rolled out and those of the fallback submission), their crash devices over the
 * window, exposure, crash rates and ratio, or why the data is too little to judge. Read only.
 */
import { parseArgs } from 'node:util';
import { safeError } from '../../functions/commons/domain/decide.ts';
import {
  type CohortFigures,
  DEFAULT_STORE_HEALTH_SETTINGS,
  type StoreHealthSettings,
} from '../../functions/commons/domain/store-health.ts';
import { definedProps } from '../../functions/commons/optional.ts';
import { createAnalyticsReader } from '../../functions/commons/store/analytics.ts';
import { createPackageVersionReader } from '../../functions/commons/store/cohorts.ts';
import { MAX_WINDOW_HOURS } from '../../functions/store-health/environment.ts';
import { type AppHealth, runStoreHealth } from '../../functions/store-health/probe.ts';
import {
  COMMON_HELP,
  COMMON_OPTIONS,
  closeCliStore,
  openCliStore,
  parseOrUsage,
  readAppId,
  readCommonOptions,
} from '../common.ts';
import { describeApp, findWatchedApp, loadCliConfig } from '../config.ts';
import { type CliIo, COMMAND_TIMEOUT_MS, EXIT_FAILED, EXIT_OK, UsageError } from '../io.ts';

export const HEALTH_HELP = `Usage: store-watchdog health [--app ID] [--window-hours N] [--json] [common options]

Shows what the Store health probe sees, live from the Microsoft Store's own failure reports: for each
watched app's live main rollout and package flight (those of its "flights"), the crash devices of the
rolled-out package versions and of the
fallback's over the window, their exposure (daily active devices, or the nominal rollout share), crash
rates and ratio, or why there is too little data to judge. The same code as the probe. Changes nothing.

Options:
  --app ID           only this watched app (its Store ID)
  --window-hours N   the trailing window of hourly crash reports, 1 to ${MAX_WINDOW_HOURS} (default ${DEFAULT_STORE_HEALTH_SETTINGS.windowHours})
  --json             one JSON object, for machines

${COMMON_HELP}
Exit status: 0 when every app could be read, 1 when one could not, 2 for a usage error.
`;

export async function runHealth(argv: readonly string[], io: CliIo): Promise<number> {
  const { values } = parseOrUsage(
    () =>
      parseArgs({
        args: [...argv],
        options: {
          ...COMMON_OPTIONS,
          app: { type: 'string' },
          'window-hours': { type: 'string' },
          json: { type: 'boolean' },
        },
        strict: true,
        allowPositionals: false,
      }),
    HEALTH_HELP,
  );
  if (values.help === true) {
    io.stdout.write(HEALTH_HELP);
    return EXIT_OK;
  }
  const settings: StoreHealthSettings = {
    ...DEFAULT_STORE_HEALTH_SETTINGS,
    windowHours: readWindowHours(values['window-hours']),
  };
  const applicationId = values.app === undefined ? undefined : readAppId(values.app, HEALTH_HELP);
  const options = readCommonOptions(values);
  const config = await loadCliConfig(options, io);
  const watched = applicationId === undefined ? config.apps : [findWatchedApp(config, applicationId)];
  const signal = AbortSignal.timeout(COMMAND_TIMEOUT_MS);
  // Read only: its reads never take more than half of this process's tenant budget.
  const { store, credentials } = await openCliStore(config, options, io.env, signal, { reader: true });
  try {
    const run = await runStoreHealth(
      watched.map((app) => ({
        applicationId: app.applicationId,
        ...definedProps({ name: app.name, flights: app.flights }),
        settings,
      })),
      {
        store: store.client,
        packageVersions: createPackageVersionReader(store.client),
        analytics: createAnalyticsReader(store.client),
        now: () => Date.now(),
      },
      signal,
    );
    if (values.json === true) {
      io.stdout.write(`${JSON.stringify({ settings, apps: run.apps.map(toJson) }, null, 2)}\n`);
    } else {
      const lines = [
        `Store health from the Microsoft Store's own failure reports (hourly, last ${settings.windowHours} h; the reports lag by hours).`,
        '',
      ];
      for (const app of run.apps) {
        const watchedApp = watched.find((candidate) => candidate.applicationId === app.applicationId);
        lines.push(
          `${watchedApp === undefined ? app.applicationId : describeApp(watchedApp)}${app.flightId === undefined ? '' : `, flight ${app.flightId}`}:`,
          ...describe(app),
          '',
        );
      }
      io.stdout.write(lines.join('\n'));
    }
    return run.failed ? EXIT_FAILED : EXIT_OK;
  } finally {
    await closeCliStore(store, credentials);
  }
}

function readWindowHours(value: string | undefined): number {
  if (value === undefined) return DEFAULT_STORE_HEALTH_SETTINGS.windowHours;
  const hours = Number(value);
  if (!/^\d+$/.test(value) || hours < 1 || hours > MAX_WINDOW_HOURS)
    throw new UsageError(`--window-hours must be a whole number from 1 to ${MAX_WINDOW_HOURS}`, HEALTH_HELP);
  return hours;
}

function round(value: number | undefined, digits = 2): string {
  return value === undefined ? 'n/a' : Number(value.toFixed(digits)).toString();
}

function describeCohort(name: string, figures: CohortFigures): string {
  const exposure =
    figures.exposure.kind === 'active-devices'
      ? `${round(figures.exposure.devices, 0)} active devices (${new Date(figures.exposure.dayStartMs).toISOString().slice(0, 10)})`
      : `${round(figures.exposure.percent)}% nominal share (no usage data)`;
  return `  ${name} ${figures.versions.join(', ') || '(no version)'}: ${round(figures.crashDevices)} crash devices, ${exposure}, crash rate ${round(figures.crashRate, 4)}%`;
}

function describe(app: AppHealth): string[] {
  switch (app.state) {
    case 'failed':
      return [`  could not be read: ${safeError(app.error).message}`];
    case 'no-rollout':
      return [`  no live rollout: ${app.reason}`];
    case 'deferred':
      return [`  not read: ${app.reason}`];
    case 'assessed': {
      const { assessment } = app;
      return [
        `  rollout at ${round(app.cohorts.rolloutPercentage)}%, submission ${app.ref.submissionId}`,
        describeCohort('rollout ', assessment.rollout),
        describeCohort('fallback', assessment.fallback),
        assessment.verdict === 'sufficient'
          ? `  crash rate ratio ${round(assessment.ratio)} (rollout / fallback)`
          : `  insufficient data, no ratio: ${assessment.reasons.join('; ')}`,
      ];
    }
  }
}

function toJson(app: AppHealth): Record<string, unknown> {
  const base = {
    applicationId: app.applicationId,
    ...definedProps({ name: app.name, flightId: app.flightId }),
    state: app.state,
  };
  switch (app.state) {
    case 'failed':
      return { ...base, error: safeError(app.error) };
    case 'no-rollout':
    case 'deferred':
      return { ...base, reason: app.reason };
    case 'assessed':
      return {
        ...base,
        submissionId: app.ref.submissionId,
        rolloutPercentage: app.cohorts.rolloutPercentage,
        windowHours: app.windowHours,
        ...app.assessment,
      };
  }
}
