/**
 * Runs the real self-check handler the way Lambda does, against real local parts: the Store simulator
 * on loopback and moto (Secrets Manager for the credentials, CloudWatch for the watched alarms). Every
 * harness imports a fresh copy of the handler module, as in a new Lambda container, and names its own
 * alarms, so harnesses never see each other's alarms on the shared moto server.
 *
 * Everything the function shows the world (log lines, results, errors) goes to the suite-wide secret
 * leak check, which `watchdog-harness.ts` runs after each test file that imports it (this one does).
 */
import { randomUUID } from 'node:crypto';
import { CloudWatchClient, DeleteAlarmsCommand } from '@aws-sdk/client-cloudwatch';
import { PutSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { vi } from 'vitest';
import type { WatchedAppInput } from '../../../functions/commons/domain/watched-apps.ts';
import type { CheckResult, SelfCheckReport } from '../../../functions/self-check/checks.ts';
import { putAlarm } from '../../../tools/aws/alarms.ts';
import { start } from '../../../tools/store-simulator/index.ts';
import { SAMPLE_APP_ID, SAMPLE_TENANT, sampleState } from '../../../tools/store-simulator/sample-state.ts';
import type { RunningSimulator, SimulatorState } from '../../../tools/store-simulator/types.ts';
import { motoClientConfig } from '../../support/aws.ts';
import { createSecret, motoClients } from '../../support/aws-resources.ts';
import { describeThrown, readClientSecret, suiteLeakCollector } from '../../support/secret-leaks.ts';
import {
  FEDERATED_SECRET_STRING,
  FUNCTION_ROLE_ARN,
  lambdaContext,
  SAMPLE_SECRET_STRING,
  trustRole,
} from '../../support/watchdog-harness.ts';

export { FUNCTION_ROLE_ARN } from '../../support/watchdog-harness.ts';

export interface SelfCheckHarnessOptions {
  readonly state?: SimulatorState;
  /** `WATCHDOG_APPS`; `{alarm}` in an alarm name becomes this harness's unique alarm name. */
  readonly apps?: readonly WatchedAppInput[];
  /** The secret's value; `null` creates no secret (the id then names a missing one). */
  readonly secretString?: string | null;
  /** Alarms to create in moto before the handler runs. @default every alarm the apps name */
  readonly createAlarms?: readonly string[];
  /** Extra or overriding environment variables; `undefined` removes one. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /**
   * Federated credentials: the secret says `"credential": "aws-federation"`, STS is the simulator's
   * stand-in (`AWS_ENDPOINT_URL_STS`), and the function's role is `FUNCTION_ROLE_ARN`.
   * `trust` is the federated credential the application holds (`null`: none).
   */
  readonly federation?: {
    readonly trust?: { readonly subject?: string; readonly audiences?: readonly string[] } | null;
    readonly enabled?: boolean;
  };
}

export interface SelfCheckInvocation {
  readonly result?: SelfCheckReport;
  readonly error?: Error;
  /** Every line written to stdout or stderr during the invocation (JSON logs and EMF metrics). */
  readonly logs: readonly string[];
}

export interface SelfCheckHarness {
  readonly simulator: RunningSimulator;
  readonly secretId: string;
  /** This harness's watched alarm (what `{alarm}` became). */
  readonly alarmName: string;
  /** The apps as given to the function (`{alarm}` replaced). */
  readonly apps: readonly WatchedAppInput[];
  /** Invokes with a scheduled event; `time` is its scheduled time (ISO). @default now */
  invoke(options?: { readonly remainingMs?: number; readonly time?: string }): Promise<SelfCheckInvocation>;
  deleteAlarm(name: string): Promise<void>;
  putSecret(value: string): Promise<void>;
  /** Every line since the harness started. */
  readonly allLogs: readonly string[];
  close(): Promise<void>;
}

/** The checks of a run, whether it passed (the result) or failed (the error's report). */
export function checksOf(invocation: SelfCheckInvocation): readonly CheckResult[] {
  const report =
    invocation.result ??
    (invocation.error !== undefined && 'report' in invocation.error ? invocation.error.report : undefined);
  if (
    typeof report !== 'object' ||
    report === null ||
    !('checks' in report) ||
    !Array.isArray(report.checks)
  ) {
    throw new Error(`no report: ${invocation.error?.message}`);
  }
  return report.checks;
}

/** The sample app watched by `{alarm}`, main rollout and every flight. */
export const SELF_CHECK_SAMPLE_APPS: readonly WatchedAppInput[] = [
  { applicationId: SAMPLE_APP_ID, name: 'Contoso Photos', alarmNames: ['{alarm}'], flights: 'all' },
];

/** Starts the simulator and the AWS resources, sets the environment, and imports a fresh handler. */
export async function startSelfCheck(options: SelfCheckHarnessOptions = {}): Promise<SelfCheckHarness> {
  const federation = options.federation;
  const simulator = await start({
    state: options.state ?? sampleState(),
    ...(federation === undefined
      ? {}
      : { federation: { enabled: federation.enabled ?? true, principals: { testing: FUNCTION_ROLE_ARN } } }),
  });
  const trust = federation?.trust === undefined ? {} : federation.trust;
  if (federation !== undefined && trust !== null) trustRole(simulator, trust);
  const clients = motoClients();
  const cloudWatch = new CloudWatchClient(motoClientConfig());
  const alarmName = `contoso-photos-crash-rate-${randomUUID()}`;
  const apps = (options.apps ?? SELF_CHECK_SAMPLE_APPS).map((app) => ({
    ...app,
    ...(app.alarmNames === undefined
      ? {}
      : { alarmNames: app.alarmNames.map((name) => name.replace('{alarm}', alarmName)) }),
    ...(app.notifyAlarmNames === undefined
      ? {}
      : { notifyAlarmNames: app.notifyAlarmNames.map((name) => name.replace('{alarm}', alarmName)) }),
  }));
  const secretId =
    options.secretString === null
      ? `arn:aws:secretsmanager:us-east-1:123456789012:secret:missing-${randomUUID()}`
      : await createSecret(
          clients.secrets,
          options.secretString ?? (federation === undefined ? SAMPLE_SECRET_STRING : FEDERATED_SECRET_STRING),
        );
  const toCreate =
    options.createAlarms?.map((name) => name.replace('{alarm}', alarmName)) ??
    apps.flatMap((app) => app.alarmNames ?? []);
  for (const name of new Set(toCreate)) await putAlarm(cloudWatch, name);

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

  const aws = motoClientConfig();
  const env: Record<string, string | undefined> = {
    STORE_CREDENTIALS_SECRET_ID: secretId,
    WATCHDOG_APPS: JSON.stringify(apps),
    NOTIFICATION_TOPIC_ARN: undefined,
    DRY_RUN: undefined,
    STORE_API_BASE_URL: simulator.storeBaseUrl,
    AZURE_AD_AUTHORITY: simulator.authority,
    AWS_ENDPOINT_URL: aws.endpoint,
    AWS_REGION: aws.region,
    AWS_ACCESS_KEY_ID: aws.credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: aws.credentials.secretAccessKey,
    POWERTOOLS_METRICS_NAMESPACE: 'StoreRolloutWatchdogTest',
    AWS_ENDPOINT_URL_STS: federation === undefined ? undefined : simulator.stsEndpoint,
    ...options.env,
  };
  const saved = new Map(Object.keys(env).map((key) => [key, process.env[key]]));
  const apply = (values: Iterable<[string, string | undefined]>) => {
    for (const [key, value] of values) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
  };

  const allLogs: string[] = [];
  const capture = (chunk: string | Uint8Array) => {
    const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
    for (const line of text.split('\n')) {
      if (line.length === 0) continue;
      allLogs.push(line);
      suiteLeakCollector.record('log', line);
    }
    return true;
  };
  // Powertools writes INFO and below to stdout, WARN and ERROR to stderr.
  const spies = [
    vi.spyOn(process.stdout, 'write').mockImplementation(capture),
    vi.spyOn(process.stderr, 'write').mockImplementation(capture),
  ];

  apply(Object.entries(env));
  vi.resetModules();
  const module = await import('../../../functions/self-check/handler.ts');

  return {
    simulator,
    secretId,
    alarmName,
    apps,
    allLogs,
    async invoke({ remainingMs = 60_000, time = new Date().toISOString() } = {}) {
      const from = allLogs.length;
      const event = {
        version: '0',
        id: randomUUID(),
        'detail-type': 'Scheduled Event',
        source: 'aws.events',
        account: '123456789012',
        time,
        region: 'us-east-1',
        resources: ['arn:aws:events:us-east-1:123456789012:rule/self-check-schedule'],
        detail: {},
      };
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
    async deleteAlarm(name) {
      await cloudWatch.send(new DeleteAlarmsCommand({ AlarmNames: [name] }));
    },
    async putSecret(value) {
      const clientSecret = readClientSecret(value);
      if (clientSecret !== undefined) suiteLeakCollector.watch('client secret', clientSecret);
      await clients.secrets.send(new PutSecretValueCommand({ SecretId: secretId, SecretString: value }));
    },
    async close() {
      for (const spy of spies) spy.mockRestore();
      apply(saved);
      await simulator.close();
    },
  };
}

/** The metric values of the EMF lines among `logs`, by metric name (last value wins). */
export function readMetrics(logs: readonly string[]): Record<string, number> {
  const values: Record<string, number> = {};
  for (const line of logs) {
    const entry: unknown = JSON.parse(line);
    if (typeof entry !== 'object' || entry === null || !('_aws' in entry)) continue;
    for (const [key, value] of Object.entries(entry)) {
      if (typeof value === 'number') values[key] = value;
    }
  }
  return values;
}

export { putAlarm };
