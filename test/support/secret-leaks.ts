/**
 * Proof that no client secret or access token leaks: everything the outside world could see (log lines,
 * errors, results, notifications) is recorded, every secret value that exists is watched, and a check
 * fails when a recorded text contains one.
 *
 * The watchdog harness feeds `suiteLeakCollector` and checks it after every test file that uses the
 * harness (see `watchdog-harness.ts`), so the whole suite is covered without each test asking.
 */

/** What a watched value is, for the failure message (which never shows the value). */
export type SecretKind = 'client secret' | 'access token' | 'identity token';

/** One watched value found in one recorded text. */
export interface LeakFinding {
  readonly kind: SecretKind;
  /** Where the text came from, e.g. `log`, `error`, `notification`. */
  readonly source: string;
  /** Index of the text among all recorded texts, for finding it in a debugger. */
  readonly textIndex: number;
  /** Which spelling of the value matched: `as is`, `URL-encoded`, `JSON-escaped` (once or twice). */
  readonly spelling: string;
}

/** Values shorter than this are not watched: they would match by chance (a secret of `0` is in every ID). */
export const MIN_WATCHED_LENGTH = 8;

type SecretSource = () => Iterable<readonly [SecretKind, string]>;

export class SecretLeakCollector {
  readonly #texts: { readonly source: string; readonly text: string }[] = [];
  readonly #values = new Map<string, SecretKind>();
  readonly #sources: SecretSource[] = [];

  /** Watches one value (ignored when shorter than `MIN_WATCHED_LENGTH`). */
  watch(kind: SecretKind, value: string): void {
    if (value.length >= MIN_WATCHED_LENGTH) this.#values.set(value, kind);
  }

  /** Watches values read when the check runs (e.g. every token a simulator issued by then). */
  watchAll(source: SecretSource): void {
    this.#sources.push(source);
  }

  /** Records a text the outside world could see. */
  record(source: string, text: string): void {
    this.#texts.push({ source, text });
  }

  /** How much has been recorded and watched, so a test can prove the check is not empty. */
  stats(): { readonly texts: number; readonly bySource: Record<string, number>; readonly watched: number } {
    const bySource: Record<string, number> = {};
    for (const { source } of this.#texts) bySource[source] = (bySource[source] ?? 0) + 1;
    return { texts: this.#texts.length, bySource, watched: this.#watched().size };
  }

  /** Every watched value found in a recorded text, in any of its usual spellings. */
  findLeaks(): LeakFinding[] {
    const findings: LeakFinding[] = [];
    for (const [value, kind] of this.#watched()) {
      const escaped = escapeJson(value);
      const spellings: [string, string][] = [
        ['as is', value],
        ['URL-encoded', encodeURIComponent(value)],
        ['JSON-escaped', escaped],
        // A JSON document inside a JSON string: an SNS message as the subscriber's envelope carries it.
        ['JSON-escaped twice', escapeJson(escaped)],
      ];
      this.#texts.forEach(({ source, text }, textIndex) => {
        const match = spellings.find(([, spelled]) => text.includes(spelled));
        if (match !== undefined) findings.push({ kind, source, textIndex, spelling: match[0] });
      });
    }
    return findings;
  }

  /** Throws when anything leaked; the message says what kind leaked where, never the value. */
  assertNoLeaks(): void {
    const findings = this.findLeaks();
    if (findings.length === 0) return;
    const lines = findings
      .slice(0, 20)
      .map((f) => `- a ${f.kind} (${f.spelling}) in ${f.source} #${f.textIndex}`);
    throw new Error(
      `${findings.length} secret leak(s) in ${this.#texts.length} recorded texts:\n${lines.join('\n')}`,
    );
  }

  #watched(): Map<string, SecretKind> {
    const all = new Map(this.#values);
    for (const source of this.#sources) {
      for (const [kind, value] of source()) if (value.length >= MIN_WATCHED_LENGTH) all.set(value, kind);
    }
    return all;
  }
}

function escapeJson(value: string): string {
  return JSON.stringify(value).slice(1, -1);
}

/** The collector of the current test file (vitest evaluates modules per file). */
export const suiteLeakCollector = new SecretLeakCollector();

/** The client secret inside a secret's JSON value, when it has one. */
export function readClientSecret(secretString: string | null | undefined): string | undefined {
  if (typeof secretString !== 'string') return undefined;
  try {
    const json: unknown = JSON.parse(secretString);
    if (typeof json === 'object' && json !== null && 'clientSecret' in json) {
      return typeof json.clientSecret === 'string' ? json.clientSecret : undefined;
    }
  } catch {
    // Not JSON: there is no field to watch; the raw value is watched by the caller if it wants.
  }
  return undefined;
}

/** A thrown value as the Lambda runtime and a person would see it: message, stack, and every cause. */
export function describeThrown(error: unknown): string {
  const parts: string[] = [];
  let current: unknown = error;
  for (let depth = 0; depth < 10 && current !== undefined && current !== null; depth++) {
    if (current instanceof Error) {
      parts.push(`${current.name}: ${current.message}`, current.stack ?? '');
      current = current.cause;
    } else {
      parts.push(String(current));
      current = undefined;
    }
  }
  return parts.join('\n');
}
