/**
 * Injected faults: a queue of one-shot (or n-shot) misbehaviours applied to the next matching requests,
 * in the order they were registered. A faulted request changes nothing in the state.
 */
import type { RequestKind, RequestMatcher } from './types.ts';

export type FaultAction =
  | {
      readonly type: 'fail';
      readonly status: number;
      readonly retryAfter?: string;
      readonly body?: unknown;
    }
  | { readonly type: 'hang' }
  | { readonly type: 'reset' };

/** What a matcher is tested against. */
export interface RequestFacts {
  readonly kind: RequestKind;
  readonly method: string;
  readonly path: string;
}

interface QueuedFault {
  readonly action: FaultAction;
  readonly match: RequestMatcher;
  remaining: number;
}

/** True when every field the matcher gives matches the request (an empty matcher matches all). */
export function matchesRequest(match: RequestMatcher, request: RequestFacts): boolean {
  if (match.kind !== undefined && match.kind !== request.kind) return false;
  if (match.method !== undefined && match.method !== request.method) return false;
  if (match.path === undefined) return true;
  if (typeof match.path === 'string') return request.path.includes(match.path);
  match.path.lastIndex = 0; // a /g or /y pattern keeps state between calls
  return match.path.test(request.path);
}

export class FaultQueue {
  readonly #queue: QueuedFault[] = [];

  add(action: FaultAction, match: RequestMatcher = {}, count = 1): void {
    if (!Number.isInteger(count) || count < 1)
      throw new RangeError(`count must be a positive integer, got ${count}`);
    this.#queue.push({ action, match, remaining: count });
  }

  /** Drops every queued fault. */
  clear(): void {
    this.#queue.length = 0;
  }

  /** The first queued fault that matches `request`, consumed once; `undefined` when none does. */
  take(request: RequestFacts): FaultAction | undefined {
    const index = this.#queue.findIndex((fault) => matchesRequest(fault.match, request));
    const fault = this.#queue[index];
    if (fault === undefined) return undefined;
    fault.remaining -= 1;
    if (fault.remaining === 0) this.#queue.splice(index, 1);
    return fault.action;
  }
}

interface Gathering {
  readonly match: RequestMatcher;
  readonly count: number;
  readonly waiting: { readonly arrival: number; readonly resume: () => void }[];
}

/**
 * Gatherings: the next `count` matching requests to join (after their body and the latency) are held
 * until the last of them joins, then all go on together, in arrival order (the order the server received
 * them, whatever order their bodies were read). A request whose client gave up meanwhile still counts and
 * is still carried out, as a real server would. A test uses one to make a race certain (every container
 * reads the rollout in progress before any halt takes effect) instead of hoping that latency arranges it.
 */
export class GatheringQueue {
  readonly #queue: Gathering[] = [];

  add(match: RequestMatcher, count: number): void {
    if (!Number.isInteger(count) || count < 2)
      throw new RangeError(`a gathering needs a count of at least 2, got ${count}`);
    this.#queue.push({ match, count, waiting: [] });
  }

  /**
   * Resolves when `request` may go on: at once when no gathering matches it, else once the gathering
   * it joins is complete (or released). Requests released together resume in the order of `arrival`
   * (a number that grows with each request received), each running until its next `await`.
   */
  join(request: RequestFacts, arrival: number): Promise<void> {
    const gathering = this.#queue.find((candidate) => matchesRequest(candidate.match, request));
    if (gathering === undefined) return Promise.resolve();
    const joined = new Promise<void>((resume) => {
      gathering.waiting.push({ arrival, resume });
    });
    // Released once the caller awaits what this returns, so that the last to join, too, resumes in its
    // arrival order rather than after all the others.
    if (gathering.waiting.length === gathering.count) {
      this.#queue.splice(this.#queue.indexOf(gathering), 1);
      queueMicrotask(() => resumeInArrivalOrder(gathering));
    }
    return joined;
  }

  /** How many requests are held now, waiting for the rest of their gathering. */
  get held(): number {
    return this.#queue.reduce((sum, gathering) => sum + gathering.waiting.length, 0);
  }

  /** Lets every held request go on and drops every gathering. */
  releaseAll(): void {
    for (const gathering of this.#queue.splice(0)) resumeInArrivalOrder(gathering);
  }
}

function resumeInArrivalOrder(gathering: Gathering): void {
  const waiting = [...gathering.waiting].sort((a, b) => a.arrival - b.arrival);
  for (const { resume } of waiting) resume();
}
