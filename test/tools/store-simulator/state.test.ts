import { describe, expect, it } from 'vitest';
import { BadInputError } from '../../../functions/commons/errors.ts';
import {
  app,
  publishedSubmission,
  SAMPLE_APP_ID,
  SAMPLE_PUBLISHED_SUBMISSION_ID,
  sampleState,
  stateWith,
} from '../../../tools/store-simulator/sample-state.ts';
import { callStore, getToken, startSimulator } from './support.ts';

describe('Store simulator: state ownership', () => {
  it("never mutates the caller's state object", async () => {
    const state = stateWith(app(SAMPLE_APP_ID, [publishedSubmission(SAMPLE_PUBLISHED_SUBMISSION_ID, 20)]));
    const before = structuredClone(state);
    const simulator = await startSimulator({ state });
    const token = await getToken(simulator);
    const live = `applications/${SAMPLE_APP_ID}/submissions/${SAMPLE_PUBLISHED_SUBMISSION_ID}`;

    expect(
      (await callStore(simulator, 'POST', `${live}/updatepackagerolloutpercentage?percentage=60`, token))
        .status,
    ).toBe(200);
    expect((await callStore(simulator, 'POST', `${live}/haltpackagerollout`, token)).status).toBe(200);
    expect(
      (await callStore(simulator, 'POST', `applications/${SAMPLE_APP_ID}/submissions`, token)).status,
    ).toBe(200);

    expect(state).toEqual(before);
    expect(simulator.control.snapshot()).not.toEqual(before);
  });

  it('hands out copies: changing a snapshot or a rollout changes nothing in the simulator', async () => {
    const simulator = await startSimulator();
    const snapshot = simulator.control.snapshot();
    snapshot.apps.length = 0;
    const rollout = simulator.control.rollout(SAMPLE_APP_ID, SAMPLE_PUBLISHED_SUBMISSION_ID);
    Object.assign(rollout, { packageRolloutStatus: 'PackageRolloutStopped' });

    expect(simulator.control.snapshot()).toEqual(sampleState());
  });

  it('throws when asked for the rollout of a submission that does not exist', async () => {
    const simulator = await startSimulator();
    expect(() => simulator.control.rollout(SAMPLE_APP_ID, '42')).toThrow(BadInputError);
    expect(() => simulator.control.rollout('9ZZZZZZZZZZZ', SAMPLE_PUBLISHED_SUBMISSION_ID)).toThrow(
      /No submission/,
    );
  });

  it('serves its URLs on loopback', async () => {
    const simulator = await startSimulator();
    expect(simulator.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(simulator.storeBaseUrl).toBe(`${simulator.url}/v1.0/my/`);
    expect(simulator.authority).toBe(simulator.url);
  });
});
