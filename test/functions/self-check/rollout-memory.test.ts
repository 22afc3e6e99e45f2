/**
 * The self-check remembers each app's live rollouts (main and flights) in the rollout memory table
 * (`ROLLOUT_MEMORY_TABLE`, on moto), and forgets a target it finds without one. Without the variable it
 * writes nothing (the behaviour before the memory existed).
 */
import { afterEach, expect, it } from 'vitest';
import {
  app,
  publishedSubmission,
  rollout,
  SAMPLE_APP_ID,
  SAMPLE_FALLBACK_SUBMISSION_ID,
  SAMPLE_FLIGHT_ID,
  SAMPLE_FLIGHT_SUBMISSION_ID,
  SAMPLE_PUBLISHED_SUBMISSION_ID,
  stateWith,
  submission,
} from '../../../tools/store-simulator/sample-state.ts';
import { describeWithMoto, MOTO_SKIP_REASON } from '../../support/aws.ts';
import { createStateTable, memoryContents, motoDynamo } from '../../support/state-table.ts';
import { type SelfCheckHarness, startSelfCheck } from './self-check-harness.ts';

const harnesses: SelfCheckHarness[] = [];
afterEach(async () => {
  await Promise.all(harnesses.splice(0).map((harness) => harness.close()));
});

describeWithMoto(`the self-check remembers live rollouts${MOTO_SKIP_REASON}`, () => {
  it('remembers the main rollout and each flight rolling out, with percentage, fallback and when', async () => {
    const dynamo = motoDynamo();
    const tableName = await createStateTable(dynamo);
    const before = Date.now();
    const harness = await startSelfCheck({ env: { ROLLOUT_MEMORY_TABLE: tableName } });
    harnesses.push(harness);
    const { result, error } = await harness.invoke();
    expect(error).toBeUndefined();
    expect(result?.ok).toBe(true);
    expect(await memoryContents(dynamo, tableName)).toEqual([
      `${SAMPLE_APP_ID} flight#${SAMPLE_FLIGHT_ID} -> ${SAMPLE_FLIGHT_SUBMISSION_ID}@50`,
      `${SAMPLE_APP_ID} main -> ${SAMPLE_PUBLISHED_SUBMISSION_ID}@20`,
    ]);
    const { createRolloutMemory } = await import('../../../functions/commons/aws/rollout-memory.ts');
    const [main] = (
      await createRolloutMemory(dynamo, tableName).recall(SAMPLE_APP_ID, AbortSignal.timeout(5_000))
    ).filter((entry) => entry.ref.flightId === undefined);
    expect(main?.fallbackSubmissionId).toBe(SAMPLE_FALLBACK_SUBMISSION_ID);
    expect(Date.parse(main?.seenAt ?? '')).toBeGreaterThanOrEqual(before - 1_000);
  });

  it('forgets a target whose rollout is no longer in progress', async () => {
    const dynamo = motoDynamo();
    const tableName = await createStateTable(dynamo);
    const live = await startSelfCheck({
      state: stateWith(app(SAMPLE_APP_ID, [publishedSubmission(SAMPLE_PUBLISHED_SUBMISSION_ID, 20)])),
      env: { ROLLOUT_MEMORY_TABLE: tableName },
    });
    harnesses.push(live);
    await live.invoke();
    expect(await memoryContents(dynamo, tableName)).toHaveLength(1);

    const halted = await startSelfCheck({
      state: stateWith(
        app(SAMPLE_APP_ID, [
          submission(
            SAMPLE_PUBLISHED_SUBMISSION_ID,
            'Published',
            rollout('PackageRolloutStopped', 0, SAMPLE_FALLBACK_SUBMISSION_ID),
          ),
        ]),
      ),
      env: { ROLLOUT_MEMORY_TABLE: tableName },
    });
    harnesses.push(halted);
    await halted.invoke();
    expect(await memoryContents(dynamo, tableName)).toEqual([]);
  });

  it('without ROLLOUT_MEMORY_TABLE it remembers nothing; a malformed name is a configuration error naming the variable', async () => {
    const plain = await startSelfCheck();
    harnesses.push(plain);
    const { result } = await plain.invoke();
    expect(result?.ok).toBe(true);

    const bad = await startSelfCheck({ env: { ROLLOUT_MEMORY_TABLE: 'no spaces allowed' } });
    harnesses.push(bad);
    const { error } = await bad.invoke();
    expect(error?.message).toContain('ROLLOUT_MEMORY_TABLE must be a DynamoDB table name');
  });
});
