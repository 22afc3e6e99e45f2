/**
 * The tenant's Store request budget within one process: a sliding window served by priority (the halt
 * POST, then rollout reads, then discoveries) that keeps room for a discovery's follow-up read and halt.
 * The budget of a local run or the CLI; in the halt function it stands in front of the stack's shared
 * budget (docs/storms.md, "The shared budget").
 */
import { StoreApiError } from '../errors.ts';
import { deadlineOf, type Sleep, sleep } from '../http/deadline.ts';
import {
  enqueueByRank,
  PRIORITY_RANK as RANK,
  type RequestBudget,
  type RequestPriority,
  slotDeadlineError,
} from './request-budget.ts';

export { type RequestBudget, type RequestPriority, slotDeadlineError } from './request-budget.ts';

/**
 * The calls that usually follow a discovery (the target's rollout read, then its halt), in the order
 * they come: the room kept for them in the window.
 */
const FOLLOW_UPS: readonly RequestPriority[] = ['rollout', 'halt'];

export interface ThrottleOptions {
  /** Requests allowed in any window. @default 20 */
  readonly limit?: number;
  /** The sliding window, in milliseconds. @default 60_000 */
  readonly windowMs?: number;
  /** Added to the window against network jitter. @default 250 */
  readonly marginMs?: number;
  /**
   * How long the room kept for a discovery's follow-ups lasts (at most the window plus margin): a few
   * round trips; 0 keeps none, for a reader that never halts. @default 5_000
   */
  readonly followUpMs?: number;
  /** Clock, for tests. @default Date.now */
  readonly now?: () => number;
  /** Sleep, for tests. @default the real one */
  readonly sleep?: Sleep;
}

interface Waiter {
  readonly priority: RequestPriority;
  readonly rank: number;
  readonly what: string;
  readonly signal: AbortSignal;
  readonly deadline: number | undefined;
  readonly grant: () => void;
  readonly refuse: (error: unknown) => void;
}

/** Room kept in the window for a follow-up of a discovery, for a while (`followUpMs`). */
interface Reservation {
  readonly priority: RequestPriority;
  readonly until: number;
}

/** What the window holds at one moment; copied to project the waiters' slots. */
interface WindowState {
  /** When the requests of the window were let out, oldest first. */
  grants: number[];
  /** Oldest first (they expire in that order). */
  reservations: Reservation[];
}

/**
 * A sliding-window budget: at most `limit` grants in any `windowMs` (plus margin), served by priority
 * (see the module comment and `RequestBudget.acquire`).
 */
