/**
 * Runs the real halt-rollout handler the way Lambda does, against real local parts: the Store simulator
 * on loopback and moto (Secrets Manager for the credentials, SNS with an SQS queue subscribed to read
 * each notification back). Every harness imports a fresh copy of the handler module, so module-scope
 * caches (credentials, token, throttle) start cold, as in a new Lambda container.
 */
import type { Context } from 'aws-lambda';
import { vi } from 'vitest';
import type { WatchedAppInput } from '../../functions/commons/config/watched-apps.ts';
import type { WatchdogResult } from '../../functions/commons/domain/results.ts';
import { start } from '../../tools/store-simulator/index.ts';
import { SAMPLE_APP_ID, SAMPLE_TENANT, sampleState } from '../../tools/store-simulator/sample-state.ts';
import type { RunningSimulator, SimulatorState } from '../../tools/store-simulator/types.ts';
import { motoClientConfig } from './aws.ts';
import { createNotificationSink, createSecret, motoClients, type NotificationSink } from './aws-resources.ts';

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

export interface HarnessOptions {
  readonly state?: SimulatorState;
  readonly apps?: unknown;
  /** The secret's value; `null` creates no secret (the id then names a missing one). */
  readonly secretString?: string | null;
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
  /** All stdout lines since the harness started (including the import-time warm-up). */
  readonly allLogs: readonly string[];
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

/** Starts the simulator and the AWS resources, sets the environment, and imports a fresh handler. */
export async function startWatchdog(options: HarnessOptions = {}): Promise<WatchdogHarness> {
  const simulator = await start({ state: options.state ?? sampleState() });
  const clients = motoClients();
  const secretId =
    options.secretString === null
      ? `arn:aws:secretsmanager:us-east-1:123456789012:secret:missing-${crypto.randomUUID()}`
      : await createSecret(clients.secrets, options.secretString ?? SAMPLE_SECRET_STRING);
  const sink = await createNotificationSink(clients.sns, clients.sqs);

  const aws = motoClientConfig();
  const env: Record<string, string | undefined> = {
    STORE_CREDENTIALS_SECRET_ID: secretId,
    NOTIFICATION_TOPIC_ARN: sink.topicArn,
    WATCHDOG_APPS: JSON.stringify(options.apps ?? SAMPLE_APPS),
    DRY_RUN: undefined,
    STORE_API_BASE_URL: simulator.storeBaseUrl,
    AZURE_AD_AUTHORITY: simulator.authority,
    AWS_ENDPOINT_URL: aws.endpoint,
    AWS_REGION: aws.region,
    AWS_ACCESS_KEY_ID: aws.credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: aws.credentials.secretAccessKey,
    POWERTOOLS_METRICS_NAMESPACE: 'StoreRolloutWatchdogTest',
    ...options.env,
  };
  const saved = new Map(Object.keys(env).map((key) => [key, process.env[key]]));
  const apply = (values: ReadonlyMap<string, string | undefined> | Record<string, string | undefined>) => {
    for (const [key, value] of values instanceof Map ? values : Object.entries(values)) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
  };

  const allLogs: string[] = [];
  const capture = (chunk: string | Uint8Array) => {
    const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
    allLogs.push(...text.split('\n').filter((line) => line.length > 0));
    return true;
  };
  // Powertools writes INFO and below to stdout, WARN and ERROR to stderr.
  const spies = [
    vi.spyOn(process.stdout, 'write').mockImplementation(capture),
    vi.spyOn(process.stderr, 'write').mockImplementation(capture),
  ];

  apply(env);
  vi.resetModules();
  const module = await import('../../functions/halt-rollout/handler.ts');

  return {
    simulator,
    sink,
    secretId,
    allLogs,
    async invoke(event, { remainingMs = 60_000 } = {}) {
      const from = allLogs.length;
      try {
        const result = await module.handler(event, lambdaContext(remainingMs));
        return { result, logs: allLogs.slice(from) };
      } catch (error) {
        return {
          error: error instanceof Error ? error : new Error(String(error)),
          logs: allLogs.slice(from),
        };
      }
    },
    async close() {
      for (const spy of spies) spy.mockRestore();
      apply(saved);
      await simulator.close();
    },
  };
}
