/**
 * What the benchmark's invocations act on: apps in the simulator (one fresh app per invocation, since a
 * halt cannot be undone), their `WATCHDOG_APPS` entries and alarms, the EventBridge event Lambda would
 * deliver, the handler's environment, and a Lambda context.
 */
import type { Context } from 'aws-lambda';
import { app, publishedSubmission, SAMPLE_TENANT, submission } from '../store-simulator/sample-state.ts';
import type { SimApp, SimulatorState } from '../store-simulator/types.ts';

/** One app the benchmark halts once: its published submission rolls out at 20%, nothing pending, no flights. */
export interface BenchApp {
  readonly applicationId: string;
  readonly submissionId: string;
  readonly alarmName: string;
}

/**
 * `count` apps with IDs unique to `series` (two upper-case letters or digits), so every phase and every
 * invocation has apps of its own.
 */
export function createBenchApps(series: string, count: number): BenchApp[] {
  if (!/^[0-9A-Z]{2}$/.test(series))
    throw new RangeError(`series must be two upper-case letters or digits: ${series}`);
  if (!Number.isInteger(count) || count < 0 || count > 99_999_999)
    throw new RangeError(`bad app count ${count}`);
  return Array.from({ length: count }, (_, index) => {
    const serial = String(index + 1).padStart(8, '0');
    const applicationId = `9B${series}${serial}`;
    return {
      applicationId,
      submissionId: `115292150470${serial}`,
      alarmName: `bench-crash-rate-${applicationId}`,
    };
  });
}

/** The Store side of the apps: a fresh simulator state holding them all, in the sample tenant. */
export function createBenchState(apps: readonly BenchApp[]): SimulatorState {
  const simApps: SimApp[] = apps.map((bench) => {
    // The submission customers outside the rollout get: unique per app, like the submission itself.
    const fallbackId = `2${bench.submissionId.slice(1)}`;
    return app(
      bench.applicationId,
      [publishedSubmission(bench.submissionId, 20, fallbackId), submission(fallbackId, 'Published')],
      { primaryName: `Bench ${bench.applicationId}` },
    );
  });
  return { tenants: [{ ...SAMPLE_TENANT }], apps: simApps };
}

/** `WATCHDOG_APPS` for the apps: each watched by its own alarm, enforcing, main rollout only. */
export function renderWatchdogApps(apps: readonly BenchApp[]): string {
  return JSON.stringify(
    apps.map((bench) => ({
      applicationId: bench.applicationId,
      name: `Bench ${bench.applicationId}`,
      alarmNames: [bench.alarmName],
      mode: 'enforce',
    })),
  );
}

/** The EventBridge `CloudWatch Alarm State Change` event of the app's alarm going into ALARM. */
export function createAlarmEvent(bench: BenchApp, at: Date = new Date()): Record<string, unknown> {
  return alarmStateChangeEvent(bench.alarmName, at);
}

/** The EventBridge event of `alarmName` going from OK into ALARM at `at`, as CloudWatch sends it. */
export function alarmStateChangeEvent(alarmName: string, at: Date = new Date()): Record<string, unknown> {
  const time = at.toISOString();
  return {
    version: '0',
    id: crypto.randomUUID(),
    'detail-type': 'CloudWatch Alarm State Change',
    source: 'aws.cloudwatch',
    account: '123456789012',
    time,
    region: 'us-east-1',
    resources: [`arn:aws:cloudwatch:us-east-1:123456789012:alarm:${alarmName}`],
    detail: {
      alarmName,
      state: {
        value: 'ALARM',
        reason:
          'Threshold Crossed: 1 out of the last 1 datapoints [6.8] was greater than the threshold (2.0).',
        timestamp: time,
      },
      previousState: { value: 'OK', reason: 'Threshold Crossed: back under the threshold.', timestamp: time },
    },
  };
}

/** The SNS event Lambda receives for `alarmName` going from OK into ALARM at `at` (the other path of the same transition). */
export function alarmSnsEvent(alarmName: string, at: Date): Record<string, unknown> {
  const message = {
    AlarmName: alarmName,
    NewStateValue: 'ALARM',
    OldStateValue: 'OK',
    NewStateReason: 'Threshold Crossed',
    StateChangeTime: at.toISOString(),
    Region: 'US East (N. Virginia)',
    AlarmArn: `arn:aws:cloudwatch:us-east-1:123456789012:alarm:${alarmName}`,
  };
  return {
    Records: [
      {
        EventSource: 'aws:sns',
        Sns: {
          Type: 'Notification',
          MessageId: crypto.randomUUID(),
          Message: JSON.stringify(message),
          Timestamp: at.toISOString(),
        },
      },
    ],
  };
}

/** The alarm an app of a storm lists when each has its own. */
export function ownAlarmName(applicationId: string): string {
  return `${applicationId}-crash-rate`;
}

/** The credentials secret's id and value (the simulator's sample tenant). */
export const BENCH_SECRET = {
  id: 'store-rollout-watchdog/bench-store-credentials',
  value: JSON.stringify({
    tenantId: SAMPLE_TENANT.tenantId,
    clientId: SAMPLE_TENANT.clientId,
    clientSecret: SAMPLE_TENANT.clientSecret,
  }),
} as const;

export const BENCH_TOPIC_ARN = 'arn:aws:sns:us-east-1:123456789012:store-rollout-watchdog-bench';

/**
 * The handler's environment, built from nothing (the bench's own environment is not passed on, so no
 * AWS profile or variable of the machine leaks in): the function's variables, the Lambda runtime's
 * usual ones, and fake AWS keys (the stand-in does not check them).
 */
export function createHandlerEnvironment(options: {
  readonly apps: readonly BenchApp[];
  readonly storeBaseUrl: string;
  readonly authority: string;
  readonly awsEndpoint: string;
}): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '',
    STORE_CREDENTIALS_SECRET_ID: BENCH_SECRET.id,
    NOTIFICATION_TOPIC_ARN: BENCH_TOPIC_ARN,
    WATCHDOG_APPS: renderWatchdogApps(options.apps),
    STORE_API_BASE_URL: options.storeBaseUrl,
    AZURE_AD_AUTHORITY: options.authority,
    AWS_ENDPOINT_URL: options.awsEndpoint,
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'bench-not-a-key',
    AWS_SECRET_ACCESS_KEY: 'bench-not-a-secret',
    AWS_EC2_METADATA_DISABLED: 'true',
    POWERTOOLS_SERVICE_NAME: 'store-rollout-watchdog',
    POWERTOOLS_METRICS_NAMESPACE: 'StoreRolloutWatchdogBench',
    // What the Lambda runtime sets (Powertools and the SDK read some of these).
    AWS_LAMBDA_FUNCTION_NAME: 'store-rollout-watchdog-bench',
    AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '256',
    AWS_LAMBDA_INITIALIZATION_TYPE: 'on-demand',
    AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs24.x',
    TZ: ':UTC',
  };
}

/** A Lambda context whose remaining time counts down from `remainingMs`. */
export function createLambdaContext(remainingMs: number): Context {
  const startedAt = performance.now();
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName: 'store-rollout-watchdog-bench',
    functionVersion: '$LATEST',
    invokedFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:store-rollout-watchdog-bench',
    memoryLimitInMB: '256',
    awsRequestId: crypto.randomUUID(),
    logGroupName: '/aws/lambda/store-rollout-watchdog-bench',
    logStreamName: 'bench',
    getRemainingTimeInMillis: () => Math.max(0, Math.floor(remainingMs - (performance.now() - startedAt))),
    done: () => {},
    fail: () => {},
    succeed: () => {},
  };
}
