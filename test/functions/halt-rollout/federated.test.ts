/**
 * The halt-rollout function with federated credentials (no key in the secret) against the stand-ins:
 * its STS client reaches the simulator's STS stand-in through `AWS_ENDPOINT_URL_STS`, and the halt goes
 * through with the token the v2 endpoint exchanged for the function's web identity token.
 */
import { afterEach, expect, it } from 'vitest';
import { start } from '../../../tools/store-simulator/index.ts';
import {
  SAMPLE_APP_ID,
  SAMPLE_PUBLISHED_SUBMISSION_ID,
  SAMPLE_TENANT,
  sampleState,
} from '../../../tools/store-simulator/sample-state.ts';
import type { RunningSimulator } from '../../../tools/store-simulator/types.ts';
import { loadEventFixture } from '../../fixtures/events/load.ts';
import { describeWithMoto, MOTO_SKIP_REASON } from '../../support/aws.ts';
import { startWatchdog, type WatchdogHarness } from '../../support/watchdog-harness.ts';

const ROLE = 'arn:aws:iam::123456789012:role/Watchdog-HaltRolloutRole-0123456789AB';
const FEDERATED_SECRET = JSON.stringify({
  tenantId: SAMPLE_TENANT.tenantId,
  clientId: SAMPLE_TENANT.clientId,
  credential: 'aws-federation',
});

const harnesses: WatchdogHarness[] = [];
const simulators: RunningSimulator[] = [];
afterEach(async () => {
  await Promise.all(harnesses.splice(0).map((harness) => harness.close()));
  await Promise.all(simulators.splice(0).map((simulator) => simulator.close()));
});

/** A simulator whose STS knows moto's access key `testing` as the function's role, trusted by `subject`. */
async function federatedWatchdog(subject: string): Promise<WatchdogHarness> {
  const simulator = await start({ state: sampleState(), federation: { principals: { testing: ROLE } } });
  simulators.push(simulator);
  simulator.control.addFederatedCredential(SAMPLE_TENANT.clientId, {
    issuer: simulator.federationIssuer,
    subject,
    audiences: ['api://AzureADTokenExchange'],
  });
  const harness = await startWatchdog({
    simulator,
    secretString: FEDERATED_SECRET,
    env: { AWS_ENDPOINT_URL_STS: simulator.stsEndpoint },
  });
  harnesses.push(harness);
  return harness;
}

describeWithMoto(`halt-rollout with federated credentials${MOTO_SKIP_REASON}`, () => {
  it('halts with a Store token obtained for its role’s web identity token, no key anywhere', async () => {
    const harness = await federatedWatchdog(ROLE);

    const { result, error } = await harness.invoke(loadEventFixture('sns-alarm'));

    expect(error).toBeUndefined();
    expect(result?.targets[0]).toMatchObject({
      submissionId: SAMPLE_PUBLISHED_SUBMISSION_ID,
      result: 'halted',
    });
    expect(
      harness.simulator.control.rollout(SAMPLE_APP_ID, SAMPLE_PUBLISHED_SUBMISSION_ID).packageRolloutStatus,
    ).toBe('PackageRolloutStopped');
    const tokenPaths = harness.simulator.control.requests
      .filter((request) => request.kind === 'token')
      .map((request) => request.path);
    expect(new Set(tokenPaths)).toEqual(new Set([`/${SAMPLE_TENANT.tenantId}/oauth2/v2.0/token`]));
  });

  it('fails the invocation naming the issuer and subject when Entra ID trusts another role', async () => {
    const harness = await federatedWatchdog('arn:aws:iam::123456789012:role/SomeOtherRole');

    const { result, error } = await harness.invoke(loadEventFixture('sns-alarm'));

    const said = `${error?.message ?? ''} ${JSON.stringify(result ?? {})}`;
    expect(said).toContain('AADSTS700213');
    expect(said).toContain(`subject ${ROLE}`);
    expect(harness.simulator.control.effectiveHalts).toBe(0);
  });
});
