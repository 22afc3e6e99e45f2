/**
 * The Store health probe Lambda against the Store simulator and moto, statement by statement of the
 * contract (docs/store-health.md): figures per app as embedded metrics in the namespace
 * `StoreRolloutWatchdog/StoreHealth` with the dimension `ApplicationId` only; insufficient data
 * published as such and never as a ratio; nothing for an app without a live rollout; one app's error
 * never hiding the others'; a run with an error failing after publishing; read only; published
 * submissions read once per container; bad tuning named.
 */
import { afterEach, expect, it } from 'vitest';
import {
  app,
  publishedSubmission,
  SAMPLE_APP_ID,
  SAMPLE_QUIET_APP_ID,
  SAMPLE_TENANT,
  sampleState,
  stateWith,
  submission,
} from '../../../tools/store-simulator/sample-state.ts';
import { describeWithMoto, MOTO_SKIP_REASON } from '../../support/aws.ts';
import {
  figuresOf,
  readEmf,
  type StoreHealthHarness,
  type StoreHealthHarnessOptions,
  startStoreHealth,
} from './store-health-harness.ts';

const harnesses: StoreHealthHarness[] = [];
async function probe(options: StoreHealthHarnessOptions = {}): Promise<StoreHealthHarness> {
  const harness = await startStoreHealth(options);
  harnesses.push(harness);
  return harness;
}
afterEach(async () => {
  await Promise.all(harnesses.splice(0).map((harness) => harness.close()));
});

const BROKEN_APP_ID = 'CFQ7TTC0KHS0';

/** The sample state plus an app about which every Store call fails (409). */
function stateWithBrokenApp() {
  const state = sampleState();
  state.apps.push(
    app(BROKEN_APP_ID, [{ ...publishedSubmission('1152921504621243900', 10), packageVersion: '3.1.0.0' }], {
      unsupportedFeature: true,
    }),
  );
  return state;
}

