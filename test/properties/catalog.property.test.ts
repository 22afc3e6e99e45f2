/**
 * The catalog's two plans over arbitrary inputs: the EventBridge rules carry every watched alarm name
 * exactly once, each pattern within 2,048 bytes, or the synth gets a clear `ConfigurationError`; and the
 * self-check's rotating slices read every app exactly once in as many consecutive runs as there are
 * slices, whatever the scheduled start.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { WatchedApp } from '../../functions/commons/domain/watched-apps.ts';
import { ConfigurationError } from '../../functions/commons/errors.ts';
import { selectSlice } from '../../functions/self-check/slices.ts';
import {
  alarmRulePattern,
  MAX_EVENT_PATTERN_LENGTH,
  planAlarmRules,
} from '../../infra/constructs/alarm-rules.ts';

// A case plans up to 400 names: fewer runs than the parsers' floor (hundreds to thousands of cases).
const RUNS = Math.min(Number(process.env.PROPERTY_RUNS ?? 2_000), 2_000);

const alarmName = fc.string({ unit: 'grapheme', minLength: 1, maxLength: 255 });

describe('planAlarmRules, property-based', () => {
  it('carries every name once, in order, each pattern within the limit, or refuses with a clear error', () => {
    fc.assert(
      fc.property(
        // size 'max': lists long enough to need several rules, not only the small ones fast-check favours.
        fc.array(alarmName, { minLength: 1, maxLength: 400, size: 'max' }),
        fc.integer({ min: 1, max: 30 }),
        (names, maxRules) => {
          let rules: ReturnType<typeof planAlarmRules>;
          try {
            rules = planAlarmRules(names, undefined, { maxRules });
          } catch (error) {
            expect(error).toBeInstanceOf(ConfigurationError);
            expect(error instanceof Error ? error.message : '').toMatch(/watchdog\.alarmNamePrefix/);
            return;
          }
          expect(rules.length).toBeLessThanOrEqual(maxRules);
          expect(rules.flatMap((rule) => ('names' in rule ? rule.names : []))).toEqual([...new Set(names)]);
          for (const rule of rules) {
            const bytes = Buffer.byteLength(JSON.stringify(alarmRulePattern(rule)));
            expect(bytes).toBeLessThanOrEqual(MAX_EVENT_PATTERN_LENGTH);
          }
        },
      ),
      { numRuns: Math.ceil(RUNS / 10) },
    );
  });
});

describe('selectSlice, property-based', () => {
  it('reads every app exactly once over as many consecutive scheduled runs as there are slices', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 600 }),
        fc.integer({ min: 1, max: 96 }),
        fc.integer({ min: 15, max: 720 }),
        fc.integer({ min: 0, max: 4_000_000_000 }),
        (appCount, sliceCount, periodMinutes, startMinute) => {
          const apps: WatchedApp[] = Array.from({ length: appCount }, (_, i) => ({
            applicationId: `9NCAT${String(i).padStart(7, '0')}`,
            alarmNames: ['a'],
            notifyAlarmNames: [],
            mode: 'enforce',
          }));
          const plan = { slices: sliceCount, periodMinutes };
          const read = Array.from({ length: sliceCount }, (_, run) =>
            selectSlice(apps, plan, (startMinute + run * periodMinutes) * 60_000),
          ).flatMap((slice) => slice.apps.map((app) => app.applicationId));

          expect(read.toSorted()).toEqual(apps.map((app) => app.applicationId).toSorted());
        },
      ),
      { numRuns: RUNS },
    );
  });
});
