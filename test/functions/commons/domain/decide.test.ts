import { describe, expect, it } from 'vitest';
import {
  type DecisionLogger,
  redactTokens,
  runWatchdog,
} from '../../../../functions/commons/domain/decide.ts';
import type { RolloutLookup } from '../../../../functions/commons/domain/ports.ts';
import { type ActingPlan, resolveTargets } from '../../../../functions/commons/domain/targets.ts';
import type { WatchedApp } from '../../../../functions/commons/domain/watched-apps.ts';
import { DeadlineExceededError, StoreApiError } from '../../../../functions/commons/errors.ts';
import {
  configOf,
  FALLBACK_ID,
  FLIGHT_ID,
  FLIGHT_SUBMISSION,
  fakeRollouts,
  flightRef,
  inProgress,
  mainRef,
  PHOTOS,
  PHOTOS_SUBMISSION,
  rollout,
} from './fake-rollouts.ts';

const MUSIC: WatchedApp = {
  applicationId: '9WZDNCRFJ3TJ',
  name: 'Contoso Music',
  alarmNames: ['contoso-photos-crash-rate'],
  notifyAlarmNames: [],
  mode: 'enforce',
};

/** The plan an ALARM of `contoso-photos-crash-rate` produces for these apps. */
function alarmPlan(apps: WatchedApp[] = [PHOTOS], globalDryRun = false): ActingPlan {
  const plan = resolveTargets(
    {
      kind: 'alarm',
      alarms: [
        {
          alarmName: 'contoso-photos-crash-rate',
          newState: 'ALARM',
          previousState: 'OK',
          reason: 'Threshold Crossed',
          time: '2024-05-14T09:31:07.582+0000',
          source: 'sns',
        },
      ],
    },
    configOf(apps, globalDryRun),
  );
  if (plan.kind !== 'act') throw new Error(plan.ignored);
  return plan;
}

const signal = new AbortController().signal;

/** True when every `start` event comes before the first `end` event (the calls overlapped). */
function startedBeforeAnyFinished(events: readonly string[], start: string, end: string): boolean {
  const lastStart = events.findLastIndex((event) => event.startsWith(start));
  const firstEnd = events.findIndex((event) => event.startsWith(end));
  return lastStart !== -1 && firstEnd !== -1 && lastStart < firstEnd;
}

