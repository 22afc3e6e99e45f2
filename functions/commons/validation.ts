/**
 * zod for all code under `functions/`: `zod/mini` with zod's English messages installed. Import it as
 * `import * as z from '../validation.ts'` (why: the Develop page, "Dependencies").
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
