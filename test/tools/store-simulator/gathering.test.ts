import { describe, expect, it } from 'vitest';
import { GatheringQueue } from '../../../tools/store-simulator/faults.ts';

const halt = { kind: 'store', method: 'POST', path: '/v1.0/my/applications/A/haltpackagerollout' } as const;
const read = { kind: 'store', method: 'GET', path: '/v1.0/my/applications/A' } as const;

describe('GatheringQueue', () => {
  it('resumes a complete gathering in arrival order, whatever order its requests joined in', async () => {
    const gatherings = new GatheringQueue();
    gatherings.add({ method: 'POST' }, 3);
    const resumed: number[] = [];
    const joined = [3, 1, 2].map((arrival) =>
      gatherings.join(halt, arrival).then(() => {
        resumed.push(arrival);
      }),
    );

    await Promise.all(joined);

    expect(resumed).toEqual([1, 2, 3]);
  });

  it('lets a request that matches no gathering go on at once, and holds the others until the count is reached', async () => {
    const gatherings = new GatheringQueue();
    gatherings.add({ method: 'POST' }, 2);
    const settled: string[] = [];

    await gatherings.join(read, 1);
    const first = gatherings.join(halt, 2).then(() => settled.push('first'));
    await Promise.resolve();
    await Promise.resolve();
    expect(settled).toEqual([]);

    await Promise.all([first, gatherings.join(halt, 3)]);
    expect(settled).toEqual(['first']);
    // Spent: the next halt is not held.
    await gatherings.join(halt, 4);
  });

  it('releases everything held, in arrival order, when told to', async () => {
    const gatherings = new GatheringQueue();
    gatherings.add({ method: 'POST' }, 10);
    const resumed: number[] = [];
    const joined = [5, 4].map((arrival) => gatherings.join(halt, arrival).then(() => resumed.push(arrival)));

    gatherings.releaseAll();
    await Promise.all(joined);

    expect(resumed).toEqual([4, 5]);
  });
});
