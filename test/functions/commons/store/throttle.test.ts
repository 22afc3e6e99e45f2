import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DeadlineExceededError, StoreApiError } from '../../../../functions/commons/errors.ts';
import { createDeadline } from '../../../../functions/commons/http/deadline.ts';
import {
  createThrottle,
  getTenantThrottle,
  type RequestBudget,
  type RequestPriority,
} from '../../../../functions/commons/store/throttle.ts';

/**
 * A fake clock whose sleeps resolve when the test advances time past them (so concurrent waiters
 * really wait, in order). A sleep whose signal aborts is forgotten.
 */
function fakeClock(start = 0) {
  let time = start;
  const sleepers: { until: number; resolve: () => void }[] = [];
  return {
    now: () => time,
    sleep: (ms: number, signal: AbortSignal) =>
      new Promise<void>((resolve, reject) => {
        const sleeper = { until: time + ms, resolve };
        sleepers.push(sleeper);
        signal.addEventListener(
          'abort',
          () => {
            const index = sleepers.indexOf(sleeper);
            if (index >= 0) sleepers.splice(index, 1);
            reject(signal.reason);
          },
          { once: true },
        );
      }),
    /** When the earliest sleeper is due (Infinity when nobody sleeps). */
    nextDue: () => Math.min(...sleepers.map((sleeper) => sleeper.until)),
    /** Moves the clock and wakes every sleeper that is due. */
    async advanceTo(target: number) {
      // Let callbacks of earlier grants run at the time they were granted.
      await flush();
      time = target;
      for (const sleeper of sleepers.filter((candidate) => candidate.until <= time)) {
        sleepers.splice(sleepers.indexOf(sleeper), 1);
        sleeper.resolve();
      }
      await flush();
    },
    /** Advances from sleeper to sleeper until `done()` or nobody sleeps any more. */
    async runUntil(done: () => boolean) {
      await flush();
      while (!done() && Number.isFinite(this.nextDue())) await this.advanceTo(this.nextDue());
    },
  };
}

type FakeClock = ReturnType<typeof fakeClock>;

async function flush(): Promise<void> {
  await new Promise((resolve) => setImmediate(resolve));
}

/**
 * A signal whose deadline (for the throttle) is `at` on the fake clock, and which never aborts in
 * real time during the test (its real timer is weeks long).
 */
function deadlineAt(at: number): AbortSignal {
  const realTimeoutMs = 2_000_000_000;
  // createDeadline reads the clock once: now() + timeoutMs is the deadline.
  return createDeadline({ timeoutMs: realTimeoutMs, now: () => at - realTimeoutMs });
}

const never = new AbortController().signal;

/** The grants of a throttle, in the order they came, with the fake time of each. */
function recordGrants(throttle: RequestBudget, clock: FakeClock) {
  const grants: Array<{ label: string; at: number }> = [];
  const acquire = (label: string, priority: RequestPriority, signal: AbortSignal = never) =>
    throttle.acquire(signal, `GET ${label}`, priority).then(() => {
      grants.push({ label, at: clock.now() });
    });
  return { grants, acquire, labels: () => grants.map((grant) => grant.label) };
}

/** Whether any window of `windowMs` holds more than `limit` of the (sorted) grant times. */
function findCrowdedWindow(times: readonly number[], limit: number, windowMs: number): number[] | undefined {
  const sorted = [...times].sort((a, b) => a - b);
  for (const at of sorted) {
    const inWindow = sorted.filter((other) => other > at - windowMs && other <= at);
    if (inWindow.length > limit) return inWindow;
  }
  return undefined;
}

