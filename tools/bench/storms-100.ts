/**
 * Issue 11's figures for storms and remembered rollouts, measured in the bench process through the
 * invocation flow (`handleWatchdogEvent`) with the real Store client against the simulator:
 *
 * - **100-app storms** with the simulator's per-tenant throttle (20 requests a window): one alarm listed
 *   by 100 apps (one event; the apps the budget cannot reach before the invocation's deadline are handed
 *   on in continuations), with and without every rollout remembered; and 100 alarms at once (one event
 *   each, one after another, as reserved concurrency 1 runs them). Time is scaled (a minute becomes
 *   `windowMs`, the invocation's 300 s likewise), or real with `--real`. The continuation queue is an
 *   in-process queue here (on AWS: SQS, a few milliseconds per hand-over, not in the figures).
 * - **Warm halt of a remembered rollout** against its floor (1 × L: the POST alone), next to today's warm
 *   halt (3 × L: GET app, GET rollout, POST). The memory read (one DynamoDB query in-region) is made
 *   against an in-process memory that answers after the same latency L, and reported apart.
 *
 * Run on its own: `node tools/bench/storms-100.ts [--quick] [--real]` (also `npm run bench -- --storms-100`).
 */
import { parseArgs } from 'node:util';
import type { Continuation } from '../../functions/commons/domain/continuation.ts';
import type { RememberedRollout, RolloutMemory } from '../../functions/commons/domain/ports.ts';
import type { WatchdogResult } from '../../functions/commons/domain/results.ts';
import { createDeadline } from '../../functions/commons/store/deadline.ts';
import { handleWatchdogEvent, type WatchdogPorts } from '../../functions/halt-rollout/watchdog.ts';
import { SHARED_ALARM, setUpStorm } from '../fixtures/storm-setup.ts';
import { alarmStateChangeEvent, ownAlarmName } from '../fixtures/watchdog-apps.ts';

const LIMIT = 20;
const APPS = 100;

export interface Storm100Scenario {
  readonly name: string;
  readonly series: string;
  readonly oneEvent: boolean;
  readonly remembered: boolean;
  /** The throttle window (60 000 at the real pace). */
  readonly windowMs: number;
  /** The client budget's margin against jitter (250 ms at the real pace). */
  readonly marginMs: number;
}

export interface Storm100Result {
  readonly scenario: Storm100Scenario;
  readonly invocations: number;
  readonly halted: number;
  readonly failed: number;
  readonly effectiveHalts: number;
  readonly storeRequests: number;
  readonly throttled429: number;
  readonly firstHaltMs: number;
  readonly lastHaltMs: number;
  /** Requests needed ÷ 20 a window (the first 20 at once): ⌈requests ÷ 20⌉ windows of window + margin. */
  readonly boundMs: number;
  /** The most apps one notification said were still pending. */
  readonly maxPending: number;
}

function memoryPort(delayMs: number): RolloutMemory & { readonly entries: Map<string, RememberedRollout> } {
  const entries = new Map<string, RememberedRollout>();
  const key = (applicationId: string, flightId?: string) => `${applicationId}/${flightId ?? 'main'}`;
  const wait = () => new Promise<void>((resolve) => setTimeout(resolve, delayMs));
  return {
    entries,
    async recall(applicationId) {
      if (delayMs > 0) await wait();
      return [...entries.values()].filter((entry) => entry.ref.applicationId === applicationId);
    },
    async remember(rollout) {
      entries.set(key(rollout.ref.applicationId, rollout.ref.flightId), rollout);
    },
    async forget(target, submissionId) {
      const found = entries.get(key(target.applicationId, target.flightId));
      if (found !== undefined && (submissionId === undefined || found.ref.submissionId === submissionId))
        entries.delete(key(target.applicationId, target.flightId));
    },
  };
}

const quiet = { info: () => {}, warn: () => {}, error: () => {} };

