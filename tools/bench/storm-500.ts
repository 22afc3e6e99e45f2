/**
 * `npm run bench -- --storm-500`: 500 alarms of one tenant at once on the deployed configuration, time
 * scaled (a minute becomes `MINUTE_MS`). Each alarm watches one app with a live rollout and is delivered
 * twice (its SNS and its EventBridge event, all 1,000 in a shuffled order), with the transition ledger,
 * the rollout memory and the stack's durable Store budget in a state table on moto created as the
 * template defines it. Lambda's asynchronous queue is modelled: up to 10 halt invocations at once
 * (reserved concurrency), an event that finds every slot busy waits, and one that waited `maxEventAge`
 * (6 hours, scaled) is dropped; continuations come from an in-process stand-in of the SQS event source,
 * at most 2 at once, within the same 10. Each halt "container" has its own Store client and takes its
 * slots from the durable budget alone (its process throttle only orders its own requests and is left
 * out); a self-check run and a Store health probe run (their real handlers) read beside the storm.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { ConditionalCheckFailedException, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { CreateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { createRolloutMemory } from '../../functions/commons/aws/rollout-memory.ts';
import { createDurableBudgets, setDurableBudgetDefaults } from '../../functions/commons/aws/store-budget.ts';
import { createTransitionLedger } from '../../functions/commons/aws/transition-ledger.ts';
import { parseEnvironment } from '../../functions/commons/config/env.ts';
import { createDispatcher } from '../../functions/commons/http/transport.ts';
import { createStoreAccess } from '../../functions/commons/store/store-access.ts';
import { getTenantThrottle } from '../../functions/commons/store/throttle.ts';
import * as z from '../../functions/commons/validation.ts';
import {
  budgetFromRemaining,
  handleWatchdogEvent,
  type WatchdogPorts,
} from '../../functions/halt-rollout/watchdog.ts';
import {
  CONTINUATION_MAX_CONCURRENCY,
  DEFAULT_HALT_ROLLOUT_CONCURRENCY,
  HALT_ROLLOUT_MAX_EVENT_AGE_SECONDS,
  HALT_ROLLOUT_TIMEOUT_SECONDS,
} from '../../infra/halt-rollout-limits.ts';
import { putAlarm } from '../aws/alarms.ts';
import { startMoto } from '../aws/moto.ts';
import { createStateTable } from '../aws/state-table.ts';
import {
  alarmSnsEvent,
  alarmStateChangeEvent,
  BENCH_SECRET,
  createBenchApps,
  createBenchState,
  createLambdaContext,
  ownAlarmName,
} from '../fixtures/watchdog-apps.ts';
import { start } from '../store-simulator/index.ts';
import { rollingApps, SAMPLE_TENANT } from '../store-simulator/sample-state.ts';
import type { RecordedRequest } from '../store-simulator/types.ts';

const LIMIT = 20;
/** The budget's margin against jitter: not scaled (250 ms at the real pace), since a loaded machine's timer and I/O delays are not. */
const MARGIN_MS = 300;
// The deployed stack's own values (reserved concurrency, the continuation queue's concurrency, the
// function's timeout, how long an event may wait for a slot), read from where the stack takes them.
const SLOTS = DEFAULT_HALT_ROLLOUT_CONCURRENCY;
const CONTINUATION_SLOTS = CONTINUATION_MAX_CONCURRENCY;
const READERS = { selfCheck: createBenchApps('RS', 6), probe: createBenchApps('RP', 2) };

/** A budget's conditional write (its last grant is the one it takes). */
const budgetWrite = z.object({
  Item: z.object({
    version: z.object({ N: z.string() }),
    grants: z.object({ L: z.array(z.object({ N: z.string() })) }),
  }),
  ExpressionAttributeValues: z.optional(z.record(z.string(), z.object({ N: z.optional(z.string()) }))),
});

const quiet = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };

/** The most of `times` in any window of `windowMs`. */
export function mostInAnyWindow(times: readonly number[], windowMs: number): number {
  const sorted = [...times].sort((a, b) => a - b);
  let most = 0;
  let from = 0;
  for (const [to, at] of sorted.entries()) {
    while ((sorted[from] ?? at) <= at - windowMs) from += 1;
    most = Math.max(most, to - from + 1);
  }
  return most;
}

/** A reader's run that threw: its error code (a reader gives way to the halts, and its next run retries). */
function outcomeOf(error: unknown): string {
  const code = error instanceof Error && 'code' in error ? String(error.code) : undefined;
  return code ?? (error instanceof Error ? error.name : String(error));
}

