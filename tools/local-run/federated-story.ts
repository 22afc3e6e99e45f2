/**
 * The federated credentials story of the local run (`npm start -- --federated`): a watchdog whose secret
 * holds no key signs in to the Store with its AWS identity. On the simulator's stand-ins for AWS (STS
 * and IAM, in the AWS Query protocol the SDK speaks) and Entra ID (the v2 token endpoint, which verifies
 * the assertion through the issuer's JWKS), with the functions' own code:
 * 1. outbound identity federation is off in the account: STS refuses, and the error says what to run;
 * 2. the stack's custom resource code switches it on and reads the issuer;
 * 3. Entra ID has no federated credential yet: it refuses, and the error names the issuer and subject
 *    presented and the `az` command that fixes it;
 * 4. the federated credential is created (what that command does);
 * 5. an alarm arrives and the halt path halts the rollout with a Store token obtained for the function's
 *    web identity token; no key anywhere.
 */
import { IAMClient } from '@aws-sdk/client-iam';
import { STSClient } from '@aws-sdk/client-sts';
import { parseStoreCredentials } from '../../functions/commons/aws/credentials.ts';
import { createClientAssertionSource } from '../../functions/commons/aws/web-identity.ts';
import { safeError } from '../../functions/commons/domain/decide.ts';
import {
  ENTRA_TOKEN_EXCHANGE_AUDIENCE,
  federatedCredentialCommand,
} from '../../functions/commons/domain/federation.ts';
import { messageWithoutFix, WatchdogError } from '../../functions/commons/errors.ts';
import { createStoreAccess } from '../../functions/commons/store/store-access.ts';
import { switchOnFederation } from '../../functions/federation-setup/setup.ts';
import {
  budgetFromRemaining,
  handleWatchdogEvent,
  type WatchdogPorts,
} from '../../functions/halt-rollout/watchdog.ts';
import { start } from '../store-simulator/index.ts';
import {
  SAMPLE_APP_ID,
  SAMPLE_PUBLISHED_SUBMISSION_ID,
  SAMPLE_TENANT,
  sampleState,
} from '../store-simulator/sample-state.ts';
import type { RecordedRequest } from '../store-simulator/types.ts';
import { createStoryLogger, createStoryRecorder } from './narrate.ts';
import { LOCAL_RUN_APPS, loadLocalRunEvent, localRunConfig } from './scenario.ts';

/** The halt-rollout function's role, as the stack would name it. */
const HALT_ROLE = 'arn:aws:iam::123456789012:role/StoreRolloutWatchdog-HaltRolloutRole-LOCALRUN0001';
/** The access key its session signs with (the STS stand-in finds the role from it). */
const HALT_ACCESS_KEY = 'ASIALOCALHALTROLLOUT';
/** The custom resource's role. */
const SETUP_ACCESS_KEY = 'ASIALOCALFEDSETUP001';
const REGION = 'eu-west-1';

export interface FederatedStory {
  readonly ok: boolean;
  readonly problems: readonly string[];
  readonly lines: readonly string[];
  readonly halted: boolean;
  /** The error codes met on the way, in order (`FEDERATION_DISABLED`, `AUTH_REJECTED`). */
  readonly refusals: readonly string[];
}

function awsClientConfig(endpoint: string, accessKeyId: string) {
  return {
    endpoint,
    region: REGION,
    credentials: { accessKeyId, secretAccessKey: 'local-run-not-a-real-key' },
    maxAttempts: 1,
  };
}

function describeRequest(request: RecordedRequest): string {
  const what =
    request.kind === 'sts'
      ? 'AWS STS  POST / (GetWebIdentityToken)'
      : request.kind === 'oidc'
        ? `issuer   GET ${request.path}`
        : request.kind === 'token'
          ? `Entra ID POST ${request.path}`
          : `Store    ${request.method} ${request.path.replace('/v1.0/my/', '')}`;
  return `       ${what} -> ${request.status ?? 'no answer'}`;
}

