/**
 * Every folder under `functions/` depends one way. The decision logic in `functions/commons/domain/`
 * imports only itself, the validation module and the shared errors; configuration reads settings and
 * loads no transport; the Store adapter builds on the generic HTTP layer and the domain, never on AWS or
 * configuration; the generic HTTP layer knows nothing of the Store; and no two files import each other,
 * directly or around a longer circle.
 *
 * The graph is read from the sources with a regular expression over `import … from`, `export … from`,
 * side-effect `import '…'` and dynamic `import('…')`, type-only imports included.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const FUNCTIONS = 'functions';

/** Node built-ins that do no I/O and keep no state between calls. */
const PURE_BUILTINS = ['node:assert', 'node:buffer', 'node:crypto', 'node:url', 'node:util'];

interface Rule {
  /** The folder (or file) whose imports the rule governs, relative to the repository root. */
  readonly scope: string;
  /** Repository paths (folders end in `/`) its relative imports may reach. */
  readonly mayImport: readonly string[];
  /** Bare specifiers (packages, built-ins) it may import; anything else breaks the rule. */
  readonly mayImportPackages: readonly (string | RegExp)[];
}

const DOMAIN: Rule = {
  scope: 'functions/commons/domain/',
  mayImport: [
    'functions/commons/domain/',
    'functions/commons/validation.ts',
    'functions/commons/errors.ts',
    'functions/commons/optional.ts',
  ],
  mayImportPackages: PURE_BUILTINS,
};

const RULES: readonly Rule[] = [
  DOMAIN,
  {
    scope: 'functions/commons/config/',
    mayImport: [
      'functions/commons/config/',
      'functions/commons/domain/',
      'functions/commons/validation.ts',
      'functions/commons/errors.ts',
      'functions/commons/endpoints.ts',
    ],
    mayImportPackages: PURE_BUILTINS,
  },
  {
    scope: 'functions/commons/store/',
    mayImport: [
      'functions/commons/store/',
      'functions/commons/http/',
      'functions/commons/domain/',
      'functions/commons/validation.ts',
      'functions/commons/errors.ts',
      'functions/commons/endpoints.ts',
    ],
    mayImportPackages: [/^node:/, /^undici(\/|$)/],
  },
  {
    scope: 'functions/commons/http/',
    mayImport: ['functions/commons/http/', 'functions/commons/errors.ts'],
    mayImportPackages: [/^node:/, /^undici(\/|$)/],
  },
];

/** Every module specifier in a source: static imports and re-exports, side-effect and dynamic imports. */
function importSpecifiers(source: string): string[] {
  const found: string[] = [];
  const patterns = [
    /\b(?:import|export)\b[^'"`;]*?\bfrom\s*['"]([^'"]+)['"]/g,
    /\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)/g,
    /^\s*import\s+['"]([^'"]+)['"]/gm,
  ];
  for (const pattern of patterns) {
    for (const match of source.matchAll(pattern)) {
      if (match[1] !== undefined) found.push(match[1]);
    }
  }
  return found;
}

/** A relative specifier as a repository path; a bare one (package, built-in) as it is written. */
function target(file: string, specifier: string): { readonly path: string } | { readonly bare: string } {
  return specifier.startsWith('.')
    ? { path: relative(root, resolve(root, dirname(file), specifier)) }
    : { bare: specifier };
}

function within(path: string, allowed: string): boolean {
  return allowed.endsWith('/') ? path.startsWith(allowed) : path === allowed;
}

/** The imports of `file` (a repository path) that break `rule`, as `file imports specifier`. */
function violations(rule: Rule, file: string, source: string): string[] {
  return importSpecifiers(source)
    .filter((specifier) => {
      const to = target(file, specifier);
      if ('path' in to) return !rule.mayImport.some((allowed) => within(to.path, allowed));
      return !rule.mayImportPackages.some((allowed) =>
        typeof allowed === 'string' ? allowed === to.bare : allowed.test(to.bare),
      );
    })
    .map((specifier) => `${file} imports ${specifier}`);
}

/** The file-level import graph: each source's relative imports, as repository paths. */
type Graph = ReadonlyMap<string, readonly string[]>;

function graphOf(sources: ReadonlyMap<string, string>): Graph {
  const graph = new Map<string, string[]>();
  for (const [file, source] of sources) {
    const edges: string[] = [];
    for (const specifier of importSpecifiers(source)) {
      const to = target(file, specifier);
      if ('path' in to && !edges.includes(to.path)) edges.push(to.path);
    }
    graph.set(file, edges);
  }
  return graph;
}

/**
 * Every circle in the graph, one per strongly connected component of more than one file (or a file that
 * imports itself), each given as the files along one path round it, starting from the first in order.
 */
