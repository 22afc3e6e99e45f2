/**
 * Users have no internal design documents and no reason to chase third-party issue numbers: no source
 * file, test or page cites "CONTRACT §N" or an issue like "StoreBroker#123". A comment names a docs page
 * or Microsoft's page by its title instead.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = resolve(fileURLToPath(new URL('../..', import.meta.url)));
const SELF = relative(root, fileURLToPath(import.meta.url));

/** `CONTRACT §8`, `StoreBroker#123`, `msstore-cli#50`: an internal section or a third-party issue. */
const REFERENCE = /CONTRACT\s*§|\b(?:StoreBroker|msstore-cli|store-submission)#\d+/g;

function findReferences(text: string): string[] {
  return [...text.matchAll(REFERENCE)].map((match) => match[0]);
}

function files(): string[] {
  const found = ['README.md'];
  for (const folder of ['cli', 'docs', 'functions', 'infra', 'test', 'tools']) {
    for (const name of readdirSync(join(root, folder), { recursive: true, encoding: 'utf8' })) {
      if (/\.(ts|mjs|md|json)$/.test(name)) found.push(join(folder, name));
    }
  }
  return found.filter((path) => path !== SELF);
}

describe('references users cannot follow', () => {
  it('finds an internal section number and a third-party issue number (so the check can fail)', () => {
    expect(
      findReferences('see CONTRACT §4.2 and StoreBroker#123, msstore-cli#50; not StoreBroker USAGE.md'),
    ).toEqual(['CONTRACT §', 'StoreBroker#123', 'msstore-cli#50']);
  });

  it('are in no source file, test or page', () => {
    const all = files();
    expect(all.length).toBeGreaterThan(100);
    const found = all.flatMap((path) =>
      findReferences(readFileSync(join(root, path), 'utf8')).map((reference) => `${path}: ${reference}`),
    );
    expect(found).toEqual([]);
  });
});
