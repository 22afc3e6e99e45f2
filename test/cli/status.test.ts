import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  SAMPLE_APP_ID,
  SAMPLE_FLIGHT_ID,
  SAMPLE_FLIGHT_SUBMISSION_ID,
  SAMPLE_PUBLISHED_SUBMISSION_ID,
} from '../../tools/store-simulator/sample-state.ts';
import { runCliCaptured, sampleWatchdogContext, startCliStore, writeCdkJson } from './support.ts';

describe('store-watchdog status', () => {
  it('lists the main rollout and each flight with submission, percentage and state, and changes nothing', async () => {
    const { simulator, env } = await startCliStore();

    const { code, stdout, stderr } = await runCliCaptured(['status'], env);

    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(stdout).toContain('Watched apps from WATCHDOG_APPS.');
    expect(stdout).toContain(
      `Contoso Photos (${SAMPLE_APP_ID}): mode enforce, alarms contoso-photos-crash-rate`,
    );
    expect(stdout).toContain(
      `  main rollout: IN PROGRESS at 20%, submission ${SAMPLE_PUBLISHED_SUBMISSION_ID}, fallback 1152921504621086517`,
    );
    expect(stdout).toContain(
      `  package flight ${SAMPLE_FLIGHT_ID}: IN PROGRESS at 50%, submission ${SAMPLE_FLIGHT_SUBMISSION_ID}`,
    );
    expect(
      simulator.control.requests.filter((request) => request.method === 'POST' && request.kind === 'store'),
    ).toEqual([]);
    expect(simulator.control.effectiveHalts).toBe(0);
  });

  it('--json gives machines every rollout with its state and whether the watchdog watches it', async () => {
    const { env } = await startCliStore();
    const apps = [{ applicationId: SAMPLE_APP_ID, name: 'Contoso Photos', alarmNames: ['a'] }];

    const { code, stdout } = await runCliCaptured(['status', '--json'], {
      ...env,
      WATCHDOG_APPS: JSON.stringify(apps),
    });

    expect(code).toBe(0);
    expect(JSON.parse(stdout)).toEqual({
      source: 'WATCHDOG_APPS',
      dryRun: false,
      apps: [
        {
          applicationId: SAMPLE_APP_ID,
          name: 'Contoso Photos',
          mode: 'enforce',
          alarmNames: ['a'],
          rollouts: [
            {
              watched: true,
              state: 'in-progress',
              submissionId: SAMPLE_PUBLISHED_SUBMISSION_ID,
              percentage: 20,
              status: 'PackageRolloutInProgress',
              fallbackSubmissionId: '1152921504621086517',
            },
            {
              flightId: SAMPLE_FLIGHT_ID,
              watched: false,
              state: 'in-progress',
              submissionId: SAMPLE_FLIGHT_SUBMISSION_ID,
              percentage: 50,
              status: 'PackageRolloutInProgress',
              fallbackSubmissionId: '1152921504621243600',
            },
          ],
        },
      ],
    });
  });

  it('marks a live flight the watchdog does not watch', async () => {
    const { env } = await startCliStore();
    const apps = [{ applicationId: SAMPLE_APP_ID, alarmNames: ['a'] }];

    const { stdout } = await runCliCaptured(['status'], { ...env, WATCHDOG_APPS: JSON.stringify(apps) });

    expect(stdout).toContain(`package flight ${SAMPLE_FLIGHT_ID}: IN PROGRESS at 50%`);
    expect(stdout).toMatch(/IN PROGRESS at 50%.*\(not watched\)/);
    expect(stdout).toContain('flights watched: none');
  });

  it('exits 1 and says why when a rollout cannot be read', async () => {
    const { env } = await startCliStore((state) => {
      const app = state.apps.find((candidate) => candidate.id === SAMPLE_APP_ID);
      if (app !== undefined) app.unsupportedFeature = true;
    });

    const { code, stdout } = await runCliCaptured(['status'], env);

    expect(code).toBe(1);
    expect(stdout).toMatch(/main rollout: COULD NOT READ: STORE_CONFLICT: /);
  });

  it('names a failure to list the flights as such, not as the main rollout', async () => {
    const { simulator, env } = await startCliStore();
    simulator.control.failNext({ status: 403, match: { path: 'listflights' } });

    const { code, stdout } = await runCliCaptured(['status'], env);

    expect(code).toBe(1);
    expect(stdout).toContain('  main rollout: IN PROGRESS at 20%');
    expect(stdout).toMatch(
      /\n {2}package flights: COULD NOT READ: STORE_FORBIDDEN: the package flights of 9NBLGGH4R315 could not be listed/,
    );
  });

  it('reads the apps from the stack config (./cdk.json, or --config FILE) and says it is in dry run', async () => {
    const { env } = await startCliStore();
    const { WATCHDOG_APPS: _unused, ...withoutApps } = env;
    const folder = await writeCdkJson(sampleWatchdogContext({ dryRun: true }));

    const fromCwd = await runCliCaptured(['status'], withoutApps, folder);
    const fromFlag = await runCliCaptured(['status', '--config', join(folder, 'cdk.json')], env);

    for (const run of [fromCwd, fromFlag]) {
      expect(run.code).toBe(0);
      expect(run.stdout).toContain(`Watched apps from cdk.json (${join(folder, 'cdk.json')})`);
      expect(run.stdout).toContain('The watchdog is in dry run');
      expect(run.stdout).toContain('main rollout: IN PROGRESS at 20%');
    }
  });

  it('never prints the client secret', async () => {
    const { env, tenant } = await startCliStore();

    const text = await runCliCaptured(['status'], env);
    const json = await runCliCaptured(['status', '--json'], env);

    expect(text.stdout + text.stderr + json.stdout + json.stderr).not.toContain(tenant.clientSecret);
  });
});