describe('runWatchdog: one rollout', () => {
  it('halts an in-progress rollout and reports the percentage that was live', async () => {
    const lookup = inProgress(mainRef(), 20);
    const rollouts = fakeRollouts({ [PHOTOS.applicationId]: [lookup] });

    const run = await runWatchdog(alarmPlan(), { rollouts, now: () => 0 }, signal);

    expect(run.targets).toEqual([
      {
        applicationId: PHOTOS.applicationId,
        submissionId: PHOTOS_SUBMISSION,
        result: 'halted',
        rolloutPercentage: 20,
        fallbackSubmissionId: FALLBACK_ID,
      },
    ]);
    expect(rollouts.events).toEqual([
      `find:${PHOTOS.applicationId}`,
      `found:${PHOTOS.applicationId}`,
      `halt:${PHOTOS_SUBMISSION}`,
      `halted:${PHOTOS_SUBMISSION}`,
    ]);
  });

  it('reports would-halt in a dry run and never calls haltRollout', async () => {
    const rollouts = fakeRollouts({ [PHOTOS.applicationId]: [inProgress(mainRef(), 12.5)] });

    const run = await runWatchdog(alarmPlan([PHOTOS], true), { rollouts, now: () => 0 }, signal);

    expect(run.targets).toEqual([
      {
        applicationId: PHOTOS.applicationId,
        submissionId: PHOTOS_SUBMISSION,
        result: 'would-halt',
        rolloutPercentage: 12.5,
        fallbackSubmissionId: FALLBACK_ID,
      },
    ]);
    expect(rollouts.events.filter((event) => event.startsWith('halt'))).toEqual([]);
  });

  it.each([
    ['already-halted', 'already-halted'],
    ['no-active-rollout', 'no-active-rollout'],
  ] as const)(
    'passes on a halt that came back %s, keeping the percentage found',
    async (behaviour, result) => {
      const rollouts = fakeRollouts(
        { [PHOTOS.applicationId]: [inProgress(mainRef(), 30)] },
        { [PHOTOS_SUBMISSION]: behaviour },
      );

      const run = await runWatchdog(alarmPlan(), { rollouts, now: () => 0 }, signal);

      expect(run.targets[0]).toMatchObject({
        result,
        rolloutPercentage: 30,
        submissionId: PHOTOS_SUBMISSION,
      });
    },
  );

  it('explains a halt that found the rollout no longer in progress', async () => {
    const rollouts = fakeRollouts(
      { [PHOTOS.applicationId]: [inProgress(mainRef())] },
      { [PHOTOS_SUBMISSION]: 'no-active-rollout' },
    );

    const run = await runWatchdog(alarmPlan(), { rollouts, now: () => 0 }, signal);

    expect(run.details[0]?.note).toMatch(/no longer in progress .*PackageRolloutComplete/);
  });

  it('reports a rollout found stopped as already-halted without halting again', async () => {
    const stopped: RolloutLookup = {
      state: 'stopped',
      ref: mainRef(),
      rollout: rollout('PackageRolloutStopped', 0),
    };
    const rollouts = fakeRollouts({ [PHOTOS.applicationId]: [stopped] });

    const run = await runWatchdog(alarmPlan(), { rollouts, now: () => 0 }, signal);

    expect(run.targets).toEqual([
      {
        applicationId: PHOTOS.applicationId,
        submissionId: PHOTOS_SUBMISSION,
        result: 'already-halted',
        rolloutPercentage: 0,
        fallbackSubmissionId: FALLBACK_ID,
      },
    ]);
    expect(rollouts.events).not.toContain(`halt:${PHOTOS_SUBMISSION}`);
  });

  it('reports nothing to halt with the reason, and no percentage when there is no rollout', async () => {
    const none: RolloutLookup = {
      state: 'none',
      applicationId: PHOTOS.applicationId,
      reason: 'the app has no published submission',
    };
    const rollouts = fakeRollouts({ [PHOTOS.applicationId]: [none] });

    const run = await runWatchdog(alarmPlan(), { rollouts, now: () => 0 }, signal);

    expect(run.targets).toEqual([{ applicationId: PHOTOS.applicationId, result: 'no-active-rollout' }]);
    expect(run.details[0]?.note).toBe('the app has no published submission');
  });

  it('reports the live percentage of a completed rollout as no-active-rollout', async () => {
    const complete: RolloutLookup = {
      state: 'none',
      applicationId: PHOTOS.applicationId,
      submissionId: PHOTOS_SUBMISSION,
      rollout: rollout('PackageRolloutComplete', 100),
      reason: 'the rollout is complete',
    };
    const rollouts = fakeRollouts({ [PHOTOS.applicationId]: [complete] });

    const run = await runWatchdog(alarmPlan(), { rollouts, now: () => 0 }, signal);

    expect(run.targets[0]).toEqual({
      applicationId: PHOTOS.applicationId,
      submissionId: PHOTOS_SUBMISSION,
      result: 'no-active-rollout',
      rolloutPercentage: 100,
      fallbackSubmissionId: FALLBACK_ID,
    });
  });
});