describeWithMoto(`store-health handler${MOTO_SKIP_REASON}`, () => {
  it("publishes a healthy rollout's figures: rates, a ratio near 1, no insufficient data", async () => {
    const harness = await probe();

    const invocation = await harness.invoke();

    expect(invocation.error).toBeUndefined();
    const figures = figuresOf(invocation.logs, SAMPLE_APP_ID);
    expect(figures?.dimensions).toEqual(['ApplicationId']);
    expect(figures?.units).toEqual({
      RolloutCrashDevices: 'Count',
      FallbackCrashDevices: 'Count',
      RolloutCrashRate: 'Percent',
      FallbackCrashRate: 'Percent',
      CrashRateRatio: 'None',
      InsufficientData: 'Count',
    });
    expect(figures?.values.InsufficientData).toBe(0);
    expect(figures?.values.CrashRateRatio).toBeGreaterThan(0.6);
    expect(figures?.values.CrashRateRatio).toBeLessThan(1.6);
    expect(figures?.values.RolloutCrashDevices).toBeGreaterThan(5);
  });

  it('a crash spike on the rolled-out package shows as a high ratio', async () => {
    const harness = await probe();
    harness.simulator.control.startCrashSpike({
      applicationId: SAMPLE_APP_ID,
      packageVersion: '1.4.0.0',
      crashDevicesPerHour: 20,
    });

    const invocation = await harness.invoke();

    expect(figuresOf(invocation.logs, SAMPLE_APP_ID)?.values.CrashRateRatio).toBeGreaterThan(3);
  });

  it('too little data: InsufficientData 1 and never a ratio', async () => {
    const state = sampleState();
    const photos = state.apps.find((candidate) => candidate.id === SAMPLE_APP_ID);
    if (photos === undefined) throw new Error('no sample app');
    photos.health = [];
    const harness = await probe({ state });

    const invocation = await harness.invoke();

    expect(invocation.error).toBeUndefined();
    const figures = figuresOf(invocation.logs, SAMPLE_APP_ID);
    expect(figures?.values.InsufficientData).toBe(1);
    expect(figures?.values).not.toHaveProperty('CrashRateRatio');
    expect(invocation.logs.join('\n')).toContain('the Store returned no crash rows');
  });

  it('an app without a live rollout reads no analytics and gets no figures', async () => {
    const harness = await probe({ apps: [{ applicationId: SAMPLE_QUIET_APP_ID, name: 'Contoso Notes' }] });

    const invocation = await harness.invoke();

    expect(invocation.error).toBeUndefined();
    expect(figuresOf(invocation.logs, SAMPLE_QUIET_APP_ID)).toBeUndefined();
    expect(harness.simulator.control.requests.some((request) => request.path.includes('analytics'))).toBe(
      false,
    );
  });

  it("one app's error does not hide the others' figures; the run then fails", async () => {
    const harness = await probe({
      state: stateWithBrokenApp(),
      apps: [{ applicationId: BROKEN_APP_ID }, { applicationId: SAMPLE_APP_ID }],
    });

    const invocation = await harness.invoke();

    expect(invocation.error?.message).toContain(BROKEN_APP_ID);
    expect(invocation.error).toMatchObject({ code: 'STORE_HEALTH_RUN_FAILED' });
    expect(figuresOf(invocation.logs, SAMPLE_APP_ID)?.values.CrashRateRatio).toBeGreaterThan(0);
    expect(figuresOf(invocation.logs, BROKEN_APP_ID)).toBeUndefined();
    const failures = readEmf(invocation.logs).find((document) => 'StoreHealthFailures' in document.values);
    expect(failures?.values.StoreHealthFailures).toBe(1);
  });

  it('is read only: GETs only, never a halt', async () => {
    const harness = await probe();
    harness.simulator.control.startCrashSpike({
      applicationId: SAMPLE_APP_ID,
      packageVersion: '1.4.0.0',
      crashDevicesPerHour: 50,
    });

    await harness.invoke();

    const store = harness.simulator.control.requests.filter((request) => request.kind === 'store');
    expect(store.length).toBeGreaterThan(0);
    expect(store.every((request) => request.method === 'GET')).toBe(true);
    expect(harness.simulator.control.effectiveHalts).toBe(0);
  });

  it('reads the two published submissions once per container', async () => {
    const harness = await probe();

    await harness.invoke();
    await harness.invoke();

    const submissionReads = harness.simulator.control.requests.filter((request) =>
      /\/submissions\/\d+$/.test(request.path),
    );
    expect(submissionReads).toHaveLength(2);
  });

  it('a rollout whose submissions share the package version has no distinct rollout cohort: insufficient', async () => {
    const harness = await probe({
      state: stateWith(
        app(
          SAMPLE_APP_ID,
          [
            { ...publishedSubmission('1152921504621243680', 20), packageVersion: '1.3.0.0' },
            { ...submission('1152921504621086517', 'Published'), packageVersion: '1.3.0.0' },
          ],
          { health: [{ packageVersion: '1.3.0.0', crashDevicesPerHour: 8, dailyActiveDevices: 40_000 }] },
        ),
      ),
    });

    const invocation = await harness.invoke();

    expect(figuresOf(invocation.logs, SAMPLE_APP_ID)?.values.InsufficientData).toBe(1);
  });

  it('a bad tuning variable fails every invocation with a message naming it', async () => {
    const harness = await probe({
      env: { STORE_HEALTH_WINDOW_HOURS: '100', STORE_HEALTH_APP_SETTINGS: '{"x":1}' },
    });

    const invocation = await harness.invoke();

    expect(invocation.error?.message).toContain('STORE_HEALTH_WINDOW_HOURS must be an integer from 1 to 72');
    expect(invocation.error?.message).toContain('STORE_HEALTH_APP_SETTINGS');
    expect(harness.simulator.control.requests).toHaveLength(0);
  });

  it('per-app settings override the defaults', async () => {
    const harness = await probe({
      env: { STORE_HEALTH_APP_SETTINGS: JSON.stringify({ [SAMPLE_APP_ID]: { minCrashDevices: 1_000 } }) },
    });

    const invocation = await harness.invoke();

    expect(figuresOf(invocation.logs, SAMPLE_APP_ID)?.values.InsufficientData).toBe(1);
  });
});

describeWithMoto(`store-health handler with federated credentials${MOTO_SKIP_REASON}`, () => {
  it('signs in with its role’s web identity token (no key) and publishes the figures', async () => {
    const harness = await probe({ federated: true });

    const invocation = await harness.invoke();

    expect(invocation.error).toBeUndefined();
    expect(figuresOf(invocation.logs, SAMPLE_APP_ID)?.values.InsufficientData).toBe(0);
    const kinds = harness.simulator.control.requests.map((request) => `${request.kind} ${request.path}`);
    expect(kinds.slice(0, 2)).toEqual(['sts /', `token /${SAMPLE_TENANT.tenantId}/oauth2/v2.0/token`]);
  });
});
