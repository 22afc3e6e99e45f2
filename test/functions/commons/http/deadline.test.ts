import { describe, expect, it } from 'vitest';
import { DeadlineExceededError } from '../../../../functions/commons/errors.ts';
import {
  createDeadline,
  deadlineExceeded,
  deadlineLeaving,
  deadlineOf,
  fitsBeforeDeadline,
  setDeadlineDefaults,
  sleep,
} from '../../../../functions/commons/http/deadline.ts';

describe('deadlines', () => {
  it('remembers when a deadline signal is due', () => {
    const signal = createDeadline({ timeoutMs: 2_000, now: () => 10_000 });
    expect(deadlineOf(signal)).toBe(12_000);
    expect(fitsBeforeDeadline(signal, 10_000, 1_999)).toBe(true);
    expect(fitsBeforeDeadline(signal, 10_000, 2_000)).toBe(false);
  });

  it('keeps the earlier deadline of a parent signal', () => {
    const parent = createDeadline({ timeoutMs: 1_000, now: () => 0 });
    const child = createDeadline({ timeoutMs: 60_000, signal: parent, now: () => 0 });
    expect(deadlineOf(child)).toBe(1_000);
  });

  it('aborts when the parent aborts', () => {
    const parent = new AbortController();
    const child = createDeadline({ timeoutMs: 60_000, signal: parent.signal });
    parent.abort();
    expect(child.aborted).toBe(true);
    expect(fitsBeforeDeadline(child, Date.now(), 0)).toBe(false);
  });

  it('derives a deadline that leaves time before the signal’s own, on its clock, never more than half what is left', () => {
    let now = 50_000;
    const clock = { now: () => now };
    const signal = createDeadline({ timeoutMs: 240_000, ...clock });
    expect(deadlineOf(deadlineLeaving(signal, 3_000))).toBe(287_000);
    now = 288_000;
    // 2 s left: the reserve shrinks to half of it.
    expect(deadlineOf(deadlineLeaving(signal, 3_000))).toBe(289_000);
    const unknown = new AbortController().signal;
    expect(deadlineLeaving(unknown, 3_000)).toBe(unknown);
  });

  it('takes a fractional timeout (Node timers take whole milliseconds)', () => {
    const signal = createDeadline({ timeoutMs: 1_500.5, now: () => 0 });
    expect(deadlineOf(signal)).toBe(1_500.5);
    expect(signal.aborted).toBe(false);
  });

  it('aborts a derived deadline with the signal it leaves time before', () => {
    const caller = new AbortController();
    const signal = createDeadline({ timeoutMs: 60_000, signal: caller.signal });
    const derived = deadlineLeaving(signal, 3_000);
    expect(derived.aborted).toBe(false);
    caller.abort();
    expect(derived.aborted).toBe(true);
  });

  it('allows any wait on a signal without a known deadline', () => {
    expect(deadlineOf(new AbortController().signal)).toBeUndefined();
    expect(fitsBeforeDeadline(new AbortController().signal, 0, 1e9)).toBe(true);
  });

  it('aborts a sleep when the deadline passes', async () => {
    const signal = createDeadline({ timeoutMs: 20 });
    await expect(sleep(10_000, signal)).rejects.toThrow();
    expect(signal.aborted).toBe(true);
  });

  it('aborts on the sleep it is given (a test clock), with a timeout reason, and stops it with the parent', async () => {
    const sleeps: Array<{ ms: number; signal: AbortSignal; fire: () => void }> = [];
    const fake = (ms: number, signal: AbortSignal) =>
      new Promise<void>((resolve, reject) => {
        sleeps.push({ ms, signal, fire: resolve });
        signal.addEventListener('abort', () => reject(signal.reason), { once: true });
      });
    const signal = createDeadline({ timeoutMs: 2_000, now: () => 10_000, sleep: fake });
    expect(deadlineOf(signal)).toBe(12_000);
    expect(sleeps.map((sleep) => sleep.ms)).toEqual([2_000]);
    expect(signal.aborted).toBe(false);
    sleeps[0]?.fire();
    await new Promise((resolve) => setImmediate(resolve));
    expect(signal.aborted).toBe(true);
    expect(signal.reason).toBeInstanceOf(DOMException);
    expect(signal.reason.name).toBe('TimeoutError');

    const parent = new AbortController();
    const child = createDeadline({ timeoutMs: 5_000, signal: parent.signal, sleep: fake });
    const timer = sleeps[1]?.signal;
    parent.abort(new Error('the caller gave up'));
    expect(child.aborted).toBe(true);
    expect(timer?.aborted).toBe(true);
  });

  it('takes the process default clock when its options give none (a test before invoking a handler)', () => {
    const timed: number[] = [];
    setDeadlineDefaults({ now: () => 5_000, sleep: (ms) => new Promise(() => timed.push(ms)) });
    try {
      expect(deadlineOf(createDeadline({ timeoutMs: 100 }))).toBe(5_100);
      expect(timed).toEqual([100]);
      expect(deadlineOf(createDeadline({ timeoutMs: 100, now: () => 0 }))).toBe(100);
    } finally {
      setDeadlineDefaults({});
    }
    expect(deadlineOf(createDeadline({ timeoutMs: 100, now: () => 0 }))).toBe(100);
    expect(timed).toEqual([100, 100]);
  });

  it('names what the deadline cut short', () => {
    const error = deadlineExceeded('GET applications/9NBLGGH4R315');
    expect(error).toBeInstanceOf(DeadlineExceededError);
    expect(error.code).toBe('DEADLINE_EXCEEDED');
    expect(error.message).toContain('GET applications/9NBLGGH4R315');
  });
});