export async function runStorm100(scenario: Storm100Scenario): Promise<Storm100Result> {
  const throttle = { limit: LIMIT, windowMs: scenario.windowMs };
  const setup = await setUpStorm(scenario.series, APPS, {
    throttle,
    marginMs: scenario.marginMs,
    alarmPerApp: !scenario.oneEvent,
  });
  const memory = scenario.remembered ? memoryPort(0) : undefined;
  if (memory !== undefined) {
    for (const { applicationId, submissionId, fallback } of setup.targets) {
      await memory.remember(
        {
          ref: { applicationId, submissionId },
          rolloutPercentage: 20,
          fallbackSubmissionId: fallback,
          seenAt: new Date().toISOString(),
        },
        AbortSignal.timeout(1_000),
      );
    }
  }
  const queue: unknown[] = [];
  let maxPending = 0;
  const ports: WatchdogPorts = {
    rollouts: setup.access.rolloutPort,
    ...(memory === undefined ? {} : { memory }),
    handOn: async (continuation: Continuation) => {
      queue.push({ Records: [{ eventSource: 'aws:sqs', body: JSON.stringify(continuation) }] });
    },
    now: () => performance.now(),
    logger: quiet,
    publish: async (notification) => {
      maxPending = Math.max(maxPending, notification.json.pending?.applicationIds.length ?? 0);
    },
  };
  // One invocation's 300 s, scaled like the window: 240 s to decide, notifying until 299.5 s.
  const scale = scenario.windowMs / 60_000;
  const events = scenario.oneEvent
    ? [alarmStateChangeEvent(SHARED_ALARM)]
    : setup.targets.map(({ applicationId }) => alarmStateChangeEvent(ownAlarmName(applicationId)));
  queue.push(...events);
  const results: WatchdogResult[] = [];
  let invocations = 0;
  try {
    for (let event = queue.shift(); event !== undefined; event = queue.shift()) {
      invocations += 1;
      const budget = {
        decideSignal: createDeadline({ timeoutMs: Math.round(240_000 * scale) }),
        notifySignal: createDeadline({ timeoutMs: Math.round(299_500 * scale) }),
      };
      try {
        results.push(await handleWatchdogEvent(event, setup.config, ports, budget));
      } catch {
        // A failed invocation: counted through its targets below (none expected).
      }
    }
    const requests = setup.simulator.control.requests.filter((request) => request.kind === 'store');
    const first = requests[0]?.startedAt ?? 0;
    const halts = requests.filter((request) => request.method === 'POST' && request.status === 200);
    const haltTimes = halts.map((request) => (request.endedAt ?? first) - first);
    const targets = results.flatMap((result) => result.targets);
    return {
      scenario,
      invocations,
      halted: targets.filter((target) => target.result === 'halted').length,
      failed: targets.filter((target) => target.result === 'failed').length,
      effectiveHalts: setup.simulator.control.effectiveHalts,
      storeRequests: requests.length,
      throttled429: requests.filter((request) => request.status === 429).length,
      firstHaltMs: Math.min(...haltTimes),
      lastHaltMs: Math.max(...haltTimes),
      boundMs: Math.ceil(requests.length / LIMIT) * (scenario.windowMs + scenario.marginMs),
      maxPending,
    };
  } finally {
    await setup.access.dispatcher.destroy();
    await setup.simulator.close();
  }
}

export interface RememberedHaltResult {
  readonly latencyMs: number;
  /** p50 of the invocation start to the halt POST's answer, with a remembered rollout (the memory read included). */
  readonly rememberedMs: number;
  /** p50 of the memory read alone. */
  readonly memoryReadMs: number;
  /** p50 of today's warm halt (no memory): GET app, GET rollout, POST. */
  readonly lookupMs: number;
  readonly rememberedStoreRequests: number;
  readonly lookupStoreRequests: number;
}

function p50(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor((sorted.length - 1) / 2)] ?? Number.NaN;
}

/** Warm halts, `runs` each way, at latency L on every server (the memory read too). */
export async function runRememberedHalt(latencyMs: number, runs: number): Promise<RememberedHaltResult> {
  const setup = await setUpStorm(`R${String(latencyMs).padStart(1, '0').slice(-1)}`, 2 * runs + 4, {
    alarmPerApp: true,
  });
  setup.simulator.control.setLatency(latencyMs);
  const memory = memoryPort(latencyMs);
  const reads: number[] = [];
  const timedMemory: RolloutMemory = {
    ...memory,
    async recall(applicationId, signal) {
      const started = performance.now();
      const found = await memory.recall(applicationId, signal);
      reads.push(performance.now() - started);
      return found;
    },
  };
  for (const { applicationId, submissionId, fallback } of setup.targets) {
    await memory.remember(
      {
        ref: { applicationId, submissionId },
        rolloutPercentage: 20,
        fallbackSubmissionId: fallback,
        seenAt: new Date().toISOString(),
      },
      AbortSignal.timeout(1_000),
    );
  }
  const base = {
    rollouts: setup.access.rolloutPort,
    now: () => performance.now(),
    logger: quiet,
    publish: async () => {},
  };
  const measure = async (ports: WatchdogPorts, applicationId: string) => {
    const before = setup.simulator.control.requests.length;
    const started = performance.now();
    await handleWatchdogEvent(alarmStateChangeEvent(ownAlarmName(applicationId)), setup.config, ports, {
      decideSignal: createDeadline({ timeoutMs: 30_000 }),
      notifySignal: createDeadline({ timeoutMs: 30_000 }),
    });
    const requests = setup.simulator.control.requests
      .slice(before)
      .filter((request) => request.kind === 'store');
    const halt = requests.find((request) => request.method === 'POST');
    return { ms: (halt?.endedAt ?? Number.NaN) - started, requests: requests.length };
  };
  try {
    const ids = setup.targets.map((target) => target.applicationId);
    // Two of each first, not measured: the code paths warm up.
    await measure({ ...base, memory: timedMemory }, ids[0] ?? '');
    await measure(base, ids[1] ?? '');
    await measure({ ...base, memory: timedMemory }, ids[2] ?? '');
    await measure(base, ids[3] ?? '');
    reads.length = 0;
    const remembered: Array<{ ms: number; requests: number }> = [];
    const lookedUp: Array<{ ms: number; requests: number }> = [];
    for (let run = 0; run < runs; run++) {
      remembered.push(await measure({ ...base, memory: timedMemory }, ids[4 + 2 * run] ?? ''));
      lookedUp.push(await measure(base, ids[5 + 2 * run] ?? ''));
    }
    return {
      latencyMs,
      rememberedMs: p50(remembered.map((sample) => sample.ms)),
      memoryReadMs: p50(reads),
      lookupMs: p50(lookedUp.map((sample) => sample.ms)),
      rememberedStoreRequests: Math.max(...remembered.map((sample) => sample.requests)),
      lookupStoreRequests: Math.max(...lookedUp.map((sample) => sample.requests)),
    };
  } finally {
    await setup.access.dispatcher.destroy();
    await setup.simulator.close();
  }
}

