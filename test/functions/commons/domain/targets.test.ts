import { describe, expect, it } from 'vitest';
import { indexAppsByAlarm } from '../../../../functions/commons/config/env.ts';
import {
  type AlarmTransition,
  type Intake,
  parseEvent,
} from '../../../../functions/commons/domain/events.ts';
import {
  type Plan,
  resolveTargets,
  type TargetConfig,
} from '../../../../functions/commons/domain/targets.ts';
import type { WatchedApp } from '../../../../functions/commons/domain/watched-apps.ts';
import { BadInputError } from '../../../../functions/commons/errors.ts';
import { loadEventFixture } from '../../../fixtures/events/load.ts';

const PHOTOS: WatchedApp = {
  applicationId: '9NBLGGH4R315',
  name: 'Contoso Photos',
  alarmNames: ['contoso-photos-crash-rate', 'contoso-shared-crash-rate'],
  notifyAlarmNames: [],
  mode: 'enforce',
};
const MUSIC: WatchedApp = {
  applicationId: '9WZDNCRFJ3TJ',
  name: 'Contoso Music',
  alarmNames: ['contoso-shared-crash-rate'],
  notifyAlarmNames: [],
  mode: 'enforce',
};
const VIDEO_DRY: WatchedApp = {
  applicationId: '9NBLGGH1Z6CV',
  name: 'Contoso Video',
  alarmNames: ['contoso-video-crash-rate'],
  notifyAlarmNames: [],
  mode: 'dry-run',
};

function configOf(apps: WatchedApp[], dryRun = false): TargetConfig {
  return { apps, alarmIndex: indexAppsByAlarm(apps), dryRun };
}

const CONFIG = configOf([PHOTOS, MUSIC, VIDEO_DRY]);

function alarm(alarmName: string, newState: AlarmTransition['newState'] = 'ALARM'): AlarmTransition {
  return {
    alarmName,
    newState,
    previousState: newState === 'ALARM' ? 'OK' : 'ALARM',
    reason: 'Threshold Crossed',
    time: '2024-05-14T09:31:07.582+0000',
    source: 'sns',
  };
}

function alarmIntake(...alarms: AlarmTransition[]): Intake {
  return { kind: 'alarm', alarms };
}

function actingApps(plan: Plan): string[] {
  if (plan.kind !== 'act') throw new Error(`expected an acting plan, got: ${plan.ignored}`);
  return plan.apps.map((planned) => planned.app.applicationId);
}

describe('resolveTargets: ignored events', () => {
  it.each([
    ['sns-alarm-ok', /alarm "contoso-photos-crash-rate" went to OK \(from ALARM\)/],
    ['eventbridge-alarm-ok', /alarm "contoso-photos-crash-rate" went to OK \(from ALARM\)/],
    ['eventbridge-insufficient-data', /went to INSUFFICIENT_DATA \(from OK\)/],
  ] as const)('ignores %s, saying which state it went to, without a warning', (fixture, reason) => {
    const plan = resolveTargets(parseEvent(loadEventFixture(fixture)), CONFIG);

    expect(plan.kind).toBe('ignored');
    expect(plan.kind === 'ignored' && plan.ignored).toMatch(reason);
    expect(plan.kind === 'ignored' && plan.ignored).toMatch(
      /only a transition into ALARM can lead to a halt/,
    );
    expect(plan.kind === 'ignored' && plan.warn).toBe(false);
  });

  it('ignores an alarm that no app lists, with a warning', () => {
    const plan = resolveTargets(alarmIntake(alarm('someone-elses-alarm')), CONFIG);

    expect(plan).toEqual({
      kind: 'ignored',
      ignored: 'no watched app (an entry in "apps") lists the alarm "someone-elses-alarm"',
      warn: true,
    });
  });

  it('warns about unlisted alarms when the ALARM records of an SNS event match nothing', () => {
    const plan = resolveTargets(
      alarmIntake(alarm('contoso-photos-crash-rate', 'OK'), alarm('unknown-a'), alarm('unknown-b')),
      CONFIG,
    );

    expect(plan).toMatchObject({ kind: 'ignored', warn: true });
    expect(plan.kind === 'ignored' && plan.ignored).toMatch(/lists the alarms "unknown-a", "unknown-b"/);
  });
});

