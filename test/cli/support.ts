/**
 * Helpers for the CLI tests: a Store simulator per test with a tenant of its own (the Store client's
 * request budget is per tenant and per process, so tests must not share one), the environment that
 * points the CLI at it, and `runCli` with its output captured.
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach } from 'vitest';
import { runCli } from '../../cli/run-cli.ts';
import type { WatchedAppInput } from '../../functions/commons/domain/watched-apps.ts';
import { definedProps } from '../../functions/commons/optional.ts';
import { start } from '../../tools/store-simulator/index.ts';
import { SAMPLE_APP_ID, sampleState } from '../../tools/store-simulator/sample-state.ts';
import type { RunningSimulator, SimTenant, SimulatorState } from '../../tools/store-simulator/types.ts';

export const SAMPLE_ALARM = 'contoso-photos-crash-rate';

/** The sample app, its main rollout and every flight watched. */
export const WATCHED_APPS: WatchedAppInput[] = [
  {
    applicationId: SAMPLE_APP_ID,
    name: 'Contoso Photos',
    alarmNames: [SAMPLE_ALARM],
    flights: 'all',
    mode: 'enforce',
  },
];

export interface CliStore {
  readonly simulator: RunningSimulator;
  /** This test's own tenant; its secret is unique so tests can prove it is never printed. */
  readonly tenant: SimTenant;
  /** The environment that points the CLI at the simulator with the tenant's credentials. */
  readonly env: Record<string, string>;
}

const running: RunningSimulator[] = [];

afterEach(async () => {
  await Promise.all(running.splice(0).map((simulator) => simulator.close()));
});

/** A fresh tenant owning the sample apps (or `state`'s), and a simulator with it (closed after the test). */
export async function startCliStore(change?: (state: SimulatorState) => void): Promise<CliStore> {
  const tenant: SimTenant & { readonly clientSecret: string } = {
    tenantId: randomUUID(),
    clientId: randomUUID(),
    clientSecret: `cli-test-secret-${randomUUID()}`,
  };
  const state = { ...sampleState(), tenants: [tenant] };
  change?.(state);
  const simulator = await start({ state });
  running.push(simulator);
  return {
    simulator,
    tenant,
    env: {
      STORE_API_BASE_URL: simulator.storeBaseUrl,
      AZURE_AD_AUTHORITY: simulator.authority,
      STORE_TENANT_ID: tenant.tenantId,
      STORE_CLIENT_ID: tenant.clientId,
      STORE_CLIENT_SECRET: tenant.clientSecret,
      WATCHDOG_APPS: JSON.stringify(WATCHED_APPS),
    },
  };
}

export interface CliRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs the CLI in this process with `env` as its environment. */
export async function runCliCaptured(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
  cwd?: string,
  invokedAs?: string,
): Promise<CliRun> {
  let stdout = '';
  let stderr = '';
  const code = await runCli(argv, {
    stdout: { write: (text: string) => (stdout += text) },
    stderr: { write: (text: string) => (stderr += text) },
    env,
    ...definedProps({ cwd, invokedAs }),
  });
  return { code, stdout, stderr };
}

/** Writes a cdk.json with this `watchdog` context in a new temporary folder; returns the folder. */
export async function writeCdkJson(watchdog: unknown): Promise<string> {
  const folder = await mkdtemp(join(tmpdir(), 'store-watchdog-cli-'));
  await writeFile(
    join(folder, 'cdk.json'),
    JSON.stringify({ app: 'node infra/app.ts', context: { watchdog } }),
  );
  return folder;
}

/** A valid `watchdog` context for the sample app. */
export function sampleWatchdogContext(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    dryRun: true,
    apps: [
      {
        applicationId: SAMPLE_APP_ID,
        name: 'Contoso Photos',
        flights: 'all',
        mode: 'enforce',
        alarmNames: [SAMPLE_ALARM],
      },
    ],
    ...overrides,
  };
}