function quantiles(values: readonly number[]): string {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
  return `${at(0.5)} / ${at(0.99)} / ${sorted.at(-1) ?? 0}`;
}

function shuffled<T>(items: readonly T[]): T[] {
  return items
    .map((item) => ({ item, key: Math.random() }))
    .sort((a, b) => a.key - b.key)
    .map(({ item }) => item);
}

export async function runStorm500(
  options: { alarms?: number; minuteMs?: number; lookedUp?: boolean } = {},
): Promise<string> {
  const remembered = options.lookedUp !== true;
  const ALARMS = options.alarms ?? 500;
  const MINUTE_MS = options.minuteMs ?? 3_000;
  const scaled = (realMs: number) => Math.round((realMs * MINUTE_MS) / 60_000);
  const MAX_EVENT_AGE_MS = scaled(HALT_ROLLOUT_MAX_EVENT_AGE_SECONDS * 1000);
  const TIMEOUT_MS = scaled(HALT_ROLLOUT_TIMEOUT_SECONDS * 1000);
  setDurableBudgetDefaults({ windowMs: MINUTE_MS, marginMs: MARGIN_MS });
  getTenantThrottle(SAMPLE_TENANT.tenantId, {
    windowMs: MINUTE_MS,
    marginMs: MARGIN_MS,
    followUpMs: scaled(5_000),
  });
  const rolling = rollingApps(ALARMS + 2, 'FH');
  const readerState = createBenchState([...READERS.selfCheck, ...READERS.probe]);
  const simulator = await start({
    state: { tenants: [{ ...SAMPLE_TENANT }], apps: [...rolling.apps, ...readerState.apps] },
    throttle: { limit: LIMIT, windowMs: MINUTE_MS },
  });
  const moto = await startMoto();
  const aws = {
    endpoint: moto.endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' },
  };
  try {
    const dynamo = new DynamoDBClient(aws);
    const tableName = await createStateTable(dynamo);
    await new SecretsManagerClient(aws).send(
      new CreateSecretCommand({ Name: BENCH_SECRET.id, SecretString: BENCH_SECRET.value }),
    );
    const cloudWatch = new CloudWatchClient(aws);
    for (const app of READERS.selfCheck) {
      await putAlarm(cloudWatch, app.alarmName);
    }
    const [storm, spare] = [rolling.targets.slice(0, ALARMS), rolling.targets.slice(ALARMS)];
    if (remembered) {
      // What the self-check (on by default) leaves in the memory: every live rollout, so a halt is one POST.
      const memory = createRolloutMemory(dynamo, tableName, quiet);
      const seenAt = new Date().toISOString();
      for (const { applicationId, submissionId, fallback } of rolling.targets) {
        const rollout = {
          ref: { applicationId, submissionId },
          rolloutPercentage: 20,
          fallbackSubmissionId: fallback,
          seenAt,
        };
        await memory.remember(rollout, AbortSignal.timeout(10_000));
      }
    }
    const config = parseEnvironment({
      STORE_CREDENTIALS_SECRET_ID: BENCH_SECRET.id,
      NOTIFICATION_TOPIC_ARN: 'arn:aws:sns:us-east-1:123456789012:storm-500',
      WATCHDOG_APPS: JSON.stringify(
        rolling.targets.map(({ applicationId }) => ({
          applicationId,
          alarmNames: [ownAlarmName(applicationId)],
        })),
      ),
      STORE_API_BASE_URL: simulator.storeBaseUrl,
      AZURE_AD_AUTHORITY: simulator.authority,
    });
    // The readers' handlers, imported under their environment (their own process throttle, the same budget).
    Object.assign(process.env, {
      STORE_CREDENTIALS_SECRET_ID: BENCH_SECRET.id,
      STORE_API_BASE_URL: simulator.storeBaseUrl,
      AZURE_AD_AUTHORITY: simulator.authority,
      AWS_ENDPOINT_URL: aws.endpoint,
      AWS_REGION: aws.region,
      AWS_ACCESS_KEY_ID: 'bench',
      AWS_SECRET_ACCESS_KEY: 'bench',
      ROLLOUT_MEMORY_TABLE: tableName,
      POWERTOOLS_LOG_LEVEL: 'SILENT',
      POWERTOOLS_METRICS_DISABLED: 'true',
      POWERTOOLS_METRICS_NAMESPACE: 'Bench',
      WATCHDOG_APPS: JSON.stringify(
        READERS.selfCheck.map((app) => ({ applicationId: app.applicationId, alarmNames: [app.alarmName] })),
      ),
    });
    const selfCheck = (await import('../../functions/self-check/handler.ts')).handler;
    process.env.WATCHDOG_APPS = JSON.stringify(
      READERS.probe.map((app) => ({
        applicationId: app.applicationId,
        notifyAlarmNames: [`${app.applicationId}-store-health`],
      })),
    );
    const probe = (await import('../../functions/store-health/handler.ts')).handler;

    // Evidence for the window's count: how late each budget grant's conditional write came back (its
    // request leaves after it), and every warning of the budget (a table failure grants a halt anyway).
    const budgetWarnings = new Map<string, number>();
    const budgetLogger = {
      warn: (message: string, attributes: Record<string, unknown>) => {
        const error = attributes.error;
        const code = typeof error === 'object' && error !== null && 'code' in error ? String(error.code) : '';
        const key = `${message} ${code}`;
        budgetWarnings.set(key, (budgetWarnings.get(key) ?? 0) + 1);
      },
    };
    const grantWriteLagMs: number[] = [];
    const versionsWritten = new Map<string, number>();
    const budgetDynamo = new DynamoDBClient(aws);
    // DynamoDB checks a write's condition and writes atomically; moto's threaded server does not (12
    // concurrent conditional writes on one version: two won in about 1 round in 200), and a grant lost
    // that way let 21 requests into a window. So the halt containers' budget writes are decided here as
    // DynamoDB would: one at a time, and one that expects a version other than the last one written
    // fails at once, as its condition would (unknown after a write of the readers': then moto decides).
    let writing: Promise<void> = Promise.resolve();
    let lastVersion: string | undefined;
    budgetDynamo.middlewareStack.add(
      (next) => async (args) => {
        const written = budgetWrite.safeParse(args.input);
        if (!written.success) return next(args);
        const turn = writing;
        let done = () => {};
        writing = new Promise((resolve) => {
          done = resolve;
        });
        await turn;
        const expects = written.data.ExpressionAttributeValues?.[':read']?.N;
        try {
          if (expects !== undefined && lastVersion !== undefined && expects !== lastVersion) {
            throw new ConditionalCheckFailedException({
              message: 'The conditional request failed',
              $metadata: {},
            });
          }
          const result = await next(args).catch((error: unknown) => {
            if (error instanceof ConditionalCheckFailedException) lastVersion = undefined;
            throw error;
          });
          lastVersion = written.data.Item.version.N;
          const last = written.data.Item.grants.L.at(-1)?.N;
          if (last !== undefined) grantWriteLagMs.push(Date.now() - Number(last));
          // Each version is written once when conditional writes are atomic; twice, a grant was lost.
          versionsWritten.set(lastVersion, (versionsWritten.get(lastVersion) ?? 0) + 1);
          return result;
        } finally {
          done();
        }
      },
      { step: 'initialize', name: 'benchBudgetWrites' },
    );
    const continuations: Array<{ event: unknown; visibleAt: number }> = [];
    let notifications = 0;
    /** When each halt container's request was let out by the budget (the simulator's clock). */
    const grantedAt: number[] = [];
    /** One halt container: its own Store client, the stack's budget, ledger and memory in the table. */
    const container = (ledger: boolean): WatchdogPorts => {
      const budgets = createDurableBudgets({
        client: budgetDynamo,
        tableName,
        budgetClass: 'halt',
        logger: budgetLogger,
      });
      const access = createStoreAccess({
        baseUrl: simulator.storeBaseUrl,
        authority: simulator.authority,
        getCredentials: async () => SAMPLE_TENANT,
        dispatcher: createDispatcher(),
        throttle: false,
        sharedBudget: (tenantId) => {
          const budget = budgets(tenantId);
          return {
            acquire: async (signal, what, priority) => {
              await budget.acquire(signal, what, priority);
              grantedAt.push(performance.now());
            },
          };
        },
      });
      return {
        rollouts: access.rolloutPort,
        memory: createRolloutMemory(dynamo, tableName, quiet),
        ...(ledger ? { ledger: createTransitionLedger(dynamo, tableName, quiet) } : {}),
        handOn: async (continuation, _signal, delaySeconds) => {
          const event = {
            Records: [
              { eventSource: 'aws:sqs', messageId: crypto.randomUUID(), body: JSON.stringify(continuation) },
            ],
          };
          continuations.push({ event, visibleAt: performance.now() + scaled((delaySeconds ?? 0) * 1000) });
        },
        now: () => performance.now(),
        logger: quiet,
        publish: async () => {
          notifications += 1;
        },
      };
    };
    const free = Array.from({ length: SLOTS }, () => container(true));
    const at = new Date();
    const queue = shuffled(
      storm.flatMap(({ applicationId }) => [
        alarmSnsEvent(ownAlarmName(applicationId), at),
        alarmStateChangeEvent(ownAlarmName(applicationId), at),
      ]),
    );
    simulator.control.clearRequests();
    // How late the one event loop (simulator, containers, readers) runs its work: a request let out by the
    // budget reaches the simulator that much later, which the budget's margin must cover.
    const loopDelay = monitorEventLoopDelay({ resolution: 10 });
    loopDelay.enable();
    const startedAt = performance.now();
    const tally = {
      invocations: 0,
      dropped: 0,
      duplicates: 0,
      failed: 0,
      maxWaitMs: 0,
      running: 0,
      continuing: 0,
    };
    const invoke = async (ports: WatchdogPorts, event: unknown, fromQueue: boolean) => {
      tally.running += 1;
      if (!fromQueue) tally.continuing += 1;
      tally.invocations += 1;
      try {
        const result = await handleWatchdogEvent(
          event,
          config,
          ports,
          budgetFromRemaining(createLambdaContext(TIMEOUT_MS).getRemainingTimeInMillis()),
        );
        if (result.duplicate === true) tally.duplicates += 1;
      } catch {
        // Targets that ran out of time: the notification went out and a retry is scheduled on the queue.
        tally.failed += 1;
      } finally {
        tally.running -= 1;
        if (!fromQueue) tally.continuing -= 1;
        free.push(ports);
      }
    };
    const readers = Promise.all([
      selfCheck({ source: 'aws.events', time: at.toISOString() }, createLambdaContext(TIMEOUT_MS)).then(
        () => 'completed',
        outcomeOf,
      ),
      probe({}, createLambdaContext(scaled(60_000))).then(() => 'completed', outcomeOf),
    ]);
    const running: Promise<void>[] = [];
    // The event source: continuations (at most 2 at once) and the async queue share the 10 slots.
    while (queue.length > 0 || continuations.length > 0 || tally.running > 0) {
      const now = performance.now();
      const ready = continuations.findIndex((message) => message.visibleAt <= now);
      const ports = free.pop();
      if (ports === undefined) {
        await new Promise((resolve) => setTimeout(resolve, 5));
      } else if (ready >= 0 && tally.continuing < CONTINUATION_SLOTS) {
        const [message] = continuations.splice(ready, 1);
        running.push(invoke(ports, message?.event, false));
      } else if (queue.length > 0) {
        const event = queue.shift();
        const waited = now - startedAt;
        tally.maxWaitMs = Math.max(tally.maxWaitMs, waited);
        if (waited > MAX_EVENT_AGE_MS) {
          tally.dropped += 1;
          free.push(ports);
        } else running.push(invoke(ports, event, true));
      } else {
        free.push(ports);
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    }
    await Promise.all(running);
    loopDelay.disable();
    const readerResults = await readers;
    const store = simulator.control.requests.filter((request: RecordedRequest) => request.kind === 'store');
    const first = store[0]?.startedAt ?? 0;
    const readerTimes = store.filter((r) => r.path.includes('9BR')).map((r) => r.startedAt);
    const haltPosts = store.filter((r) => r.method === 'POST').length;
    const haltEnds = store
      .filter((r) => r.method === 'POST' && r.status === 200)
      .map((r) => (r.endedAt ?? first) - first);
    const figures = {
      effectiveHalts: simulator.control.effectiveHalts,
      storeRequests: store.length,
      throttled: store.filter((r) => r.status === 429).length,
      mostInWindow: mostInAnyWindow(
        store.map((r) => r.startedAt),
        MINUTE_MS,
      ),
      lastHaltMs: Math.max(...haltEnds),
      boundMs: Math.ceil(store.length / LIMIT) * (MINUTE_MS + MARGIN_MS),
      notifications,
    };

    // A transition delivered twice, one after another, with the ledger and without (today's spare apps).
    const second = async (ledger: boolean, applicationId: string) => {
      const ports = container(ledger);
      const event = () => alarmStateChangeEvent(ownAlarmName(applicationId), at);
      const run = () =>
        handleWatchdogEvent(event(), config, ports, budgetFromRemaining(TIMEOUT_MS)).catch(() => undefined);
      await run();
      const [requests, sent] = [simulator.control.requests.length, notifications];
      await run();
      const added = simulator.control.requests.slice(requests).filter((r) => r.kind === 'store').length;
      return `${added} Store requests, ${notifications - sent} notification(s)`;
    };
    const withLedger = await second(true, spare[0]?.applicationId ?? '');
    const withoutLedger = await second(false, spare[1]?.applicationId ?? '');

    const m = (ms: number) => `${(ms / MINUTE_MS).toFixed(1)} min`;
    const checks = [
      [
        'every live rollout halted exactly once (effective halts; halt POSTs sent)',
        `${figures.effectiveHalts} of ${ALARMS}; ${haltPosts}`,
        figures.effectiveHalts === ALARMS && haltPosts === ALARMS,
      ],
      [
        `invocations dropped (waited past maxEventAge, ${HALT_ROLLOUT_MAX_EVENT_AGE_SECONDS / 3600} h)`,
        `${tally.dropped} (longest wait ${m(tally.maxWaitMs)})`,
        tally.dropped === 0,
      ],
      ['429s drawn', String(figures.throttled), figures.throttled === 0],
      [
        'Store requests in any 60 s, all functions (max)',
        `${figures.mostInWindow} (of ${figures.storeRequests})`,
        figures.mostInWindow <= LIMIT,
      ],
      ['duplicates answered', `${tally.duplicates} of ${ALARMS}`, tally.duplicates === ALARMS],
      [
        'last halt vs ⌈requests ÷ 20⌉ windows',
        `${m(figures.lastHaltMs)} vs ${m(figures.boundMs)}`,
        figures.lastHaltMs <= figures.boundMs,
      ],
      [
        'readers (self-check, probe): Store requests, most in any 60 s (at most half)',
        `${readerTimes.length}, ${mostInAnyWindow(readerTimes, MINUTE_MS)}`,
        mostInAnyWindow(readerTimes, MINUTE_MS) <= LIMIT / 2,
      ],
    ] as const;
    const lines = [
      `### ${ALARMS}-alarm storm, ${remembered ? 'rollouts remembered (the self-check on)' : 'rollouts looked up (3 requests a halt)'} (both delivery paths, ledger, shared budget; a minute scaled to ${MINUTE_MS / 1000} s, times in real minutes)`,
      '',
      '| figure | value | verdict |',
      '| --- | --: | --- |',
      ...checks.map(([name, value, ok]) => `| ${name} | ${value} | ${ok ? 'PASS' : 'FAIL'} |`),
      `| invocations / of them ran out of time for a target (retried through the queue) / notifications | ${tally.invocations} / ${tally.failed} / ${figures.notifications} | |`,
      `| outcome of the self-check run, the probe run | ${readerResults.join(', ')} | |`,
      `| budget grants: conditional write back after (ms, p50 / p99 / max); later than the margin | ${quantiles(grantWriteLagMs)}; ${grantWriteLagMs.filter((lag) => lag > MARGIN_MS).length} of ${grantWriteLagMs.length} | |`,
      `| halt containers' requests let out by the budget, most in any 60 s | ${mostInAnyWindow(grantedAt, MINUTE_MS)} (of ${grantedAt.length}) | |`,
      `| event loop delay (ms, p50 / p99 / max) | ${[0.5, 0.99].map((q) => Math.round(loopDelay.percentile(q * 100) / 1e6)).join(' / ')} / ${Math.round(loopDelay.max / 1e6)} | |`,
      `| budget item versions written by two conditional writes (a lost grant) | ${[...versionsWritten.values()].filter((count) => count > 1).length} | |`,
      `| budget warnings | ${[...budgetWarnings].map(([what, count]) => `${what}: ${count}`).join('; ') || 'none'} | |`,
      '',
      '| the second delivery of a transition | with the ledger | without it (before) |',
      '| --- | --- | --- |',
      `| Store requests, notifications | ${withLedger} | ${withoutLedger} |`,
    ];
    return lines.join('\n');
  } finally {
    moto.stop();
    await simulator.close();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(
    await runStorm500({
      alarms: Number(process.argv[2] ?? 500),
      minuteMs: Number(process.argv[3] ?? 3_000),
      lookedUp: process.argv[4] === 'looked-up',
    }),
  );
}