describe('runWatchdog: failures never escape', () => {
  it('reports a lookup that failed, with the error code and message', async () => {
    const failed: RolloutLookup = {
      state: 'failed',
      applicationId: PHOTOS.applicationId,
      error: new StoreApiError('STORE_HTTP_500', 'GET applications/9NBLGGH4R315 answered 500', {
        status: 500,
      }),
    };
    const rollouts = fakeRollouts({ [PHOTOS.applicationId]: [failed] });

    const run = await runWatchdog(alarmPlan(), { rollouts, now: () => 0 }, signal);

    expect(run.targets).toEqual([
      {
        applicationId: PHOTOS.applicationId,
        result: 'failed',
        error: { code: 'STORE_HTTP_500', message: 'GET applications/9NBLGGH4R315 answered 500' },
      },
    ]);
  });

  it('reports a halt that threw as failed, keeping what was found', async () => {
    const rollouts = fakeRollouts(
      { [PHOTOS.applicationId]: [inProgress(mainRef(), 40)] },
      { [PHOTOS_SUBMISSION]: new DeadlineExceededError('the halt did not finish before the deadline') },
    );

    const run = await runWatchdog(alarmPlan(), { rollouts, now: () => 0 }, signal);

    expect(run.targets).toEqual([
      {
        applicationId: PHOTOS.applicationId,
        submissionId: PHOTOS_SUBMISSION,
        result: 'failed',
        rolloutPercentage: 40,
        fallbackSubmissionId: FALLBACK_ID,
        error: { code: 'DEADLINE_EXCEEDED', message: 'the halt did not finish before the deadline' },
      },
    ]);
  });

  it('turns a port that throws into a failed target for the app instead of rejecting', async () => {
    const rollouts = fakeRollouts({ [PHOTOS.applicationId]: new TypeError('fetch failed') });

    const run = await runWatchdog(alarmPlan(), { rollouts, now: () => 0 }, signal);

    expect(run.targets).toEqual([
      {
        applicationId: PHOTOS.applicationId,
        result: 'failed',
        error: { code: 'TypeError', message: 'fetch failed' },
      },
    ]);
  });

  it('reports an app for which the port examined nothing as failed', async () => {
    const rollouts = fakeRollouts({ [PHOTOS.applicationId]: [] });

    const run = await runWatchdog(alarmPlan(), { rollouts, now: () => 0 }, signal);

    expect(run.targets).toMatchObject([{ result: 'failed', error: { code: 'NO_ROLLOUT_EXAMINED' } }]);
  });

  it('masks anything shaped like an access token in an error message', async () => {
    const jwt = 'eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.eyJhdWQiOiJodHRwczovL21hbmFnZSJ9.c2lnbmF0dXJl';
    const rollouts = fakeRollouts(
      { [PHOTOS.applicationId]: [inProgress(mainRef())] },
      { [PHOTOS_SUBMISSION]: new Error(`upstream echoed Authorization: Bearer ${jwt}`) },
    );

    const run = await runWatchdog(alarmPlan(), { rollouts, now: () => 0 }, signal);

    expect(JSON.stringify(run)).not.toContain(jwt);
    expect(run.targets[0]?.error?.message).toBe('upstream echoed Authorization: Bearer [redacted token]');
  });
});

