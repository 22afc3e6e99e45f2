import { describe, expect, it } from 'vitest';
import {
  app,
  publishedSubmission,
  SAMPLE_APP_ID,
  SAMPLE_FALLBACK_SUBMISSION_ID,
  SAMPLE_FLIGHT_ID,
  SAMPLE_FLIGHT_SUBMISSION_ID,
  SAMPLE_PENDING_SUBMISSION_ID,
  SAMPLE_PUBLISHED_SUBMISSION_ID,
  SAMPLE_QUIET_APP_ID,
  SAMPLE_QUIET_SUBMISSION_ID,
  SAMPLE_TENANT,
  sampleState,
  stateWith,
  submission,
} from '../../../tools/store-simulator/sample-state.ts';
import type { SimulatorState } from '../../../tools/store-simulator/types.ts';
import { callStore, getToken, startSimulator } from './support.ts';

const appPath = `applications/${SAMPLE_APP_ID}`;
const livePath = `${appPath}/submissions/${SAMPLE_PUBLISHED_SUBMISSION_ID}`;
const pendingPath = `${appPath}/submissions/${SAMPLE_PENDING_SUBMISSION_ID}`;

const inProgress = {
  isPackageRollout: true,
  packageRolloutPercentage: 20,
  packageRolloutStatus: 'PackageRolloutInProgress',
  fallbackSubmissionId: SAMPLE_FALLBACK_SUBMISSION_ID,
};
const stopped = { ...inProgress, packageRolloutPercentage: 0, packageRolloutStatus: 'PackageRolloutStopped' };
const complete = {
  ...inProgress,
  packageRolloutPercentage: 100,
  packageRolloutStatus: 'PackageRolloutComplete',
};

async function startWithToken(state: SimulatorState = sampleState()) {
  const simulator = await startSimulator({ state });
  return { simulator, token: await getToken(simulator) };
}