/** Tells the story; never throws for a Store or watchdog failure (it becomes a problem). */
export async function runFederatedStory(): Promise<FederatedStory> {
  const simulator = await start({
    state: sampleState(),
    federation: { enabled: false, principals: { [HALT_ACCESS_KEY]: HALT_ROLE } },
  });
  const sts = new STSClient(awsClientConfig(simulator.stsEndpoint, HALT_ACCESS_KEY));
  const iam = new IAMClient(awsClientConfig(simulator.stsEndpoint, SETUP_ACCESS_KEY));
  const lines: string[] = [];
  const problems: string[] = [];
  const refusals: string[] = [];
  let halted = false;

  const secretString = JSON.stringify({
    tenantId: SAMPLE_TENANT.tenantId,
    clientId: SAMPLE_TENANT.clientId,
    credential: 'aws-federation',
  });
  const credentials = parseStoreCredentials(secretString, 'local-run-secret');
  const store = createStoreAccess({
    baseUrl: simulator.storeBaseUrl,
    authority: simulator.authority,
    getCredentials: async () => credentials,
    getClientAssertion: createClientAssertionSource(sts),
    throttle: false,
  });
  const signIn = async (label: string, expectCode: string | undefined) => {
    simulator.control.clearRequests();
    try {
      await store.tokenProvider.getToken(AbortSignal.timeout(30_000));
      lines.push(`  ${label}: signed in`);
      if (expectCode !== undefined) problems.push(`expected ${expectCode}, but the sign-in succeeded`);
    } catch (error) {
      const code = safeError(error).code;
      refusals.push(code);
      lines.push(`  ${label}: ${code}`, `       ${messageWithoutFix(error)}`);
      if (error instanceof WatchdogError && error.fix !== undefined) lines.push(`       fix: ${error.fix}`);
      if (code !== expectCode) problems.push(`expected ${expectCode ?? 'a sign-in'}, got ${code}`);
    }
    lines.push(...simulator.control.requests.map(describeRequest));
  };

  try {
    lines.push(
      'Store rollout watchdog - local run (federated Store credentials: no key)',
      '========================================================================',
      '',
      'Setup',
      `  Store simulator at ${simulator.url}, with stand-ins for AWS STS and IAM (what AWS_ENDPOINT_URL_STS`,
      '  and AWS_ENDPOINT_URL_IAM point the SDK at) and for Entra ID (the v2 token endpoint).',
      `  The secret holds no key: ${secretString}`,
      `  The halt-rollout function runs as ${HALT_ROLE}.`,
      '',
      'What happened',
    );

    await signIn(
      '1. the function asks STS for a web identity token, federation still off',
      'FEDERATION_DISABLED',
    );

    const setup = await switchOnFederation(iam, AbortSignal.timeout(30_000));
    lines.push(
      `  2. the stack's custom resource switches outbound identity federation on (${setup.switchedOn ? 'it was off' : 'it was on already'})`,
      `       the account's issuer (stack output FederationIssuer): ${setup.issuer}`,
    );

    await signIn('3. signing in again, before Entra ID knows the function', 'AUTH_REJECTED');

    const command = federatedCredentialCommand(
      { clientId: SAMPLE_TENANT.clientId },
      { issuer: setup.issuer, subject: HALT_ROLE },
      'StoreRolloutWatchdog-HaltRollout',
    );
    simulator.control.addFederatedCredential(SAMPLE_TENANT.clientId, {
      issuer: setup.issuer,
      subject: HALT_ROLE,
      audiences: [ENTRA_TOKEN_EXCHANGE_AUDIENCE],
    });
    lines.push(
      '  4. the federated credential is created in Entra ID (stack output HaltRolloutFederatedCredentialCommand):',
      `       ${command}`,
    );

    simulator.control.clearRequests();
    const config = localRunConfig(simulator, LOCAL_RUN_APPS, false);
    const recorder = createStoryRecorder();
    const ports: WatchdogPorts = {
      rollouts: store.rolloutPort,
      publish: async () => {},
      now: () => performance.now(),
      logger: createStoryLogger(recorder),
    };
    const result = await handleWatchdogEvent(
      loadLocalRunEvent('sns-alarm'),
      config,
      ports,
      budgetFromRemaining(60_000),
    );
    const main = result.targets.find((target) => target.flightId === undefined);
    halted = main?.result === 'halted';
    lines.push(
      `  5. the crash alarm arrives: the main rollout of Contoso Photos is ${main?.result ?? 'not examined'}`,
      ...simulator.control.requests.map(describeRequest),
    );
    const status = simulator.control.rollout(
      SAMPLE_APP_ID,
      SAMPLE_PUBLISHED_SUBMISSION_ID,
    ).packageRolloutStatus;
    if (!halted || status !== 'PackageRolloutStopped') {
      problems.push(`expected the rollout halted, but the Store has it ${status}`);
    }
  } catch (error) {
    problems.push(`the story broke: ${safeError(error).message}`);
  } finally {
    await store.dispatcher.close();
    sts.destroy();
    iam.destroy();
    await simulator.close();
  }

  lines.push('');
  if (problems.length === 0) {
    lines.push(
      'OK: federation off and an unknown function were each refused with the fix; once switched on and trusted,',
      'the function halted the rollout with a 300-second AWS token exchanged for a Store token. The secret held',
      'no key: nothing to rotate, nothing to leak, nothing to expire.',
    );
  } else {
    lines.push('PROBLEM: the story did not end as expected:', ...problems.map((problem) => `  - ${problem}`));
  }
  return { ok: problems.length === 0, problems, lines, halted, refusals };
}
