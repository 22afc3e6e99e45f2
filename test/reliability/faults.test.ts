/**
 * Faults, one row each, against the real handler with the Store simulator and moto. Every row proves
 * the same three things:
 *
 * - the expected result: what each rollout's target says, and whether the invocation fails;
 * - nothing was lost: one notification was published, or the invocation failed so Lambda keeps the
 *   event; and after the fault clears, Lambda's retry of the same event (in a second container)
 *   finishes the job: every rollout stopped, no target `failed`, one more notification;
 * - nothing was halted twice: the Store counted exactly one effective halt per rollout, and across the
 *   first invocation and the retry each rollout is reported `halted` exactly once.
 *
 * The sample app has two live rollouts: its main rollout (20%) and the Insiders flight (50%).
 */

import {
  DeleteSecretCommand,
  PutSecretValueCommand,
  RestoreSecretCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import {
  CreateTopicCommand,
  DeleteTopicCommand,
  ListSubscriptionsByTopicCommand,
  SubscribeCommand,
} from '@aws-sdk/client-sns';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type TargetResultKind, worstResult } from '../../functions/commons/domain/results.ts';
import { definedProps } from '../../functions/commons/optional.ts';
import {
  SAMPLE_APP_ID,
  SAMPLE_FLIGHT_ID,
  SAMPLE_FLIGHT_SUBMISSION_ID,
  SAMPLE_PUBLISHED_SUBMISSION_ID,
  SAMPLE_TENANT,
} from '../../tools/store-simulator/sample-state.ts';
import type { SimulatorControl } from '../../tools/store-simulator/types.ts';
import { loadEventFixture } from '../fixtures/events/load.ts';
import { describeWithMoto, MOTO_SKIP_REASON } from '../support/aws.ts';
import { createSecret, motoClients } from '../support/aws-resources.ts';
import {
  type HarnessOptions,
  SAMPLE_SECRET_STRING,
  startWatchdog,
  type WatchdogHarness,
} from '../support/watchdog-harness.ts';
import { type PrivateMoto, startPrivateMoto } from './private-moto.ts';

const APP_PATH = `/applications/${SAMPLE_APP_ID}`;
const MAIN_ROLLOUT_GET = `/submissions/${SAMPLE_PUBLISHED_SUBMISSION_ID}/packagerollout`;
/** Enough for every retry of every request of one invocation. */
const ALWAYS = 100;
/** Time left in the Lambda context: 7 s for the Store work, 3 s to notify. */
const DEFAULT_REMAINING_MS = 10_000;
/** For hanging answers: 1 s for the Store work, the rest to notify. */
const SHORT_REMAINING_MS = 4_000;

/** Clears the fault before Lambda retries the event. */
type Recover = () => Promise<void>;

interface FaultCase {
  readonly name: string;
  /**
   * Set up before the function starts (a cold container: its warm-up meets the fault too): the harness
   * options and how the fault clears. Without it the fault is arranged after the warm-up fetched a token.
   */
  readonly coldStart?: () => Promise<{ readonly options: HarnessOptions; readonly recover: Recover }>;
  /**
   * The fault the invocation meets (after the warm-up settled, unless `coldStart`), and how it clears.
   * @default it clears by dropping the simulator's queued faults
   */
  readonly arrange?: (harness: WatchdogHarness) => Promise<Recover | undefined> | Recover | undefined;
  /** Runs on its own: it points the function at another AWS emulator (the environment is process-wide). */
  readonly alone?: boolean;
  readonly remainingMs?: number;
  /** The first invocation's result per rollout, main rollout first. */
  readonly results: readonly TargetResultKind[];
  /** Codes of the `failed` targets' errors, when some failed. */
  readonly targetErrors?: RegExp;
  /** The notification of the first invocation could not be published (the invocation fails with NOTIFY_FAILED). */
  readonly notificationLost?: boolean;
  /** Halt POSTs the first invocation sends. */
  readonly posts?: number;
  /** The first invocation ends this soon (loosely: well before its Store deadline). */
  readonly endsWithinMs?: number;
}

