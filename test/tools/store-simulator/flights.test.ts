import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  app,
  flight,
  publishedSubmission,
  SAMPLE_APP_ID,
  SAMPLE_FLIGHT_FALLBACK_SUBMISSION_ID,
  SAMPLE_FLIGHT_ID,
  SAMPLE_FLIGHT_SUBMISSION_ID,
  SAMPLE_PUBLISHED_SUBMISSION_ID,
  SAMPLE_QUIET_APP_ID,
  sampleState,
  stateWith,
} from '../../../tools/store-simulator/sample-state.ts';
import { callStore, getToken, parseBody, startSimulator } from './support.ts';

const flightPageSchema = z.object({
  value: z.array(z.object({ flightId: z.string() })),
  '@nextLink': z.string().optional(),
  totalCount: z.number(),
});

const flightPath = `applications/${SAMPLE_APP_ID}/flights/${SAMPLE_FLIGHT_ID}`;
const flightSubmissionPath = `${flightPath}/submissions/${SAMPLE_FLIGHT_SUBMISSION_ID}`;
const flightInProgress = {
  isPackageRollout: true,
  packageRolloutPercentage: 50,
  packageRolloutStatus: 'PackageRolloutInProgress',
  fallbackSubmissionId: SAMPLE_FLIGHT_FALLBACK_SUBMISSION_ID,
};

