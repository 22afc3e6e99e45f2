import { defineConfig } from 'vitest/config';

/**
 * The storm and shared-budget tests still run on scaled wall-clock time (a throttle window of a few
 * hundred milliseconds, deadlines from `Date.now()`), so a busy CPU beside them can push a step past
 * its window. Until they run on an injected clock they run alone, after everything else.
 */
const WALL_CLOCK_FILES = [
  'test/functions/halt-rollout/storm-continuation.test.ts',
  'test/functions/halt-rollout/shared-budget.test.ts',
  'test/functions/commons/aws/store-budget-front.test.ts',
];

export default defineConfig({
  test: {
    globalSetup: ['test/support/moto-global-setup.ts'],
    // Generous: a synth with cdk-nag or a child process can take 15 s on a loaded 2-core machine, and a
    // limit only decides how long a hang takes to report, never whether a test passes.
    testTimeout: 120_000,
    hookTimeout: 180_000,
    pool: 'forks',
    // Most of a test file's time is spent waiting (on moto, a child process, the Store simulator's
    // loopback socket), so more files run at once than there are CPUs (the default is one fewer).
    maxWorkers: 3,
    projects: [
      {
        extends: true,
        test: { name: 'suite', include: ['test/**/*.test.ts'], exclude: WALL_CLOCK_FILES },
      },
      {
        extends: true,
        test: {
          name: 'wall-clock',
          include: WALL_CLOCK_FILES,
          fileParallelism: false,
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