describe('client-side throttle: the sliding window', () => {
  it('grants a burst up to the limit at once, then one slot per freed window position', async () => {
    const clock = fakeClock();
    const throttle = createThrottle({ limit: 2, windowMs: 1_000, marginMs: 0, ...clock });
    const grantedAt: number[] = [];
    const burst = Array.from({ length: 5 }, () =>
      throttle.acquire(never, 'GET x', 'rollout').then(() => grantedAt.push(clock.now())),
    );

    await clock.advanceTo(0);
    expect(grantedAt).toEqual([0, 0]);
    await clock.advanceTo(999);
    expect(grantedAt).toEqual([0, 0]);
    await clock.advanceTo(1_000);
    await clock.advanceTo(2_000);
    await Promise.all(burst);

    expect(grantedAt).toEqual([0, 0, 1_000, 1_000, 2_000]);
  });

  it('adds the safety margin to the window', async () => {
    const clock = fakeClock();
    const throttle = createThrottle({ limit: 1, windowMs: 1_000, marginMs: 250, ...clock });
    await throttle.acquire(never, 'GET x', 'rollout');
    let second = false;
    const pending = throttle.acquire(never, 'GET x', 'rollout').then(() => {
      second = true;
    });
    await clock.advanceTo(1_249);
    expect(second).toBe(false);
    await clock.advanceTo(1_250);
    await pending;
    expect(second).toBe(true);
  });

  it('never grants more than the limit in any window, and serves by priority then arrival, whatever the arrivals', async () => {
    const priorities: RequestPriority[] = ['halt', 'rollout', 'discovery'];
    const rank = (priority: RequestPriority) => priorities.indexOf(priority);
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 6 }),
        fc.integer({ min: 0, max: 1_500 }),
        fc.array(
          fc.record({
            gap: fc.integer({ min: 0, max: 400 }),
            priority: fc.constantFrom(...priorities),
            deadlineIn: fc.option(fc.integer({ min: 1, max: 4_000 }), { nil: undefined }),
          }),
          { minLength: 1, maxLength: 40 },
        ),
        async (limit, followUpMs, arrivals) => {
          const windowMs = 1_000;
          const clock = fakeClock();
          const throttle = createThrottle({ limit, windowMs, marginMs: 0, followUpMs, ...clock });
          // One sequence of events (arrivals and grants), to compare who came first.
          let events = 0;
          const requests = arrivals.map(({ priority, deadlineIn }) => ({
            priority,
            deadline: undefined as number | undefined,
            arrivedAt: Number.NaN,
            arrival: Number.NaN,
            grant: undefined as number | undefined,
            grantedAt: undefined as number | undefined,
            refused: undefined as unknown,
            deadlineIn,
          }));
          const all: Promise<unknown>[] = [];
          let time = 0;
          for (const [index, { gap }] of arrivals.entries()) {
            time += gap;
            // Wake waiters due before this arrival at their own time, as real timers would.
            while (clock.nextDue() <= time) await clock.advanceTo(clock.nextDue());
            await clock.advanceTo(time);
            const request = requests[index];
            if (request === undefined) throw new Error('no request');
            request.arrivedAt = time;
            request.arrival = events++;
            request.deadline = request.deadlineIn === undefined ? undefined : time + request.deadlineIn;
            const signal = request.deadline === undefined ? never : deadlineAt(request.deadline);
            all.push(
              throttle.acquire(signal, 'GET x', request.priority).then(
                () => {
                  request.grant = events++;
                  request.grantedAt = clock.now();
                },
                (error: unknown) => {
                  request.refused = error;
                },
              ),
            );
          }
          await clock.runUntil(() => requests.every((r) => r.grant !== undefined || r.refused !== undefined));
          await Promise.all(all);

          const granted = requests.filter((r) => r.grant !== undefined);
          expect(
            findCrowdedWindow(
              granted.map((r) => r.grantedAt ?? 0),
              limit,
              windowMs,
            ),
          ).toBeUndefined();
          for (const request of requests) {
            if (request.refused !== undefined) {
              // Refused only for a deadline, and never without one.
              expect(request.refused).toMatchObject({ code: 'STORE_BUDGET_EXHAUSTED', retryable: true });
              expect(request.deadline).toBeDefined();
            } else if (request.deadline !== undefined) {
              expect(request.grantedAt ?? Number.POSITIVE_INFINITY).toBeLessThan(request.deadline);
            }
          }
          for (const a of granted) {
            for (const b of granted) {
              if (a === b || a.arrival > (b.grant ?? 0)) continue;
              // a was waiting (or arriving) before b went out: a more important or earlier equal one goes first.
              const first =
                rank(a.priority) < rank(b.priority) || (a.priority === b.priority && a.arrival < b.arrival);
              if (first)
                expect(a.grant ?? 0, `${a.priority} before ${b.priority}`).toBeLessThan(b.grant ?? 0);
            }
          }
        },
      ),
      { numRuns: 150 },
    );
  });

  it('rejects a limit that cannot grant anything', () => {
    expect(() => createThrottle({ limit: 0 })).toThrow(RangeError);
  });
});

