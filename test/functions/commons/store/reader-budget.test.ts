/**
 * The request budget of the scheduled readers (functions/commons/store/reader-budget.ts and the
 * `background` place in throttle.ts): together they use at most half of the tenant's budget, and a
 * halt arriving during a probe storm gets its three requests at once, never behind reads. Counted on
 * a fake clock (order and counts, not wall-clock timing).
 */
import { describe, expect, it } from 'vitest';
import { createAnalyticsReader } from '../../../../functions/commons/store/analytics.ts';
import { createStoreDispatcher } from '../../../../functions/commons/store/http.ts';
import {
  readReaderShare,
  SCHEDULED_READER_SHARES,
  scheduledReaderThrottle,
  TENANT_REQUESTS_PER_MINUTE,
} from '../../../../functions/commons/store/reader-budget.ts';
import { createRolloutPort } from '../../../../functions/commons/store/rollouts.ts';
import { createStoreClient } from '../../../../functions/commons/store/store-client.ts';
import { createThrottle, type RequestPriority } from '../../../../functions/commons/store/throttle.ts';
import { createTokenProvider } from '../../../../functions/commons/store/token-provider.ts';
import {
  SAMPLE_APP_ID,
  SAMPLE_PUBLISHED_SUBMISSION_ID,
  SAMPLE_TENANT,
} from '../../../../tools/store-simulator/sample-state.ts';
import { startSimulator } from './support.ts';

/** A clock whose sleeps resolve when the test moves time past them. */
function fakeClock() {
  let time = 0;
  const sleepers: { until: number; resolve: () => void }[] = [];
  const flush = () => new Promise((resolve) => setImmediate(resolve));
  return {
    now: () => time,
    sleep: (ms: number, signal: AbortSignal) =>
      new Promise<void>((resolve, reject) => {
        const sleeper = { until: time + ms, resolve };
        sleepers.push(sleeper);
        signal.addEventListener('abort', () => {
          sleepers.splice(sleepers.indexOf(sleeper), 1);
          reject(signal.reason);
        });
      }),
    flush,
    async advanceTo(target: number) {
      await flush();
      time = target;
      for (const sleeper of sleepers.filter((candidate) => candidate.until <= time)) {
        sleepers.splice(sleepers.indexOf(sleeper), 1);
        sleeper.resolve();
      }
      await flush();
    },
  };
}

const never = new AbortController().signal;

/** The most grants in any window of `windowMs`. */
function busiestWindow(times: readonly number[], windowMs: number): number {
  return Math.max(
    0,
    ...times.map((at) => times.filter((other) => other >= at && other < at + windowMs).length),
  );
}

describe('scheduled readers share at most half of the tenant budget', () => {
  it('the shares add up to at most half of about 20 a minute', () => {
    const total = Object.values(SCHEDULED_READER_SHARES).reduce((sum, share) => sum + share, 0);
    expect(total).toBeLessThanOrEqual(TENANT_REQUESTS_PER_MINUTE / 2);
  });

  it.each(Object.entries(SCHEDULED_READER_SHARES))(
    'the %s process never sends more than its share in any minute, however many reads it has',
    async (_reader, share) => {
      const clock = fakeClock();
      const throttle = createThrottle({ ...scheduledReaderThrottle(share), ...clock });
      const granted: number[] = [];
      const storm = Array.from({ length: 40 }, () =>
        throttle
          .acquire(never, 'GET analytics/failurehits', 'background')
          .then(() => granted.push(clock.now())),
      );
      for (let at = 0; granted.length < 40 && at <= 20 * 60_250; at += 1_000) await clock.advanceTo(at);
      await Promise.all(storm);
      expect(granted).toHaveLength(40);
      expect(busiestWindow(granted, 60_000)).toBeLessThanOrEqual(share);
    },
  );
});

describe("a reader's share from STORE_REQUESTS_PER_MINUTE", () => {
  it("defaults when unset, reads a whole number up to the readers' half, names the variable otherwise", () => {
    expect(readReaderShare({}, 10)).toBe(10);
    expect(readReaderShare({ STORE_REQUESTS_PER_MINUTE: ' 5 ' }, 10)).toBe(5);
    for (const bad of ['0', '11', '2.5', 'five']) {
      expect(() => readReaderShare({ STORE_REQUESTS_PER_MINUTE: bad }, 10)).toThrow(
        'STORE_REQUESTS_PER_MINUTE must be a whole number from 1 to 10',
      );
    }
  });
});