describe('runWatchdog: several rollouts', () => {
  it('reports the main rollout and each flight, in the order the port found them', async () => {
    const none: RolloutLookup = {
      state: 'none',
      applicationId: MUSIC.applicationId,
      reason: 'the app has no published submission',
    };
    const rollouts = fakeRollouts({
      [PHOTOS.applicationId]: [inProgress(mainRef(), 20), inProgress(flightRef(), 50)],
      [MUSIC.applicationId]: [none],
    });

    const run = await runWatchdog(alarmPlan([PHOTOS, MUSIC]), { rollouts, now: () => 0 }, signal);

    expect(run.targets.map((t) => [t.applicationId, t.flightId, t.submissionId, t.result])).toEqual([
      [PHOTOS.applicationId, undefined, PHOTOS_SUBMISSION, 'halted'],
      [PHOTOS.applicationId, FLIGHT_ID, FLIGHT_SUBMISSION, 'halted'],
      [MUSIC.applicationId, undefined, undefined, 'no-active-rollout'],
    ]);
    expect(run.details.map((detail) => detail.planned.app.applicationId)).toEqual([
      PHOTOS.applicationId,
      PHOTOS.applicationId,
      MUSIC.applicationId,
    ]);
  });

  it('starts every app before any lookup finishes', async () => {
    const rollouts = fakeRollouts({
      [PHOTOS.applicationId]: [inProgress(mainRef())],
      [MUSIC.applicationId]: [inProgress(mainRef(MUSIC.applicationId, '1152921504621240001'))],
    });

    await runWatchdog(alarmPlan([PHOTOS, MUSIC]), { rollouts, now: () => 0 }, signal);

    expect(startedBeforeAnyFinished(rollouts.events, 'find:', 'found:')).toBe(true);
    expect(rollouts.events.filter((event) => event.startsWith('find:'))).toHaveLength(2);
  });

  it('halts the main rollout and the flights of an app in parallel', async () => {
    const rollouts = fakeRollouts({
      [PHOTOS.applicationId]: [inProgress(mainRef()), inProgress(flightRef())],
    });

    await runWatchdog(alarmPlan(), { rollouts, now: () => 0 }, signal);

    expect(startedBeforeAnyFinished(rollouts.events, 'halt:', 'halted:')).toBe(true);
    expect(rollouts.events.filter((event) => event.startsWith('halt:'))).toHaveLength(2);
  });

  it('hands the invocation signal to every port call', async () => {
    const controller = new AbortController();
    const rollouts = fakeRollouts({ [PHOTOS.applicationId]: [inProgress(mainRef())] });

    await runWatchdog(alarmPlan(), { rollouts, now: () => 0 }, controller.signal);

    expect(rollouts.signals).toHaveLength(2);
    expect(rollouts.signals.every((s) => s === controller.signal)).toBe(true);
  });
});

describe('runWatchdog: timing and logging', () => {
  it('records for each target the time from the start of the decision until its result', async () => {
    const clock = { t: 5_000 };
    const none: RolloutLookup = { state: 'none', applicationId: MUSIC.applicationId, reason: 'nothing' };
    const rollouts = fakeRollouts(
      { [PHOTOS.applicationId]: [inProgress(mainRef())], [MUSIC.applicationId]: [none] },
      {},
      clock,
    );

    const run = await runWatchdog(alarmPlan([PHOTOS, MUSIC]), { rollouts, now: () => clock.t }, signal);

    // Both lookups (100 ms each on the fake clock) finish before the halt (250 ms).
    expect(run.details.map((detail) => detail.elapsedMs)).toEqual([450, 200]);
    expect(run.elapsedMs).toBe(450);
  });

  it('logs each decision with its IDs, and failures as warnings', async () => {
    const lines: [string, string, Record<string, unknown>][] = [];
    const logger: DecisionLogger = {
      info: (message, attributes) => lines.push(['info', message, attributes]),
      warn: (message, attributes) => lines.push(['warn', message, attributes]),
    };
    const rollouts = fakeRollouts(
      { [PHOTOS.applicationId]: [inProgress(mainRef()), inProgress(flightRef())] },
      { [FLIGHT_SUBMISSION]: new Error('boom') },
    );

    await runWatchdog(alarmPlan(), { rollouts, now: () => 0, logger }, signal);

    expect(lines).toHaveLength(2);
    expect(lines).toContainEqual([
      'info',
      'rollout decision',
      expect.objectContaining({
        applicationId: PHOTOS.applicationId,
        submissionId: PHOTOS_SUBMISSION,
        result: 'halted',
      }),
    ]);
    expect(lines).toContainEqual([
      'warn',
      'rollout decision failed',
      expect.objectContaining({
        flightId: FLIGHT_ID,
        result: 'failed',
        error: { code: 'Error', message: 'boom' },
      }),
    ]);
  });
});

describe('redactTokens', () => {
  it('masks JWTs and bearer credentials and leaves ordinary text alone', () => {
    expect(redactTokens('token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.abc-_def here')).toBe(
      'token [redacted token] here',
    );
    expect(redactTokens('authorization: bearer abc.def-ghi==')).toBe('authorization: bearer [redacted]');
    expect(redactTokens('GET applications/9NBLGGH4R315 answered 503')).toBe(
      'GET applications/9NBLGGH4R315 answered 503',
    );
  });
});
