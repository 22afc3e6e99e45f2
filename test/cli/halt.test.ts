import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  SAMPLE_APP_ID,
  SAMPLE_FLIGHT_ID,
  SAMPLE_FLIGHT_SUBMISSION_ID,
  SAMPLE_PENDING_SUBMISSION_ID,
  SAMPLE_PUBLISHED_SUBMISSION_ID,
  SAMPLE_QUIET_APP_ID,
} from '../../tools/store-simulator/sample-state.ts';
import type { RunningSimulator } from '../../tools/store-simulator/types.ts';
import { runCliCaptured, startCliStore } from './support.ts';

function storePosts(simulator: RunningSimulator) {
  return simulator.control.requests.filter(
    (request) => request.kind === 'store' && request.method === 'POST',
  );
}

describe('store-watchdog halt', () => {
  it('is a dry run without --yes: reports what it would halt, sends no halt, says how to halt', async () => {
    const { simulator, env } = await startCliStore();

    const { code, stdout } = await runCliCaptured(['halt', '--app', SAMPLE_APP_ID], env);

    expect(code).toBe(0);
    expect(stdout).toContain('DRY RUN: nothing is changed. Add --yes to halt for real.');
    expect(stdout).toContain(
      `Contoso Photos (${SAMPLE_APP_ID}) main rollout: WOULD HALT submission ${SAMPLE_PUBLISHED_SUBMISSION_ID} (live at 20%)`,
    );
    expect(stdout).toContain(`To halt it now, run: npm run watchdog -- halt --app ${SAMPLE_APP_ID} --yes`);
    expect(storePosts(simulator)).toEqual([]);
    expect(simulator.control.effectiveHalts).toBe(0);
    expect(
      simulator.control.rollout(SAMPLE_APP_ID, SAMPLE_PUBLISHED_SUBMISSION_ID).packageRolloutStatus,
    ).toBe('PackageRolloutInProgress');
  });

  it('with --yes halts the live rollout and the watched flights, never the pending submission', async () => {
    const { simulator, env } = await startCliStore();

    const { code, stdout } = await runCliCaptured(['halt', '--app', SAMPLE_APP_ID, '--yes'], env);

    expect(code).toBe(0);
    expect(stdout).toContain(
      `Contoso Photos (${SAMPLE_APP_ID}) main rollout: HALTED submission ${SAMPLE_PUBLISHED_SUBMISSION_ID} (live at 20%)`,
    );
    expect(stdout).toContain(
      `package flight ${SAMPLE_FLIGHT_ID}: HALTED submission ${SAMPLE_FLIGHT_SUBMISSION_ID}`,
    );
    expect(stdout).toContain('Next step: Investigate the crashes.');
    expect(simulator.control.effectiveHalts).toBe(2);
    expect(
      simulator.control.rollout(SAMPLE_APP_ID, SAMPLE_PUBLISHED_SUBMISSION_ID).packageRolloutStatus,
    ).toBe('PackageRolloutStopped');
    expect(simulator.control.rollout(SAMPLE_APP_ID, SAMPLE_PENDING_SUBMISSION_ID).packageRolloutStatus).toBe(
      'PackageRolloutNotStarted',
    );
  });

  it('says a second --yes found the rollout already halted, and halts nothing twice', async () => {
    const { simulator, env } = await startCliStore();
    await runCliCaptured(['halt', '--app', SAMPLE_APP_ID, '--yes'], env);

    const { code, stdout } = await runCliCaptured(['halt', '--app', SAMPLE_APP_ID, '--yes'], env);

    expect(code).toBe(0);
    expect(stdout).toContain('main rollout: ALREADY HALTED (nothing changed)');
    expect(stdout).not.toContain('live at 0%');
    expect(simulator.control.effectiveHalts).toBe(2);
  });

  it('with --flight halts only that flight', async () => {
    const { simulator, env } = await startCliStore();

    const { code, stdout } = await runCliCaptured(
      ['halt', '--app', SAMPLE_APP_ID, '--flight', SAMPLE_FLIGHT_ID, '--yes'],
      env,
    );

    expect(code).toBe(0);
    expect(stdout).toContain(`package flight ${SAMPLE_FLIGHT_ID}: HALTED`);
    expect(stdout).not.toContain('main rollout');
    expect(simulator.control.effectiveHalts).toBe(1);
    expect(
      simulator.control.rollout(SAMPLE_APP_ID, SAMPLE_PUBLISHED_SUBMISSION_ID).packageRolloutStatus,
    ).toBe('PackageRolloutInProgress');
    expect(
      simulator.control.rollout(SAMPLE_APP_ID, SAMPLE_FLIGHT_SUBMISSION_ID, SAMPLE_FLIGHT_ID)
        .packageRolloutStatus,
    ).toBe('PackageRolloutStopped');
  });

  it('halts even when the watchdog is in dry run, and says so', async () => {
    const { simulator, env } = await startCliStore();

    const { code, stdout } = await runCliCaptured(['halt', '--app', SAMPLE_APP_ID, '--yes'], {
      ...env,
      DRY_RUN: 'true',
    });

    expect(code).toBe(0);
    expect(stdout).toContain('Note: the watchdog itself is in dry run');
    expect(simulator.control.effectiveHalts).toBe(2);
  });

  it('refuses an app that is not in the config, before reading credentials or calling the Store', async () => {
    const { simulator, env } = await startCliStore();

    const { code, stdout, stderr } = await runCliCaptured(
      ['halt', '--app', SAMPLE_QUIET_APP_ID, '--yes'],
      env,
    );

    expect(code).toBe(1);
    expect(stdout).toBe('');
    expect(stderr).toBe(
      `error: APP_NOT_WATCHED: ${SAMPLE_QUIET_APP_ID} is not a watched app in WATCHDOG_APPS; only watched apps can be halted ` +
        `(watched: Contoso Photos (${SAMPLE_APP_ID})). Add an entry for it to "apps" in the watchdog config and deploy first.\n`,
    );
    expect(simulator.control.requests).toEqual([]);
  });

  it('exits 1 with the way to halt by hand when the halt fails', async () => {
    const { simulator, env } = await startCliStore();
    simulator.control.failNext({
      status: 409,
      match: { method: 'POST', path: SAMPLE_PUBLISHED_SUBMISSION_ID },
    });

    const { code, stdout } = await runCliCaptured(['halt', '--app', SAMPLE_APP_ID, '--yes'], {
      ...env,
      WATCHDOG_APPS: JSON.stringify([{ applicationId: SAMPLE_APP_ID, alarmNames: ['a'] }]),
    });

    expect(code).toBe(1);
    expect(stdout).toContain(`${SAMPLE_APP_ID} (${SAMPLE_APP_ID}) main rollout: FAILED`);
    expect(stdout).toContain('Error: STORE_CONFLICT');
    expect(stdout).toContain(
      `Next step: halt it by hand in Partner Center now (https://partner.microsoft.com/dashboard/products/${SAMPLE_APP_ID}/overview`,
    );
    expect(simulator.control.effectiveHalts).toBe(0);
  });

  it('suggests the next command in the form the person ran (store-watchdog after npm link)', async () => {
    const { env } = await startCliStore();

    const { code, stdout } = await runCliCaptured(
      ['halt', '--app', SAMPLE_APP_ID],
      env,
      undefined,
      'store-watchdog',
    );

    expect(code).toBe(0);
    expect(stdout).toContain(`To halt it now, run: store-watchdog halt --app ${SAMPLE_APP_ID} --yes`);
    expect(stdout).not.toContain('npm run watchdog');
  });

  it('takes the app ID in any case', async () => {
    const { simulator, env } = await startCliStore();

    const { code, stdout } = await runCliCaptured(['halt', '--app', SAMPLE_APP_ID.toLowerCase()], env);

    expect(code).toBe(0);
    expect(stdout).toContain(
      `Contoso Photos (${SAMPLE_APP_ID}) main rollout: WOULD HALT submission ${SAMPLE_PUBLISHED_SUBMISSION_ID}`,
    );
    expect(storePosts(simulator)).toEqual([]);
  });

  it('says "no such flight" and lists the app\'s flights for a flight it does not have (exit 2), dry run or not', async () => {
    const { simulator, env } = await startCliStore();
    const mistyped = '43e448df-97c9-4a43-a0bc-2a445e736bce';

    for (const yes of [[], ['--yes']]) {
      const { code, stdout, stderr } = await runCliCaptured(
        ['halt', '--app', SAMPLE_APP_ID, '--flight', mistyped, ...yes],
        env,
      );

      expect(code).toBe(2);
      expect(stdout).toBe('');
      expect(stderr).toBe(
        `error: Contoso Photos (${SAMPLE_APP_ID}) has no package flight ${mistyped}: no such flight; ` +
          `its flights are ${SAMPLE_FLIGHT_ID} (Insiders)\n`,
      );
      expect(stderr).not.toMatch(/FAILED|by hand/);
    }
    expect(storePosts(simulator)).toEqual([]);
    expect(simulator.control.effectiveHalts).toBe(0);
  });

  it('accepts the flight ID in any case, as the Store lists it', async () => {
    const { simulator, env } = await startCliStore();

    const { code, stdout } = await runCliCaptured(
      ['halt', '--app', SAMPLE_APP_ID, '--flight', SAMPLE_FLIGHT_ID.toUpperCase()],
      env,
    );

    expect(code).toBe(0);
    expect(stdout).toContain('WOULD HALT');
    expect(storePosts(simulator)).toEqual([]);
  });

  it('in a dry run that cannot read the rollout, says to fix the error and try again, not to act now', async () => {
    const { simulator, env } = await startCliStore();
    simulator.control.failNext({
      status: 404,
      count: 5,
      match: { method: 'GET', path: /\/applications\/[^/]+$/ },
    });

    const { code, stdout } = await runCliCaptured(['halt', '--app', SAMPLE_APP_ID], {
      ...env,
      WATCHDOG_APPS: JSON.stringify([{ applicationId: SAMPLE_APP_ID, alarmNames: ['a'] }]),
    });

    expect(code).toBe(1);
    expect(stdout).toContain(`${SAMPLE_APP_ID} (${SAMPLE_APP_ID}) main rollout: COULD NOT CHECK`);
    expect(stdout).toContain(
      'Next step: nothing was changed (a dry run). Fix the error above and run the command again.',
    );
    expect(stdout).not.toMatch(/FAILED|by hand/);
  });

  describe('when AWS cannot be reached', () => {
    afterEach(() => {
      vi.unstubAllEnvs();
    });

    it("shows the SDK's message and says to check the region", async () => {
      const { simulator, env } = await startCliStore();
      for (const name of ['AWS_REGION', 'AWS_DEFAULT_REGION', 'AWS_PROFILE']) vi.stubEnv(name, undefined);
      vi.stubEnv('AWS_CONFIG_FILE', '/nonexistent/aws-config');
      vi.stubEnv('AWS_ACCESS_KEY_ID', 'AKIDEXAMPLE');
      vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'example');
      const { STORE_TENANT_ID: _t, STORE_CLIENT_ID: _c, STORE_CLIENT_SECRET: _s, ...withoutKeys } = env;

      const { code, stdout, stderr } = await runCliCaptured(
        ['halt', '--app', SAMPLE_APP_ID, '--secret-id', 'watchdog/store'],
        withoutKeys,
      );

      expect(code).toBe(1);
      expect(stdout).toBe('');
      expect(stderr).toBe(
        'error: SECRET_READ_FAILED: reading secret watchdog/store failed: Region is missing (Error); ' +
          'check the AWS region (AWS_REGION, or the region of your AWS profile)\n',
      );
      expect(simulator.control.requests).toEqual([]);
    });
  });

  it('never prints the client secret', async () => {
    const { env, tenant } = await startCliStore();

    const dry = await runCliCaptured(['halt', '--app', SAMPLE_APP_ID], env);
    const real = await runCliCaptured(['halt', '--app', SAMPLE_APP_ID, '--yes'], env);

    expect(dry.stdout + dry.stderr + real.stdout + real.stderr).not.toContain(tenant.clientSecret);
  });
});
