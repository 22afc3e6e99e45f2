/**
 * The stack's Store request budget in the state table (moto, the table as the template defines it),
 * on a fake clock: several processes share one window of 20; halts may take all of it, readers only
 * while half stays free; a request without room sleeps until the grant it waits on leaves the window,
 * or is refused at once when that comes after its deadline; within a process the halt goes first.
 */
import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { beforeAll, expect, it } from 'vitest';
import {
  createDurableBudget,
  type DurableBudgetOptions,
} from '../../../../functions/commons/aws/store-budget.ts';
import { StoreApiError } from '../../../../functions/commons/errors.ts';
import { createDeadline } from '../../../../functions/commons/http/deadline.ts';
import type { RequestBudget, RequestPriority } from '../../../../functions/commons/store/throttle.ts';
import { describeWithMoto } from '../../../support/aws.ts';
import { createStateTable, motoDynamo } from '../../../support/state-table.ts';

const TENANT = 'contoso.onmicrosoft.com';
const SPACING = 60_250;

/** A fake clock: sleeps resolve when the test moves the clock past them. */
function fakeClock(start: number) {
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
    /** When the sleepers are due, earliest first. */
    due: () => sleepers.map((sleeper) => sleeper.until).sort((a, b) => a - b),
    advanceTo(target: number) {
      time = target;
      for (const sleeper of sleepers.filter((candidate) => candidate.until <= time)) {
        sleepers.splice(sleepers.indexOf(sleeper), 1);
        sleeper.resolve();
      }
    },
  };
}

/**
 * Waits (on real I/O, never on time) for moto to answer the racing writes until `condition` holds.
 * Thirty contenders on one item take a few hundred conditional writes; on a loaded machine that is
 * seconds, so the bound only decides how long a hang takes to report (about two minutes).
 */
