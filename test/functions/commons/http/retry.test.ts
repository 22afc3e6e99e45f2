import { describe, expect, it } from 'vitest';
import { DeadlineExceededError, StoreApiError } from '../../../../functions/commons/errors.ts';
import { createDeadline } from '../../../../functions/commons/http/deadline.ts';
import {
  type AttemptResult,
  computeBackoffDelay,
  DEFAULT_RETRY_POLICY,
  parseRetryAfter,
  type RetryEnvironment,
  runWithRetries,
} from '../../../../functions/commons/http/retry.ts';
import { definedProps } from '../../../../functions/commons/optional.ts';

/** A clock that only moves when the code under test sleeps, and a record of every sleep. */
function fakeEnvironment(random = 0.5): RetryEnvironment & { readonly sleeps: number[]; time: number } {
  const environment = {
    time: 1_000_000,
    sleeps: [] as number[],
    now: () => environment.time,
    random: () => random,
    sleep: async (ms: number, signal: AbortSignal) => {
      signal.throwIfAborted();
      environment.sleeps.push(ms);
      environment.time += ms;
    },
  };
  return environment;
}

function failure(status: number, retryable: boolean, retryAfterMs?: number): AttemptResult<never> {
  const error = new StoreApiError('STORE_TEST', `answered ${status}`, { status }, { retryable });
  return { ok: false, error, retryable, ...definedProps({ retryAfterMs }) };
}

describe('parseRetryAfter', () => {
  const now = Date.parse('2026-03-01T12:00:00Z');

  it('reads delay-seconds', () => {
    expect(parseRetryAfter('14', now)).toBe(14_000);
    expect(parseRetryAfter(' 0 ', now)).toBe(0);
    expect(parseRetryAfter(['3', '9'], now)).toBe(3_000);
  });

  it('reads an HTTP date as the time left until it, never negative', () => {
    expect(parseRetryAfter('Sun, 01 Mar 2026 12:00:05 GMT', now)).toBe(5_000);
    expect(parseRetryAfter('Sun, 01 Mar 2026 11:59:00 GMT', now)).toBe(0);
  });

  it('ignores absent and unreadable values', () => {
    expect(parseRetryAfter(undefined, now)).toBeUndefined();
    expect(parseRetryAfter('', now)).toBeUndefined();
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter('-5', now)).toBeUndefined();
  });
});

describe('computeBackoffDelay', () => {
  const policy = { ...DEFAULT_RETRY_POLICY, baseDelayMs: 100, maxDelayMs: 1_000 };

  it('doubles the jitter range with each retry, up to the cap (full jitter)', () => {
    const almostOne = () => 0.999_999;
    expect(computeBackoffDelay(1, policy, almostOne)).toBe(99);
    expect(computeBackoffDelay(2, policy, almostOne)).toBe(199);
    expect(computeBackoffDelay(3, policy, almostOne)).toBe(399);
    expect(computeBackoffDelay(5, policy, almostOne)).toBe(999);
    expect(computeBackoffDelay(30, policy, almostOne)).toBe(999);
  });

  it('can be as short as zero (the jitter spreads retries of concurrent callers)', () => {
    expect(computeBackoffDelay(4, policy, () => 0)).toBe(0);
    expect(computeBackoffDelay(2, policy, () => 0.5)).toBe(100);
  });
});

describe('runWithRetries', () => {
  const policy = { ...DEFAULT_RETRY_POLICY, maxAttempts: 4, baseDelayMs: 100, maxDelayMs: 1_000 };

  it('retries retryable failures with backoff and returns the first success', async () => {
    const environment = fakeEnvironment(0.5);
    const results: AttemptResult<string>[] = [
      failure(503, true),
      failure(503, true),
      { ok: true, value: 'done' },
    ];
    const value = await runWithRetries(
      async (n): Promise<AttemptResult<string>> => results[n - 1] ?? failure(500, true),
      {
        policy,
        environment,
        signal: new AbortController().signal,
        what: 'GET x',
      },
    );
    expect(value).toBe('done');
    expect(environment.sleeps).toEqual([50, 100]);
  });

  it('waits exactly what Retry-After asked instead of the backoff', async () => {
    const environment = fakeEnvironment();
    const results: AttemptResult<number>[] = [failure(429, true, 2_000), { ok: true, value: 1 }];
    await runWithRetries(async (n): Promise<AttemptResult<number>> => results[n - 1] ?? failure(500, true), {
      policy,
      environment,
      signal: new AbortController().signal,
      what: 'GET x',
    });
    expect(environment.sleeps).toEqual([2_000]);
  });

  it('throws a non-retryable failure at once', async () => {
    const environment = fakeEnvironment();
    let attempts = 0;
    const run = runWithRetries(
      async () => {
        attempts++;
        return failure(404, false);
      },
      { policy, environment, signal: new AbortController().signal, what: 'GET x' },
    );
    await expect(run).rejects.toThrow('answered 404');
    expect(attempts).toBe(1);
    expect(environment.sleeps).toEqual([]);
  });

  it('stops after maxAttempts and throws the last failure', async () => {
    const environment = fakeEnvironment();
    let attempts = 0;
    const run = runWithRetries(
      async () => {
        attempts++;
        return failure(500 + attempts, true);
      },
      { policy, environment, signal: new AbortController().signal, what: 'GET x' },
    );
    await expect(run).rejects.toThrow('answered 504');
    expect(attempts).toBe(4);
  });

  it('never starts a wait that would end after the deadline: it throws the last failure instead', async () => {
    const environment = fakeEnvironment();
    const signal = createDeadline({ timeoutMs: 5_000, now: environment.now });
    let attempts = 0;
    const run = runWithRetries(
      async () => {
        attempts++;
        return failure(429, true, 14_000);
      },
      { policy, environment, signal, what: 'GET x' },
    );
    await expect(run).rejects.toMatchObject({ code: 'STORE_TEST', retryable: true });
    expect(attempts).toBe(1);
    expect(environment.sleeps).toEqual([]);
  });

  it('refuses a very long Retry-After when the signal has no known deadline', async () => {
    const environment = fakeEnvironment();
    const run = runWithRetries(async () => failure(429, true, 3_600_000), {
      policy,
      environment,
      signal: new AbortController().signal,
      what: 'GET x',
    });
    await expect(run).rejects.toThrow('answered 429');
    expect(environment.sleeps).toEqual([]);
  });

  it('turns a wait cut short by the deadline into DeadlineExceededError carrying the last failure', async () => {
    const controller = new AbortController();
    const environment: RetryEnvironment = {
      now: Date.now,
      random: () => 0.5,
      sleep: async () => {
        controller.abort();
        throw new Error('aborted');
      },
    };
    const run = runWithRetries(async () => failure(503, true), {
      policy,
      environment,
      signal: controller.signal,
      what: 'GET applications/9NBLGGH4R315',
    });
    const error = await run.catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(DeadlineExceededError);
    expect(error).toMatchObject({ message: expect.stringContaining('GET applications/9NBLGGH4R315') });
    expect(error instanceof Error && error.cause).toBeInstanceOf(StoreApiError);
  });
});
