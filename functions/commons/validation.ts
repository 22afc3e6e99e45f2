/**
 * zod for all code under `functions/`: `zod/mini`, the same engine as `zod` with a functional API that
 * bundlers can tree-shake, so a Lambda asset carries only the schemas and checks it uses instead of all
 * of zod (about 440 KB minified).
 *
 * Use it as `import * as z from '../validation.ts'`. Two details keep the bundle small and the messages
 * right:
 * - a namespace import: esbuild drops the unused members of a namespace it can see through, but not of
 *   a namespace object passed around as a value (`import { z } from 'zod/mini'` keeps all of zod, every
 *   locale included);
 * - zod/mini registers no locale, so every message would read "Invalid input". This module installs
 *   zod's English messages (what `zod` uses by default) before anything parses, so the errors that quote
 *   them read the same whichever zod a process loaded first.
 */
import { en } from 'zod/locales';
import { config, type core } from 'zod/mini';

config(en());

export * from 'zod/mini';

/** Formats zod issues as `path: message` lines, naming each field (never echoing values). */
export function formatIssues(prefix: string, error: core.$ZodError): string {
  const lines = error.issues.map((issue) => {
    const path =
      issue.path.length === 0
        ? prefix
        : `${prefix}${issue.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('')}`;
    return `${path}: ${issue.message}`;
  });
  return lines.join('; ');
}