describe('client-side throttle: priorities (depth first)', () => {
  it('serves a freed slot to the most important waiter, first come first served within a priority', async () => {
    const clock = fakeClock();
    const throttle = createThrottle({ limit: 1, windowMs: 1_000, marginMs: 0, ...clock });
    const { acquire, labels } = recordGrants(throttle, clock);
    await acquire('first', 'discovery');
    const waiting = [
      acquire('read A', 'rollout'),
      acquire('discover B', 'discovery'),
      acquire('read C', 'rollout'),
      acquire('halt D', 'halt'),
      acquire('halt E', 'halt'),
    ];

    await clock.runUntil(() => labels().length === 6);
    await Promise.all(waiting);

    expect(labels()).toEqual(['first', 'halt D', 'halt E', 'read A', 'read C', 'discover B']);
  });

  it('completes a storm of 20 apps × 3 calls at 20 a window app by app: the first halt goes out in the first window', async () => {
    const clock = fakeClock();
    const windowMs = 60_000;
    const throttle = createThrottle({ limit: 20, windowMs, marginMs: 0, ...clock });
    const { grants, acquire } = recordGrants(throttle, clock);
    // Each app: read the app, read its rollout, halt it; each call waits for the one before.
    const apps = Array.from({ length: 20 }, (_, index) => `app${String(index + 1).padStart(2, '0')}`);
    const storm = apps.map(async (app) => {
      await acquire(`${app} GET app`, 'discovery');
      await acquire(`${app} GET rollout`, 'rollout');
      await acquire(`${app} POST halt`, 'halt');
    });

    await clock.runUntil(() => grants.length === 60);
    await Promise.all(storm);

    const halts = grants.filter((grant) => grant.label.endsWith('POST halt'));
    const firstWindow = grants.filter((grant) => grant.at < windowMs);
    // The first app's halt is granted at once, long before the other apps are even read.
    expect(halts[0]).toEqual({ label: 'app01 POST halt', at: 0 });
    expect(grants.findIndex((grant) => grant.label.endsWith('POST halt'))).toBeLessThan(20);
    // The first window is spent finishing apps, not on twenty first reads.
    expect(firstWindow).toHaveLength(20);
    expect(firstWindow.filter((grant) => grant.label.endsWith('POST halt')).length).toBeGreaterThanOrEqual(6);
    expect(firstWindow.filter((grant) => grant.label.endsWith('GET app')).length).toBeLessThan(10);
    // App by app: the apps are halted in the order they were read, all within three windows.
    expect(halts.map((grant) => grant.label.slice(0, 5))).toEqual(apps);
    expect(Math.max(...grants.map((grant) => grant.at))).toBeLessThanOrEqual(2 * windowMs);
    expect(
      findCrowdedWindow(
        grants.map((grant) => grant.at),
        20,
        windowMs,
      ),
    ).toBeUndefined();
  });

  it('keeps room for the rollout read and the halt of a discovered app', async () => {
    const clock = fakeClock();
    const throttle = createThrottle({ limit: 3, windowMs: 1_000, marginMs: 0, ...clock });
    const { grants, acquire, labels } = recordGrants(throttle, clock);
    await acquire('discover A', 'discovery');
    // Two slots are free, but they are A's: B waits although nothing else is in flight.
    const discoverB = acquire('discover B', 'discovery');
    await clock.advanceTo(0);
    expect(labels()).toEqual(['discover A']);
    await acquire('read A', 'rollout');
    await acquire('halt A', 'halt');
    // A is done within the window; B starts when a slot frees.
    await clock.runUntil(() => grants.length === 4);
    await discoverB;
    expect(grants).toEqual([
      { label: 'discover A', at: 0 },
      { label: 'read A', at: 0 },
      { label: 'halt A', at: 0 },
      { label: 'discover B', at: 1_000 },
    ]);
  });

  it('gives the room back after followUpMs when the follow-ups do not come (no live rollout)', async () => {
    const clock = fakeClock();
    const throttle = createThrottle({ limit: 3, windowMs: 1_000, marginMs: 0, followUpMs: 300, ...clock });
    const { grants, acquire } = recordGrants(throttle, clock);
    await acquire('discover A', 'discovery');
    const discoverB = acquire('discover B', 'discovery');

    await clock.runUntil(() => grants.length === 2);
    await discoverB;

    // Not at 1 000, when A's slot frees: at 300, when the room kept for A's follow-ups lapses.
    expect(grants).toEqual([
      { label: 'discover A', at: 0 },
      { label: 'discover B', at: 300 },
    ]);
  });

  it('keeps only discoveries out of the room: any rollout read or halt may use it', async () => {
    const clock = fakeClock();
    const throttle = createThrottle({ limit: 3, windowMs: 1_000, marginMs: 0, ...clock });
    const { acquire, labels } = recordGrants(throttle, clock);
    await acquire('discover A', 'discovery');
    // A's rollout read, then a read nobody kept room for (a read-only client never halts): both go.
    await acquire('read A', 'rollout');
    await acquire('read X', 'rollout');
    expect(labels()).toEqual(['discover A', 'read A', 'read X']);
  });

  it('keeps no room when a window cannot hold the three calls of an app', async () => {
    const clock = fakeClock();
    const throttle = createThrottle({ limit: 2, windowMs: 1_000, marginMs: 0, ...clock });
    const { acquire, labels } = recordGrants(throttle, clock);
    await acquire('discover A', 'discovery');
    await acquire('discover B', 'discovery');
    expect(labels()).toEqual(['discover A', 'discover B']);
  });
});

