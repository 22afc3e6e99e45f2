/**
 * Runs the real halt-rollout handler the way Lambda does, against real local parts: the Store simulator
 * on loopback and moto (Secrets Manager for the credentials, SNS with an SQS queue subscribed to read
 * each notification back). Every harness imports a fresh copy of the handler module, so module-scope
 * caches (credentials, token, throttle) start cold, as in a new Lambda container.
 *
 * Several harnesses may live at once and share one simulator (`simulator` option): that is several
 * Lambda containers of one function against one Store. They may be started concurrently (each import
 * sees its own environment), but the environment is process-wide and the AWS SDK reads some of it
 * lazily, so harnesses alive at the same time must agree on the AWS target (`aws`). Their output goes
 * to one shared capture, so with concurrent invocations an invocation's `logs` also holds the other
 * containers' lines.
 *
 * Everything a harness sees (log lines, errors, results, notifications) is recorded in
 * `suiteLeakCollector` with every token its simulator issued and every client secret it knows; after
 * each test file that imports this module, the file fails if any of them appears in any of those texts.
 */
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SNSClient } from '@aws-sdk/client-sns';
import { SQSClient } from '@aws-sdk/client-sqs';
import type { Context } from 'aws-lambda';
import { afterAll, vi } from 'vitest';
import type { WatchdogResult } from '../../functions/commons/domain/results.ts';
import type { WatchedAppInput } from '../../functions/commons/domain/watched-apps.ts';
import { start } from '../../tools/store-simulator/index.ts';
import { SAMPLE_APP_ID, SAMPLE_TENANT, sampleState } from '../../tools/store-simulator/sample-state.ts';
import type { RunningSimulator, SimulatorState } from '../../tools/store-simulator/types.ts';
import { motoClientConfig } from './aws.ts';
import {
  createNotificationSink,
  createSecret,
  type NotificationSink,
  type ReceivedNotification,
} from './aws-resources.ts';
import { describeThrown, readClientSecret, suiteLeakCollector } from './secret-leaks.ts';

// The suite-wide leak check: after every test file that starts harnesses (see the module comment).
afterAll(() => {
  suiteLeakCollector.assertNoLeaks();
});

export const SAMPLE_ALARM = 'contoso-photos-crash-rate';

/** The sample app watched by the sample alarm, main rollout and every flight, enforcing. */
export const SAMPLE_APPS: WatchedAppInput[] = [
  {
    applicationId: SAMPLE_APP_ID,
    name: 'Contoso Photos',
    alarmNames: [SAMPLE_ALARM],
    flights: 'all',
    mode: 'enforce',
  },
];

export const SAMPLE_SECRET_STRING = JSON.stringify({
  tenantId: SAMPLE_TENANT.tenantId,
  clientId: SAMPLE_TENANT.clientId,
  clientSecret: SAMPLE_TENANT.clientSecret,
});

/** A federated deployment's secret: no key (docs/federated-credentials.md). */
export const FEDERATED_SECRET_STRING = JSON.stringify({
  tenantId: SAMPLE_TENANT.tenantId,
  clientId: SAMPLE_TENANT.clientId,
  credential: 'aws-federation',
});

/** The role a function runs as in the federated harnesses: the STS stand-in maps moto's access key `testing` to it. */
export const FUNCTION_ROLE_ARN = 'arn:aws:iam::123456789012:role/Watchdog-FunctionRole-0123456789AB';

/** Entra ID trusts `subject` (default: the function's role) as the sample application, as `az` would set it. */
export function trustRole(
  simulator: RunningSimulator,
  trust: { readonly subject?: string; readonly audiences?: readonly string[] } = {},
): void {
  simulator.control.addFederatedCredential(SAMPLE_TENANT.clientId, {
    issuer: simulator.federationIssuer,
    subject: trust.subject ?? FUNCTION_ROLE_ARN,
    audiences: trust.audiences ?? ['api://AzureADTokenExchange'],
  });
}

/** Where the AWS resources live and who the function runs as. */
export interface AwsTarget {
  /** The emulator's URL (what `AWS_ENDPOINT_URL` is set to). */
  readonly endpoint: string;
  readonly region: string;
  /** Used by the harness to create and read the resources. */
  readonly credentials: AwsCredentials;
  /** What the function runs with. @default credentials */
  readonly functionCredentials?: AwsCredentials;
}

export interface AwsCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
}

