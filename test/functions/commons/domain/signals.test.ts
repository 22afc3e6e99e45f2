/**
 * The domain side of contract v2's signals: composite alarm events parsed from both delivery paths,
 * notify-only alarms in target resolution, and the notification text for both.
 */
import { describe, expect, it } from 'vitest';
import { runWatchdog } from '../../../../functions/commons/domain/decide.ts';
import { childNames, parseEvent } from '../../../../functions/commons/domain/events.ts';
import { buildNotification } from '../../../../functions/commons/domain/notification.ts';
import { replayTransitions } from '../../../../functions/commons/domain/replay.ts';
import { resolveTargets } from '../../../../functions/commons/domain/targets.ts';
import type { WatchedApp } from '../../../../functions/commons/domain/watched-apps.ts';
import { loadEventFixture } from '../../../fixtures/events/load.ts';
import { configOf, fakeRollouts, inProgress, mainRef, PHOTOS } from './fake-rollouts.ts';

const RULE = 'ALARM("contoso-photos-crash-rate") AND ALARM("contoso-photos-hang-rate")';
const WARNING = 'contoso-photos-crash-rate-warning';

function alarmsOf(event: unknown) {
  const intake = parseEvent(event);
  if (intake.kind !== 'alarm') throw new Error('expected an alarm intake');
  return intake.alarms;
}

function withEventBridgeReasonData(reasonData: unknown): unknown {
  const event = loadEventFixture('eventbridge-composite-alarm');
  if (typeof event !== 'object' || event === null || !('detail' in event)) throw new Error('bad fixture');
  const { detail } = event;
  if (typeof detail !== 'object' || detail === null || !('state' in detail)) throw new Error('bad fixture');
  return { ...event, detail: { ...detail, state: { ...Object(detail.state), reasonData } } };
}

describe('parseEvent: composite alarms', () => {
  it.each(['sns-composite-alarm', 'eventbridge-composite-alarm'] as const)(
    'reads the rule and the triggering children (by name) from %s',
    (fixture) => {
      const [alarm] = alarmsOf(loadEventFixture(fixture));

      expect(alarm).toMatchObject({
        alarmName: 'contoso-photos-corroborated',
        newState: 'ALARM',
        previousState: 'OK',
        composite: { rule: RULE, triggeringChildren: ['contoso-photos-hang-rate'] },
      });
    },
  );

  it('leaves a metric alarm without composite detail', () => {
    for (const fixture of ['sns-alarm', 'eventbridge-alarm'] as const) {
      expect(alarmsOf(loadEventFixture(fixture))[0]).not.toHaveProperty('composite');
    }
  });

  it.each([
    ['not JSON', 'not json {'],
    ['without triggeringAlarms', '{"version":"1.0"}'],
  ])('still acts on a composite whose reasonData is %s, naming no child', (_label, reasonData) => {
    const [alarm] = alarmsOf(withEventBridgeReasonData(reasonData));

    expect(alarm?.composite).toEqual({ rule: RULE, triggeringChildren: [] });
  });

  it('accepts TriggeringChildren as plain ARNs (the user guide schema) as well as objects', () => {
    const message = {
      AlarmName: 'c',
      NewStateValue: 'ALARM',
      NewStateReason: 'r',
      StateChangeTime: '2024-05-14T09:31:07.640+0000',
      AlarmRule: 'ALARM("a") AND ALARM("b")',
      TriggeringChildren: [
        'arn:aws:cloudwatch:us-east-1:123456789012:alarm:a',
        { Arn: 'arn:aws:cloudwatch:us-east-1:123456789012:alarm:b' },
      ],
    };
    const [alarm] = alarmsOf({ Records: [{ Sns: { Message: JSON.stringify(message) } }] });

    expect(alarm?.composite?.triggeringChildren).toEqual(['a', 'b']);
  });

  it('takes alarm names from ARNs, keeping colons inside a name', () => {
    expect(
      childNames(['arn:aws:cloudwatch:us-east-1:1:alarm:a:b', 'arn:aws:cloudwatch:us-east-1:1:alarm:a:b']),
    ).toEqual(['a:b']);
  });
});