/** Token faults: the cached token expired, so the invocation must fetch a new one. */
function tokenFault(fault: (control: SimulatorControl) => void): (harness: WatchdogHarness) => undefined {
  return (harness) => {
    harness.simulator.control.expireAllTokens();
    fault(harness.simulator.control);
    return undefined;
  };
}

function storeFault(fault: (control: SimulatorControl) => void): (harness: WatchdogHarness) => undefined {
  return (harness) => {
    fault(harness.simulator.control);
    return undefined;
  };
}

const secrets = (): SecretsManagerClient => motoClients().secrets;

const CASES: readonly FaultCase[] = [
  // The Azure AD token endpoint.
  {
    name: 'token endpoint 400 invalid_request: rejected without retrying, every target failed',
    arrange: tokenFault((control) =>
      control.failNext({
        status: 400,
        count: ALWAYS,
        match: { kind: 'token' },
        body: { error: 'invalid_request', error_description: 'AADSTS900144: missing parameter' },
      }),
    ),
    results: ['failed', 'failed'],
    targetErrors: /^AUTH_REJECTED$/,
  },
  {
    name: 'token endpoint 401 invalid_client whose description echoes the secret: failed, and the secret redacted',
    arrange: tokenFault((control) =>
      control.failNext({
        status: 401,
        count: ALWAYS,
        match: { kind: 'token' },
        body: {
          error: 'invalid_client',
          error_description: `AADSTS7000215: Invalid client secret provided: ${SAMPLE_TENANT.clientSecret}`,
        },
      }),
    ),
    results: ['failed', 'failed'],
    targetErrors: /^AUTH_REJECTED$/,
  },
  {
    name: 'token endpoint 429 with Retry-After once: waits, then halts',
    arrange: tokenFault((control) =>
      control.failNext({ status: 429, match: { kind: 'token' }, retryAfter: '1' }),
    ),
    results: ['halted', 'halted'],
  },
  {
    name: 'token endpoint 503 twice: retried, then halts',
    arrange: tokenFault((control) => control.failNext({ status: 503, count: 2, match: { kind: 'token' } })),
    results: ['halted', 'halted'],
  },
  {
    name: 'token endpoint 500 on every attempt: failed after bounded retries',
    arrange: tokenFault((control) =>
      control.failNext({ status: 500, count: ALWAYS, match: { kind: 'token' } }),
    ),
    results: ['failed', 'failed'],
    targetErrors: /^AUTH_UNAVAILABLE$/,
  },
  {
    name: 'token endpoint hangs: failed at the deadline, notified within the budget',
    arrange: tokenFault((control) => control.hangNext({ count: ALWAYS, match: { kind: 'token' } })),
    remainingMs: SHORT_REMAINING_MS,
    results: ['failed', 'failed'],
    targetErrors: /^DEADLINE_EXCEEDED$/,
  },
  {
    name: 'token endpoint resets the connection once: retried, then halts',
    arrange: tokenFault((control) => control.resetNext({ match: { kind: 'token' } })),
    results: ['halted', 'halted'],
  },

  // The Store API.
  {
    name: 'Store 404 on the app: its main rollout failed, its flight still halted',
    arrange: storeFault((control) =>
      control.failNext({
        status: 404,
        count: ALWAYS,
        match: { method: 'GET', path: /\/applications\/\w+$/ },
      }),
    ),
    results: ['failed', 'halted'],
    targetErrors: /^STORE_NOT_FOUND$/,
  },
  {
    name: 'Store 409 on every call about the app (unsupported feature): every target failed',
    arrange: storeFault((control) =>
      control.failNext({
        status: 409,
        count: ALWAYS,
        match: { kind: 'store', path: APP_PATH },
        body: {
          code: 'InvalidState',
          message: 'This application uses features that are not supported by the submission API.',
        },
      }),
    ),
    results: ['failed', 'failed'],
    targetErrors: /^(STORE_CONFLICT|FLIGHTS_NOT_LISTED)$/,
  },
  {
    name: 'Store 409 on the halt while the rollout is still in progress: failed with the Store message, never a second POST',
    arrange: storeFault((control) =>
      control.failNext({ status: 409, count: ALWAYS, match: { method: 'POST' } }),
    ),
    posts: 2,
    results: ['failed', 'failed'],
    targetErrors: /^STORE_CONFLICT$/,
  },
  {
    name: 'Store 429 with Retry-After on a read: waits, then halts',
    arrange: storeFault((control) =>
      control.failNext({ status: 429, match: { path: MAIN_ROLLOUT_GET }, retryAfter: '1' }),
    ),
    results: ['halted', 'halted'],
  },
  {
    name: 'Store 429 without Retry-After, "Try again in 1 seconds." in the message: waits, then halts',
    arrange: storeFault((control) =>
      control.failNext({
        status: 429,
        match: { path: MAIN_ROLLOUT_GET },
        body: { statusCode: 429, message: 'Rate limit is exceeded. Try again in 1 seconds.' },
      }),
    ),
    results: ['halted', 'halted'],
  },
  {
    name: 'Store 429 without Retry-After or a hint, twice: backs off, then halts',
    arrange: storeFault((control) =>
      control.failNext({
        status: 429,
        count: 2,
        match: { method: 'GET', path: /\/applications\/\w+$/ },
        body: { statusCode: 429, message: 'Rate limit is exceeded.' },
      }),
    ),
    results: ['halted', 'halted'],
  },
  {
    name: 'Store 429 on the halt POST: the Store did not act, so the POST is sent again and halts',
    arrange: storeFault((control) =>
      control.failNext({ status: 429, count: 2, match: { method: 'POST' }, retryAfter: '1' }),
    ),
    posts: 4,
    results: ['halted', 'halted'],
  },
  {
    name: 'Store 429 with a Retry-After past the deadline: failed at once instead of sleeping past it',
    arrange: storeFault((control) =>
      control.failNext({ status: 429, count: ALWAYS, match: { kind: 'store' }, retryAfter: '30' }),
    ),
    // The Store work may take 7 s; sleeping 30 s would only end in a vaguer timeout at 7 s.
    endsWithinMs: 4_000,
    results: ['failed', 'failed'],
    targetErrors: /^STORE_THROTTLED$/,
  },
  {
    name: 'Store 500 twice on a read: retried, then halts',
    arrange: storeFault((control) =>
      control.failNext({ status: 500, count: 2, match: { path: MAIN_ROLLOUT_GET } }),
    ),
    results: ['halted', 'halted'],
  },
  {
    name: 'Store 503 on every read of the rollouts: failed after bounded retries',
    arrange: storeFault((control) =>
      control.failNext({ status: 503, count: ALWAYS, match: { method: 'GET', path: '/packagerollout' } }),
    ),
    results: ['failed', 'failed'],
    targetErrors: /^STORE_UNAVAILABLE$/,
  },
  {
    name: 'Store 503 on a halt POST that did not take effect: reads, sees it still in progress, POSTs again',
    arrange: storeFault((control) => control.failNext({ status: 503, count: 2, match: { method: 'POST' } })),
    posts: 4,
    results: ['halted', 'halted'],
  },
  {
    name: 'Store halt took effect but answered 503: reads, sees it stopped, reports halted without a second POST',
    arrange: storeFault((control) => control.haltAppliesThen503({ count: 2 })),
    posts: 2,
    results: ['halted', 'halted'],
  },
  {
    name: 'Store reads hang: failed at the deadline, notified within the budget, and the retry halts',
    arrange: storeFault((control) => control.hangNext({ count: ALWAYS, match: { method: 'GET' } })),
    remainingMs: SHORT_REMAINING_MS,
    results: ['failed', 'failed'],
    targetErrors: /^DEADLINE_EXCEEDED$/,
  },
  {
    name: 'Store halt POST hangs: failed at the deadline, notified within the budget',
    arrange: storeFault((control) => control.hangNext({ count: ALWAYS, match: { method: 'POST' } })),
    remainingMs: SHORT_REMAINING_MS,
    results: ['failed', 'failed'],
    targetErrors: /^DEADLINE_EXCEEDED$/,
  },
  {
    name: 'Store resets the connection of a read once: retried, then halts',
    arrange: storeFault((control) => control.resetNext({ match: { path: MAIN_ROLLOUT_GET } })),
    results: ['halted', 'halted'],
  },
  {
    name: 'Store resets the connection of a halt POST once: reads first, then POSTs again and halts',
    arrange: storeFault((control) => control.resetNext({ count: 2, match: { method: 'POST' } })),
    posts: 4,
    results: ['halted', 'halted'],
  },
  {
    name: 'Store resets every connection: failed after bounded retries',
    arrange: storeFault((control) => control.resetNext({ count: ALWAYS, match: { kind: 'store' } })),
    results: ['failed', 'failed'],
    // Retries spend the tenant's request budget too; when it runs out first, the error says so.
    targetErrors: /^(STORE_NETWORK|STORE_BUDGET_EXHAUSTED|FLIGHTS_NOT_LISTED)$/,
  },

  // Secrets Manager (a cold container: the warm-up meets the fault too).
  {
    name: 'Secrets Manager: the secret does not exist (yet)',
    coldStart: async () => {
      const name = `store-credentials-missing-${crypto.randomUUID()}`;
      const recover = async () => {
        await createSecret(secrets(), SAMPLE_SECRET_STRING, name);
      };
      return { options: { secretId: name }, recover };
    },
    results: ['failed', 'failed'],
    targetErrors: /^SECRET_NOT_FOUND$/,
  },
  {
    name: 'Secrets Manager: the secret is marked for deletion (InvalidRequestException)',
    coldStart: async () => {
      const secretId = await createSecret(secrets(), SAMPLE_SECRET_STRING);
      await secrets().send(new DeleteSecretCommand({ SecretId: secretId, RecoveryWindowInDays: 7 }));
      const recover = async () => {
        await secrets().send(new RestoreSecretCommand({ SecretId: secretId }));
      };
      return { options: { secretId }, recover };
    },
    results: ['failed', 'failed'],
    targetErrors: /^SECRET_UNAVAILABLE$/,
  },
  {
    name: 'Secrets Manager: the secret is not JSON',
    coldStart: async () => {
      const secretId = await createSecret(
        secrets(),
        `{"tenantId": "${SAMPLE_TENANT.tenantId}", "clientSecret": "${SAMPLE_TENANT.clientSecret}",`,
      );
      const recover = async () => {
        await secrets().send(
          new PutSecretValueCommand({ SecretId: secretId, SecretString: SAMPLE_SECRET_STRING }),
        );
      };
      return { options: { secretId }, recover };
    },
    results: ['failed', 'failed'],
    targetErrors: /^SECRET_MALFORMED$/,
  },
  {
    name: 'Secrets Manager: IAM denies the function secretsmanager:GetSecretValue (moto enforcing IAM)',
    alone: true,
    coldStart: async () => {
      // Started when the file starts (moto takes a second to come up); this row is its only user.
      const moto = await privateMoto();
      const credentials = await moto.createUser('test-admin', ['*']);
      const functionCredentials = await moto.createUser('watchdog-function', ['sns:Publish']);
      await moto.enforceIam();
      const aws = { endpoint: moto.endpoint, region: 'us-east-1', credentials, functionCredentials };
      const secretId = await createSecret(new SecretsManagerClient(aws), SAMPLE_SECRET_STRING);
      const recover = () => moto.allow('watchdog-function', ['sns:Publish', 'secretsmanager:GetSecretValue']);
      return { options: { aws, secretId }, recover };
    },
    results: ['failed', 'failed'],
    // moto answers a denied JSON-protocol call with an XML body the SDK cannot parse; the watchdog
    // reads the 403 itself and reports the denial, as for AWS's AccessDeniedException.
    targetErrors: /^SECRET_ACCESS_DENIED$/,
  },

  // SNS.
  {
    name: 'SNS publish fails after the halts: the halts stand, the invocation fails, the retry reports already-halted',
    arrange: async (harness) => {
      const { sns } = motoClients();
      const topicArn = harness.sink.topicArn;
      const listed = await sns.send(new ListSubscriptionsByTopicCommand({ TopicArn: topicArn }));
      const subscribers = (listed.Subscriptions ?? []).flatMap((subscription) => subscription.Endpoint ?? []);
      await sns.send(new DeleteTopicCommand({ TopicArn: topicArn }));
      // Recreated with the same name, the topic has the same ARN; its subscriptions are made again.
      return async () => {
        const topic = await sns.send(new CreateTopicCommand({ Name: topicArn.split(':').at(-1) ?? '' }));
        expect(topic.TopicArn).toBe(topicArn);
        for (const endpoint of subscribers) {
          await sns.send(new SubscribeCommand({ TopicArn: topicArn, Protocol: 'sqs', Endpoint: endpoint }));
        }
      };
    },
    results: ['halted', 'halted'],
    notificationLost: true,
  },
];