/** The scenarios: time scaled (a minute becomes `windowMs`), or at the real pace. */
export function storm100Scenarios(windowMs: number, marginMs: number, label: string): Storm100Scenario[] {
  return [
    {
      name: `one alarm listed by 100 apps, ${label}`,
      series: 'UA',
      oneEvent: true,
      remembered: false,
      windowMs,
      marginMs,
    },
    {
      name: `one alarm listed by 100 apps, every rollout remembered, ${label}`,
      series: 'UB',
      oneEvent: true,
      remembered: true,
      windowMs,
      marginMs,
    },
    {
      name: `100 alarms at once (one event each, one after another), ${label}`,
      series: 'UC',
      oneEvent: false,
      remembered: false,
      windowMs,
      marginMs,
    },
  ];
}

export function renderStorm100(
  storms: readonly Storm100Result[],
  halts: readonly RememberedHaltResult[],
): string {
  const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
  const lines = [
    '### 100-app storms (issue 11)',
    '',
    '| storm | invocations | halted / failed / effective | Store requests | 429 | first halt | last halt | budget bound | most pending in one notification | verdict |',
    '| --- | --: | --- | --: | --: | --: | --: | --: | --: | --- |',
    ...storms.map((r) => {
      const ok =
        r.halted === APPS &&
        r.failed === 0 &&
        r.effectiveHalts === APPS &&
        r.throttled429 === 0 &&
        r.lastHaltMs <= r.boundMs;
      return `| ${r.scenario.name} | ${r.invocations} | ${r.halted} / ${r.failed} / ${r.effectiveHalts} | ${r.storeRequests} | ${r.throttled429} | ${s(r.firstHaltMs)} | ${s(r.lastHaltMs)} | ${s(r.boundMs)} | ${r.maxPending} | ${ok ? 'PASS' : 'FAIL'} |`;
    }),
    '',
    '### Warm halt of a remembered rollout (p50)',
    '',
    '| L | remembered: to the halt | of which the memory read (at L) | the rest (the POST) | its Store requests | floor 1 × L | today: to the halt | its Store requests | floor 3 × L |',
    '| --: | --: | --: | --: | --: | --: | --: | --: | --: |',
    ...halts.map(
      (h) =>
        `| ${h.latencyMs} ms | ${h.rememberedMs.toFixed(1)} ms | ${h.memoryReadMs.toFixed(1)} ms | ${(h.rememberedMs - h.memoryReadMs).toFixed(1)} ms | ${h.rememberedStoreRequests} | ${h.latencyMs} ms | ${h.lookupMs.toFixed(1)} ms | ${h.lookupStoreRequests} | ${3 * h.latencyMs} ms |`,
    ),
  ];
  return lines.join('\n');
}

/** Runs the section: `quick` scales a minute to 1 s, else to 6 s; `real` adds the remembered storm at the real pace. */
export async function runStorm100Section(options: { quick: boolean; real: boolean }): Promise<string> {
  const windowMs = options.quick ? 1_000 : 6_000;
  const marginMs = options.quick ? 500 : 250;
  const storms: Storm100Result[] = [];
  for (const scenario of storm100Scenarios(windowMs, marginMs, `time scaled 1/${60_000 / windowMs}`)) {
    storms.push(await runStorm100(scenario));
  }
  if (options.real) {
    const [, remembered] = storm100Scenarios(60_000, 250, 'real pace');
    if (remembered !== undefined) storms.push(await runStorm100(remembered));
  }
  const halts: RememberedHaltResult[] = [];
  for (const latencyMs of [0, 25, 100])
    halts.push(await runRememberedHalt(latencyMs, options.quick ? 5 : 20));
  return renderStorm100(storms, halts);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = parseArgs({
    options: { quick: { type: 'boolean', default: false }, real: { type: 'boolean', default: false } },
  });
  console.log(await runStorm100Section({ quick: values.quick, real: values.real }));
}
