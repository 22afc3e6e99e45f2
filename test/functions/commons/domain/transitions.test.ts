import { describe, expect, it } from 'vitest';
import { indexAppsByAlarm } from '../../../../functions/commons/config/env.ts';
import { resolveContinuation, retryContinuation } from '../../../../functions/commons/domain/continuation.ts';
import type { WatchdogRun } from '../../../../functions/commons/domain/decide.ts';
import type { AlarmTransition } from '../../../../functions/commons/domain/events.ts';
import type { ActingPlan, PlannedApp } from '../../../../functions/commons/domain/targets.ts';
import {
  decideClaim,
  examinedKeys,
  failedTargetKeys,
  handlingIdentity,
  narrowToTargets,
  retryDelaySeconds,
  TARGET_KEY_PATTERN,
  type TransitionRecord,
  transitionIdentity,
  transitionInstant,
  wholeAppKeys,
} from '../../../../functions/commons/domain/transitions.ts';
import type { WatchedApp } from '../../../../functions/commons/domain/watched-apps.ts';

const ARN = 'arn:aws:cloudwatch:us-east-1:123456789012:alarm:crash-rate';

function transition(overrides: Partial<AlarmTransition> = {}): AlarmTransition {
  return {
    alarmName: 'crash-rate',
    newState: 'ALARM',
    reason: 'Threshold Crossed',
    time: '2026-12-01T10:00:00.000+0000',
    alarmArn: ARN,
    source: 'sns',
    ...overrides,
  };
}

describe('transition identity', () => {
  it('compares the state-change time as an instant, however each path prints it', () => {
    const instant = Date.UTC(2026, 11, 1, 10, 0, 0);
    for (const printed of [
      '2026-12-01T10:00:00.000+0000',
      '2026-12-01T10:00:00.000Z',
      '2026-12-01T10:00:00Z',
      '2026-12-01T11:00:00.000+01:00',
      '2026-12-01T05:00:00.000-0500',
      '2026-12-01T10:00:00.000123Z',
    ]) {
      expect(transitionInstant(printed), printed).toBe(instant);
    }
    expect(transitionInstant('yesterday')).toBeUndefined();
  });

  it("is the alarm's name, the new state and the instant: SNS and EventBridge agree, with or without the ARN", () => {
    const sns = transition();
    const eventBridge = transition({
      time: '2026-12-01T10:00:00.000Z',
      source: 'eventbridge',
      reason: 'other words',
    });
    const { alarmArn: _arn, ...withoutArn } = sns;
    expect(transitionIdentity(sns)).toBe(`crash-rate|ALARM|${Date.UTC(2026, 11, 1, 10)}`);
    expect(transitionIdentity(eventBridge)).toBe(transitionIdentity(sns));
    expect(transitionIdentity(withoutArn)).toBe(transitionIdentity(sns));
    // A later transition, or another state, is another transition.
    expect(transitionIdentity(transition({ time: '2026-12-01T10:00:00.001Z' }))).not.toBe(
      transitionIdentity(sns),
    );
    expect(transitionIdentity(transition({ newState: 'OK' }))).not.toBe(transitionIdentity(sns));
    // The same transition twice in one event counts once.
    expect(handlingIdentity([sns, eventBridge])).toBe(transitionIdentity(sns));
  });
});

describe('decideClaim', () => {
  const now = 1_000_000;
  const record = (overrides: Partial<TransitionRecord>): TransitionRecord => ({
    attempts: 1,
    state: 'running',
    claimExpiresAtMs: now + 1,
    ...overrides,
  });

  it('the retry a running attempt scheduled takes over (its settling was lost), any other delivery waits', () => {
    const running = record({ examining: ['9NBLGGH4R315#main'] });
    expect(decideClaim(running, { scheduledAttempt: 2 }, now)).toEqual({
      kind: 'retry',
      attempt: 2,
      reexamine: ['9NBLGGH4R315#main'],
      lapsed: false,
    });
    expect(decideClaim(running, {}, now)).toMatchObject({ kind: 'duplicate' });
    expect(decideClaim(running, { scheduledAttempt: 1 }, now)).toMatchObject({ kind: 'duplicate' });
    expect(decideClaim(record({ attempts: 2 }), { scheduledAttempt: 2 }, now)).toMatchObject({
      kind: 'duplicate',
    });
  });

  it('a new transition is the first handling; a handled one, or one being handled, is a duplicate', () => {
    expect(decideClaim(undefined, {}, now)).toEqual({ kind: 'first' });
    expect(decideClaim(record({ state: 'done' }), {}, now)).toMatchObject({ kind: 'duplicate' });
    expect(decideClaim(record({}), {}, now)).toMatchObject({
      kind: 'duplicate',
      why: expect.stringMatching(/^being handled now by attempt 1/),
    });
  });

  it('after failures, a delivery retries only the failed targets, up to the third attempt', () => {
    expect(decideClaim(record({ state: 'failed', failedTargets: ['A#main'] }), {}, now)).toEqual({
      kind: 'retry',
      attempt: 2,
      reexamine: ['A#main'],
      lapsed: false,
    });
    expect(
      decideClaim(record({ state: 'failed', attempts: 3, failedTargets: ['A#main'] }), {}, now),
    ).toMatchObject({
      kind: 'duplicate',
      why: 'attempted 3 times already, the most a transition gets',
    });
  });

  it('a claim lapses exactly at its expiry: then the attempt it was examining is taken over', () => {
    const running = record({ claimExpiresAtMs: now, examining: ['A#flights'] });
    expect(decideClaim(running, {}, now - 1)).toMatchObject({ kind: 'duplicate' });
    expect(decideClaim(running, {}, now)).toEqual({
      kind: 'retry',
      attempt: 2,
      reexamine: ['A#flights'],
      lapsed: true,
    });
    expect(decideClaim(record({ claimExpiresAtMs: now }), {}, now)).toMatchObject({ reexamine: 'all' });
  });

  it('a scheduled retry whose attempt was made already is a duplicate, unless that attempt died', () => {
    const failedOnce = record({ state: 'failed', failedTargets: ['A#main'] });
    expect(decideClaim(failedOnce, { scheduledAttempt: 2 }, now)).toMatchObject({
      kind: 'retry',
      attempt: 2,
    });
    const failedTwice = record({ state: 'failed', attempts: 2, failedTargets: ['A#main'] });
    expect(decideClaim(failedTwice, { scheduledAttempt: 2 }, now)).toMatchObject({ kind: 'duplicate' });
    const diedAtTwo = record({ attempts: 2, claimExpiresAtMs: now - 1 });
    expect(decideClaim(diedAtTwo, { scheduledAttempt: 2 }, now)).toMatchObject({ kind: 'retry', attempt: 3 });
  });

  it('waits 30 s before the second attempt and 2 minutes before the third', () => {
    expect([retryDelaySeconds(2), retryDelaySeconds(3)]).toEqual([30, 120]);
  });
});

