import { describe, expect, it } from 'vitest';
import {
  SAMPLE_APP_ID,
  SAMPLE_FALLBACK_SUBMISSION_ID,
  SAMPLE_PENDING_SUBMISSION_ID,
  SAMPLE_PUBLISHED_SUBMISSION_ID,
} from '../../../tools/store-simulator/sample-state.ts';
import { callStore, getToken, startSimulator } from './support.ts';

const submissionPath = `applications/${SAMPLE_APP_ID}/submissions/${SAMPLE_PUBLISHED_SUBMISSION_ID}`;

describe('Store simulator: app rollout', () => {
  it('serves the application with both submission references', async () => {
    const simulator = await startSimulator();
    const response = await callStore(
      simulator,
      'GET',
      `applications/${SAMPLE_APP_ID}`,
      await getToken(simulator),
    );

    expect(response.status).toBe(200);
    expect(response.headers.get('ms-correlationid')).toMatch(/^[0-9a-f-]{36}$/);
    expect(response.body).toMatchObject({
      id: SAMPLE_APP_ID,
      primaryName: 'Contoso Photos',
      lastPublishedApplicationSubmission: {
        id: SAMPLE_PUBLISHED_SUBMISSION_ID,
        resourceLocation: `applications/${SAMPLE_APP_ID}/submissions/${SAMPLE_PUBLISHED_SUBMISSION_ID}`,
      },
      pendingApplicationSubmission: { id: SAMPLE_PENDING_SUBMISSION_ID },
    });
  });

  it('reports the in-progress rollout of the last published submission', async () => {
    const simulator = await startSimulator();
    const response = await callStore(
      simulator,
      'GET',
      `${submissionPath}/packagerollout`,
      await getToken(simulator),
    );
    expect(response.status).toBe(200);
    expect(response.body).toEqual({
      isPackageRollout: true,
      packageRolloutPercentage: 20,
      packageRolloutStatus: 'PackageRolloutInProgress',
      fallbackSubmissionId: SAMPLE_FALLBACK_SUBMISSION_ID,
    });
  });

  it('halts an in-progress rollout: Stopped at 0 with the fallback unchanged', async () => {
    const simulator = await startSimulator();
    const response = await callStore(
      simulator,
      'POST',
      `${submissionPath}/haltpackagerollout`,
      await getToken(simulator),
    );

    expect(response.status).toBe(200);
    const stopped = {
      isPackageRollout: true,
      packageRolloutPercentage: 0,
      packageRolloutStatus: 'PackageRolloutStopped',
      fallbackSubmissionId: SAMPLE_FALLBACK_SUBMISSION_ID,
    };
    expect(response.body).toEqual(stopped);
    expect(simulator.control.rollout(SAMPLE_APP_ID, SAMPLE_PUBLISHED_SUBMISSION_ID)).toEqual(stopped);
    expect(simulator.control.effectiveHalts).toBe(1);
  });
});