export interface HarnessOptions {
  /** The simulator's initial state; ignored when `simulator` is given. */
  readonly state?: SimulatorState;
  /**
   * A running simulator to use instead of starting one: harnesses that share it are several Lambda
   * containers against one Store. The harness never closes it.
   */
  readonly simulator?: RunningSimulator;
  readonly apps?: unknown;
  /** The secret's value; `null` creates no secret (the id then names a missing one). */
  readonly secretString?: string | null;
  /** An existing secret (id or ARN) to read instead of creating one; `secretString` is then ignored. */
  readonly secretId?: string;
  /** Another AWS emulator (e.g. a private moto that enforces IAM). @default the suite's moto */
  readonly aws?: AwsTarget;
  /** Publish to another harness's topic (a second container of the same function). @default a new one */
  readonly sink?: NotificationSink;
  /** Extra or overriding environment variables (e.g. `DRY_RUN`); `undefined` removes one. */
  readonly env?: Readonly<Record<string, string | undefined>>;
}

export interface Invocation {
  readonly result?: WatchdogResult;
  readonly error?: Error;
  /** Every line the function wrote to stdout or stderr during the invocation (JSON logs and EMF metrics). */
  readonly logs: readonly string[];
}

export interface WatchdogHarness {
  readonly simulator: RunningSimulator;
  readonly sink: NotificationSink;
  readonly secretId: string;
  /** Runs one invocation; `remainingMs` is what `context.getRemainingTimeInMillis()` starts from. */
  invoke(event: unknown, options?: { readonly remainingMs?: number }): Promise<Invocation>;
  /** All output lines since the harness started (including the import-time warm-up). */
  readonly allLogs: readonly string[];
  /**
   * Resolves once the import-time warm-up has fetched its token (every token request since the import
   * has been answered), so a test can change the Store's behaviour for the invocation only.
   */
  warmUpSettled(): Promise<void>;
  close(): Promise<void>;
}

/** A Lambda context whose remaining time counts down from `remainingMs`. */
export function lambdaContext(remainingMs: number): Context {
  const startedAt = Date.now();
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName: 'store-rollout-watchdog-test',
    functionVersion: '$LATEST',
    invokedFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:store-rollout-watchdog-test',
    memoryLimitInMB: '256',
    awsRequestId: crypto.randomUUID(),
    logGroupName: '/aws/lambda/store-rollout-watchdog-test',
    logStreamName: 'test',
    getRemainingTimeInMillis: () => Math.max(0, remainingMs - (Date.now() - startedAt)),
    done: () => {},
    fail: () => {},
    succeed: () => {},
  };
}

/** Environment values before the first live harness changed them, restored when the last one closes. */
const savedEnv = new Map<string, string | undefined>();
/** The output of the live harnesses (stdout and stderr are process-wide, so one capture serves all). */
const liveLogs = new Set<string[]>();
let outputSpies: { mockRestore(): void }[] = [];
/** Harnesses started at the same time import one after the other (see `startWatchdog`). */
let importQueue: Promise<unknown> = Promise.resolve();

function applyEnv(values: Readonly<Record<string, string | undefined>>): void {
  for (const [key, value] of Object.entries(values)) {
    if (!savedEnv.has(key)) savedEnv.set(key, process.env[key]);
    if (value === undefined) delete process.env[key];
    else process.env[key] = value;
  }
}

function captureOutput(chunk: string | Uint8Array): boolean {
  const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
  for (const line of text.split('\n')) {
    if (line.length === 0) continue;
    suiteLeakCollector.record('log', line);
    for (const logs of liveLogs) logs.push(line);
  }
  return true;
}

function openCapture(logs: string[]): void {
  if (liveLogs.size === 0) {
    // Powertools writes INFO and below to stdout, WARN and ERROR to stderr.
    outputSpies = [
      vi.spyOn(process.stdout, 'write').mockImplementation(captureOutput),
      vi.spyOn(process.stderr, 'write').mockImplementation(captureOutput),
    ];
  }
  liveLogs.add(logs);
}

function closeCapture(logs: string[]): void {
  liveLogs.delete(logs);
  if (liveLogs.size > 0) return;
  for (const spy of outputSpies.splice(0)) spy.mockRestore();
  for (const [key, value] of savedEnv) {
    if (value === undefined) delete process.env[key];
    else process.env[key] = value;
  }
  savedEnv.clear();
}

function defaultAwsTarget(): AwsTarget {
  const config = motoClientConfig();
  return { endpoint: config.endpoint, region: config.region, credentials: config.credentials };
}

