import { describe, expect, it } from 'vitest';
import { ConfigurationError } from '../../../functions/commons/errors.ts';
import {
  alarmRulePattern,
  MAX_EVENT_PATTERN_LENGTH,
  patternLength,
  planAlarmRules,
} from '../../../infra/constructs/alarm-rules.ts';

const names = (count: number, width = 40) =>
  Array.from({ length: count }, (_, i) => `crash-rate-${String(i).padStart(width - 11, '0')}`);

describe('planAlarmRules', () => {
  it('keeps a small config in one rule listing every name, once, in order', () => {
    expect(planAlarmRules(['a', 'b', 'a', 'c'], undefined)).toEqual([{ names: ['a', 'b', 'c'] }]);
  });

  it('splits many names over several rules, each pattern within 2,048 characters, none lost or repeated', () => {
    const all = names(300);

    const rules = planAlarmRules(all, undefined);

    expect(rules.length).toBeGreaterThan(1);
    const carried = rules.flatMap((rule) => ('names' in rule ? rule.names : []));
    expect(carried).toEqual(all);
    for (const rule of rules) {
      expect(patternLength(alarmRulePattern(rule))).toBeLessThanOrEqual(MAX_EVENT_PATTERN_LENGTH);
    }
    // The fewest rules: no rule could have taken the next rule's first name.
    for (let i = 0; i + 1 < rules.length; i++) {
      const [current, next] = [rules[i], rules[i + 1]];
      if (current === undefined || next === undefined || !('names' in current) || !('names' in next)) {
        throw new Error('expected name rules');
      }
      const grown = alarmRulePattern({ names: [...current.names, ...next.names.slice(0, 1)] });
      expect(patternLength(grown)).toBeGreaterThan(MAX_EVENT_PATTERN_LENGTH);
    }
  });

  it('counts UTF-8 bytes, so a name with non-ASCII characters never slips past the limit', () => {
    const wide = Array.from({ length: 80 }, (_, i) => `é-crash-${i}-${'é'.repeat(20)}`);

    for (const rule of planAlarmRules(wide, undefined)) {
      const json = JSON.stringify(alarmRulePattern(rule));
      expect(Buffer.byteLength(json)).toBeLessThanOrEqual(MAX_EVENT_PATTERN_LENGTH);
    }
  });

  it('matches a prefix in one rule when every name starts with it', () => {
    const rules = planAlarmRules(['team-a', 'team-b'], 'team-');

    expect(rules).toEqual([{ prefix: 'team-' }]);
    expect(alarmRulePattern({ prefix: 'team-' }).detail.alarmName).toEqual([{ prefix: 'team-' }]);
  });

  it('refuses a prefix that a watched name does not start with, naming the field and the name', () => {
    expect(() => planAlarmRules(['team-a', 'other-b'], 'team-')).toThrow(
      /watchdog\.alarmNamePrefix: 1 watched alarm name\(s\) do not start with "team-" \(first: other-b\)/,
    );
  });

  it('refuses a config that would need more rules than the stack creates, and says to use a prefix', () => {
    let error: unknown;
    try {
      planAlarmRules(names(200), undefined, { maxRules: 3 });
    } catch (caught) {
      error = caught;
    }

    expect(error).toBeInstanceOf(ConfigurationError);
    expect(error instanceof Error ? error.message : '').toMatch(
      /the 200 watched alarm names created elsewhere need \d+ EventBridge rules \(each pattern at most 2048 characters\), more than the 3 the stack creates; give the alarms a common prefix and set watchdog\.alarmNamePrefix/,
    );
  });
});
