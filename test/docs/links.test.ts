/**
 * Every relative link in the README and in `docs/` resolves: the file exists and, where the link names a
 * heading (`page.md#heading`), the page has that heading. A user who follows the front page never lands
 * on a missing page.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** GitHub's heading anchor: lower case, punctuation dropped (but `-` and `_`), spaces to `-`. */
function slug(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');
}

/** The Markdown outside fenced code blocks (links in code are not links). */
function prose(markdown: string): string {
  return markdown.replace(/^(```|~~~)[^\n]*\n[\s\S]*?^\1\s*$/gm, '');
}

/** The anchors of a Markdown page, with GitHub's `-1`, `-2` suffixes for repeated headings. */
function anchorsOf(markdown: string): Set<string> {
  const seen = new Map<string, number>();
  const anchors = new Set<string>();
  for (const match of prose(markdown).matchAll(/^#{1,6}\s+(.+?)\s*#*\s*$/gm)) {
    const base = slug((match[1] ?? '').replace(/\[([^\]]*)\]\([^)]*\)/g, '$1'));
    const count = seen.get(base) ?? 0;
    anchors.add(count === 0 ? base : `${base}-${count}`);
    seen.set(base, count + 1);
  }
  return anchors;
}

/** Relative link targets of a page (`[text](target)`, images too), without external or mail links. */
function relativeLinks(markdown: string): string[] {
  const targets: string[] = [];
  for (const match of prose(markdown).matchAll(/!?\[[^\]]*\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)) {
    const target = match[1] ?? '';
    if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue;
    targets.push(target);
  }
  return targets;
}

/** Problems with the relative links of `file` (absolute path), as `file: target (why)`. */
function brokenLinks(file: string, markdown: string, read: (path: string) => string | undefined): string[] {
  const problems: string[] = [];
  for (const target of relativeLinks(markdown)) {
    const [path = '', anchor] = target.split('#', 2);
    const resolved = path === '' ? file : resolve(dirname(file), decodeURIComponent(path));
    const text = read(resolved);
    const where = `${relative(root, file)}: ${target}`;
    if (text === undefined) {
      problems.push(`${where} (no such file)`);
      continue;
    }
    if (anchor !== undefined && anchor !== '' && resolved.endsWith('.md') && !anchorsOf(text).has(anchor)) {
      problems.push(`${where} (no heading #${anchor})`);
    }
  }
  return problems;
}

function readIfExists(path: string): string | undefined {
  if (!existsSync(path)) return undefined;
  return statSync(path).isDirectory() ? '' : readFileSync(path, 'utf8');
}

function pages(): string[] {
  const docs = readdirSync(join(root, 'docs'), { recursive: true, encoding: 'utf8' })
    .filter((name) => name.endsWith('.md'))
    .map((name) => join(root, 'docs', name));
  return [join(root, 'README.md'), ...docs];
}

describe('documentation links', () => {
  it('finds a missing page, a missing heading, and ignores code blocks and web links (so the check can fail)', () => {
    const files = new Map<string, string>([
      [join(root, 'docs/a.md'), '# Title\n\n## Second part: the `CLI`\n'],
    ]);
    const page = [
      '[ok](docs/a.md) [ok anchor](docs/a.md#second-part-the-cli) [web](https://example.com/x.md)',
      '[missing](docs/b.md) [bad anchor](docs/a.md#nope) [self](#local)',
      '```sh',
      '[in code](docs/zzz.md)',
      '```',
      '## Local',
      '[other self](#elsewhere)',
    ].join('\n');
    files.set(join(root, 'README.md'), page);
    const read = (path: string) => files.get(path);
    expect(brokenLinks(join(root, 'README.md'), page, read)).toEqual([
      'README.md: docs/b.md (no such file)',
      'README.md: docs/a.md#nope (no heading #nope)',
      'README.md: #elsewhere (no heading #elsewhere)',
    ]);
  });

  it('every relative link in README.md and docs/ resolves to a file and, when it names one, a heading', () => {
    const all = pages();
    expect(all.length).toBeGreaterThan(5);
    const problems = all.flatMap((file) => brokenLinks(file, readFileSync(file, 'utf8'), readIfExists));
    expect(problems).toEqual([]);
  });

  it('links every docs page from the README, so none is orphaned', () => {
    const readme = readFileSync(join(root, 'README.md'), 'utf8');
    const linked = new Set(relativeLinks(readme).map((target) => target.split('#')[0]));
    const orphans = pages()
      .slice(1)
      .map((file) => relative(root, file))
      .filter((path) => !linked.has(path));
    expect(orphans).toEqual([]);
  });
});