let privateMotoStarting: Promise<PrivateMoto> | undefined;
function privateMoto(): Promise<PrivateMoto> {
  privateMotoStarting ??= startPrivateMoto();
  return privateMotoStarting;
}

const ROLLOUTS = [
  { flightId: undefined, submissionId: SAMPLE_PUBLISHED_SUBMISSION_ID },
  { flightId: SAMPLE_FLIGHT_ID, submissionId: SAMPLE_FLIGHT_SUBMISSION_ID },
] as const;

function stoppedRollouts(control: SimulatorControl): number {
  return ROLLOUTS.filter(
    ({ flightId, submissionId }) =>
      control.rollout(SAMPLE_APP_ID, submissionId, flightId).packageRolloutStatus === 'PackageRolloutStopped',
  ).length;
}

function codeOf(error: Error | undefined): unknown {
  return error !== undefined && 'code' in error ? error.code : undefined;
}

interface NotifiedTarget {
  readonly result: TargetResultKind;
  readonly flightId?: string;
  readonly error?: { readonly code: string; readonly message: string };
}

/** The one notification published since the last drain, as its JSON object. */
async function onlyNotification(
  harness: WatchdogHarness,
): Promise<{ outcome: string | undefined; targets: NotifiedTarget[] }> {
  const notifications = await harness.sink.drain({ expect: 1 });
  expect(notifications).toHaveLength(1);
  const [notification] = notifications;
  const json: { targets: NotifiedTarget[] } = JSON.parse(notification?.message ?? '{}');
  return { outcome: notification?.attributes.outcome, targets: json.targets };
}