describe('a halt during a probe storm', () => {
  it('gets its three requests at once, never behind reads, and the reads take at most half the window', async () => {
    const clock = fakeClock();
    // One process's tenant budget with the defaults (e.g. the local run or the CLI, where the probe's
    // reads and a halt share a process).
    const throttle = createThrottle({ ...clock });
    const order: string[] = [];
    const acquire = (label: string, priority: RequestPriority) =>
      throttle.acquire(never, label, priority).then(() => order.push(`${label}@${clock.now()}`));

    const storm = Array.from({ length: 50 }, (_, index) => acquire(`read ${index}`, 'background'));
    await clock.flush();
    const readsAtOnce = order.length;
    // The halt path: the app, its rollout, the halt POST.
    await acquire('GET app', 'discovery');
    await acquire('GET rollout', 'rollout');
    await acquire('POST halt', 'halt');

    expect(readsAtOnce).toBe(10);
    expect(order.slice(readsAtOnce)).toEqual(['GET app@0', 'GET rollout@0', 'POST halt@0']);
    // The reads go on afterwards, still capped at half a window each minute.
    await clock.advanceTo(60_250);
    expect(order.filter((entry) => entry.startsWith('read') && entry.endsWith('@60250'))).toHaveLength(10);
    for (let at = 120_500; order.length < 53; at += 60_250) await clock.advanceTo(at);
    await Promise.all(storm);
  });

  it('also when the halt path arrives first and the storm keeps arriving', async () => {
    const clock = fakeClock();
    const throttle = createThrottle({ ...clock });
    const granted: string[] = [];
    for (let index = 0; index < 30; index++)
      void throttle.acquire(never, 'read', 'background').then(() => granted.push('read'));
    await clock.flush();
    const halt = ['discovery', 'rollout', 'halt'] as const;
    for (const priority of halt) {
      await throttle.acquire(never, priority, priority);
      granted.push(priority);
      for (let index = 0; index < 10; index++)
        void throttle.acquire(never, 'read', 'background').then(() => granted.push('read'));
      await clock.flush();
    }
    expect(granted.filter((entry) => entry !== 'read')).toEqual([...halt]);
    expect(granted.filter((entry) => entry === 'read')).toHaveLength(10);
  });

  it('a reader that is not background (the self-check) is not capped below its limit', async () => {
    const clock = fakeClock();
    const throttle = createThrottle({ limit: 5, followUpMs: 0, ...clock });
    let granted = 0;
    for (let index = 0; index < 8; index++)
      void throttle.acquire(never, 'GET app', 'discovery').then(() => granted++);
    await clock.flush();
    expect(granted).toBe(5);
  });

  it('refuses a background limit above the limit', () => {
    expect(() => createThrottle({ limit: 5, backgroundLimit: 6 })).toThrow(/backgroundLimit/);
  });
});

describe('a halt during a probe storm, through the real Store client and the simulator', () => {
  it('the halt path sends its three requests while the storm holds at half the window, without time passing', async () => {
    const simulator = await startSimulator();
    const clock = fakeClock();
    const budget = createThrottle({ now: clock.now, sleep: clock.sleep });
    const dispatcher = createStoreDispatcher();
    try {
      const tokenProvider = createTokenProvider({
        authority: simulator.authority,
        dispatcher,
        getCredentials: async () => SAMPLE_TENANT,
      });
      const shared = { baseUrl: simulator.storeBaseUrl, dispatcher, tokenProvider, throttle: () => budget };
      const probe = createAnalyticsReader(createStoreClient({ ...shared, background: true }));
      const haltPath = createRolloutPort(createStoreClient(shared));
      const window = { startMs: Date.now() - 6 * 3_600_000, endMs: Date.now() };
      const storm = Array.from({ length: 30 }, () =>
        probe.getCrashHours(SAMPLE_APP_ID, window, AbortSignal.timeout(60_000)).catch(() => undefined),
      );
      // Let the storm take what it may (its token and requests are real I/O): at most half the window.
      const analytics = () =>
        simulator.control.requests.filter((request) => request.path.includes('/analytics/'));
      for (let wait = 0; wait < 500 && analytics().length < 10; wait++) {
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
      const readsBefore = analytics().length;

      const signal = AbortSignal.timeout(20_000);
      const [found] = await haltPath.findLiveRollouts(
        { applicationId: SAMPLE_APP_ID, flights: undefined },
        signal,
      );
      if (found?.state !== 'in-progress') throw new Error(`expected a live rollout, got ${found?.state}`);
      const outcome = await haltPath.haltRollout(found, signal);

      expect(readsBefore).toBe(10);
      expect(outcome.result).toBe('halted');
      expect(clock.now()).toBe(0);
      const store = simulator.control.requests.filter((request) => request.kind === 'store');
      expect(
        store.filter((request) => !request.path.includes('/analytics/')).map((r) => `${r.method} ${r.path}`),
      ).toEqual([
        `GET /v1.0/my/applications/${SAMPLE_APP_ID}`,
        `GET /v1.0/my/applications/${SAMPLE_APP_ID}/submissions/${SAMPLE_PUBLISHED_SUBMISSION_ID}/packagerollout`,
        `POST /v1.0/my/applications/${SAMPLE_APP_ID}/submissions/${SAMPLE_PUBLISHED_SUBMISSION_ID}/haltpackagerollout`,
      ]);
      // No read slipped in while the halt path went: still half a window of reads.
      expect(analytics()).toHaveLength(10);
      void storm;
    } finally {
      await dispatcher.destroy();
    }
  });
});
