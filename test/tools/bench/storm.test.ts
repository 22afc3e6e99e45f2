import { describe, expect, it } from 'vitest';
import { renderStormSection } from '../../../tools/bench/report.ts';
import {
  checkStorm,
  isDeployedTopology,
  isStormPassed,
  type StormResult,
} from '../../../tools/bench/storm.ts';

/** A storm of the deployed configuration in which every app was halted once. */
function passingStorm(overrides: Partial<StormResult> = {}): StormResult {
  return {
    scenario: {
      name: 'deployed: 20 alarms, one invocation after another, time scaled 1/10',
      topology: 'serial',
      series: 'S1',
      apps: 20,
      deliveries: 2,
      limit: 20,
      windowMs: 6_000,
      followUpMs: 500,
      remainingMs: 30_000,
      note: 'what it stands for',
    },
    events: 40,
    halted: 20,
    alreadyHalted: 20,
    failed: 0,
    effectiveHalts: 20,
    invocationErrors: 0,
    failureCodes: [],
    totalMs: 25_100,
    firstHaltMs: 17,
    lastHaltMs: 25_090,
    storeRequestsAdmitted: 100,
    throttled429: 0,
    notificationsPublished: 40,
    invocations: [],
    ...overrides,
  };
}

describe('the storm target', () => {
  it('passes when every app was halted once and nothing failed, duplicates reporting already-halted', () => {
    expect(isStormPassed(passingStorm())).toBe(true);
    expect(checkStorm(passingStorm())).toEqual({
      target: 'alarm storm: deployed: 20 alarms, one invocation after another, time scaled 1/10',
      figure: '20/20 halted, 0 failed, 0 429s; first halt 17.0 ms, last 25.09 s, total 25.10 s',
      limit: 'all halted, none failed',
      pass: true,
    });
  });

  it.each([
    ['a target failed', { failed: 1, halted: 19 }],
    ['an app was not halted', { halted: 19, effectiveHalts: 19 }],
    ['an invocation threw', { invocationErrors: 1 }],
    ['a rollout was reported halted but the Store did not stop it', { effectiveHalts: 19 }],
  ])('fails when %s', (_label, overrides) => {
    expect(isStormPassed(passingStorm(overrides))).toBe(false);
    expect(checkStorm(passingStorm(overrides)).pass).toBe(false);
  });

  it('counts only the one-environment topologies as the deployed configuration', () => {
    expect(isDeployedTopology('serial')).toBe(true);
    expect(isDeployedTopology('one-event')).toBe(true);
    expect(isDeployedTopology('lambda-concurrency')).toBe(false);
  });
});

describe('the storm section of the report', () => {
  it('shows events, first and last halt, 429s and the verdict with the failure codes, then each note', () => {
    const failing = passingStorm({
      scenario: { ...passingStorm().scenario, name: 'failing one', topology: 'one-event' },
      events: 1,
      halted: 0,
      alreadyHalted: 0,
      failed: 20,
      effectiveHalts: 0,
      firstHaltMs: undefined,
      lastHaltMs: undefined,
      failureCodes: ['STORE_BUDGET_EXHAUSTED'],
    });

    const text = renderStormSection([passingStorm(), failing]);

    const rows = text.split('\n').filter((line) => line.startsWith('| '));
    expect(rows[0]).toMatch(/events.*first halt.*last halt.*total.*all halted, none failed/);
    expect(rows[2]).toMatch(/\| +40 \|.*\| +17\.0 ms \| +25\.09 s \| +25\.10 s \| PASS +\|$/);
    expect(rows[3]).toMatch(/\| +— \| +— \|.*FAIL \(STORE_BUDGET_EXHAUSTED\) \|$/);
    expect(text).toContain('- failing one: what it stands for');
  });
});