describe('resolveTargets: alarms', () => {
  it('acts on the app of the documented SNS and EventBridge fixtures', () => {
    for (const fixture of ['sns-alarm', 'eventbridge-alarm'] as const) {
      const plan = resolveTargets(parseEvent(loadEventFixture(fixture)), CONFIG);

      expect(plan).toMatchObject({
        kind: 'act',
        apps: [
          {
            app: PHOTOS,
            dryRun: false,
            alarmNames: ['contoso-photos-crash-rate'],
            why: 'alarm "contoso-photos-crash-rate" is in ALARM; the app\'s mode is "enforce"',
          },
        ],
        unmatchedAlarms: [],
      });
    }
  });

  it('acts on every app an alarm watches', () => {
    expect(actingApps(resolveTargets(alarmIntake(alarm('contoso-shared-crash-rate')), CONFIG))).toEqual([
      PHOTOS.applicationId,
      MUSIC.applicationId,
    ]);
  });

  it('unions the apps of several ALARM records, each app once, and remembers every alarm that named it', () => {
    const plan = resolveTargets(
      alarmIntake(
        alarm('contoso-photos-crash-rate'),
        alarm('contoso-shared-crash-rate'),
        alarm('contoso-photos-crash-rate'),
        alarm('contoso-video-crash-rate', 'OK'),
        alarm('not-ours'),
      ),
      CONFIG,
    );

    expect(actingApps(plan)).toEqual([PHOTOS.applicationId, MUSIC.applicationId]);
    expect(plan.kind === 'act' && plan.apps[0]?.alarmNames).toEqual([
      'contoso-photos-crash-rate',
      'contoso-shared-crash-rate',
    ]);
    expect(plan.kind === 'act' && plan.unmatchedAlarms).toEqual(['not-ours']);
    expect(
      plan.kind === 'act' && plan.trigger.kind === 'alarm' && plan.trigger.alarms.map((a) => a.alarmName),
    ).toEqual(['contoso-photos-crash-rate', 'contoso-shared-crash-rate', 'contoso-photos-crash-rate']);
  });
});

describe('resolveTargets: manual events', () => {
  it('rejects an app that has no entry in "apps"', () => {
    const intake: Intake = { kind: 'manual', applicationId: '9PDX7ZQ4B0KW', enforce: true };

    expect(() => resolveTargets(intake, CONFIG)).toThrow(BadInputError);
    expect(() => resolveTargets(intake, CONFIG)).toThrow(
      /applicationId 9PDX7ZQ4B0KW is not a watched app \(no entry in "apps" of the watchdog config\); only listed apps can be halted/,
    );
  });

  it('keeps the reason and what was requested for the notification', () => {
    const plan = resolveTargets(parseEvent(loadEventFixture('manual-dry-run')), CONFIG);

    expect(plan).toMatchObject({
      kind: 'act',
      trigger: { kind: 'manual', reason: 'console test', enforceRequested: false },
      apps: [{ app: PHOTOS, dryRun: true, dryRunCause: 'manual-event', alarmNames: [] }],
    });
  });
});

describe('resolveTargets: dry-run precedence', () => {
  // [global DRY_RUN, app mode, event] → [dry run?, cause]
  const table = [
    [false, 'enforce', 'alarm', false, undefined],
    [false, 'dry-run', 'alarm', true, 'app-mode'],
    [true, 'enforce', 'alarm', true, 'global'],
    [true, 'dry-run', 'alarm', true, 'global'],
    [false, 'enforce', 'manual dryRun:false', false, undefined],
    [false, 'enforce', 'manual (no dryRun)', true, 'manual-event'],
    [false, 'dry-run', 'manual dryRun:false', true, 'app-mode'],
    [true, 'enforce', 'manual dryRun:false', true, 'global'],
    [true, 'dry-run', 'manual (no dryRun)', true, 'global'],
  ] as const;

  it.each(table)('DRY_RUN=%s, mode=%s, %s → dry run %s (%s)', (globalDryRun, mode, event, dryRun, cause) => {
    const app: WatchedApp = { ...PHOTOS, mode };
    const intake: Intake =
      event === 'alarm'
        ? alarmIntake(alarm('contoso-photos-crash-rate'))
        : { kind: 'manual', applicationId: app.applicationId, enforce: event === 'manual dryRun:false' };

    const plan = resolveTargets(intake, configOf([app], globalDryRun));

    const planned = plan.kind === 'act' ? plan.apps[0] : undefined;
    expect(planned?.dryRun).toBe(dryRun);
    expect(planned?.dryRunCause).toBe(cause);
  });

  it('says why in words a person can act on', () => {
    const whyOf = (config: TargetConfig, intake: Intake): string | undefined => {
      const plan = resolveTargets(intake, config);
      return plan.kind === 'act' ? plan.apps[0]?.why : undefined;
    };
    const manual: Intake = { kind: 'manual', applicationId: PHOTOS.applicationId, enforce: false };

    expect(whyOf(configOf([PHOTOS], true), manual)).toMatch(/"dryRun" is true for the whole watchdog/);
    expect(whyOf(configOf([{ ...PHOTOS, mode: 'dry-run' }]), manual)).toMatch(
      /"mode" is "dry-run" \(its entry in "apps"\)/,
    );
    expect(whyOf(configOf([PHOTOS]), manual)).toBe(
      'a manual event asked for a dry run; dry run because the manual event did not say "dryRun": false',
    );
  });
});
