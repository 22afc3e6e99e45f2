import { defineConfig } from 'vitest/config';

/**
 * Files whose code under test keeps no state at module level (the CDK app and its constructs, the pure
 * domain, config parsing, the docs): they share one module graph per worker instead of importing
 * aws-cdk-lib and the rest afresh for each file. Nothing here sets `process.env`, stubs a global or
 * touches the Store throttle or the budget defaults, which are per process. Not the artifact tests: they
 * load the handler harness, which sets `process.env` and keeps its logs at module level.
 */
const SHARED_MODULE_FILES = [
  'test/infra/constructs/**/*.test.ts',
  // Every top-level infra file but the artifact tests (`artifact-*.test.ts`); a new one is isolated.
  ...[
    'bundling',
    'catalog',
    'chat-pager-drill',
    'config',
    'federation-stack',
    'signals-stack',
    'watchdog-app',
    'watchdog-stack',
  ].map((name) => `test/infra/${name}.test.ts`),
  'test/docs/**/*.test.ts',
  'test/functions/commons/domain/**/*.test.ts',
  'test/functions/commons/config/**/*.test.ts',
  // Not the properties of the Store's responses and tokens: they drive the Store client.
  ...['catalog', 'credentials', 'environment', 'events', 'halt-rule', 'watchdog-config'].map(
    (name) => `test/properties/${name}.property.test.ts`,
  ),
];

export default defineConfig({
  test: {
    globalSetup: ['test/support/moto-global-setup.ts'],
    // Generous: a synth with cdk-nag or a child process can take 15 s on a loaded 2-core machine, and a
    // limit only decides how long a hang takes to report, never whether a test passes.
    testTimeout: 120_000,
    hookTimeout: 180_000,
    pool: 'forks',
    // Two files at once on two CPUs (the default is one fewer): much of a file's time is spent waiting
    // on moto, a child process or the Store simulator. Three gained nothing on a loaded machine and
    // slowed the moto-heavy budget race past its bound in a fresh-clone CI run.
    maxWorkers: 2,
    projects: [
      {
        extends: true,
        test: {
          name: 'suite',
          include: ['test/**/*.test.ts'],
          exclude: SHARED_MODULE_FILES,
        },
      },
      {
        extends: true,
        test: { name: 'shared-modules', include: SHARED_MODULE_FILES, isolate: false },
      },
    ],
  },
});
