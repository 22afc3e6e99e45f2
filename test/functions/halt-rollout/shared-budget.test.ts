/**
 * The stack's one Store request budget, end to end: four halt-rollout containers handling a storm at
 * once, a self-check run and a Store health probe run, each a fresh copy of its real handler (as in
 * its own Lambda container), against one Store simulator that answers 429 past 20 requests in any
 * 60 s, with the state table on moto created as the template defines it.
 *
 * The deployed window and margin, on one virtual clock (`test/support/virtual-clock.ts`) for the
 * simulator, the budget, each container's own throttle and the invocations' deadlines: the windows pass
 * in the time the requests take. What is asserted comes from the simulator's request log: never more
 * than 20 Store requests in any window, none answered 429, the readers never more than half a window,
 * the halts more than half when they need it, and every rollout halted.
 */
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import {
  alarmStateChangeEvent,
  createBenchApps,
  createBenchState,
} from '../../../tools/fixtures/watchdog-apps.ts';
import { start } from '../../../tools/store-simulator/index.ts';
import { SAMPLE_TENANT } from '../../../tools/store-simulator/sample-state.ts';
import type { RecordedRequest, RunningSimulator } from '../../../tools/store-simulator/types.ts';
import { type AtomicWritesProxy, startAtomicWritesProxy } from '../../support/atomic-writes-proxy.ts';
import { describeWithMoto, motoClientConfig } from '../../support/aws.ts';
import { createNotificationSink, createSecret, motoClients } from '../../support/aws-resources.ts';
import { mostInAnyWindow } from '../../support/request-windows.ts';
import { describeThrown, suiteLeakCollector } from '../../support/secret-leaks.ts';
import { createStateTable, motoDynamo } from '../../support/state-table.ts';
import { createVirtualClock, type VirtualClock } from '../../support/virtual-clock.ts';
import { lambdaContext, SAMPLE_SECRET_STRING } from '../../support/watchdog-harness.ts';
import { putAlarm } from '../self-check/self-check-harness.ts';

/** The Store's limit: 20 requests in any 60 s. */
const LIMIT = 20;
const WINDOW_MS = 60_000;
/** Each function's Lambda timeout here (the halt function's deployed one). */
const TIMEOUT_MS = 300_000;

const STORM_ALARMS = ['storm-a', 'storm-b', 'storm-c', 'storm-d'];
/** Four apps per storm alarm: each halt container handles one alarm. */
const HALT_APPS = createBenchApps('HB', 16).map((app, index) => ({
  ...app,
  alarmName: STORM_ALARMS[Math.floor(index / 4)] ?? 'storm-a',
}));
const SELF_CHECK_APPS = createBenchApps('RS', 6);
const PROBE_APPS = createBenchApps('RP', 2);

type Handler = (event: unknown, context: ReturnType<typeof lambdaContext>) => Promise<unknown>;

const savedEnv = new Map<string, string | undefined>();
function applyEnv(values: Readonly<Record<string, string | undefined>>): void {
  for (const [key, value] of Object.entries(values)) {
    if (!savedEnv.has(key)) savedEnv.set(key, process.env[key]);
    if (value === undefined) delete process.env[key];
    else process.env[key] = value;
  }
}

/** A fresh copy of a handler (a new container) on the virtual clock, imported under `env`. */
async function importHandler(
  clock: VirtualClock,
  env: Readonly<Record<string, string | undefined>>,
  load: () => Promise<{ handler: Handler }>,
): Promise<Handler> {
  applyEnv(env);
  vi.resetModules();
  const time = { now: clock.now, sleep: clock.sleep };
  const deadline = await import('../../../functions/commons/http/deadline.ts');
  deadline.setDeadlineDefaults(time);
  const budget = await import('../../../functions/commons/aws/store-budget.ts');
  budget.setDurableBudgetDefaults(time);
  // The halt function's own throttle in front of the stack's budget, on the same clock.
  const throttle = await import('../../../functions/commons/store/throttle.ts');
  throttle.getTenantThrottle(SAMPLE_TENANT.tenantId, time);
  return (await load()).handler;
}

// The readers' apps, and the app list (only the probe reads it: the halt path asks for its apps by ID).
const isReader = (request: RecordedRequest) =>
  /9BR[SP]/.test(`${request.path}?${request.query}`) || request.path.endsWith('/applications');
const isHaltPath = (request: RecordedRequest) => request.path.includes('9BHB');