describe('resolveTargets: notify-only alarms', () => {
  const photos: WatchedApp = { ...PHOTOS, notifyAlarmNames: [WARNING] };
  const snsOf = (...names: string[]) => ({
    kind: 'alarm' as const,
    alarms: names.map((alarmName) => ({
      alarmName,
      newState: 'ALARM' as const,
      reason: 'r',
      time: 't',
      source: 'sns' as const,
    })),
  });

  it.each([false, true])('plans a dry run with cause notify-only (global DRY_RUN %s)', (dryRun) => {
    const plan = resolveTargets(snsOf(WARNING), configOf([photos], dryRun));

    expect(plan).toMatchObject({
      kind: 'act',
      apps: [{ dryRun: true, dryRunCause: 'notify-only', alarmNames: [WARNING] }],
    });
  });

  it('lets a halting alarm in the same event decide', () => {
    const plan = resolveTargets(snsOf(WARNING, 'contoso-photos-crash-rate'), configOf([photos]));

    expect(plan).toMatchObject({ kind: 'act', apps: [{ dryRun: false }] });
    expect(plan.kind === 'act' ? plan.apps[0]?.dryRunCause : 'ignored').toBeUndefined();
  });
});

describe('buildNotification: signals', () => {
  async function textOf(event: unknown, apps: WatchedApp[]): Promise<string> {
    const plan = resolveTargets(parseEvent(event), configOf(apps));
    if (plan.kind !== 'act') throw new Error(plan.ignored);
    const rollouts = fakeRollouts({ [PHOTOS.applicationId]: [inProgress(mainRef(), 20)] });
    const run = await runWatchdog(plan, { rollouts, now: () => 0 }, new AbortController().signal);
    return buildNotification(plan, run).text;
  }

  it('names the composite rule and the child alarms that triggered it', async () => {
    const text = await textOf(loadEventFixture('sns-composite-alarm'), [
      { ...PHOTOS, alarmNames: ['contoso-photos-corroborated'] },
    ]);

    expect(text).toContain(`Composite alarm rule: ${RULE}`);
    expect(text).toContain('Triggered by the child alarm(s): "contoso-photos-hang-rate"');
  });

  it('says the alarm is notify-only, and how to let it halt', async () => {
    const event = JSON.parse(
      JSON.stringify(loadEventFixture('sns-alarm')).replaceAll('contoso-photos-crash-rate', WARNING),
    );
    const text = await textOf(event, [{ ...PHOTOS, notifyAlarmNames: [WARNING] }]);

    expect(text).toContain(`"${WARNING}" [notify-only]`);
    expect(text).toMatch(/dry run because the alarm is notify-only for this app/);
    expect(text).toMatch(/move it from notifyAlarmNames to alarmNames/);
  });
});

describe('replayTransitions', () => {
  const transition = (alarmName: string, time: string, newState: 'ALARM' | 'OK' = 'ALARM') => ({
    alarmName,
    newState,
    reason: `${alarmName} at ${time}`,
    time,
    source: 'eventbridge' as const,
  });
  const photos: WatchedApp = { ...PHOTOS, notifyAlarmNames: [WARNING] };
  const music: WatchedApp = {
    applicationId: '9WZDNCRFJ3TJ',
    alarmNames: ['contoso-photos-crash-rate'],
    notifyAlarmNames: [],
    mode: 'dry-run',
  };

  it('decides each transition into ALARM oldest first, for each app it reaches, and leaves the others out', () => {
    const report = replayTransitions(
      [
        transition('contoso-photos-crash-rate', '2026-11-20T09:31:07.582Z'),
        transition('contoso-photos-crash-rate', '2026-11-20T09:45:00.000Z', 'OK'),
        transition(WARNING, '2026-11-18T14:02:33.917Z'),
        transition('unlisted', '2026-11-19T00:00:00.000Z'),
      ],
      configOf([photos, music]),
    );

    expect(
      report.transitions.map((t) => [t.alarmName, t.decisions.map((d) => [d.applicationId, d.decision])]),
    ).toEqual([
      [WARNING, [['9NBLGGH4R315', 'would-halt']]],
      ['unlisted', []],
      [
        'contoso-photos-crash-rate',
        [
          ['9NBLGGH4R315', 'halt'],
          ['9WZDNCRFJ3TJ', 'would-halt'],
        ],
      ],
    ]);
    expect(report.transitions[0]?.decisions[0]?.dryRunCause).toBe('notify-only');
    expect(report.transitions[1]?.ignored).toContain('unlisted');
    expect(report.summary).toEqual({ halt: 1, wouldHalt: 2, ignored: 1 });
  });

  it('gives would-halt only under the global dry run', () => {
    const report = replayTransitions(
      [transition('contoso-photos-crash-rate', '2026-11-20T09:31:07Z')],
      configOf([photos], true),
    );

    expect(report.summary).toEqual({ halt: 0, wouldHalt: 1, ignored: 0 });
    expect(report.transitions[0]?.decisions[0]?.dryRunCause).toBe('global');
  });
});