describe('Store simulator: package flights', () => {
  it('lists the flights of an app', async () => {
    const simulator = await startSimulator();
    const response = await callStore(
      simulator,
      'GET',
      `applications/${SAMPLE_APP_ID}/listflights`,
      await getToken(simulator),
    );
    expect(response.status).toBe(200);
    expect(response.body).toEqual({
      value: [
        {
          flightId: SAMPLE_FLIGHT_ID,
          friendlyName: 'Insiders',
          lastPublishedFlightSubmission: {
            id: SAMPLE_FLIGHT_SUBMISSION_ID,
            // As documented: relative to the app, without the applications/{app}/ prefix (get-a-flight.md).
            resourceLocation: `flights/${SAMPLE_FLIGHT_ID}/submissions/${SAMPLE_FLIGHT_SUBMISSION_ID}`,
          },
          groupIds: ['0'],
          rankHigherThan: 'Non-flighted submission',
        },
      ],
      totalCount: 1,
    });
  });

  it('pages through flights with top/skip and the documented @nextLink', async () => {
    const ids = [
      '11111111-1111-4111-8111-111111111111',
      '22222222-2222-4222-8222-222222222222',
      '33333333-3333-4333-8333-333333333333',
    ];
    const state = stateWith(
      app('9NBLGGH00002', [publishedSubmission('1', 10)], {
        flights: ids.map((id, index) => flight(id, `Ring ${index}`, [])),
      }),
    );
    const simulator = await startSimulator({ state });
    const token = await getToken(simulator);

    const first = await callStore(simulator, 'GET', 'applications/9NBLGGH00002/listflights?top=2', token);
    expect(first.body).toMatchObject({
      '@nextLink': 'applications/9NBLGGH00002/listflights/?skip=2&top=2',
      totalCount: 3,
    });
    const firstPage = parseBody(first, flightPageSchema);
    const second = await callStore(simulator, 'GET', firstPage['@nextLink'] ?? 'missing', token);

    expect(second.status).toBe(200);
    expect(second.body).not.toHaveProperty('@nextLink');
    const seen = [first, second].flatMap((page) =>
      Object(page.body).value.map((item: { flightId: string }) => item.flightId),
    );
    expect(seen).toEqual(ids);
  });

  it('answers 404 when the app has no flights', async () => {
    const simulator = await startSimulator();
    const response = await callStore(
      simulator,
      'GET',
      `applications/${SAMPLE_QUIET_APP_ID}/listflights`,
      await getToken(simulator),
    );
    expect(response.status).toBe(404);
    expect(response.body).toMatchObject({ code: 'ResourceNotFound' });
  });

  it('gets one flight, 404 for an unknown GUID, 400 for a malformed ID', async () => {
    const simulator = await startSimulator();
    const token = await getToken(simulator);

    const found = await callStore(simulator, 'GET', flightPath, token);
    const unknown = await callStore(
      simulator,
      'GET',
      `applications/${SAMPLE_APP_ID}/flights/99999999-9999-4999-8999-999999999999`,
      token,
    );
    const malformed = await callStore(
      simulator,
      'GET',
      `applications/${SAMPLE_APP_ID}/flights/not-a-guid`,
      token,
    );

    expect(found.status).toBe(200);
    expect(found.body).toMatchObject({ flightId: SAMPLE_FLIGHT_ID, friendlyName: 'Insiders' });
    expect(unknown.status).toBe(404);
    expect(malformed.status).toBe(400);
    expect(malformed.body).toMatchObject({ code: 'InvalidParameterValue' });
  });

  it('serves the flight submission resource and its status', async () => {
    const simulator = await startSimulator();
    const token = await getToken(simulator);
    const resource = await callStore(simulator, 'GET', flightSubmissionPath, token);
    const status = await callStore(simulator, 'GET', `${flightSubmissionPath}/status`, token);

    expect(resource.status).toBe(200);
    expect(resource.body).toMatchObject({
      id: SAMPLE_FLIGHT_SUBMISSION_ID,
      flightId: SAMPLE_FLIGHT_ID,
      status: 'Published',
      flightPackages: [{ version: '1.5.0.0' }],
      packageDeliveryOptions: { packageRollout: flightInProgress },
    });
    expect(status.body).toMatchObject({ status: 'Published' });
  });

  it("halts a flight's rollout without touching the app's main rollout", async () => {
    const simulator = await startSimulator();
    const token = await getToken(simulator);

    const halted = await callStore(simulator, 'POST', `${flightSubmissionPath}/haltpackagerollout`, token);
    const again = await callStore(simulator, 'POST', `${flightSubmissionPath}/haltpackagerollout`, token);

    expect(halted.status).toBe(200);
    expect(halted.body).toEqual({
      ...flightInProgress,
      packageRolloutPercentage: 0,
      packageRolloutStatus: 'PackageRolloutStopped',
    });
    expect(again.status).toBe(409);
    expect(
      simulator.control.rollout(SAMPLE_APP_ID, SAMPLE_FLIGHT_SUBMISSION_ID, SAMPLE_FLIGHT_ID)
        .packageRolloutStatus,
    ).toBe('PackageRolloutStopped');
    expect(
      simulator.control.rollout(SAMPLE_APP_ID, SAMPLE_PUBLISHED_SUBMISSION_ID).packageRolloutStatus,
    ).toBe('PackageRolloutInProgress');
    expect(simulator.control.effectiveHalts).toBe(1);
  });

  it('updates and finalizes a flight rollout', async () => {
    const simulator = await startSimulator();
    const token = await getToken(simulator);

    const updated = await callStore(
      simulator,
      'POST',
      `${flightSubmissionPath}/updatepackagerolloutpercentage?percentage=75`,
      token,
    );
    const finalized = await callStore(
      simulator,
      'POST',
      `${flightSubmissionPath}/finalizepackagerollout`,
      token,
    );
    const read = await callStore(simulator, 'GET', `${flightSubmissionPath}/packagerollout`, token);

    expect(updated.body).toEqual({ ...flightInProgress, packageRolloutPercentage: 75 });
    expect(finalized.body).toEqual({
      ...flightInProgress,
      packageRolloutPercentage: 100,
      packageRolloutStatus: 'PackageRolloutComplete',
    });
    expect(read.body).toEqual(finalized.body);
  });

  it('answers 409 when the submission belongs to the main line or another flight', async () => {
    const otherFlightId = '44444444-4444-4444-8444-444444444444';
    const state = sampleState();
    state.apps[0]?.flights?.push(
      flight(otherFlightId, 'Beta', [publishedSubmission('1152921504621243800', 5)]),
    );
    const simulator = await startSimulator({ state });
    const token = await getToken(simulator);

    const mainLine = await callStore(
      simulator,
      'GET',
      `${flightPath}/submissions/${SAMPLE_PUBLISHED_SUBMISSION_ID}/packagerollout`,
      token,
    );
    const otherFlight = await callStore(
      simulator,
      'POST',
      `${flightPath}/submissions/1152921504621243800/haltpackagerollout`,
      token,
    );

    for (const response of [mainLine, otherFlight]) {
      expect(response.status).toBe(409);
      expect(response.body).toMatchObject({
        code: 'InvalidState',
        message: expect.stringContaining('package flight'),
      });
    }
    expect(simulator.control.effectiveHalts).toBe(0);
  });

  it('answers 404 for an unknown flight or flight submission', async () => {
    const simulator = await startSimulator();
    const token = await getToken(simulator);
    const unknownFlight = await callStore(
      simulator,
      'POST',
      `applications/${SAMPLE_APP_ID}/flights/99999999-9999-4999-8999-999999999999/submissions/${SAMPLE_FLIGHT_SUBMISSION_ID}/haltpackagerollout`,
      token,
    );
    const unknownSubmission = await callStore(
      simulator,
      'GET',
      `${flightPath}/submissions/12345/packagerollout`,
      token,
    );

    expect(unknownFlight.status).toBe(404);
    expect(unknownSubmission.status).toBe(404);
    expect(unknownSubmission.body).toMatchObject({
      code: 'ResourceNotFound',
      message: expect.stringContaining('package flight submission'),
    });
  });

  it('answers 409 to a rollout POST on an unpublished flight submission', async () => {
    const state = stateWith(
      app('9NBLGGH00003', [publishedSubmission('1', 10)], {
        flights: [
          flight(SAMPLE_FLIGHT_ID, 'Insiders', [
            { ...publishedSubmission('2', 10), status: 'Certification' },
          ]),
        ],
      }),
    );
    const simulator = await startSimulator({ state });
    const response = await callStore(
      simulator,
      'POST',
      `applications/9NBLGGH00003/flights/${SAMPLE_FLIGHT_ID}/submissions/2/haltpackagerollout`,
      await getToken(simulator),
    );
    expect(response.status).toBe(409);
    expect(response.body).toMatchObject({ code: 'InvalidState', target: 'packageRollout' });
  });
});
