import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/support/moto-global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // CDK synth tests bundle with esbuild; keep the pool modest on 2-core machines.
    pool: 'forks',
  },
});