describe('Store simulator: reading an app', () => {
  it('serves the application with both submission references', async () => {
    const { simulator, token } = await startWithToken();
    const response = await callStore(simulator, 'GET', appPath, token);

    expect(response.status).toBe(200);
    expect(response.headers.get('ms-correlationid')).toMatch(/^[0-9a-f-]{36}$/);
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    expect(response.body).toMatchObject({
      id: SAMPLE_APP_ID,
      primaryName: 'Contoso Photos',
      packageFamilyName: expect.any(String),
      packageIdentityName: expect.any(String),
      publisherName: expect.any(String),
      firstPublishedDate: expect.any(String),
      hasAdvancedListingPermission: false,
      lastPublishedApplicationSubmission: {
        id: SAMPLE_PUBLISHED_SUBMISSION_ID,
        resourceLocation: `applications/${SAMPLE_APP_ID}/submissions/${SAMPLE_PUBLISHED_SUBMISSION_ID}`,
      },
      pendingApplicationSubmission: {
        id: SAMPLE_PENDING_SUBMISSION_ID,
        resourceLocation: `applications/${SAMPLE_APP_ID}/submissions/${SAMPLE_PENDING_SUBMISSION_ID}`,
      },
    });
  });

  it('omits the pending reference when the app has none', async () => {
    const { simulator, token } = await startWithToken();
    const response = await callStore(simulator, 'GET', `applications/${SAMPLE_QUIET_APP_ID}`, token);
    expect(response.status).toBe(200);
    expect(response.body).not.toHaveProperty('pendingApplicationSubmission');
    expect(response.body).toMatchObject({
      lastPublishedApplicationSubmission: { id: SAMPLE_QUIET_SUBMISSION_ID },
    });
  });

  it('serves the submission resource with its status and package rollout', async () => {
    const { simulator, token } = await startWithToken();
    const response = await callStore(simulator, 'GET', livePath, token);
    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({
      id: SAMPLE_PUBLISHED_SUBMISSION_ID,
      status: 'Published',
      statusDetails: { errors: [], warnings: [], certificationReports: [] },
      applicationPackages: [{ version: '1.4.0.0' }],
      packageDeliveryOptions: {
        packageRollout: inProgress,
        isMandatoryUpdate: false,
        mandatoryUpdateEffectiveDate: '1601-01-01T00:00:00.0000000Z',
      },
      targetPublishMode: 'Immediate',
      isSeekEnabled: false,
    });
  });

  it('serves the submission status', async () => {
    const { simulator, token } = await startWithToken();
    const response = await callStore(simulator, 'GET', `${pendingPath}/status`, token);
    expect(response.status).toBe(200);
    expect(response.body).toEqual({
      status: 'Certification',
      statusDetails: { errors: [], warnings: [], certificationReports: [] },
    });
  });

  it('answers 404 ResourceNotFound for an unknown app or submission', async () => {
    const { simulator, token } = await startWithToken();
    const unknownApp = await callStore(
      simulator,
      'GET',
      'applications/9ZZZZZZZZZZZ/submissions/1/packagerollout',
      token,
    );
    const unknownSubmission = await callStore(
      simulator,
      'GET',
      `${appPath}/submissions/42/packagerollout`,
      token,
    );
    const unknownHalt = await callStore(
      simulator,
      'POST',
      `${appPath}/submissions/42/haltpackagerollout`,
      token,
    );

    for (const response of [unknownApp, unknownSubmission, unknownHalt]) {
      expect(response.status).toBe(404);
      expect(response.body).toMatchObject({ code: 'ResourceNotFound', message: expect.any(String) });
      expect(response.headers.get('ms-correlationid')).toMatch(/^[0-9a-f-]{36}$/);
    }
  });

  it('answers 404 to a route that does not exist, and to the wrong method', async () => {
    const { simulator, token } = await startWithToken();
    expect((await callStore(simulator, 'GET', `${appPath}/nonsense`, token)).status).toBe(404);
    expect((await callStore(simulator, 'GET', `${livePath}/haltpackagerollout`, token)).status).toBe(404);
    expect((await callStore(simulator, 'POST', `${livePath}/packagerollout`, token)).status).toBe(404);
    expect(simulator.control.rollout(SAMPLE_APP_ID, SAMPLE_PUBLISHED_SUBMISSION_ID)).toEqual(inProgress);
  });

  it("hides another tenant's app and submissions as if absent", async () => {
    const otherTenant = {
      tenantId: '00000000-0000-4000-8000-000000000002',
      clientId: '00000000-0000-4000-8000-0000000000c2',
      clientSecret: 'sim-secret-other-tenant',
    };
    const state = sampleState();
    state.tenants.push(otherTenant);
    state.apps.push(
      app('9OTHERTENANT', [publishedSubmission('1152921504629999999', 10)], {
        tenantId: otherTenant.tenantId,
      }),
    );
    const simulator = await startSimulator({ state });
    const token = await getToken(simulator);

    const foreignApp = await callStore(simulator, 'GET', 'applications/9OTHERTENANT', token);
    const foreignSubmission = await callStore(
      simulator,
      'POST',
      `${appPath}/submissions/1152921504629999999/haltpackagerollout`,
      token,
    );
    const ownerView = await callStore(
      simulator,
      'GET',
      'applications/9OTHERTENANT',
      await getToken(simulator, otherTenant),
    );
    const ownerCannotSeeSample = await callStore(
      simulator,
      'GET',
      appPath,
      await getToken(simulator, otherTenant),
    );

    expect(foreignApp.status).toBe(404);
    expect(foreignSubmission.status).toBe(404);
    expect(ownerView.status).toBe(200);
    expect(ownerCannotSeeSample.status).toBe(404);
  });

  it('answers 409 InvalidState to every call about an app with unsupported features', async () => {
    const state = stateWith(
      app(SAMPLE_APP_ID, [publishedSubmission(SAMPLE_PUBLISHED_SUBMISSION_ID, 20)], {
        unsupportedFeature: true,
      }),
    );
    const { simulator, token } = await startWithToken(state);
    const calls: Array<['GET' | 'POST', string]> = [
      ['GET', appPath],
      ['GET', livePath],
      ['GET', `${livePath}/status`],
      ['GET', `${livePath}/packagerollout`],
      ['POST', `${livePath}/haltpackagerollout`],
      ['POST', `${livePath}/finalizepackagerollout`],
      ['POST', `${livePath}/updatepackagerolloutpercentage?percentage=30`],
      ['GET', `${appPath}/listflights`],
      ['GET', `${appPath}/flights/${SAMPLE_FLIGHT_ID}`],
      ['POST', `${appPath}/submissions`],
    ];

    for (const [method, path] of calls) {
      const response = await callStore(simulator, method, path, token);
      expect(response.status, `${method} ${path}`).toBe(409);
      expect(response.body).toEqual({
        code: 'InvalidState',
        message: 'This application uses features that are not supported by the submission API.',
        target: 'application',
      });
    }
    expect(
      simulator.control.rollout(SAMPLE_APP_ID, SAMPLE_PUBLISHED_SUBMISSION_ID).packageRolloutStatus,
    ).toBe('PackageRolloutInProgress');
  });
});