describe('client-side throttle: deadlines and aborts', () => {
  it('fails at once with a retryable error when the next slot comes after the deadline, spending nothing', async () => {
    const clock = fakeClock();
    const throttle = createThrottle({ limit: 1, windowMs: 60_000, marginMs: 0, ...clock });
    await throttle.acquire(never, 'GET x', 'discovery');
    const deadline = createDeadline({ timeoutMs: 5_000, now: clock.now });

    const error = await throttle
      .acquire(deadline, 'GET applications/9NBLGGH4R315', 'discovery')
      .catch((e: unknown) => e);

    expect(error).toBeInstanceOf(StoreApiError);
    expect(error).toMatchObject({
      code: 'STORE_BUDGET_EXHAUSTED',
      retryable: true,
      request: 'GET applications/9NBLGGH4R315',
    });
    expect(String(error)).toMatch(/1 per 60000 ms.*next in 60000 ms\)/);
    // The refused request took no slot: the next one is still due a window after the first.
    const { acquire, grants } = recordGrants(throttle, clock);
    const next = acquire('y', 'discovery');
    await clock.runUntil(() => grants.length === 1);
    await next;
    expect(grants).toEqual([{ label: 'y', at: 60_000 }]);
  });

  it('refuses a waiting request as soon as more important arrivals push its slot past its deadline', async () => {
    const clock = fakeClock();
    const throttle = createThrottle({ limit: 1, windowMs: 1_000, marginMs: 0, ...clock });
    const { acquire, grants } = recordGrants(throttle, clock);
    await acquire('first', 'discovery');
    // Its slot (1 000) is before its deadline (1 500): it waits.
    let outcome: unknown = 'waiting';
    const discovery = acquire('discover', 'discovery', deadlineAt(1_500)).then(
      () => 'granted',
      (error: unknown) => error,
    );
    discovery.then((value) => {
      outcome = value;
    });
    await clock.advanceTo(100);
    expect(outcome).toBe('waiting');

    // A halt takes that slot: the discovery's would be at 2 000, past its deadline, so it is refused now.
    const halt = acquire('halt', 'halt');
    await flush();
    expect(outcome).toBeInstanceOf(StoreApiError);
    expect(outcome).toMatchObject({ code: 'STORE_BUDGET_EXHAUSTED', retryable: true });
    expect(String(outcome)).toMatch(/next in 1900 ms, pushed back by more important requests/);
    expect(clock.now()).toBe(100);

    await clock.runUntil(() => grants.length === 2);
    await halt;
    expect(grants).toEqual([
      { label: 'first', at: 0 },
      { label: 'halt', at: 1_000 },
    ]);
  });

  it('keeps a waiting request whose deadline is unknown until its signal aborts', async () => {
    const clock = fakeClock();
    const throttle = createThrottle({ limit: 1, windowMs: 60_000, marginMs: 0, ...clock });
    await throttle.acquire(never, 'GET x', 'rollout');
    const controller = new AbortController();
    let outcome: unknown = 'waiting';
    const waiting = throttle.acquire(controller.signal, 'GET y', 'rollout').catch((error: unknown) => {
      outcome = error;
    });
    await clock.advanceTo(59_000);
    expect(outcome).toBe('waiting');
    controller.abort();
    await waiting;
    expect(outcome).toBeInstanceOf(DeadlineExceededError);
  });

  it('gives the place back when the caller gives up while waiting, so the next waiter moves up', async () => {
    const clock = fakeClock();
    const throttle = createThrottle({ limit: 1, windowMs: 1_000, marginMs: 0, ...clock });
    const { acquire, grants } = recordGrants(throttle, clock);
    await acquire('x', 'rollout');
    const controller = new AbortController();
    const abandoned = acquire('y', 'rollout', controller.signal).catch((e: unknown) => e);
    const behind = acquire('z', 'discovery');
    const later = acquire('w', 'discovery');
    controller.abort();
    expect(await abandoned).toBeInstanceOf(DeadlineExceededError);

    await clock.runUntil(() => grants.length === 3);
    await Promise.all([behind, later]);
    // z gets y's slot (1 000), w the one after.
    expect(grants).toEqual([
      { label: 'x', at: 0 },
      { label: 'z', at: 1_000 },
      { label: 'w', at: 2_000 },
    ]);
  });

  it('refuses a request whose signal has already aborted, spending nothing', async () => {
    const clock = fakeClock();
    const throttle = createThrottle({ limit: 1, windowMs: 1_000, marginMs: 0, ...clock });
    const error = await throttle.acquire(AbortSignal.abort(), 'GET x', 'halt').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DeadlineExceededError);
    await throttle.acquire(never, 'GET y', 'halt');
  });
});

describe('client-side throttle: per tenant', () => {
  it('shares one budget per tenant across the process', () => {
    const first = getTenantThrottle('tenant-a.example.com');
    expect(getTenantThrottle('tenant-a.example.com', { limit: 99 })).toBe(first);
    expect(getTenantThrottle('tenant-b.example.com')).not.toBe(first);
  });
});
