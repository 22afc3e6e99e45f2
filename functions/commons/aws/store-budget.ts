/**
 * The tenant's Store request budget for the whole stack, in the state table: one item per tenant
 * (`budget#<tenant ID>`, `window`) holding the grants in the window and a version, written back only if
 * the version is still the one read (docs/storms.md, "The shared budget"; the decisions are in
 * `domain/budget.ts`). When the table is out, a halt-path request is sent anyway and a reader's refused.
 */
import {
  ConditionalCheckFailedException,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
} from '@aws-sdk/client-dynamodb';
import { type BudgetClass, type BudgetRules, decideGrant } from '../domain/budget.ts';
import { describeError, StoreApiError } from '../errors.ts';
import { deadlineOf, type Sleep, sleep } from '../http/deadline.ts';
import {
  enqueueByRank,
  PRIORITY_RANK,
  type RequestBudget,
  slotDeadlineError,
} from '../store/request-budget.ts';
import * as z from '../validation.ts';
import { budgetPartition, STATE_TABLE_KEY, STATE_TABLE_TTL_ATTRIBUTE } from './state-table.ts';

/** The sort key of a tenant's budget item. */
export const BUDGET_SORT_KEY = 'window';

/** The tenant's limit: about 20 requests in any 60 s (see docs/storms.md). */
export const STORE_REQUESTS_PER_WINDOW = 20;
export const STORE_WINDOW_MS = 60_000;
/** Spacing added to the window against network jitter (as the in-process throttle). */
export const STORE_WINDOW_MARGIN_MS = 250;

/**
 * A lost race is retried this many times per request before the table counts as unavailable. Every
 * lost race is another writer's grant, so this is far more than a window's worth of them.
 */
const MAX_CONFLICTS = 100;

/** `grants` without one occurrence of `grant` (two grants may share a millisecond). */
function withoutOne(grants: readonly number[], grant: number): number[] {
  const index = grants.indexOf(grant);
  return index < 0 ? [...grants] : [...grants.slice(0, index), ...grants.slice(index + 1)];
}

export interface BudgetLogger {
  warn(message: string, attributes: Record<string, unknown>): void;
}

export interface DurableBudgetOptions {
  readonly client: DynamoDBClient;
  readonly tableName: string;
  /** `halt` for the halt function, `reader` for the self-check and the Store health probe. */
  readonly budgetClass: BudgetClass;
  /** @default STORE_REQUESTS_PER_WINDOW */
  readonly limit?: number;
  /** @default STORE_WINDOW_MS */
  readonly windowMs?: number;
  /** @default STORE_WINDOW_MARGIN_MS */
  readonly marginMs?: number;
  /** Epoch milliseconds, the same clock in every function (grants are compared across them). @default Date.now */
  readonly now?: () => number;
  /** @default the real one */
  readonly sleep?: Sleep;
  readonly logger?: BudgetLogger;
}

const itemSchema = z.object({
  version: z.object({ N: z.string().check(z.regex(/^\d+$/)) }),
  grants: z.object({ L: z.array(z.object({ N: z.string().check(z.regex(/^\d+(\.\d+)?$/)) })) }),
});

interface StoredWindow {
  /** `undefined`: no item yet; `null`: an item that does not parse (overwritten). */
  readonly version: number | undefined | null;
  readonly grants: readonly number[];
}

interface Waiter {
  readonly rank: number;
  readonly what: string;
  readonly signal: AbortSignal;
  readonly deadline: number | undefined;
  settled: boolean;
  readonly grant: () => void;
  readonly refuse: (error: unknown) => void;
}

/** What a process's budgets use unless their options say otherwise (see `setDurableBudgetDefaults`). */
type BudgetTiming = Pick<DurableBudgetOptions, 'limit' | 'windowMs' | 'marginMs' | 'now' | 'sleep'>;
let processDefaults: BudgetTiming = {};

/**
 * Sets what every budget created afterwards in this process uses unless its options say otherwise:
 * the handlers never call it; a test or the benchmark scales the window down (or injects a clock)
 * before importing a handler, as it registers the process's own throttle (`getTenantThrottle`).
 */
