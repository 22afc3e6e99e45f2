import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  app,
  flight,
  publishedSubmission,
  SAMPLE_APP_ID,
  SAMPLE_FALLBACK_SUBMISSION_ID,
  SAMPLE_FLIGHT_ID,
  SAMPLE_PUBLISHED_SUBMISSION_ID,
  sampleState,
  stateWith,
  submission,
} from '../../../tools/store-simulator/sample-state.ts';
import { callStore, getToken, parseBody, startSimulator } from './support.ts';

const appPath = `applications/${SAMPLE_APP_ID}`;
const livePath = `${appPath}/submissions/${SAMPLE_PUBLISHED_SUBMISSION_ID}`;

/** The sample app without its pending submission, so only the rollout decides. */
function rollingAppState() {
  return stateWith(
    app(SAMPLE_APP_ID, [
      { ...publishedSubmission(SAMPLE_PUBLISHED_SUBMISSION_ID, 20), packageVersion: '1.4.0.0' },
      submission(SAMPLE_FALLBACK_SUBMISSION_ID, 'Published'),
    ]),
  );
}

const createdSchema = z.object({
  id: z.string().regex(/^[0-9]+$/),
  status: z.string(),
  applicationPackages: z.array(z.object({ version: z.string() })),
  packageDeliveryOptions: z.object({
    packageRollout: z.object({ packageRolloutStatus: z.string(), isPackageRollout: z.boolean() }),
  }),
});

describe('Store simulator: creating a submission', () => {
  it('answers 409 while a rollout of the main line is in progress, and changes nothing', async () => {
    const simulator = await startSimulator({ state: rollingAppState() });
    const response = await callStore(simulator, 'POST', `${appPath}/submissions`, await getToken(simulator));

    expect(response.status).toBe(409);
    expect(response.body).toMatchObject({
      code: 'InvalidState',
      message: expect.stringContaining('in progress'),
    });
    expect(simulator.control.snapshot()).toEqual(rollingAppState());
  });

  it('after a halt, clones the halted submission as PendingCommit and makes it the pending submission', async () => {
    const simulator = await startSimulator({ state: rollingAppState() });
    const token = await getToken(simulator);
    expect((await callStore(simulator, 'POST', `${livePath}/haltpackagerollout`, token)).status).toBe(200);

    const response = await callStore(simulator, 'POST', `${appPath}/submissions`, token);

    expect(response.status).toBe(200);
    const created = parseBody(response, createdSchema);
    expect(created.status).toBe('PendingCommit');
    expect(created.id).not.toBe(SAMPLE_PUBLISHED_SUBMISSION_ID);
    expect(created.applicationPackages[0]?.version).toBe('1.4.0.0');
    expect(created.packageDeliveryOptions.packageRollout).toMatchObject({
      isPackageRollout: true,
      packageRolloutStatus: 'PackageRolloutNotStarted',
    });
    const application = await callStore(simulator, 'GET', appPath, token);
    expect(application.body).toMatchObject({
      lastPublishedApplicationSubmission: { id: SAMPLE_PUBLISHED_SUBMISSION_ID },
      pendingApplicationSubmission: { id: created.id },
    });
    const read = await callStore(simulator, 'GET', `${appPath}/submissions/${created.id}/status`, token);
    expect(read.body).toMatchObject({ status: 'PendingCommit' });
  });

  it('is allowed after a finalize too', async () => {
    const simulator = await startSimulator({ state: rollingAppState() });
    const token = await getToken(simulator);
    await callStore(simulator, 'POST', `${livePath}/finalizepackagerollout`, token);
    expect((await callStore(simulator, 'POST', `${appPath}/submissions`, token)).status).toBe(200);
  });

  it('answers 409 when the app already has a pending submission', async () => {
    const simulator = await startSimulator({ state: sampleState() });
    const token = await getToken(simulator);
    await callStore(simulator, 'POST', `${livePath}/haltpackagerollout`, token);

    const response = await callStore(simulator, 'POST', `${appPath}/submissions`, token);

    expect(response.status).toBe(409);
    expect(response.body).toMatchObject({
      code: 'InvalidState',
      message: expect.stringContaining('in-progress submission'),
    });
  });

  it('is not blocked by an in-progress flight rollout', async () => {
    const state = stateWith(
      app(SAMPLE_APP_ID, [submission(SAMPLE_PUBLISHED_SUBMISSION_ID, 'Published')], {
        flights: [flight(SAMPLE_FLIGHT_ID, 'Insiders', [publishedSubmission('1152921504621243710', 50)])],
      }),
    );
    const simulator = await startSimulator({ state });
    const response = await callStore(simulator, 'POST', `${appPath}/submissions`, await getToken(simulator));
    expect(response.status).toBe(200);
  });

  it('answers 409 when there is no published submission to clone, and 404 for an unknown app', async () => {
    const simulator = await startSimulator({ state: stateWith(app('9NBLGGH00004', [])) });
    const token = await getToken(simulator);
    expect((await callStore(simulator, 'POST', 'applications/9NBLGGH00004/submissions', token)).status).toBe(
      409,
    );
    expect((await callStore(simulator, 'POST', 'applications/9ZZZZZZZZZZZ/submissions', token)).status).toBe(
      404,
    );
  });
});
