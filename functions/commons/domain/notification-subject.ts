/** The notification's subject: one ASCII line within the SNS limit; only the name is ever shortened. */
import { appName, type Entry, formatPercent, lastSeenWords } from './notification-entry.ts';
import type { TargetResultKind } from './results.ts';
import type { AttemptInfo } from './transitions.ts';

/** SNS rejects a `Subject` of 100 characters or more ("less than 100 characters long"), or with line breaks. */
export const MAX_SUBJECT_LENGTH = 99;
const SUBJECT_PREFIX = '[Store watchdog] ';

/** `[Store watchdog] DRILL - …`: the subject with DRILL after the prefix, cut to the SNS limit. */
export function drillSubject(subject: string): string {
  const tagged = `${SUBJECT_PREFIX}DRILL - ${subject.slice(SUBJECT_PREFIX.length)}`;
  return tagged.length <= MAX_SUBJECT_LENGTH ? tagged : `${tagged.slice(0, MAX_SUBJECT_LENGTH - 3)}...`;
}

/** The subject for the worst outcome: one rollout named with its facts, or the count and the names. */
export function buildSubject(outcome: TargetResultKind, entries: readonly Entry[]): string {
  const worst = entries.filter((entry) => entry.target.result === outcome);
  const only = worst.length === 1 ? worst[0] : undefined;
  if (only !== undefined) {
    const name = appName(only.detail.planned);
    const what = only.target.flightId === undefined ? 'rollout' : 'flight rollout';
    const live = percentSuffix(only.target.rolloutPercentage, only.detail.percentageSeenAt);
    switch (outcome) {
      case 'halted':
        return fitSubject('HALTED ', name, ` ${what}${live}`);
      case 'would-halt':
        return fitSubject('DRY RUN: would halt ', name, ` ${what}${live}`);
      case 'failed':
        return fitSubject('FAILED to halt ', name, ` ${what} - act now`);
      case 'already-halted':
        return fitSubject('', name, ` ${what} was already halted`);
      case 'no-active-rollout':
        return fitSubject('No active rollout to halt for ', name, '');
    }
  }
  const names = [...new Set(worst.map((entry) => appName(entry.detail.planned)))].join(', ');
  const count = `${worst.length} rollouts`;
  switch (outcome) {
    case 'halted':
      return fitSubject(`HALTED ${count}: `, names, '');
    case 'would-halt':
      return fitSubject(`DRY RUN: would halt ${count}: `, names, '');
    case 'failed':
      return fitSubject(`FAILED to halt ${count} - act now: `, names, '');
    case 'already-halted':
      return fitSubject(`${count} were already halted: `, names, '');
    case 'no-active-rollout':
      return fitSubject('No active rollout to halt for ', names, '');
  }
}

/** ` (20%)` for a percentage read live; ` (20% when last seen at 09:58 UTC)` for a remembered one. */
function percentSuffix(percentage: number | undefined, seenAt: string | undefined): string {
  if (percentage === undefined) return '';
  return seenAt === undefined
    ? ` (${formatPercent(percentage)})`
    : ` (${formatPercent(percentage)} ${lastSeenWords(seenAt)})`;
}

/** `[Store watchdog] {before}{name}{after}`, ASCII, shortening only the name so the facts around it stay. */
function fitSubject(before: string, name: string, after: string): string {
  const fixed = toAsciiLine(`${SUBJECT_PREFIX}${before}`);
  const tail = toAsciiLine(after);
  const room = MAX_SUBJECT_LENGTH - fixed.length - tail.length;
  const ascii = toAsciiLine(name);
  const fitted = ascii.length <= room ? ascii : `${ascii.slice(0, Math.max(0, room - 3)).trimEnd()}...`;
  return `${fixed}${fitted}${tail}`.slice(0, MAX_SUBJECT_LENGTH);
}

/** One line of printable ASCII: accents dropped, whitespace collapsed, anything else becomes `?`. */
export function toAsciiLine(text: string): string {
  return text
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .replace(/\s+/g, ' ')
    .replace(/[^\x20-\x7e]/g, '?');
}

/** The subject with `suffix` at its end, shortening the subject when it would not fit. */
export function withSuffix(subject: string, suffix: string | undefined): string {
  if (suffix === undefined) return subject;
  if (subject.length + suffix.length <= MAX_SUBJECT_LENGTH) return `${subject}${suffix}`;
  return `${subject.slice(0, MAX_SUBJECT_LENGTH - suffix.length - 3)}...${suffix}`;
}

/** ` - attempt 2 of 3` on a retry's message and on every message that reports a failure. */
export function attemptSuffix(
  attempt: AttemptInfo | undefined,
  outcome: TargetResultKind,
): string | undefined {
  if (attempt === undefined || (attempt.attempt === 1 && outcome !== 'failed')) return undefined;
  return ` - attempt ${attempt.attempt} of ${attempt.of}`;
}