describe('Store simulator: app rollout state machine', () => {
  it('reports the in-progress rollout of the last published submission', async () => {
    const { simulator, token } = await startWithToken();
    const response = await callStore(simulator, 'GET', `${livePath}/packagerollout`, token);
    expect(response.status).toBe(200);
    expect(response.body).toEqual(inProgress);
  });

  it('halts an in-progress rollout: Stopped at 0 with the fallback unchanged', async () => {
    const { simulator, token } = await startWithToken();
    const response = await callStore(simulator, 'POST', `${livePath}/haltpackagerollout`, token);

    expect(response.status).toBe(200);
    expect(response.body).toEqual(stopped);
    expect(simulator.control.rollout(SAMPLE_APP_ID, SAMPLE_PUBLISHED_SUBMISSION_ID)).toEqual(stopped);
    expect((await callStore(simulator, 'GET', `${livePath}/packagerollout`, token)).body).toEqual(stopped);
    expect(simulator.control.effectiveHalts).toBe(1);
  });

  it('keeps the submission Published after a halt', async () => {
    const { simulator, token } = await startWithToken();
    await callStore(simulator, 'POST', `${livePath}/haltpackagerollout`, token);
    expect((await callStore(simulator, 'GET', `${livePath}/status`, token)).body).toMatchObject({
      status: 'Published',
    });
  });

  it('finalizes an in-progress rollout: Complete at 100', async () => {
    const { simulator, token } = await startWithToken();
    const response = await callStore(simulator, 'POST', `${livePath}/finalizepackagerollout`, token);
    expect(response.status).toBe(200);
    expect(response.body).toEqual(complete);
    expect(simulator.control.effectiveHalts).toBe(0);
  });

  it('updates the percentage and stays InProgress, even at 100', async () => {
    const { simulator, token } = await startWithToken();
    const partial = await callStore(
      simulator,
      'POST',
      `${livePath}/updatepackagerolloutpercentage?percentage=37.5`,
      token,
    );
    const full = await callStore(
      simulator,
      'POST',
      `${livePath}/updatepackagerolloutpercentage?percentage=100`,
      token,
    );
    const afterwards = await callStore(simulator, 'POST', `${livePath}/haltpackagerollout`, token);

    expect(partial.status).toBe(200);
    expect(partial.body).toEqual({ ...inProgress, packageRolloutPercentage: 37.5 });
    expect(full.body).toEqual({ ...inProgress, packageRolloutPercentage: 100 });
    expect(afterwards.status).toBe(200);
  });

  it.each([
    '',
    'percentage=',
    'percentage=-1',
    'percentage=100.5',
    'percentage=abc',
    'percentage=1e2',
    'percentage=NaN',
  ])('answers 400 to an update with query "%s" and changes nothing', async (query) => {
    const { simulator, token } = await startWithToken();
    const response = await callStore(
      simulator,
      'POST',
      `${livePath}/updatepackagerolloutpercentage?${query}`,
      token,
    );
    expect(response.status).toBe(400);
    expect(response.body).toMatchObject({ code: 'InvalidParameterValue', target: 'percentage' });
    expect(simulator.control.rollout(SAMPLE_APP_ID, SAMPLE_PUBLISHED_SUBMISSION_ID)).toEqual(inProgress);
  });

  it.each([
    ['haltpackagerollout'],
    ['finalizepackagerollout'],
    ['updatepackagerolloutpercentage?percentage=50'],
  ])('answers 409 to %s on the pending submission in Certification (the trap)', async (action) => {
    const { simulator, token } = await startWithToken();
    const response = await callStore(simulator, 'POST', `${pendingPath}/${action}`, token);
    expect(response.status).toBe(409);
    expect(response.body).toMatchObject({ code: 'InvalidState', target: 'packageRollout' });
    expect(simulator.control.snapshot()).toEqual(sampleState());
  });

  it.each([
    ['halted', 'haltpackagerollout', stopped],
    ['finalized', 'finalizepackagerollout', complete],
  ])(
    'answers 409 to every rollout POST once the rollout is %s, and GET still works',
    async (_label, first, after) => {
      const { simulator, token } = await startWithToken();
      expect((await callStore(simulator, 'POST', `${livePath}/${first}`, token)).status).toBe(200);

      for (const action of [
        'haltpackagerollout',
        'finalizepackagerollout',
        'updatepackagerolloutpercentage?percentage=50',
      ]) {
        const response = await callStore(simulator, 'POST', `${livePath}/${action}`, token);
        expect(response.status, action).toBe(409);
        expect(response.body).toMatchObject({ code: 'InvalidState', target: 'packageRollout' });
      }
      const read = await callStore(simulator, 'GET', `${livePath}/packagerollout`, token);
      expect(read.status).toBe(200);
      expect(read.body).toEqual(after);
      expect(simulator.control.effectiveHalts).toBe(first === 'haltpackagerollout' ? 1 : 0);
    },
  );

  it('answers 409 to a halt of a published submission whose rollout never started', async () => {
    const { simulator, token } = await startWithToken();
    const path = `applications/${SAMPLE_QUIET_APP_ID}/submissions/${SAMPLE_QUIET_SUBMISSION_ID}`;
    const response = await callStore(simulator, 'POST', `${path}/haltpackagerollout`, token);
    expect(response.status).toBe(409);
    expect(response.body).toMatchObject({
      code: 'InvalidState',
      message: expect.stringContaining('PackageRolloutNotStarted'),
    });
  });

  it.each(['Certification', 'PendingPublication', 'Publishing', 'Release', 'CommitFailed'] as const)(
    'answers 409 to a halt of a %s submission even if its rollout reads InProgress',
    async (status) => {
      const odd = { ...publishedSubmission('1152921504621300000', 30), status };
      const { simulator, token } = await startWithToken(stateWith(app('9NBLGGH00000', [odd])));
      const response = await callStore(
        simulator,
        'POST',
        'applications/9NBLGGH00000/submissions/1152921504621300000/haltpackagerollout',
        token,
      );
      expect(response.status).toBe(409);
      expect(response.body).toMatchObject({ code: 'InvalidState', message: expect.stringContaining(status) });
    },
  );

  it("answers 409 to a rollout call on another app's submission or a flight's submission", async () => {
    const { simulator, token } = await startWithToken();
    const otherApps = await callStore(
      simulator,
      'POST',
      `${appPath}/submissions/${SAMPLE_QUIET_SUBMISSION_ID}/haltpackagerollout`,
      token,
    );
    const flights = await callStore(
      simulator,
      'POST',
      `${appPath}/submissions/${SAMPLE_FLIGHT_SUBMISSION_ID}/haltpackagerollout`,
      token,
    );
    const read = await callStore(
      simulator,
      'GET',
      `${appPath}/submissions/${SAMPLE_QUIET_SUBMISSION_ID}/packagerollout`,
      token,
    );

    for (const response of [otherApps, flights, read]) {
      expect(response.status).toBe(409);
      expect(response.body).toMatchObject({ code: 'InvalidState', target: 'submission' });
    }
    expect(simulator.control.snapshot()).toEqual(sampleState());
  });

  it('gives submissions without gradual rollout the documented "not enabled" object', async () => {
    const { simulator, token } = await startWithToken(
      stateWith(app('9NBLGGH00001', [submission('7', 'Published')])),
    );
    const response = await callStore(
      simulator,
      'GET',
      'applications/9NBLGGH00001/submissions/7/packagerollout',
      token,
    );
    expect(response.body).toEqual({
      isPackageRollout: false,
      packageRolloutPercentage: 0,
      packageRolloutStatus: 'PackageRolloutNotStarted',
      fallbackSubmissionId: '0',
    });
  });
});

describe('Store simulator: sample state', () => {
  it('returns a fresh state each call, so one test cannot leak changes into the next', () => {
    const first = sampleState();
    const firstApp = first.apps[0];
    if (firstApp === undefined) throw new Error('the sample state has no app');
    firstApp.submissions.length = 0;
    first.tenants.length = 0;

    const second = sampleState();
    expect(second.tenants).toEqual([SAMPLE_TENANT]);
    expect(second.apps[0]?.submissions.map((candidate) => candidate.id)).toEqual([
      SAMPLE_PUBLISHED_SUBMISSION_ID,
      SAMPLE_PENDING_SUBMISSION_ID,
      SAMPLE_FALLBACK_SUBMISSION_ID,
    ]);
  });
});
