/**
 * Injected faults: a queue of one-shot (or n-shot) misbehaviours applied to the next matching requests,
 * in the order they were registered. A faulted request changes nothing in the state.
 */
import type { RequestMatcher } from './types.ts';

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
  readonly kind: 'token' | 'store';
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
