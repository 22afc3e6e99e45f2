/**
 * The watched alarm names as EventBridge rule patterns within EventBridge's 2,048 characters: the names
 * split over several rules, or one `{"prefix": ...}` rule for `alarmNamePrefix` (docs/catalog.md,
 * "Alarm intake").
 * Checked at synth: a config no set of rules can carry is a `ConfigurationError` that says what to change.
 */
import { ConfigurationError } from '../../functions/commons/errors.ts';

/** EventBridge's limit on one rule's event pattern (PutRule `EventPattern`: 2,048 characters). */
export const MAX_EVENT_PATTERN_LENGTH = 2_048;

/**
 * The most alarm rules the stack creates. An event bus holds 300 rules by default (per account and
 * Region, shared with everything else there); past this many the names belong under a prefix.
 */
export const MAX_ALARM_RULES = 20;

/** What one rule matches on `detail.alarmName`: exact names, or every name with a prefix. */
export type AlarmNameMatch = { readonly names: readonly string[] } | { readonly prefix: string };

/** The event pattern of an alarm rule, in CloudFormation's (and EventBridge's) terms. */
export interface AlarmRulePattern {
  readonly source: ['aws.cloudwatch'];
  readonly 'detail-type': ['CloudWatch Alarm State Change'];
  readonly detail: {
    readonly alarmName: string[] | [{ readonly prefix: string }];
    readonly state: { readonly value: ['ALARM'] };
  };
}

/** The pattern of a rule for `match`: state changes into ALARM of the matched alarms. */
export function alarmRulePattern(match: AlarmNameMatch): AlarmRulePattern {
  return {
    source: ['aws.cloudwatch'],
    'detail-type': ['CloudWatch Alarm State Change'],
    detail: {
      alarmName: 'prefix' in match ? [{ prefix: match.prefix }] : [...match.names],
      state: { value: ['ALARM'] },
    },
  };
}

/** The pattern's length as EventBridge counts it: its compact JSON, in UTF-8 bytes (never fewer than characters). */
export function patternLength(pattern: AlarmRulePattern): number {
  return Buffer.byteLength(JSON.stringify(pattern), 'utf8');
}

/**
 * The rules that carry `alarmNames` (each name once, in order): one prefix rule when `alarmNamePrefix`
 * is given (every name must start with it), else the fewest rules, filled in order, each pattern within
 * `MAX_EVENT_PATTERN_LENGTH`. Throws a `ConfigurationError` when that takes more than `MAX_ALARM_RULES`
 * rules, or a name does not start with the prefix.
 */
export function planAlarmRules(
  alarmNames: readonly string[],
  alarmNamePrefix: string | undefined,
  limits: { readonly maxPatternLength?: number; readonly maxRules?: number } = {},
): AlarmNameMatch[] {
  const maxLength = limits.maxPatternLength ?? MAX_EVENT_PATTERN_LENGTH;
  const maxRules = limits.maxRules ?? MAX_ALARM_RULES;
  const names = [...new Set(alarmNames)];
  if (names.length === 0 && alarmNamePrefix === undefined) {
    throw new ConfigurationError('INVALID_WATCHDOG_CONFIG', 'no alarm names to watch');
  }

  if (alarmNamePrefix !== undefined) {
    const outside = names.filter((name) => !name.startsWith(alarmNamePrefix));
    if (outside.length > 0) {
      throw new ConfigurationError(
        'INVALID_WATCHDOG_CONFIG',
        `invalid watchdog config: watchdog.alarmNamePrefix: ${outside.length} watched alarm name(s) do not start with "${alarmNamePrefix}" (first: ${outside[0]}); EventBridge would never deliver them`,
      );
    }
    const match = { prefix: alarmNamePrefix };
    assertWithin(match, maxLength);
    return [match];
  }

  const rules: string[][] = [];
  let current: string[] = [];
  for (const name of names) {
    const candidate = [...current, name];
    if (current.length === 0 || patternLength(alarmRulePattern({ names: candidate })) <= maxLength) {
      current = candidate;
    } else {
      rules.push(current);
      current = [name];
    }
    assertWithin({ names: current }, maxLength);
  }
  rules.push(current);
  if (rules.length > maxRules) {
    throw new ConfigurationError(
      'INVALID_WATCHDOG_CONFIG',
      `invalid watchdog config: watchdog.apps: the ${names.length} watched alarm names created elsewhere need ${rules.length} EventBridge rules (each pattern at most ${maxLength} characters), more than the ${maxRules} the stack creates; give the alarms a common prefix and set watchdog.alarmNamePrefix (see docs/catalog.md)`,
    );
  }
  return rules.map((group) => ({ names: group }));
}

function assertWithin(match: AlarmNameMatch, maxLength: number): void {
  const length = patternLength(alarmRulePattern(match));
  if (length > maxLength) {
    const what = 'prefix' in match ? 'watchdog.alarmNamePrefix' : `the alarm name ${match.names.at(-1)}`;
    throw new ConfigurationError(
      'INVALID_WATCHDOG_CONFIG',
      `invalid watchdog config: ${what} makes an EventBridge pattern of ${length} characters, over the ${maxLength} EventBridge accepts`,
    );
  }
}
