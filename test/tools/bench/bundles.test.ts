import type { Metafile } from 'esbuild';
import { describe, expect, it } from 'vitest';
import { summarizeComposition } from '../../../tools/bench/bundles.ts';
import { rotateOrder } from '../../../tools/bench/import-time.ts';

function metafileWith(inputs: Record<string, number>): Metafile {
  return {
    inputs: {},
    outputs: {
      'out/index.mjs': {
        bytes: 0,
        imports: [],
        exports: [],
        inputs: Object.fromEntries(
          Object.entries(inputs).map(([path, bytesInOutput]) => [path, { bytesInOutput }]),
        ),
      },
    },
  };
}

describe('summarizeComposition', () => {
  it('adds up output bytes per package, scoped or not, and per project folder, largest first', () => {
    const composition = summarizeComposition(
      metafileWith({
        'node_modules/undici/lib/core/util.js': 300,
        'node_modules/undici/index.js': 50,
        'node_modules/@smithy/core/dist-es/index.js': 200,
        'node_modules/@aws-sdk/client-sns/dist-es/index.js': 100,
        'functions/commons/http/transport.ts': 60,
        'functions/commons/errors.ts': 40,
        'functions/halt-rollout/handler.ts': 10,
      }),
    );

    expect(composition).toEqual([
      { name: 'undici', bytes: 350 },
      { name: '@smithy/core', bytes: 200 },
      { name: '@aws-sdk/client-sns', bytes: 100 },
      { name: 'functions/commons', bytes: 100 },
      { name: 'functions/halt-rollout', bytes: 10 },
    ]);
  });

  it('counts a nested node_modules for the innermost package', () => {
    const composition = summarizeComposition(
      metafileWith({ 'node_modules/@aws-sdk/core/node_modules/@smithy/types/index.js': 7 }),
    );

    expect(composition).toEqual([{ name: '@smithy/types', bytes: 7 }]);
  });

  it('orders ties by name', () => {
    const composition = summarizeComposition(
      metafileWith({ 'node_modules/b/x.js': 5, 'node_modules/a/x.js': 5 }),
    );

    expect(composition.map((entry) => entry.name)).toEqual(['a', 'b']);
  });
});

describe('rotateOrder', () => {
  it('starts each run at the next bundle so none is always imported first', () => {
    expect([0, 1, 2, 3].map((run) => rotateOrder(3, run))).toEqual([
      [0, 1, 2],
      [1, 2, 0],
      [2, 0, 1],
      [0, 1, 2],
    ]);
  });
});
