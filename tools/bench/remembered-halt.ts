/**
 * Warm time to halt in the steady state, remembered and looked up, for each injected latency L: the
 * invocation flow (`handleWatchdogEvent`) with the real Store client runs in the bench process against the
 * simulator, after a warm-up, so the code is optimized as in an environment that has handled many alarms.
 *
 * - **Remembered**: the self-check's memory holds the rollout, so an enforced halt is the POST alone
 *   (floor 1 × L). The memory read (one DynamoDB query in-region, a few ms) is an in-process memory that
 *   answers after L here, and is reported apart.
 * - **Looked up**: GET app, GET rollout, POST halt (floor 3 × L).
 *
 * The handler's middleware, logging and notification publish are not part of this path; the artifact's
 * figures (`time-to-halt.ts`) include them.
 */
import type { RememberedRollout, RolloutMemory } from '../../functions/commons/domain/ports.ts';
import { createDeadline } from '../../functions/commons/http/deadline.ts';
import { handleWatchdogEvent, type WatchdogPorts } from '../../functions/halt-rollout/watchdog.ts';
import { setUpStorm } from '../fixtures/storm-setup.ts';
import { alarmStateChangeEvent, ownAlarmName } from '../fixtures/watchdog-apps.ts';
import { formatMs, formatTable } from './format.ts';
import { computeMedian } from './stats.ts';
import { checkWarm, computeFloorMs, type TargetCheck } from './targets.ts';

export interface RememberedHaltFigures {
  readonly latencyMs: number;
  readonly runs: number;
  /** p50 from the invocation's start to the halt POST's answer, the memory read included. */
  readonly rememberedMs: number;
  /** p50 of the memory read alone. */
  readonly memoryReadMs: number;
  readonly rememberedStoreRequests: number;
  /** p50 of the looked-up halt: GET app, GET rollout, POST. */
  readonly lookedUpMs: number;
  readonly lookedUpStoreRequests: number;
}

const WARM_UP = 5;
const quiet = { info: () => {}, warn: () => {}, error: () => {} };

/** A rollout memory in the process that answers a recall after `delayMs`, and times each recall. */
function createTimedMemory(delayMs: number): RolloutMemory & { readonly reads: number[] } {
  const entries = new Map<string, RememberedRollout>();
  const key = (applicationId: string, flightId?: string) => `${applicationId}/${flightId ?? 'main'}`;
  const reads: number[] = [];
  return {
    reads,
    async recall(applicationId) {
      const started = performance.now();
      if (delayMs > 0) await new Promise((resolve) => setTimeout(resolve, delayMs));
      const found = [...entries.values()].filter((entry) => entry.ref.applicationId === applicationId);
      reads.push(performance.now() - started);
      return found;
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

/** `runs` warm halts each way (interleaved, after `WARM_UP` of each) at latency L on every server. */
export async function measureRememberedHalt(latencyMs: number, runs: number): Promise<RememberedHaltFigures> {
  const setup = await setUpStorm(`R${latencyMs % 10}`, 2 * (runs + WARM_UP), { alarmPerApp: true });
  setup.simulator.control.setLatency(latencyMs);
  const memory = createTimedMemory(latencyMs);
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
  const lookedUpPorts: WatchdogPorts = {
    rollouts: setup.access.rolloutPort,
    now: () => performance.now(),
    logger: quiet,
    publish: async () => {},
  };
  const rememberedPorts: WatchdogPorts = { ...lookedUpPorts, memory };
  const halt = async (ports: WatchdogPorts, applicationId: string) => {
    const before = setup.simulator.control.requests.length;
    const started = performance.now();
    await handleWatchdogEvent(alarmStateChangeEvent(ownAlarmName(applicationId)), setup.config, ports, {
      decideSignal: createDeadline({ timeoutMs: 30_000 }),
      notifySignal: createDeadline({ timeoutMs: 30_000 }),
    });
    const requests = setup.simulator.control.requests
      .slice(before)
      .filter((request) => request.kind === 'store');
    const post = requests.find((request) => request.method === 'POST' && request.status === 200);
    return { ms: (post?.endedAt ?? Number.NaN) - started, requests: requests.length };
  };
  try {
    const remembered: Array<{ ms: number; requests: number }> = [];
    const lookedUp: Array<{ ms: number; requests: number }> = [];
    for (const [index, { applicationId }] of setup.targets.entries()) {
      const sample = await halt(index % 2 === 0 ? rememberedPorts : lookedUpPorts, applicationId);
      if (index < 2 * WARM_UP) {
        memory.reads.length = 0;
        continue;
      }
      (index % 2 === 0 ? remembered : lookedUp).push(sample);
    }
    const p50 = (values: readonly number[]) => computeMedian(values) ?? Number.NaN;
    return {
      latencyMs,
      runs,
      rememberedMs: p50(remembered.map((sample) => sample.ms)),
      memoryReadMs: p50(memory.reads),
      rememberedStoreRequests: Math.max(...remembered.map((sample) => sample.requests)),
      lookedUpMs: p50(lookedUp.map((sample) => sample.ms)),
      lookedUpStoreRequests: Math.max(...lookedUp.map((sample) => sample.requests)),
    };
  } finally {
    await setup.access.dispatcher.destroy();
    await setup.simulator.close();
  }
}

/** The section's Markdown and its target checks (steady-state warm time to halt, looked up). */
export function renderRememberedHalt(figures: readonly RememberedHaltFigures[]): {
  text: string;
  targets: TargetCheck[];
} {
  const text = [
    `### Warm halt in the steady state: remembered (1 request) and looked up (3), p50 of ${figures[0]?.runs ?? 0} each`,
    '',
    formatTable(
      [
        { header: 'L' },
        { header: 'remembered: to the halt', align: 'right' },
        { header: 'of which the memory read', align: 'right' },
        { header: 'Store requests', align: 'right' },
        { header: 'floor 1 × L', align: 'right' },
        { header: 'looked up: to the halt', align: 'right' },
        { header: 'Store requests', align: 'right' },
        { header: 'floor 3 × L', align: 'right' },
      ],
      figures.map((f) => [
        `${f.latencyMs} ms`,
        formatMs(f.rememberedMs),
        formatMs(f.memoryReadMs),
        String(f.rememberedStoreRequests),
        formatMs(f.latencyMs),
        formatMs(f.lookedUpMs),
        String(f.lookedUpStoreRequests),
        formatMs(computeFloorMs('warm', f.latencyMs)),
      ]),
    ),
  ].join('\n');
  return {
    text,
    targets: figures.map((f) => checkWarm(f.latencyMs, f.lookedUpMs, 'steady state, looked up')),
  };
}