function cycles(graph: Graph): string[][] {
  let counter = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const components: string[][] = [];

  const connect = (file: string): void => {
    index.set(file, counter);
    low.set(file, counter);
    counter += 1;
    stack.push(file);
    onStack.add(file);
    for (const next of graph.get(file) ?? []) {
      if (!graph.has(next)) continue;
      if (!index.has(next)) {
        connect(next);
        low.set(file, Math.min(low.get(file) ?? 0, low.get(next) ?? 0));
      } else if (onStack.has(next)) {
        low.set(file, Math.min(low.get(file) ?? 0, index.get(next) ?? 0));
      }
    }
    if (low.get(file) !== index.get(file)) return;
    const component: string[] = [];
    for (let member = stack.pop(); member !== undefined; member = stack.pop()) {
      onStack.delete(member);
      component.push(member);
      if (member === file) break;
    }
    if (component.length > 1 || (graph.get(file) ?? []).includes(file)) components.push(component.sort());
  };
  for (const file of [...graph.keys()].sort()) if (!index.has(file)) connect(file);

  return components.map((component) => circleThrough(graph, new Set(component), component[0] ?? ''));
}

/** One path from `start` back to itself that stays inside `members` (a strongly connected component). */
function circleThrough(graph: Graph, members: ReadonlySet<string>, start: string): string[] {
  const previous = new Map<string, string>();
  const queue = [start];
  for (let at = queue.shift(); at !== undefined; at = queue.shift()) {
    for (const next of graph.get(at) ?? []) {
      if (!members.has(next)) continue;
      if (next === start) {
        const path = [start];
        for (
          let step: string | undefined = at;
          step !== undefined && step !== start;
          step = previous.get(step)
        ) {
          path.splice(1, 0, step);
        }
        return [...path, start];
      }
      if (!previous.has(next)) {
        previous.set(next, at);
        queue.push(next);
      }
    }
  }
  return [start];
}

function sourcesUnder(folder: string): Map<string, string> {
  const sources = new Map<string, string>();
  for (const name of readdirSync(join(root, folder), { recursive: true, encoding: 'utf8' })) {
    if (!name.endsWith('.ts') || name.endsWith('.d.ts')) continue;
    const file = join(folder, name);
    sources.set(file, readFileSync(join(root, file), 'utf8'));
  }
  return sources;
}

describe('one-way folders under functions/', () => {
  const sources = sourcesUnder(FUNCTIONS);

  it('reads static, type-only, multi-line, re-exported, side-effect and dynamic imports', () => {
    const planted = [
      "import type { PackageRollout } from '../store/model.ts';",
      "import {\n  a,\n  b,\n} from '../aws/notify.ts';",
      "export { x } from '../http/dispatcher.ts';",
      "const m = await import('../config/env.ts');",
      "import 'undici';",
      "import { SNSClient } from '@aws-sdk/client-sns';",
      "import { readFileSync } from 'node:fs';",
      "import * as z from '../validation.ts';",
      "import type { P } from './ports.ts';",
      "import { createHash } from 'node:crypto';",
    ].join('\n');
    expect(violations(DOMAIN, 'functions/commons/domain/planted.ts', planted)).toEqual([
      'functions/commons/domain/planted.ts imports ../store/model.ts',
      'functions/commons/domain/planted.ts imports ../aws/notify.ts',
      'functions/commons/domain/planted.ts imports ../http/dispatcher.ts',
      'functions/commons/domain/planted.ts imports @aws-sdk/client-sns',
      'functions/commons/domain/planted.ts imports node:fs',
      'functions/commons/domain/planted.ts imports ../config/env.ts',
      'functions/commons/domain/planted.ts imports undici',
    ]);
  });

  it('finds a circle of any length and names its files in order', () => {
    const graph: Graph = new Map([
      ['a.ts', ['b.ts', 'x.ts']],
      ['b.ts', ['c.ts']],
      ['c.ts', ['a.ts']],
      ['x.ts', []],
      ['self.ts', ['self.ts']],
      ['p.ts', ['q.ts']],
      ['q.ts', ['p.ts']],
    ]);
    expect(cycles(graph)).toEqual([
      ['a.ts', 'b.ts', 'c.ts', 'a.ts'],
      ['p.ts', 'q.ts', 'p.ts'],
      ['self.ts', 'self.ts'],
    ]);
    expect(
      cycles(
        new Map([
          ['a.ts', ['b.ts']],
          ['b.ts', []],
        ]),
      ),
    ).toEqual([]);
  });

  it('reads every source under functions/', () => {
    expect(sources.size).toBeGreaterThan(40);
    expect(
      [...sources.keys()].filter((file) => file.startsWith('functions/commons/domain/')).length,
    ).toBeGreaterThan(5);
  });

  for (const rule of RULES) {
    it(`${rule.scope} imports only what it may`, () => {
      const governed = [...sources].filter(([file]) => file.startsWith(rule.scope));
      expect(governed.length).toBeGreaterThan(0);
      expect(governed.flatMap(([file, source]) => violations(rule, file, source))).toEqual([]);
    });
  }

  it('no file under functions/ imports itself, directly or around a circle', () => {
    expect(cycles(graphOf(sources)).map((circle) => circle.join(' → '))).toEqual([]);
  });
});