function count(results: readonly TargetResultKind[], kind: TargetResultKind): number {
  return results.filter((result) => result === kind).length;
}

async function runFaultCase(row: FaultCase): Promise<void> {
  const cold = await row.coldStart?.();
  const harness = await startWatchdog(cold?.options ?? {});
  try {
    if (cold === undefined) await harness.warmUpSettled();
    const control = harness.simulator.control;
    const arranged = await row.arrange?.(harness);
    const recover: Recover =
      cold?.recover ??
      arranged ??
      (async () => {
        control.clearFaults();
      });
    const remainingMs = row.remainingMs ?? DEFAULT_REMAINING_MS;

    const startedAt = Date.now();
    const first = await harness.invoke(loadEventFixture('sns-alarm'), { remainingMs });
    const tookMs = Date.now() - startedAt;

    // Within its own time budget, whatever the fault.
    expect(tookMs).toBeLessThan(row.endsWithinMs ?? remainingMs);
    const anyFailed = row.results.includes('failed');
    if (row.notificationLost === true) {
      expect(codeOf(first.error)).toBe('NOTIFY_FAILED');
      expect(await harness.sink.drain()).toEqual([]);
    } else {
      const notified = await onlyNotification(harness);
      expect(notified.targets.map((target) => target.result)).toEqual(row.results);
      expect(notified.outcome).toBe(worstResult(notified.targets));
      // A failed target fails the invocation (after notifying), so Lambda keeps the event.
      expect(codeOf(first.error)).toBe(anyFailed ? 'TARGETS_FAILED' : undefined);
      if (!anyFailed) expect(first.result?.targets.map((target) => target.result)).toEqual(row.results);
      for (const target of notified.targets.filter((t) => t.result === 'failed')) {
        expect(target.error?.code).toMatch(row.targetErrors ?? /^$/);
        expect(target.error?.message).toMatch(/\S/);
      }
    }
    expect(control.effectiveHalts).toBe(count(row.results, 'halted'));
    expect(stoppedRollouts(control)).toBe(count(row.results, 'halted'));
    if (row.posts !== undefined) {
      const posts = control.requests.filter(
        (request) => request.kind === 'store' && request.method === 'POST',
      );
      expect(posts).toHaveLength(row.posts);
    }

    // Lambda retries the event after the fault cleared, a minute or two later, in this container or
    // another: the job gets done, and nothing twice. The retry runs in a second container of the same
    // function (same Store, secret and topic), whose client-side state (token, request budget) is as
    // fresh as a minute later.
    await recover();
    const second = await startWatchdog({
      simulator: harness.simulator,
      secretId: harness.secretId,
      sink: harness.sink,
      ...definedProps({ aws: cold?.options.aws }),
    });
    try {
      const retry = await second.invoke(loadEventFixture('sns-alarm'), { remainingMs: DEFAULT_REMAINING_MS });

      expect(retry.error).toBeUndefined();
      const retried = retry.result?.targets.map((target) => target.result) ?? [];
      expect(retried).toHaveLength(2);
      expect(retried.every((result) => result === 'halted' || result === 'already-halted')).toBe(true);
      expect(count(row.results, 'halted') + count(retried, 'halted')).toBe(2);
      expect(control.effectiveHalts).toBe(2);
      expect(stoppedRollouts(control)).toBe(2);
      const notified = await onlyNotification(harness);
      expect(notified.targets.map((target) => target.result)).toEqual(retried);
    } finally {
      await second.close();
    }
  } finally {
    await harness.close();
  }
}

describeWithMoto(
  `faults: each ends in a clear result, loses nothing, halts nothing twice${MOTO_SKIP_REASON}`,
  () => {
    beforeAll(() => {
      // Not awaited: it comes up while the other rows run. A failure to start surfaces in its row.
      privateMoto().catch(() => {});
    });
    afterAll(async () => {
      const moto = await privateMotoStarting?.catch(() => undefined);
      await moto?.close();
    });

    const named = (rows: readonly FaultCase[]) => rows.map((row) => [row.name, row] as const);
    // Each row has its own simulator, secret and topic, so the rows that share the suite's moto run
    // side by side; the one with its own AWS emulator runs alone.
    it.concurrent.each(named(CASES.filter((row) => row.alone !== true)))('%s', async (_name, row) => {
      await runFaultCase(row);
    });
    it.each(named(CASES.filter((row) => row.alone === true)))('%s', async (_name, row) => {
      await runFaultCase(row);
    });
  },
);