describeWithMoto("one request budget for the stack's functions", () => {
  let simulator: RunningSimulator;
  let clock: VirtualClock;
  let moto: AtomicWritesProxy;
  const logs: string[] = [];
  let spies: { mockRestore(): void }[] = [];

  beforeAll(async () => {
    clock = createVirtualClock({ start: Date.parse('2026-12-02T06:00:00.000Z') });
    moto = await startAtomicWritesProxy(motoClientConfig().endpoint);
    simulator = await start({
      state: createBenchState([...HALT_APPS, ...SELF_CHECK_APPS, ...PROBE_APPS]),
      // The gateway: 429 past 20 requests in any window.
      throttle: { limit: LIMIT, windowMs: WINDOW_MS },
      clock: clock.server,
    });
    suiteLeakCollector.watch('client secret', SAMPLE_TENANT.clientSecret);
    suiteLeakCollector.watchAll(function* () {
      for (const token of simulator.control.issuedTokens()) yield ['access token', token];
    });
    const capture = (chunk: string | Uint8Array) => {
      const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
      for (const line of text.split('\n')) {
        if (line.length === 0) continue;
        logs.push(line);
        suiteLeakCollector.record('log', line);
      }
      return true;
    };
    spies = [
      vi.spyOn(process.stdout, 'write').mockImplementation(capture),
      vi.spyOn(process.stderr, 'write').mockImplementation(capture),
    ];
  });

  afterAll(async () => {
    for (const spy of spies) spy.mockRestore();
    for (const [key, value] of savedEnv) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
    vi.resetModules();
    clock.close();
    await moto.close();
    await simulator.close();
  });

  it('keeps four halt containers, a self-check and a probe together to 20 in any window, without a 429', async () => {
    const clients = motoClients();
    const aws = motoClientConfig();
    const tableName = await createStateTable(motoDynamo());
    const secretId = await createSecret(clients.secrets, SAMPLE_SECRET_STRING);
    const sink = await createNotificationSink(clients.sns, clients.sqs);
    const cloudWatch = new CloudWatchClient(aws);
    for (const app of SELF_CHECK_APPS) await putAlarm(cloudWatch, app.alarmName);
    const common = {
      STORE_CREDENTIALS_SECRET_ID: secretId,
      STORE_API_BASE_URL: simulator.storeBaseUrl,
      AZURE_AD_AUTHORITY: simulator.authority,
      // The functions' budget writes are decided one at a time, as DynamoDB does (see the proxy).
      AWS_ENDPOINT_URL: moto.url,
      AWS_REGION: aws.region,
      AWS_ACCESS_KEY_ID: aws.credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: aws.credentials.secretAccessKey,
      POWERTOOLS_METRICS_NAMESPACE: 'StoreRolloutWatchdogTest',
      ROLLOUT_MEMORY_TABLE: tableName,
      DRY_RUN: undefined,
      CONTINUATION_QUEUE_URL: undefined,
    };
    const haltEnv = {
      ...common,
      NOTIFICATION_TOPIC_ARN: sink.topicArn,
      WATCHDOG_APPS: JSON.stringify(
        HALT_APPS.map((app) => ({
          applicationId: app.applicationId,
          name: `Bench ${app.applicationId}`,
          alarmNames: [app.alarmName],
          mode: 'enforce',
        })),
      ),
    };
    const halts: Handler[] = [];
    for (const _alarm of STORM_ALARMS) {
      halts.push(
        await importHandler(clock, haltEnv, () => import('../../../functions/halt-rollout/handler.ts')),
      );
    }
    const selfCheck = await importHandler(
      clock,
      {
        ...common,
        NOTIFICATION_TOPIC_ARN: undefined,
        WATCHDOG_APPS: JSON.stringify(
          SELF_CHECK_APPS.map((app) => ({
            applicationId: app.applicationId,
            name: `Bench ${app.applicationId}`,
            alarmNames: [app.alarmName],
          })),
        ),
      },
      () => import('../../../functions/self-check/handler.ts'),
    );
    const probe = await importHandler(
      clock,
      {
        ...common,
        NOTIFICATION_TOPIC_ARN: undefined,
        WATCHDOG_APPS: JSON.stringify(
          PROBE_APPS.map((app) => ({
            applicationId: app.applicationId,
            name: `Bench ${app.applicationId}`,
            notifyAlarmNames: [`${app.applicationId}-store-health`],
          })),
        ),
      },
      () => import('../../../functions/store-health/handler.ts'),
    );
    // Only what the invocations send counts (the import-time warm-ups fetch tokens only).
    simulator.control.clearRequests();

    const settle = async (run: Promise<unknown>): Promise<{ readonly ok: boolean }> =>
      run.then(
        (result) => {
          suiteLeakCollector.record('result', JSON.stringify(result));
          return { ok: true };
        },
        (error: unknown) => {
          suiteLeakCollector.record('error', describeThrown(error));
          return { ok: false };
        },
      );
    const outcomes = await Promise.all([
      ...halts.map((halt, index) =>
        settle(halt(alarmStateChangeEvent(STORM_ALARMS[index] ?? 'storm-a'), lambdaContext(TIMEOUT_MS))),
      ),
      settle(selfCheck({ source: 'aws.events', time: new Date().toISOString() }, lambdaContext(TIMEOUT_MS))),
      settle(probe({}, lambdaContext(TIMEOUT_MS))),
    ]);

    const store = simulator.control.requests.filter((request) => request.kind === 'store');
    // Nobody drew a 429: every request found its slot in the budget first.
    expect(store.filter((request) => request.status === 429)).toEqual([]);
    // Exactly 20 in the fullest 60 s: never more, and the stack's budget spent to the full.
    expect(
      mostInAnyWindow(
        store.map((request) => request.startedAt),
        WINDOW_MS,
      ),
    ).toBe(LIMIT);
    // The readers never held more than half a window; the halts took more than half when they needed it.
    const readers = store.filter(isReader);
    const haltPath = store.filter(isHaltPath);
    expect(readers.length + haltPath.length).toBe(store.length);
    expect(
      mostInAnyWindow(
        readers.map((request) => request.startedAt),
        WINDOW_MS,
      ),
    ).toBeLessThanOrEqual(LIMIT / 2);
    expect(
      mostInAnyWindow(
        haltPath.map((request) => request.startedAt),
        WINDOW_MS,
      ),
    ).toBeGreaterThan(LIMIT / 2);
    // Every storm was handled: 16 rollouts halted, and the readers read every one of their apps.
    expect(simulator.control.effectiveHalts).toBe(HALT_APPS.length);
    // The halts, the self-check and the probe all ended well: the readers waited, they were not refused.
    expect(outcomes.map((outcome) => outcome.ok)).toEqual([true, true, true, true, true, true]);
    for (const app of [...SELF_CHECK_APPS, ...PROBE_APPS]) {
      expect(readers.some((request) => request.path.includes(app.applicationId))).toBe(true);
    }
    // More than one window's worth went out: the budget was really shared, not merely large enough.
    expect(store.length).toBeGreaterThan(2 * LIMIT);
  });
});