export function setDurableBudgetDefaults(defaults: BudgetTiming): void {
  processDefaults = { ...defaults };
}

/** The per-tenant budgets of one process over the table: what the Store client's `throttle` takes. */
export function createDurableBudgets(options: DurableBudgetOptions): (tenantId: string) => RequestBudget {
  const budgets = new Map<string, RequestBudget>();
  return (tenantId) => {
    let budget = budgets.get(tenantId);
    if (budget === undefined) {
      budget = createDurableBudget(tenantId, options);
      budgets.set(tenantId, budget);
    }
    return budget;
  };
}

/** One tenant's budget over the table (see the module comment). */
export function createDurableBudget(tenantId: string, options: DurableBudgetOptions): RequestBudget {
  const limit = options.limit ?? processDefaults.limit ?? STORE_REQUESTS_PER_WINDOW;
  const windowMs = options.windowMs ?? processDefaults.windowMs ?? STORE_WINDOW_MS;
  const marginMs = options.marginMs ?? processDefaults.marginMs ?? STORE_WINDOW_MARGIN_MS;
  const rules: BudgetRules = { limit, spacingMs: windowMs + marginMs };
  // Half the margin for the write, half for the request's own way to the Store.
  const lateWriteMs = marginMs / 2;
  const now = options.now ?? processDefaults.now ?? Date.now;
  const wait = options.sleep ?? processDefaults.sleep ?? sleep;
  const { client, tableName, budgetClass } = options;
  const key = {
    [STATE_TABLE_KEY.partition]: { S: budgetPartition(tenantId) },
    [STATE_TABLE_KEY.sort]: { S: BUDGET_SORT_KEY },
  };
  const queue: Waiter[] = [];
  let draining = false;

  const read = async (signal: AbortSignal): Promise<StoredWindow> => {
    const output = await client.send(
      new GetItemCommand({ TableName: tableName, Key: key, ConsistentRead: true }),
      { abortSignal: signal },
    );
    if (output.Item === undefined) return { version: undefined, grants: [] };
    const parsed = itemSchema.safeParse(output.Item);
    if (!parsed.success) {
      options.logger?.warn('the Store budget item does not parse; starting a new window', { tableName });
      // It has no version to race on: it is overwritten without a condition (once; the next writers
      // race on the new version).
      return { version: null, grants: [] };
    }
    return {
      version: Number(parsed.data.version.N),
      grants: parsed.data.grants.L.map((grant) => Number(grant.N)),
    };
  };

  /** Writes the window; `false` when another writer changed it since `read`. */
  const write = async (stored: StoredWindow, grants: readonly number[], signal: AbortSignal) => {
    const version = (stored.version ?? 0) + 1;
    const last = grants.at(-1) ?? now();
    const condition =
      stored.version === undefined
        ? {
            ConditionExpression: 'attribute_not_exists(#pk)',
            ExpressionAttributeNames: { '#pk': STATE_TABLE_KEY.partition },
          }
        : stored.version === null
          ? {}
          : {
              ConditionExpression: '#version = :read',
              ExpressionAttributeNames: { '#version': 'version' },
              ExpressionAttributeValues: { ':read': { N: String(stored.version) } },
            };
    try {
      await client.send(
        new PutItemCommand({
          TableName: tableName,
          Item: {
            ...key,
            version: { N: String(version) },
            grants: { L: grants.map((grant) => ({ N: String(grant) })) },
            // Swept once the last grant has left the window.
            [STATE_TABLE_TTL_ATTRIBUTE]: { N: String(Math.ceil((last + rules.spacingMs) / 1000) + 60) },
          },
          ...condition,
        }),
        { abortSignal: signal },
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  };

  /**
   * One attempt at a slot for the head of the queue: `granted`, or when room frees (`retryAt`). A grant
   * whose write came back later than half the margin is taken again with a new stamp, once (docs/storms.md,
   * "The shared budget"). Throws when the table fails (not on a slow write or a lost race).
   */
  const tryGrant = async (
    signal: AbortSignal,
  ): Promise<{ granted: true } | { granted: false; retryAt: number }> => {
    /** This request's grant whose write came back late, still in the window. */
    let late: number | undefined;
    for (let conflicts = 0; ; ) {
      const stored = await read(signal);
      const others = late === undefined ? stored.grants : withoutOne(stored.grants, late);
      const decision = decideGrant(others, now(), budgetClass, rules);
      // No room without it: the late grant stays (it is not used), the request waits like any other.
      if (!decision.granted) return decision;
      if (await write(stored, decision.grants, signal)) {
        const stamped = decision.grants.at(-1) ?? now();
        // One new stamp at most: a table that stays slow must not hold a request back until its deadline.
        if (now() - stamped <= lateWriteMs || late !== undefined) return { granted: true };
        late = stamped;
        continue;
      }
      // Lost the race to another function, which got its slot: read again at once.
      conflicts += 1;
      if (conflicts >= MAX_CONFLICTS)
        throw new Error(`the budget item changed under ${MAX_CONFLICTS} writes in a row`);
    }
  };

  const remove = (waiter: Waiter) => {
    const index = queue.indexOf(waiter);
    if (index >= 0) queue.splice(index, 1);
  };

  const exhausted = (waiter: Waiter, retryAt: number) =>
    new StoreApiError(
      'STORE_BUDGET_EXHAUSTED',
      `${waiter.what} not sent: this tenant's request budget (${limit} per ${windowMs} ms, shared by the ` +
        `whole stack) has no free slot before the deadline (next in ${Math.max(0, retryAt - now())} ms)`,
      { request: waiter.what },
      { retryable: true },
    );

  const serveHead = async (head: Waiter) => {
    try {
      const result = await tryGrant(head.signal);
      if (head.settled) return;
      if (result.granted) {
        remove(head);
        head.grant();
        return;
      }
      // Nobody in this process is served before the head: whoever's deadline comes first cannot make it.
      for (const waiter of [...queue]) {
        if (waiter.deadline !== undefined && result.retryAt >= waiter.deadline) {
          remove(waiter);
          waiter.refuse(exhausted(waiter, result.retryAt));
        }
      }
      if (head.settled) return;
      await wait(Math.max(1, result.retryAt - now()), head.signal);
    } catch (error) {
      if (head.settled) return;
      // The head gave up (its deadline passed): its abort handler has settled it already.
      if (head.signal.aborted) return;
      remove(head);
      options.logger?.warn('the Store budget table failed', {
        tableName,
        budgetClass,
        request: head.what,
        error: describeError(error),
      });
      if (budgetClass === 'halt') head.grant();
      else
        head.refuse(
          new StoreApiError(
            'STORE_BUDGET_EXHAUSTED',
            `${head.what} not sent: this tenant's request budget could not be read or written (the stack's state table failed)`,
            { request: head.what },
            { retryable: true, cause: error },
          ),
        );
    }
  };

  const drain = async () => {
    if (draining) return;
    draining = true;
    try {
      for (let head = queue[0]; head !== undefined; head = queue[0]) await serveHead(head);
    } finally {
      draining = false;
    }
  };

  return {
    acquire(signal, what, priority) {
      if (signal.aborted) return Promise.reject(slotDeadlineError(signal, what, 'before'));
      return new Promise<void>((resolve, reject) => {
        const onAbort = () => {
          remove(waiter);
          waiter.refuse(slotDeadlineError(signal, what, 'while'));
        };
        const settle = <T>(settler: (value: T) => void) => {
          return (value: T) => {
            if (waiter.settled) return;
            waiter.settled = true;
            signal.removeEventListener('abort', onAbort);
            settler(value);
          };
        };
        const waiter: Waiter = {
          rank: PRIORITY_RANK[priority],
          what,
          signal,
          deadline: deadlineOf(signal),
          settled: false,
          grant: settle<void>(resolve),
          refuse: settle<unknown>(reject),
        };
        signal.addEventListener('abort', onAbort, { once: true });
        enqueueByRank(queue, waiter);
        void drain();
      });
    },
  };
}
