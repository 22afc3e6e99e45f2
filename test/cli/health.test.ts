/**
 * `store-watchdog health` against the Store simulator: the live cohorts and figures with the probe's
 * code, read only; a crash spike shows; --app and --json; a bad option is a usage error.
 */
import { describe, expect, it } from 'vitest';
import {
  SAMPLE_APP_ID,
  SAMPLE_FLIGHT_ID,
  SAMPLE_PUBLISHED_SUBMISSION_ID,
} from '../../tools/store-simulator/sample-state.ts';
import { runCliCaptured, startCliStore } from './support.ts';

describe('store-watchdog health', () => {
  it('shows the cohorts, crash devices, exposure, rates and ratio of the live rollout, and changes nothing', async () => {
    const { simulator, env, tenant } = await startCliStore();

    const { code, stdout, stderr } = await runCliCaptured(['health'], env);

    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(stdout).toContain(`Contoso Photos (${SAMPLE_APP_ID}):`);
    expect(stdout).toContain(`rollout at 20%, submission ${SAMPLE_PUBLISHED_SUBMISSION_ID}`);
    expect(stdout).toMatch(/rollout {2}1\.4\.0\.0: [\d.]+ crash devices, 10000 active devices/);
    expect(stdout).toMatch(/fallback 1\.3\.0\.0: [\d.]+ crash devices, 40000 active devices/);
    expect(stdout).toMatch(/crash rate ratio [\d.]+ \(rollout \/ fallback\)/);
    expect(stdout).not.toContain(tenant.clientSecret);
    const store = simulator.control.requests.filter((request) => request.kind === 'store');
    expect(store.every((request) => request.method === 'GET')).toBe(true);
  });

  it('--app --json: the figures for machines; a spike on the rolled-out package shows in the ratio', async () => {
    const { simulator, env } = await startCliStore();
    simulator.control.startCrashSpike({
      applicationId: SAMPLE_APP_ID,
      packageVersion: '1.4.0.0',
      crashDevicesPerHour: 30,
    });

    const { code, stdout } = await runCliCaptured(['health', '--app', SAMPLE_APP_ID, '--json'], env);

    expect(code).toBe(0);
    const json = JSON.parse(stdout);
    // The main rollout, then the package flight the app watches (its flights: "all").
    expect(json.apps).toHaveLength(2);
    expect(json.apps[1]).toMatchObject({
      applicationId: SAMPLE_APP_ID,
      flightId: SAMPLE_FLIGHT_ID,
      state: 'assessed',
      rolloutPercentage: 50,
      rollout: { versions: ['1.5.0.0'] },
      fallback: { versions: ['1.4.0.0'] },
    });
    expect(json.apps[0]).toMatchObject({
      applicationId: SAMPLE_APP_ID,
      state: 'assessed',
      verdict: 'sufficient',
      rolloutPercentage: 20,
      rollout: { versions: ['1.4.0.0'] },
      fallback: { versions: ['1.3.0.0'] },
    });
    expect(json.apps[0].ratio).toBeGreaterThan(3);
  });

  it('says when there is too little data, and why', async () => {
    const { env } = await startCliStore((state) => {
      for (const app of state.apps) app.health = [];
    });

    const { code, stdout } = await runCliCaptured(['health'], env);

    expect(code).toBe(0);
    expect(stdout).toContain('insufficient data, no ratio: ');
    expect(stdout).toContain('the Store returned no crash rows');
  });

  it('fails (exit 1) when the Store cannot be read for an app', async () => {
    const { simulator, env } = await startCliStore();
    simulator.control.failNext({ status: 403, count: 5, match: { path: '/analytics/' } });

    const { code, stdout } = await runCliCaptured(['health'], env);

    expect(code).toBe(1);
    expect(stdout).toContain('could not be read: ');
  });

  it('refuses a bad window as a usage error', async () => {
    const { env } = await startCliStore();
    const { code, stderr } = await runCliCaptured(['health', '--window-hours', '100'], env);
    expect(code).toBe(2);
    expect(stderr).toContain('--window-hours must be a whole number from 1 to 72');
  });
});