export function createThrottle(options: ThrottleOptions = {}): RequestBudget {
  const limit = options.limit ?? 20;
  const windowMs = options.windowMs ?? 60_000;
  const spacingMs = windowMs + (options.marginMs ?? 250);
  const roomMs = Math.max(0, Math.min(spacingMs, options.followUpMs ?? 5_000));
  const now = options.now ?? Date.now;
  const wait = options.sleep ?? sleep;
  if (!Number.isInteger(limit) || limit < 1)
    throw new RangeError('throttle limit must be a positive integer');
  // A window too small for an app's three calls has no room to keep for follow-ups.
  const keepsRoom = limit > FOLLOW_UPS.length;

  const state: WindowState = { grants: [], reservations: [] };
  /** Waiting requests in the order they will be served: by rank, then by arrival. */
  const queue: Waiter[] = [];
  /** The one pending wake-up: when, and how to cancel it. */
  let timer: { readonly at: number; readonly cancel: AbortController } | undefined;

  const expire = (window: WindowState, at: number) => {
    while (window.grants.length > 0 && (window.grants[0] ?? 0) + spacingMs <= at) window.grants.shift();
    while (window.reservations.length > 0 && (window.reservations[0]?.until ?? 0) <= at)
      window.reservations.shift();
  };

  /**
   * Whether a request of `rank` may go out now: a free slot, beyond the room kept for follow-ups if
   * it is a discovery. (The conditions nest: whatever lets a discovery out lets a read or a halt out,
   * so the queue is served strictly in order.)
   */
  const mayGrant = (window: WindowState, rank: number) => {
    const free = limit - window.grants.length;
    const kept = rank >= RANK.discovery ? window.reservations.length : 0;
    return free - kept >= 1;
  };

  /** Records a grant at `at`: the slot, the room it uses up, the room it keeps for its follow-ups. */
  const record = (window: WindowState, priority: RequestPriority, at: number) => {
    window.grants.push(at);
    const own = window.reservations.findIndex((reservation) => reservation.priority === priority);
    if (own >= 0) window.reservations.splice(own, 1);
    if (priority !== 'discovery' || !keepsRoom) return;
    // Keep room only where the window has it, so what is kept never exceeds what is free.
    let room = limit - window.grants.length - window.reservations.length;
    for (const followUp of FOLLOW_UPS) {
      if (room <= 0) break;
      window.reservations.push({ priority: followUp, until: at + roomMs });
      room -= 1;
    }
  };

  /** When the window next changes after `at` (a grant or a reservation expires), or `undefined`. */
  const nextChange = (window: WindowState, at: number): number | undefined => {
    const times = [
      ...window.grants.map((granted) => granted + spacingMs),
      ...window.reservations.map((reservation) => reservation.until),
    ].filter((time) => time > at);
    return times.length === 0 ? undefined : Math.min(...times);
  };

  /**
   * Whether a discovery let out at `slot` leaves its follow-ups (its rollout read and halt) a chance
   * before `deadline`: there is room for them in the window, or enough of it frees before the deadline.
   * A discovery whose follow-ups cannot make the deadline would be spent for nothing (a storm hands
   * its app on to the next invocation, which reads it again), so it is refused like a late request.
   */
  const followUpsFit = (
    window: WindowState,
    waiter: Pick<Waiter, 'rank'>,
    slot: number,
    deadline: number,
  ) => {
    if (waiter.rank !== RANK.discovery || !keepsRoom) return true;
    const grants = [...window.grants, slot];
    const mustExpire = grants.length + window.reservations.length + FOLLOW_UPS.length - limit;
    if (mustExpire <= 0) return true;
    const freedAt = (grants[Math.min(mustExpire, grants.length) - 1] ?? slot) + spacingMs;
    return freedAt < deadline;
  };

  /**
   * When each waiter would be served if nobody else arrived: the queue is served strictly in order (a
   * more important request is never harder to admit), each at the first moment the window lets it.
   * Waiters whose slot comes at or after their deadline are returned apart, and leave no trace in the
   * projection of those behind them.
   */
  const project = (at: number) => {
    const window: WindowState = {
      grants: [...state.grants],
      reservations: [...state.reservations],
    };
    const slots = new Map<Waiter, number>();
    const late: Array<{ waiter: Waiter; slot: number }> = [];
    let time = at;
    for (const waiter of queue) {
      const before = {
        grants: [...window.grants],
        reservations: [...window.reservations],
      };
      let slot = time;
      expire(window, slot);
      while (!mayGrant(window, waiter.rank)) {
        // A full window always has a grant that expires; a request can always be let out eventually.
        slot = nextChange(window, slot) ?? slot + spacingMs;
        expire(window, slot);
      }
      if (
        waiter.deadline !== undefined &&
        (slot >= waiter.deadline || !followUpsFit(window, waiter, slot, waiter.deadline))
      ) {
        late.push({ waiter, slot });
        window.grants = before.grants;
        window.reservations = before.reservations;
        continue;
      }
      record(window, waiter.priority, slot);
      slots.set(waiter, slot);
      time = slot;
    }
    return { slots, late };
  };

  const remove = (waiter: Waiter) => {
    const index = queue.indexOf(waiter);
    if (index >= 0) queue.splice(index, 1);
  };

  const refuseLate = (waiter: Waiter, slot: number, at: number, arriving: Waiter | undefined) => {
    remove(waiter);
    waiter.refuse(
      new StoreApiError(
        'STORE_BUDGET_EXHAUSTED',
        `${waiter.what} not sent: this tenant's request budget (${limit} per ${windowMs} ms) has no free slot ` +
          `before the deadline (next in ${slot - at} ms${waiter === arriving ? '' : ', pushed back by more important requests'})`,
        { request: waiter.what },
        { retryable: true },
      ),
    );
  };

  /**
   * Serves whoever may go now, refuses whoever cannot make it, and sets the next wake-up.
   * @param arriving the request that just arrived, if that is why
   */
  const pump = (arriving?: Waiter) => {
    const at = now();
    expire(state, at);
    for (
      let head = queue[0];
      head !== undefined &&
      mayGrant(state, head.rank) &&
      (head.deadline === undefined || followUpsFit(state, head, at, head.deadline));
      head = queue[0]
    ) {
      queue.shift();
      record(state, head.priority, at);
      head.grant();
    }
    if (queue.length === 0) {
      schedule(undefined);
      return;
    }
    const { slots, late } = project(at);
    for (const { waiter, slot } of late) refuseLate(waiter, slot, at, arriving);
    const first = queue[0];
    const due = first === undefined ? undefined : slots.get(first);
    schedule(due);
  };

  const schedule = (due: number | undefined) => {
    if (timer !== undefined && timer.at === due) return;
    timer?.cancel.abort();
    timer = undefined;
    if (due === undefined) return;
    const cancel = new AbortController();
    const current = { at: due, cancel };
    timer = current;
    // At least 1 ms, so a clock that reads a hair early cannot spin.
    wait(Math.max(1, due - now()), cancel.signal).then(
      () => {
        if (timer !== current) return;
        timer = undefined;
        pump();
      },
      () => {
        // Cancelled: a newer wake-up replaced this one.
      },
    );
  };

  return {
    acquire(signal, what, priority) {
      if (signal.aborted) return Promise.reject(slotDeadlineError(signal, what, 'before'));
      if (queue.length === 0) {
        // Nobody waits: the common case, decided without queueing.
        const at = now();
        expire(state, at);
        const deadline = deadlineOf(signal);
        const rank = RANK[priority];
        if (
          mayGrant(state, rank) &&
          (deadline === undefined || followUpsFit(state, { rank }, at, deadline))
        ) {
          record(state, priority, at);
          return Promise.resolve();
        }
      }
      return new Promise<void>((resolve, reject) => {
        const onAbort = () => {
          remove(waiter);
          // Never sent: said apart from a request cut short in flight, which may have taken effect.
          reject(slotDeadlineError(signal, what, 'while'));
          // Those behind it may move up.
          pump();
        };
        const settle = <T>(settler: (value: T) => void) => {
          return (value: T) => {
            signal.removeEventListener('abort', onAbort);
            settler(value);
          };
        };
        const waiter: Waiter = {
          priority,
          rank: RANK[priority],
          what,
          signal,
          deadline: deadlineOf(signal),
          grant: settle<void>(resolve),
          refuse: settle<unknown>(reject),
        };
        signal.addEventListener('abort', onAbort, { once: true });
        enqueueByRank(queue, waiter);
        pump(waiter);
      });
    },
  };
}

const tenantThrottles = new Map<string, RequestBudget>();

/**
 * The process-wide budget of one tenant, shared by every client and concurrent call in the process
 * (the Store counts per tenant, not per client). The options of the first call for a tenant win.
 */
export function getTenantThrottle(tenantId: string, options: ThrottleOptions = {}): RequestBudget {
  let throttle = tenantThrottles.get(tenantId);
  if (throttle === undefined) {
    throttle = createThrottle(options);
    tenantThrottles.set(tenantId, throttle);
  }
  return throttle;
}

/**
 * The process's own throttle for a reader that never halts (the probe, the CLI's `health`) when it has
 * no shared budget: half the tenant's budget, and no room kept for follow-up halts.
 */
export const READER_THROTTLE: ThrottleOptions = { limit: 10, followUpMs: 0 };
