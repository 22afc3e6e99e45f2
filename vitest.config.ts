import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/support/moto-global-setup.ts'],
    // Generous: a synth with cdk-nag or a child process can take 15 s on a loaded 2-core machine, and a
    // limit only decides how long a hang takes to report, never whether a test passes.
    testTimeout: 120_000,
    hookTimeout: 180_000,
    // CDK synth tests bundle with esbuild; keep the pool modest on 2-core machines.
    pool: 'forks',
  },
});
