import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DeadlineExceededError, StoreApiError } from '../../../../functions/commons/errors.ts';
import { createDeadline } from '../../../../functions/commons/store/deadline.ts';
import { createThrottle, getTenantThrottle } from '../../../../functions/commons/store/throttle.ts';

/**
 * A fake clock whose sleeps resolve when the test advances time past them (so concurrent waiters
 * really wait, in order).
 */
function fakeClock(start = 0) {
  let time = start;
  const sleepers: { until: number; resolve: () => void; reject: (error: unknown) => void }[] = [];
  return {
    now: () => time,
    sleep: (ms: number, signal: AbortSignal) =>
      new Promise<void>((resolve, reject) => {
        const sleeper = { until: time + ms, resolve, reject };
        sleepers.push(sleeper);
        signal.addEventListener('abort', () => reject(signal.reason), { once: true });
      }),
    /** When the earliest sleeper is due. */
    nextDue: () => Math.min(...sleepers.map((sleeper) => sleeper.until)),
    /** Moves the clock and wakes every sleeper that is due. */
    async advanceTo(target: number) {
      // Let callbacks of earlier grants run at the time they were granted.
      await new Promise((resolve) => setImmediate(resolve));
      time = target;
      for (const sleeper of sleepers.filter((candidate) => candidate.until <= time)) {
        sleepers.splice(sleepers.indexOf(sleeper), 1);
        sleeper.resolve();
      }
      await new Promise((resolve) => setImmediate(resolve));
    },
  };
}

const never = new AbortController().signal;

describe('client-side throttle', () => {
  it('grants a burst up to the limit at once, then one slot per freed window position', async () => {
    const clock = fakeClock();
    const throttle = createThrottle({ limit: 2, windowMs: 1_000, marginMs: 0, ...clock });
    const grantedAt: number[] = [];
    const burst = Array.from({ length: 5 }, () =>
      throttle.acquire(never, 'GET x').then(() => grantedAt.push(clock.now())),
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
    await throttle.acquire(never, 'GET x');
    let second = false;
    const pending = throttle.acquire(never, 'GET x').then(() => {
      second = true;
    });
    await clock.advanceTo(1_249);
    expect(second).toBe(false);
    await clock.advanceTo(1_250);
    await pending;
    expect(second).toBe(true);
  });

  it('fails at once with a retryable error when the next slot comes after the deadline, spending nothing', async () => {
    const clock = fakeClock();
    const throttle = createThrottle({ limit: 1, windowMs: 60_000, marginMs: 0, ...clock });
    await throttle.acquire(never, 'GET x');
    const deadline = createDeadline({ timeoutMs: 5_000, now: clock.now });

    const error = await throttle.acquire(deadline, 'GET applications/9NBLGGH4R315').catch((e: unknown) => e);

    expect(error).toBeInstanceOf(StoreApiError);
    expect(error).toMatchObject({
      code: 'STORE_BUDGET_EXHAUSTED',
      retryable: true,
      request: 'GET applications/9NBLGGH4R315',
    });
    expect(String(error)).toMatch(/1 per 60000 ms.*next in 60000 ms/);
    // The refused request took no slot: the next one is still due a window after the first.
    await clock.advanceTo(60_000);
    await throttle.acquire(never, 'GET x');
  });

  it('gives the slot back when the caller gives up while waiting', async () => {
    const clock = fakeClock();
    const throttle = createThrottle({ limit: 1, windowMs: 1_000, marginMs: 0, ...clock });
    await throttle.acquire(never, 'GET x');
    const controller = new AbortController();
    const waiting = throttle.acquire(controller.signal, 'GET y').catch((e: unknown) => e);
    controller.abort();
    expect(await waiting).toBeInstanceOf(DeadlineExceededError);

    const grantedAt: number[] = [];
    const next = throttle.acquire(never, 'GET z').then(() => grantedAt.push(clock.now()));
    await clock.advanceTo(1_000);
    await next;
    expect(grantedAt).toEqual([1_000]);
  });

  it('never grants more than the limit in any window, whatever the arrival pattern', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 5 }),
        fc.array(fc.integer({ min: 0, max: 300 }), { minLength: 1, maxLength: 30 }),
        async (limit, gaps) => {
          const windowMs = 1_000;
          const clock = fakeClock();
          const throttle = createThrottle({ limit, windowMs, marginMs: 0, ...clock });
          const grants: number[] = [];
          const all: Promise<unknown>[] = [];
          let time = 0;
          for (const gap of gaps) {
            time += gap;
            // Wake waiters due before this arrival at their own time, as real timers would.
            while (clock.nextDue() <= time) await clock.advanceTo(clock.nextDue());
            await clock.advanceTo(time);
            all.push(throttle.acquire(never, 'GET x').then(() => grants.push(clock.now())));
          }
          while (grants.length < gaps.length) await clock.advanceTo(clock.nextDue());
          await Promise.all(all);
          const sorted = [...grants].sort((a, b) => a - b);
          sorted.forEach((at, index) => {
            const inWindow = sorted.filter((other) => other > at - windowMs && other <= at).length;
            expect(inWindow, `grants at ${sorted.slice(0, index + 1)}`).toBeLessThanOrEqual(limit);
          });
        },
      ),
      { numRuns: 60 },
    );
  });

  it('shares one budget per tenant across the process', () => {
    const first = getTenantThrottle('tenant-a.example.com');
    expect(getTenantThrottle('tenant-a.example.com', { limit: 99 })).toBe(first);
    expect(getTenantThrottle('tenant-b.example.com')).not.toBe(first);
  });

  it('rejects a limit that cannot grant anything', () => {
    expect(() => createThrottle({ limit: 0 })).toThrow(RangeError);
  });
});
