/**
 * Runs the real Store health probe handler the way Lambda does, against real local parts: the Store
 * simulator on loopback and moto (Secrets Manager). Every harness imports a fresh copy of the handler
 * module, as in a new Lambda container. Everything the function shows the world (log lines, results,
 * errors) goes to the suite-wide secret leak check.
 */
import { randomUUID } from 'node:crypto';
import { vi } from 'vitest';
import { z } from 'zod';
import type { WatchedAppInput } from '../../../functions/commons/domain/watched-apps.ts';
import { start } from '../../../tools/store-simulator/index.ts';
import { SAMPLE_APP_ID, SAMPLE_TENANT, sampleState } from '../../../tools/store-simulator/sample-state.ts';
import type { RunningSimulator, SimulatorState } from '../../../tools/store-simulator/types.ts';
import { motoClientConfig } from '../../support/aws.ts';
import { createSecret, motoClients } from '../../support/aws-resources.ts';
import { describeThrown, suiteLeakCollector } from '../../support/secret-leaks.ts';
import {
  FEDERATED_SECRET_STRING,
  FUNCTION_ROLE_ARN,
  lambdaContext,
  SAMPLE_SECRET_STRING,
  trustRole,
} from '../../support/watchdog-harness.ts';

export interface StoreHealthHarnessOptions {
  readonly state?: SimulatorState;
  readonly apps?: readonly WatchedAppInput[];
  readonly env?: Readonly<Record<string, string | undefined>>;
  /**
   * Gives the process's tenant budget, and the stack's durable one when the state table is set, room
   * for the test (a real minute per 10 requests is too slow for a unit test); the budgets themselves
   * are proven in throttle.test.ts, store-budget.test.ts and shared-budget.test.ts. @default true
   */
  readonly roomyBudget?: boolean;
  /** Federated credentials: no key in the secret, STS is the simulator's stand-in, Entra ID trusts the role. */
  readonly federated?: boolean;
}

export interface StoreHealthInvocation {
  readonly result?: unknown;
  readonly error?: Error;
  readonly logs: readonly string[];
}

export interface StoreHealthHarness {
  readonly simulator: RunningSimulator;
  invoke(): Promise<StoreHealthInvocation>;
  close(): Promise<void>;
}

export const SAMPLE_HEALTH_APPS: readonly WatchedAppInput[] = [
  { applicationId: SAMPLE_APP_ID, name: 'Contoso Photos', notifyAlarmNames: ['contoso-photos-store-health'] },
];

export async function startStoreHealth(options: StoreHealthHarnessOptions = {}): Promise<StoreHealthHarness> {
  const federated = options.federated === true;
  const simulator = await start({
    state: options.state ?? sampleState(),
    ...(federated ? { federation: { principals: { testing: FUNCTION_ROLE_ARN } } } : {}),
  });
  if (federated) trustRole(simulator);
  const secretId = await createSecret(
    motoClients().secrets,
    federated ? FEDERATED_SECRET_STRING : SAMPLE_SECRET_STRING,
  );
  suiteLeakCollector.watch('client secret', SAMPLE_TENANT.clientSecret);
  suiteLeakCollector.watchAll(function* () {
    for (const token of simulator.control.issuedTokens()) yield ['access token', token];
    for (const token of simulator.control.issuedAssertions()) yield ['identity token', token];
  });
  const aws = motoClientConfig();
  const env: Record<string, string | undefined> = {
    STORE_CREDENTIALS_SECRET_ID: secretId,
    WATCHDOG_APPS: JSON.stringify(options.apps ?? SAMPLE_HEALTH_APPS),
    NOTIFICATION_TOPIC_ARN: undefined,
    DRY_RUN: undefined,
    STORE_API_BASE_URL: simulator.storeBaseUrl,
    AZURE_AD_AUTHORITY: simulator.authority,
    AWS_ENDPOINT_URL: aws.endpoint,
    AWS_REGION: aws.region,
    AWS_ACCESS_KEY_ID: aws.credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: aws.credentials.secretAccessKey,
    AWS_ENDPOINT_URL_STS: federated ? simulator.stsEndpoint : undefined,
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
  const spies = [
    vi.spyOn(process.stdout, 'write').mockImplementation(capture),
    vi.spyOn(process.stderr, 'write').mockImplementation(capture),
  ];
  apply(Object.entries(env));
  vi.resetModules();
  if (options.roomyBudget !== false) {
    // The fresh module graph's tenant budget: the first options for a tenant win.
    const throttle = await import('../../../functions/commons/store/throttle.ts');
    throttle.getTenantThrottle(SAMPLE_TENANT.tenantId, { limit: 1_000 });
    const durable = await import('../../../functions/commons/aws/store-budget.ts');
    durable.setDurableBudgetDefaults({ limit: 1_000 });
  }
  const module = await import('../../../functions/store-health/handler.ts');
  return {
    simulator,
    async invoke() {
      const from = allLogs.length;
      const event = { source: 'aws.events', 'detail-type': 'Scheduled Event', id: randomUUID(), detail: {} };
      try {
        const result = await module.handler(event, lambdaContext(60_000));
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
    async close() {
      for (const spy of spies) spy.mockRestore();
      apply(saved);
      await simulator.close();
    },
  };
}

const emfSchema = z.object({
  CloudWatchMetrics: z.array(
    z.object({
      Namespace: z.string(),
      Dimensions: z.array(z.array(z.string())),
      Metrics: z.array(z.object({ Name: z.string(), Unit: z.string() })),
    }),
  ),
});

export interface EmfDocument {
  readonly namespace: string;
  readonly dimensions: readonly string[];
  readonly values: Readonly<Record<string, unknown>>;
  readonly units: Readonly<Record<string, string>>;
}

/** The EMF documents among `logs`. */
export function readEmf(logs: readonly string[]): EmfDocument[] {
  const documents: EmfDocument[] = [];
  for (const line of logs) {
    let entry: unknown;
    try {
      entry = JSON.parse(line);
    } catch {
      continue;
    }
    if (typeof entry !== 'object' || entry === null || !('_aws' in entry)) continue;
    const aws = emfSchema.parse(entry._aws);
    for (const directive of aws.CloudWatchMetrics) {
      documents.push({
        namespace: directive.Namespace,
        dimensions: directive.Dimensions.flat(),
        values: { ...entry },
        units: Object.fromEntries(directive.Metrics.map((metric) => [metric.Name, metric.Unit])),
      });
    }
  }
  return documents;
}

/** The figures published for one app (namespace `StoreRolloutWatchdog/StoreHealth`, dimension `ApplicationId`). */
export function figuresOf(logs: readonly string[], applicationId: string): EmfDocument | undefined {
  return readEmf(logs).find(
    (document) =>
      document.namespace === 'StoreRolloutWatchdog/StoreHealth' &&
      document.values.ApplicationId === applicationId,
  );
}