/** Starts the simulator and the AWS resources, sets the environment, and imports a fresh handler. */
export async function startWatchdog(options: HarnessOptions = {}): Promise<WatchdogHarness> {
  const ownsSimulator = options.simulator === undefined;
  const simulator = options.simulator ?? (await start({ state: options.state ?? sampleState() }));
  const aws = options.aws ?? defaultAwsTarget();
  const clientConfig = { endpoint: aws.endpoint, region: aws.region, credentials: aws.credentials };
  const secrets = new SecretsManagerClient(clientConfig);
  const secretId =
    options.secretId ??
    (options.secretString === null
      ? `arn:aws:secretsmanager:us-east-1:123456789012:secret:missing-${crypto.randomUUID()}`
      : await createSecret(secrets, options.secretString ?? SAMPLE_SECRET_STRING));
  const created =
    options.sink ?? (await createNotificationSink(new SNSClient(clientConfig), new SQSClient(clientConfig)));

  suiteLeakCollector.watch('client secret', SAMPLE_TENANT.clientSecret);
  const givenSecret = readClientSecret(options.secretString);
  if (givenSecret !== undefined) suiteLeakCollector.watch('client secret', givenSecret);
  suiteLeakCollector.watchAll(function* () {
    for (const tenant of simulator.control.snapshot().tenants) {
      if (tenant.clientSecret !== undefined) yield ['client secret', tenant.clientSecret];
    }
    for (const token of simulator.control.issuedTokens()) yield ['access token', token];
    for (const token of simulator.control.issuedAssertions()) yield ['identity token', token];
  });
  const recordNotifications = (notifications: readonly ReceivedNotification[]) => {
    for (const notification of notifications) {
      suiteLeakCollector.record('notification', JSON.stringify(notification));
    }
    return notifications;
  };
  const sink: NotificationSink = {
    topicArn: created.topicArn,
    drain: async (drainOptions) => [...recordNotifications(await created.drain(drainOptions))],
  };

  const functionCredentials = aws.functionCredentials ?? aws.credentials;
  const env: Record<string, string | undefined> = {
    STORE_CREDENTIALS_SECRET_ID: secretId,
    NOTIFICATION_TOPIC_ARN: sink.topicArn,
    WATCHDOG_APPS: JSON.stringify(options.apps ?? SAMPLE_APPS),
    DRY_RUN: undefined,
    STORE_API_BASE_URL: simulator.storeBaseUrl,
    AZURE_AD_AUTHORITY: simulator.authority,
    AWS_ENDPOINT_URL: aws.endpoint,
    AWS_REGION: aws.region,
    AWS_ACCESS_KEY_ID: functionCredentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: functionCredentials.secretAccessKey,
    POWERTOOLS_METRICS_NAMESPACE: 'StoreRolloutWatchdogTest',
    ...options.env,
  };

  const allLogs: string[] = [];
  // The handler reads the environment when it is imported: one import at a time.
  const imported = importQueue.then(async () => {
    openCapture(allLogs);
    applyEnv(env);
    const requestsBefore = simulator.control.requests.length;
    vi.resetModules();
    return { module: await import('../../functions/halt-rollout/handler.ts'), requestsBefore };
  });
  importQueue = imported.catch(() => undefined);
  const { module, requestsBefore: requestsBeforeImport } = await imported;

  let closed = false;
  return {
    simulator,
    sink,
    secretId,
    allLogs,
    async invoke(event, { remainingMs = 60_000 } = {}) {
      const from = allLogs.length;
      try {
        const result = await module.handler(event, lambdaContext(remainingMs));
        suiteLeakCollector.record('result', JSON.stringify(result));
        return { result, logs: allLogs.slice(from) };
      } catch (error) {
        suiteLeakCollector.record('error', describeThrown(error));
        return {
          error: error instanceof Error ? error : new Error(String(error)),
          logs: allLogs.slice(from),
        };
      }
    },
    async warmUpSettled() {
      const deadline = Date.now() + 5_000;
      for (;;) {
        const tokenRequests = simulator.control.requests
          .slice(requestsBeforeImport)
          .filter((request) => request.kind === 'token');
        if (tokenRequests.length > 0 && tokenRequests.every((request) => request.endedAt !== undefined))
          return;
        if (Date.now() > deadline) throw new Error('the warm-up fetched no token within 5 s');
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    },
    async close() {
      if (closed) return;
      closed = true;
      // Notifications the test did not read are still checked for leaks.
      await sink.drain({ waitMs: 0 }).catch(() => []);
      closeCapture(allLogs);
      if (ownsSimulator) await simulator.close();
    },
  };
}
