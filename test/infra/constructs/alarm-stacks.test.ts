/**
 * Where the alarms built from the config live (`AlarmStacks`), and how the alarm topic's policies name
 * them (`alarmArnPatterns`): pure placement and naming, no synth.
 */
import { App, NestedStack, Stack } from 'aws-cdk-lib';
import { describe, expect, it } from 'vitest';
import { ConfigurationError } from '../../../functions/commons/errors.ts';
import {
  ALARM_STACK_COUNT,
  AlarmStacks,
  alarmStackIndex,
  MAX_ALARMS_PER_STACK,
} from '../../../infra/constructs/alarm-stacks.ts';
import { alarmArnPatterns, MAX_ALARM_ARN_PATTERNS } from '../../../infra/constructs/encrypted-topic.ts';

const names = (count: number, prefix = 'contoso-') =>
  Array.from({ length: count }, (_, index) => `${prefix}${String(index).padStart(4, '0')}-crash-rate`);

describe('AlarmStacks', () => {
  it('puts an alarm in the nested stack its name picks, whatever else the config holds or in which order', () => {
    const place = (order: readonly string[]) => {
      const stacks = new AlarmStacks(new Stack(new App(), 'Watchdog'), 'CatalogAlarms');
      return new Map(order.map((name) => [name, stacks.scopeFor(name).node.path]));
    };
    const all = names(200);
    const full = place(all);
    const reversed = place(all.toReversed());
    const half = place(all.slice(0, 100));

    for (const name of all) expect(reversed.get(name)).toBe(full.get(name));
    for (const [name, path] of half) expect(path).toBe(full.get(name));
    expect(new Set(full.values()).size).toBe(ALARM_STACK_COUNT);
    expect([...full.values()].every((path) => /^Watchdog\/CatalogAlarms\/Alarms\d\d$/.test(path))).toBe(true);
  });

  it('keeps composites in stacks of their own, which only metric alarms never depend on', () => {
    const stacks = new AlarmStacks(new Stack(new App(), 'Watchdog'), 'CatalogAlarms');
    const scope = stacks.scopeFor('contoso-corroborated', 'composites');
    expect(scope).toBeInstanceOf(NestedStack);
    expect(scope.node.id).toBe(
      `Composites${String(alarmStackIndex('contoso-corroborated') + 1).padStart(2, '0')}`,
    );
  });

  it('creates only the stacks that hold an alarm', () => {
    const stacks = new AlarmStacks(new Stack(new App(), 'Watchdog'), 'CatalogAlarms');
    stacks.scopeFor('contoso-photos-crash-rate');
    expect([...stacks.nestedStacks.keys()]).toHaveLength(1);
  });

  it('refuses more alarms in one stack than CloudFormation can hold, saying what to do', () => {
    const stacks = new AlarmStacks(new Stack(new App(), 'Watchdog'), 'CatalogAlarms');
    const crowded = names(20_000).filter((name) => alarmStackIndex(name) === 0);
    expect(crowded.length).toBeGreaterThan(MAX_ALARMS_PER_STACK);
    const place = () => {
      for (const name of crowded) stacks.scopeFor(name);
    };
    expect(place).toThrow(ConfigurationError);
  });
});

describe('alarmArnPatterns', () => {
  it('lists the names themselves while they are few', () => {
    expect(alarmArnPatterns(['b-crash', 'a-crash', 'b-crash'])).toEqual(['b-crash', 'a-crash']);
  });

  it('covers a catalog with the longest common beginnings that stay within the limit', () => {
    const catalog = [...names(500), ...names(500, 'Watchdog-store-health-'), 'Watchdog-drill'];
    const patterns = alarmArnPatterns(catalog);

    expect(patterns.length).toBeLessThanOrEqual(MAX_ALARM_ARN_PATTERNS);
    const covers = (pattern: string, name: string) =>
      pattern.endsWith('*') ? name.startsWith(pattern.slice(0, -1)) : name === pattern;
    for (const name of catalog)
      expect(
        patterns.some((pattern) => covers(pattern, name)),
        name,
      ).toBe(true);
    // As narrow as the limit allows: one character longer would make more patterns than the limit.
    expect(patterns).toContain('contoso-00*');
  });

  it('falls back to every alarm of the account when the names share no beginning', () => {
    const scattered = Array.from({ length: 95 }, (_, index) => `${String.fromCharCode(32 + index)}-alarm`);
    expect(alarmArnPatterns(scattered)).toEqual(['*']);
  });
});