async function until(condition: () => boolean, what: string | (() => string)): Promise<void> {
  for (let round = 0; round < 24_000; round++) {
    if (condition()) return;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  throw new Error(`never happened: ${typeof what === 'string' ? what : what()}`);
}

const never = new AbortController().signal;

function recorder(budget: RequestBudget, clock: { now: () => number }) {
  const granted: Array<{ label: string; at: number }> = [];
  const refused: Array<{ label: string; error: unknown }> = [];
  const acquire = (label: string, priority: RequestPriority, signal: AbortSignal = never) =>
    budget.acquire(signal, `GET ${label}`, priority).then(
      () => {
        granted.push({ label, at: clock.now() });
      },
      (error: unknown) => {
        refused.push({ label, error });
      },
    );
  return { granted, refused, acquire };
}

describeWithMoto('the Store request budget in the state table', () => {
  const dynamo = motoDynamo();
  let tableName: string;
  beforeAll(async () => {
    tableName = await createStateTable(dynamo);
  });

  const options = (
    clock: ReturnType<typeof fakeClock>,
    budgetClass: DurableBudgetOptions['budgetClass'],
    table = tableName,
  ): DurableBudgetOptions => ({
    client: dynamo,
    tableName: table,
    budgetClass,
    now: clock.now,
    sleep: clock.sleep,
  });

  it('lets several processes together send at most 20 in any window, and the next when the oldest leaves', async () => {
    const tenant = `${crypto.randomUUID()}.example.com`;
    const clock = fakeClock(1_000_000);
    const processes = [0, 1, 2].map(() =>
      recorder(createDurableBudget(tenant, options(clock, 'halt')), clock),
    );
    // 30 requests at once from three processes: they race on one item.
    const all = processes.flatMap((process, index) =>
      Array.from({ length: 10 }, (_, request) => process.acquire(`p${index}-${request}`, 'halt')),
    );
    const grantedCount = () => processes.reduce((sum, process) => sum + process.granted.length, 0);
    // Every process still waiting sleeps (one at a time per process, its most important request first).
    const waiting = () => processes.filter((process) => process.granted.length < 10).length;
    await until(
      () => grantedCount() === 20 && clock.due().length === waiting(),
      () =>
        `20 grants and a sleeper per waiting process (${grantedCount()} grants, ${clock.due().length} sleepers)`,
    );
    expect(waiting()).toBeGreaterThan(0);
    // Each waits for the oldest grant to leave the window.
    expect(clock.due()).toEqual(Array.from({ length: waiting() }, () => 1_000_000 + SPACING));
    const item = await dynamo.send(
      new GetItemCommand({
        TableName: tableName,
        Key: { pk: { S: `budget#${tenant}` }, sk: { S: 'window' } },
        ConsistentRead: true,
      }),
    );
    expect(item.Item?.grants?.L).toHaveLength(20);
    expect(Number(item.Item?.expiresAt?.N)).toBeGreaterThan((1_000_000 + SPACING) / 1_000);
    clock.advanceTo(1_000_000 + SPACING);
    await Promise.all(all);
    expect(grantedCount()).toBe(30);
    const times = processes.flatMap((process) => process.granted.map((grant) => grant.at));
    expect(times.filter((at) => at === 1_000_000)).toHaveLength(20);
    expect(times.filter((at) => at === 1_000_000 + SPACING)).toHaveLength(10);
  });

  it('gives readers slots only while half stays free, and halts the rest', async () => {
    const tenant = `${crypto.randomUUID()}.example.com`;
    const clock = fakeClock(5_000_000);
    const reader = recorder(createDurableBudget(tenant, options(clock, 'reader')), clock);
    const halts = recorder(createDurableBudget(tenant, options(clock, 'halt')), clock);
    const reads = Array.from({ length: 12 }, (_, index) => reader.acquire(`read-${index}`, 'rollout'));
    await until(() => reader.granted.length === 10 && clock.due().length === 1, 'ten reads and a sleeper');
    // The readers stopped at half: ten free for halts, which take all ten.
    await Promise.all(Array.from({ length: 10 }, (_, index) => halts.acquire(`halt-${index}`, 'halt')));
    expect(halts.granted).toHaveLength(10);
    expect(reader.granted).toHaveLength(10);
    // Two more halts would find no room, a reader none either until grants leave.
    const late = halts.acquire('halt-late', 'halt');
    await until(() => clock.due().length === 2, 'the late halt sleeps');
    clock.advanceTo(5_000_000 + SPACING);
    await Promise.all([...reads, late]);
    expect(halts.granted.map((grant) => grant.label)).toContain('halt-late');
    expect(reader.granted).toHaveLength(12);
  });

  it('refuses at once (retryable) a request whose slot would come after its deadline', async () => {
    const tenant = `${crypto.randomUUID()}.example.com`;
    const clock = fakeClock(9_000_000);
    const budget = recorder(createDurableBudget(tenant, options(clock, 'halt')), clock);
    await Promise.all(Array.from({ length: 20 }, (_, index) => budget.acquire(`fill-${index}`, 'halt')));
    const signal = createDeadline({
      timeoutMs: 2_000_000_000,
      now: () => 9_000_000 + 30_000 - 2_000_000_000,
    });
    await budget.acquire('too-late', 'discovery', signal);
    expect(budget.refused).toHaveLength(1);
    const error = budget.refused[0]?.error;
    expect(error).toBeInstanceOf(StoreApiError);
    expect(error).toMatchObject({ code: 'STORE_BUDGET_EXHAUSTED', retryable: true });
    expect(clock.due()).toEqual([]);
  });

  it('serves the halt a process waits on before its discoveries, whatever came first', async () => {
    const tenant = `${crypto.randomUUID()}.example.com`;
    const clock = fakeClock(13_000_000);
    const budget = recorder(createDurableBudget(tenant, options(clock, 'halt')), clock);
    await Promise.all(Array.from({ length: 20 }, (_, index) => budget.acquire(`fill-${index}`, 'discovery')));
    const discovery = budget.acquire('app', 'discovery');
    await until(() => clock.due().length === 1, 'the discovery sleeps');
    const halt = budget.acquire('halt', 'halt');
    const read = budget.acquire('rollout', 'rollout');
    // One slot frees: the halt takes it, the read the next, the discovery the one after.
    clock.advanceTo(13_000_000 + SPACING);
    await Promise.all([halt, read, discovery]);
    expect(budget.granted.slice(20).map((grant) => grant.label)).toEqual(['halt', 'rollout', 'app']);
  });

  it('never uses a grant whose write came back later than half the margin: the slot is taken again, stamped when it is sent', async () => {
    const tenant = `${crypto.randomUUID()}.example.com`;
    const clock = fakeClock(21_000_000);
    // The first conditional write of the window takes 200 ms of the budget's clock (a slow table);
    // the request would leave 200 ms after its stamp, past half the 250 ms margin.
    const slow = motoDynamo();
    let writes = 0;
    slow.middlewareStack.add(
      (next) => async (args) => {
        const output = await next(args);
        if (args.input !== null && typeof args.input === 'object' && 'Item' in args.input) {
          writes += 1;
          if (writes === 1) clock.advanceTo(21_000_200);
        }
        return output;
      },
      { step: 'initialize', name: 'slowFirstWrite' },
    );
    const budget = recorder(createDurableBudget(tenant, { ...options(clock, 'halt'), client: slow }), clock);

    await budget.acquire('halt', 'halt');

    expect(budget.granted).toEqual([{ label: 'halt', at: 21_000_200 }]);
    expect(writes).toBe(2);
    const item = await dynamo.send(
      new GetItemCommand({
        TableName: tableName,
        Key: { pk: { S: `budget#${tenant}` }, sk: { S: 'window' } },
        ConsistentRead: true,
      }),
    );
    // One grant, stamped when it was sent: the late one left the window in the same write.
    expect(item.Item?.grants?.L).toEqual([{ N: '21000200' }]);
  });

  it('takes a late grant again once only: a table that stays slow does not hold the request back', async () => {
    const tenant = `${crypto.randomUUID()}.example.com`;
    const clock = fakeClock(22_000_000);
    // Every conditional write takes 200 ms of the budget's clock.
    const slow = motoDynamo();
    let writes = 0;
    slow.middlewareStack.add(
      (next) => async (args) => {
        const output = await next(args);
        if (args.input !== null && typeof args.input === 'object' && 'Item' in args.input) {
          writes += 1;
          clock.advanceTo(22_000_000 + 200 * writes);
        }
        return output;
      },
      { step: 'initialize', name: 'slowWrites' },
    );
    const budget = recorder(createDurableBudget(tenant, { ...options(clock, 'halt'), client: slow }), clock);

    await budget.acquire('halt', 'halt');

    expect(writes).toBe(2);
    expect(budget.granted).toEqual([{ label: 'halt', at: 22_000_400 }]);
  });

  it('sends a halt-path request anyway when the table fails, and refuses a reader', async () => {
    const clock = fakeClock(17_000_000);
    const warnings: string[] = [];
    const missing = `missing-${crypto.randomUUID()}`;
    const halt = recorder(
      createDurableBudget(TENANT, {
        ...options(clock, 'halt', missing),
        logger: { warn: (message) => warnings.push(message) },
      }),
      clock,
    );
    const reader = recorder(createDurableBudget(TENANT, options(clock, 'reader', missing)), clock);
    await halt.acquire('halt', 'halt');
    await reader.acquire('read', 'rollout');
    expect(halt.granted.map((grant) => grant.label)).toEqual(['halt']);
    expect(warnings).toEqual(['the Store budget table failed']);
    expect(reader.refused[0]?.error).toMatchObject({ code: 'STORE_BUDGET_EXHAUSTED', retryable: true });
  });
});