describe('failed targets and what a retry re-examines', () => {
  const app = (applicationId: string, flights: WatchedApp['flights']): WatchedApp => ({
    applicationId,
    alarmNames: ['crash-rate'],
    notifyAlarmNames: [],
    flights,
    mode: 'enforce',
  });
  const planned = (watched: WatchedApp): PlannedApp => ({
    app: watched,
    dryRun: false,
    why: 'test',
    alarmNames: [],
  });
  const plan: ActingPlan = {
    kind: 'act',
    trigger: { kind: 'alarm', alarms: [transition()] },
    apps: [
      planned(app('9NBLGGH4R315', 'all')),
      planned(app('9NBLGGH4R316', ['AB-CD'])),
      planned(app('9NBLGGH4R317', undefined)),
    ],
    unmatchedAlarms: [],
  };

  it('keys each failed target by what went unexamined', () => {
    const [photos, music] = plan.apps;
    if (photos === undefined || music === undefined) throw new Error('apps expected');
    const run: WatchdogRun = {
      targets: [
        { applicationId: '9NBLGGH4R315', result: 'failed' },
        { applicationId: '9NBLGGH4R315', result: 'failed' },
        { applicationId: '9NBLGGH4R316', flightId: 'AB-CD', result: 'failed' },
        { applicationId: '9NBLGGH4R316', result: 'halted' },
        { applicationId: '9NBLGGH4R317', result: 'failed' },
      ],
      details: [
        { planned: photos, elapsedMs: 0 },
        { planned: photos, elapsedMs: 0, failedScope: 'flights' },
        { planned: music, elapsedMs: 0 },
        { planned: music, elapsedMs: 0 },
        { planned: music, elapsedMs: 0, failedScope: 'app' },
      ],
      elapsedMs: 0,
    };
    const keys = failedTargetKeys(run);
    expect(keys).toEqual([
      '9NBLGGH4R315#main',
      '9NBLGGH4R315#flights',
      '9NBLGGH4R316#flight#ab-cd',
      '9NBLGGH4R317#app',
    ]);
    for (const key of keys) expect(key).toMatch(TARGET_KEY_PATTERN);
  });

  it('a retry carries every app of its attempt: its failed targets narrow it, and after a lost notification the ledger widens it back to every app', () => {
    const apps = plan.apps.map((entry) => entry.app);
    const retry = retryContinuation(
      plan,
      ['9NBLGGH4R316#flight#ab-cd'],
      { part: 1, stormStartedAt: '2026-12-01T10:00:00.000Z' },
      2,
    );
    if (retry === undefined) throw new Error('a retry expected');
    const resolved = resolveContinuation(retry, { apps, alarmIndex: indexAppsByAlarm(apps), dryRun: false });
    if (resolved.plan.kind !== 'act') throw new Error(`an acting plan expected: ${resolved.plan.ignored}`);
    const ids = (narrowed: ActingPlan) => narrowed.apps.map((entry) => entry.app.applicationId);
    expect(ids(narrowToTargets(resolved.plan, retry.retry?.targets ?? []))).toEqual(['9NBLGGH4R316']);
    expect(ids(narrowToTargets(resolved.plan, wholeAppKeys(plan)))).toEqual([
      '9NBLGGH4R315',
      '9NBLGGH4R316',
      '9NBLGGH4R317',
    ]);
  });

  it('narrows a plan to the failed targets alone', () => {
    const narrowed = narrowToTargets(plan, [
      '9NBLGGH4R315#flights',
      '9NBLGGH4R316#flight#ab-cd',
      '9NZZZZZZZZZZ#main',
    ]);
    expect(narrowed.apps.map((entry) => [entry.app.applicationId, entry.scope])).toEqual([
      ['9NBLGGH4R315', { main: false, flights: 'all' }],
      // The flight ID as the config spells it.
      ['9NBLGGH4R316', { main: false, flights: ['AB-CD'] }],
    ]);
    expect(examinedKeys(narrowed)).toEqual(['9NBLGGH4R315#flights', '9NBLGGH4R316#flight#ab-cd']);
    expect(narrowToTargets(plan, ['9NBLGGH4R317#app']).apps[0]?.scope).toEqual({
      main: true,
      flights: undefined,
    });
    expect(examinedKeys(plan)).toBeUndefined();
  });
});
