/**
 * Generators shared by the property tests: arbitrary JSON, and real payloads mutated the way bad input
 * goes wrong in practice (a field dropped, replaced, retyped, a state changed, path characters injected
 * into an ID, an unknown field added), plus secret-looking values to prove error messages never echo.
 */
import fc from 'fast-check';
import type { WatchdogError } from '../../functions/commons/errors.ts';

/** 10,000 generated cases per parser (the floor), overridable for a quick local loop. */
export const NUM_RUNS = Number(process.env.PROPERTY_RUNS ?? 10_000);

type PathKey = string | number;

/** What a mutation does to the value at its path. */
export const MUTATION_OPS = ['drop', 'replace', 'retype', 'state', 'inject', 'add', 'empty'] as const;
export type MutationOp = (typeof MUTATION_OPS)[number];

export interface Mutation {
  readonly op: MutationOp;
  /** Which value (in a depth-first walk of the current document, modulo their number). */
  readonly at: number;
  /** The replacement for `replace`, the value for `add`. */
  readonly value: unknown;
  /** The key for `add`; the injected text for `inject`; the state word for `state`. */
  readonly text: string;
}

/** Words that look like states of the alarm, the rollout and the submission, right and wrong. */
export const STATE_WORDS = [
  'ALARM',
  'OK',
  'INSUFFICIENT_DATA',
  'alarm',
  'Alarm',
  'ALARM ',
  '',
  'PackageRolloutInProgress',
  'PackageRolloutStopped',
  'PackageRolloutComplete',
  'PackageRolloutNotStarted',
  'packagerolloutinprogress',
  'Published',
  'Certification',
  'true',
  'false',
  'null',
] as const;

/** Characters that would change a URL if an ID were pasted into one unchecked. */
export const PATH_INJECTIONS = [
  '../',
  '/',
  '..',
  '%2F',
  '%2e%2e%2f',
  '?top=1',
  '#x',
  '\\',
  ' ',
  '\u0000',
  '%00',
  '\n',
  '/haltpackagerollout',
  '/../../applications',
  '//evil.example',
  '@evil.example',
] as const;

/** A plain JSON object key, including awkward ones. */
const keyArbitrary = fc.oneof(
  fc.constantFrom(
    '__proto__',
    'constructor',
    'toString',
    'dryRun',
    'dryrun',
    'flightId',
    'value',
    '@nextLink',
  ),
  fc.string({ maxLength: 12 }),
);

/** Small JSON values, cheap to generate (a replacement rarely needs to be deep to be wrong). */
export const smallJson: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom(null, true, false, 0, -1, 1.5, 1e21, 101, '', 'x', [], {}),
  fc.string({ maxLength: 10 }),
  fc.integer(),
  fc.double(),
  fc.array(fc.string({ maxLength: 4 }), { maxLength: 2 }),
  fc.dictionary(fc.string({ maxLength: 4 }), fc.string({ maxLength: 4 }), { maxKeys: 2 }),
);

/** Arbitrary JSON documents, kept small so that 10,000 of them take a second. */
export const anyJson: fc.Arbitrary<unknown> = fc.jsonValue({ depthSize: 'xsmall', maxDepth: 4 });

export const mutationArbitrary: fc.Arbitrary<Mutation> = fc.record({
  op: fc.constantFrom(...MUTATION_OPS),
  at: fc.nat(),
  value: smallJson,
  text: fc.oneof(fc.constantFrom(...STATE_WORDS, ...PATH_INJECTIONS), keyArbitrary),
});

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function listPaths(value: unknown, path: PathKey[] = [], out: PathKey[][] = []): PathKey[][] {
  out.push(path);
  const children: [PathKey, unknown][] = Array.isArray(value)
    ? value.map((item, index) => [index, item])
    : isRecord(value)
      ? Object.entries(value)
      : [];
  for (const [key, item] of children) listPaths(item, [...path, key], out);
  return out;
}

function retype(value: unknown): unknown {
  if (typeof value === 'string') return /^-?\d+(\.\d+)?$/.test(value) ? Number(value) : [value];
  if (typeof value === 'number') return String(value);
  if (typeof value === 'boolean') return String(value);
  if (value === null) return 'null';
  if (Array.isArray(value)) return Object.fromEntries(value.map((item, index) => [String(index), item]));
  if (isRecord(value)) return Object.values(value);
  return null;
}

