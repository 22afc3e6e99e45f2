/**
 * The domain owns its words: no module under `functions/commons/domain/` imports an adapter
 * (`functions/commons/store/`, `functions/commons/aws/`) or an I/O library. The decision logic is handed
 * its ports; it never reaches for them.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../../..');
const domainDir = join(root, 'functions/commons/domain');
const FORBIDDEN_DIRS = ['functions/commons/store/', 'functions/commons/aws/'];
const FORBIDDEN_PACKAGES = [
  /^@aws-sdk\//,
  /^undici(\/|$)/,
  /^@aws-lambda-powertools\//,
  /^node:(http|https|net)$/,
];

/** Every module specifier in a source: static imports and re-exports, and dynamic `import()`. */
function importSpecifiers(source: string): string[] {
  const found: string[] = [];
  for (const match of source.matchAll(/\b(?:import|export)\b[^'"`;]*?\bfrom\s*['"]([^'"]+)['"]/g)) {
    if (match[1] !== undefined) found.push(match[1]);
  }
  for (const match of source.matchAll(/\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)/g)) {
    if (match[1] !== undefined) found.push(match[1]);
  }
  for (const match of source.matchAll(/^\s*import\s+['"]([^'"]+)['"]/gm)) {
    if (match[1] !== undefined) found.push(match[1]);
  }
  return found;
}

/** The imports of `file` (absolute) that break the boundary, as `specifier` strings. */
function violations(file: string, source: string): string[] {
  return importSpecifiers(source).filter((specifier) => {
    if (specifier.startsWith('.')) {
      const target = relative(root, resolve(dirname(file), specifier));
      return FORBIDDEN_DIRS.some((dir) => target.startsWith(dir));
    }
    return FORBIDDEN_PACKAGES.some((pattern) => pattern.test(specifier));
  });
}

describe('domain boundaries', () => {
  it('finds static, type-only, re-exported and dynamic imports (so the check below can fail)', () => {
    const planted = [
      "import type { PackageRollout } from '../store/model.ts';",
      "import {\n  a,\n  b,\n} from '../aws/notify.ts';",
      "export { x } from '../store/ids.ts';",
      "const m = await import('../store/http.ts');",
      "import 'undici';",
      "import { SNSClient } from '@aws-sdk/client-sns';",
    ].join('\n');
    const file = join(domainDir, 'planted.ts');
    expect(violations(file, planted)).toEqual([
      '../store/model.ts',
      '../aws/notify.ts',
      '../store/ids.ts',
      '@aws-sdk/client-sns',
      '../store/http.ts',
      'undici',
    ]);
    expect(
      violations(file, "import { z } from '../validation.ts';\nimport type { P } from './ports.ts';"),
    ).toEqual([]);
  });

  it('no module under functions/commons/domain imports the Store or AWS adapters, or an I/O library', () => {
    const files = readdirSync(domainDir, { recursive: true, encoding: 'utf8' }).filter((name) =>
      name.endsWith('.ts'),
    );
    expect(files.length).toBeGreaterThan(5);
    const found = files.flatMap((name) => {
      const file = join(domainDir, name);
      return violations(file, readFileSync(file, 'utf8')).map((specifier) => `${name} imports ${specifier}`);
    });
    expect(found).toEqual([]);
  });
});