function empty(value: unknown): unknown {
  if (typeof value === 'string') return '';
  if (Array.isArray(value)) return [];
  if (isRecord(value)) return {};
  if (typeof value === 'number') return 0;
  return null;
}

function inject(value: unknown, text: string): unknown {
  if (typeof value !== 'string') return text;
  const middle = Math.floor(value.length / 2);
  return `${value.slice(0, middle)}${text}${value.slice(middle)}`;
}

/** Sets an own property, even `__proto__`, the way `JSON.parse` would have. */
function setOwn(target: Record<string, unknown> | unknown[], key: PathKey, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

/** Applies one mutation to a JSON document (a fresh copy; the input is never changed). */
export function applyMutation(document: unknown, mutation: Mutation): unknown {
  const copy: unknown = structuredClone(document);
  const paths = listPaths(copy);
  const path = paths[mutation.at % paths.length] ?? [];
  const change = (current: unknown): unknown => {
    switch (mutation.op) {
      case 'drop':
        return undefined;
      case 'replace':
        return mutation.value;
      case 'retype':
        return retype(current);
      case 'state':
        return (
          STATE_WORDS.find((word) => word === mutation.text) ?? STATE_WORDS[mutation.at % STATE_WORDS.length]
        );
      case 'inject':
        return inject(current, mutation.text);
      case 'add':
        if (isRecord(current)) {
          const added = { ...current };
          setOwn(added, mutation.text, mutation.value);
          return added;
        }
        return Array.isArray(current) ? [...current, mutation.value] : mutation.value;
      case 'empty':
        return empty(current);
    }
  };
  if (path.length === 0) return change(copy);
  let parent: unknown = copy;
  for (const key of path.slice(0, -1)) {
    parent = Array.isArray(parent) ? parent[Number(key)] : isRecord(parent) ? parent[String(key)] : undefined;
  }
  const last = path[path.length - 1] ?? '';
  if (Array.isArray(parent)) {
    const index = Number(last);
    const next = change(parent[index]);
    if (next === undefined) parent.splice(index, 1);
    else parent[index] = next;
  } else if (isRecord(parent)) {
    const next = change(parent[String(last)]);
    if (next === undefined) delete parent[String(last)];
    else setOwn(parent, String(last), next);
  }
  return copy;
}

/** Applies the mutations in order, then round-trips through JSON (as Lambda hands events over). */
export function mutate(document: unknown, mutations: readonly Mutation[]): unknown {
  const mutated = mutations.reduce<unknown>(
    (current, mutation) => applyMutation(current, mutation),
    document,
  );
  const text = JSON.stringify(mutated);
  return text === undefined ? undefined : JSON.parse(text);
}

/** `seed`, mutated by one to four mutations. */
export function mutatedFrom(seed: unknown): fc.Arbitrary<unknown> {
  return fc
    .array(mutationArbitrary, { minLength: 1, maxLength: 4 })
    .map((mutations) => mutate(seed, mutations));
}

/** A random value that looks like a secret and cannot appear in our own words by chance. */
export const secretLike: fc.Arbitrary<string> = fc
  .stringMatching(/^[A-Za-z0-9~._-]{20,40}$/)
  .map((body) => `S3cr3t${body}`);

/** What calling `run` did: returned a value, or threw. */
export type Outcome<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly error: unknown };

export function outcomeOf<T>(run: () => T): Outcome<T> {
  try {
    return { ok: true, value: run() };
  } catch (error) {
    return { ok: false, error };
  }
}

export async function asyncOutcomeOf<T>(run: () => Promise<T>): Promise<Outcome<T>> {
  try {
    return { ok: true, value: await run() };
  } catch (error) {
    return { ok: false, error };
  }
}

/**
 * Whether `error` is a clear rejection: an instance of `expected` (a `WatchdogError` subclass) with a
 * stable code and a message a person can read (not empty, no `[object Object]`).
 */
export function isClearError(
  error: unknown,
  expected: abstract new (...args: never[]) => WatchdogError,
): boolean {
  return (
    error instanceof expected &&
    error.code.length > 0 &&
    error.message.trim().length > 0 &&
    !error.message.includes('[object Object]')
  );
}
