import { describe, expect, it } from 'vitest';
import { buildMessageStructure } from '../../../../functions/commons/aws/notify.ts';
import { runWatchdog, type WatchdogRun } from '../../../../functions/commons/domain/decide.ts';
import { type Intake, parseEvent } from '../../../../functions/commons/domain/events.ts';
import {
  buildNotification,
  type Notification,
  partnerCenterUrl,
} from '../../../../functions/commons/domain/notification.ts';
import {
  MAX_SUBJECT_LENGTH,
  toAsciiLine,
} from '../../../../functions/commons/domain/notification-subject.ts';
import type { RolloutLookup } from '../../../../functions/commons/domain/ports.ts';
import type { TargetResultKind } from '../../../../functions/commons/domain/results.ts';
import { type ActingPlan, resolveTargets } from '../../../../functions/commons/domain/targets.ts';
import type { WatchedApp } from '../../../../functions/commons/domain/watched-apps.ts';
import { StoreApiError } from '../../../../functions/commons/errors.ts';
import { loadEventFixture } from '../../../fixtures/events/load.ts';
import {
  configOf,
  FALLBACK_ID,
  FLIGHT_ID,
  FLIGHT_SUBMISSION,
  fakeRollouts,
  flightRef,
  type HaltBehaviour,
  inProgress,
  mainRef,
  PHOTOS,
  PHOTOS_SUBMISSION,
  rollout,
} from './fake-rollouts.ts';

const ALARM_REASON_START = 'Threshold Crossed: 1 out of the last 1 datapoints [6.8';
const PHOTOS_URL = 'https://partner.microsoft.com/dashboard/products/9NBLGGH4R315/overview';

interface Scenario {
  readonly apps?: WatchedApp[];
  readonly globalDryRun?: boolean;
  readonly intake?: Intake;
  readonly lookups?: Record<string, RolloutLookup[] | Error>;
  readonly halts?: Record<string, HaltBehaviour>;
}

/** Parses, resolves and decides like the handler does, over the fake port, then builds the notification. */
async function notify(
  scenario: Scenario = {},
): Promise<{ plan: ActingPlan; run: WatchdogRun; n: Notification }> {
  const apps = scenario.apps ?? [PHOTOS];
  const plan = resolveTargets(
    scenario.intake ?? parseEvent(loadEventFixture('sns-alarm')),
    configOf(apps, scenario.globalDryRun),
  );
  if (plan.kind !== 'act') throw new Error(`expected an acting plan: ${plan.ignored}`);
  const clock = { t: 0 };
  const rollouts = fakeRollouts(
    scenario.lookups ?? { [PHOTOS.applicationId]: [inProgress(mainRef(), 20)] },
    scenario.halts,
    clock,
  );
  const run = await runWatchdog(plan, { rollouts, now: () => clock.t }, new AbortController().signal);
  return { plan, run, n: buildNotification(plan, run) };
}

const stopped: RolloutLookup = {
  state: 'stopped',
  ref: mainRef(),
  rollout: rollout('PackageRolloutStopped', 0),
};
const nothing: RolloutLookup = {
  state: 'none',
  applicationId: PHOTOS.applicationId,
  reason: 'the app has no published submission',
};

describe('buildNotification: subject', () => {
  it.each<[Scenario, TargetResultKind, string]>([
    [{}, 'halted', '[Store watchdog] HALTED Contoso Photos rollout (20%)'],
    [
      { globalDryRun: true },
      'would-halt',
      '[Store watchdog] DRY RUN: would halt Contoso Photos rollout (20%)',
    ],
    [
      { halts: { [PHOTOS_SUBMISSION]: new Error('boom') } },
      'failed',
      '[Store watchdog] FAILED to halt Contoso Photos rollout - act now',
    ],
    [
      { lookups: { [PHOTOS.applicationId]: [stopped] } },
      'already-halted',
      '[Store watchdog] Contoso Photos rollout was already halted',
    ],
    [
      { lookups: { [PHOTOS.applicationId]: [nothing] } },
      'no-active-rollout',
      '[Store watchdog] No active rollout to halt for Contoso Photos',
    ],
  ])('reads %j as %s: %s', async (scenario, outcome, subject) => {
    const { n } = await notify(scenario);

    expect(n.outcome).toBe(outcome);
    expect(n.json.outcome).toBe(outcome);
    expect(n.subject).toBe(subject);
  });

  it('names the worst result: a failed flight outweighs a halted main rollout', async () => {
    const { n } = await notify({
      lookups: { [PHOTOS.applicationId]: [inProgress(mainRef()), inProgress(flightRef(), 50)] },
      halts: { [FLIGHT_SUBMISSION]: new Error('boom') },
    });

    expect(n.outcome).toBe('failed');
    expect(n.subject).toBe('[Store watchdog] FAILED to halt Contoso Photos flight rollout - act now');
  });

  it('counts and names several rollouts with the same worst result', async () => {
    const music: WatchedApp = { ...PHOTOS, applicationId: '9WZDNCRFJ3TJ', name: 'Contoso Music' };
    const { n } = await notify({
      apps: [PHOTOS, music],
      lookups: {
        [PHOTOS.applicationId]: [inProgress(mainRef())],
        [music.applicationId]: [inProgress(mainRef(music.applicationId, '1152921504621240001'))],
      },
    });

    expect(n.subject).toBe('[Store watchdog] HALTED 2 rollouts: Contoso Photos, Contoso Music');
  });

  it('stays within the SNS limit, one ASCII line, keeping the percentage, for a very long name', async () => {
    const longName = `Contoso Photos — Édition Professionnelle für Überall\n${'x'.repeat(240)}`;
    const { n } = await notify({ apps: [{ ...PHOTOS, name: longName }] });

    expect(n.subject.length).toBeLessThanOrEqual(MAX_SUBJECT_LENGTH);
    expect(MAX_SUBJECT_LENGTH).toBeLessThan(100);
    expect(n.subject).toMatch(/^[\x20-\x7e]+$/);
    expect(n.subject).toMatch(
      /^\[Store watchdog\] HALTED Contoso Photos \? Edition Professionnelle fur Uberall x+\.\.\. rollout \(20%\)$/,
    );
  });

  it('stays within the limit when many long names are listed', async () => {
    const apps = Array.from(
      { length: 6 },
      (_, i): WatchedApp => ({
        ...PHOTOS,
        applicationId: `9NBLGGH4R31${i}`,
        name: `A rather long application display name number ${i}`,
      }),
    );
    const lookups = Object.fromEntries(
      apps.map((app, i) => [
        app.applicationId,
        [inProgress(mainRef(app.applicationId, `11529215046212400${i}`))],
      ]),
    );

    const { n } = await notify({ apps, lookups, globalDryRun: true });

    expect(n.subject.length).toBeLessThanOrEqual(MAX_SUBJECT_LENGTH);
    expect(n.subject).toMatch(/^\[Store watchdog\] DRY RUN: would halt 6 rollouts: A rather long .*\.\.\.$/);
  });
});

describe('buildNotification: text', () => {
  it('states every fact a person needs about a halt', async () => {
    const { n } = await notify();

    expect(n.text).toContain('Contoso Photos (9NBLGGH4R315) - main rollout');
    expect(n.text).toMatch(/Result: +HALTED/);
    expect(n.text).toMatch(new RegExp(`Submission: +${PHOTOS_SUBMISSION}`));
    expect(n.text).toMatch(/Live percentage: +20% when the watchdog found it/);
    expect(n.text).toMatch(new RegExp(`Fallback submission: +${FALLBACK_ID}`));
    expect(n.text).toContain(
      'Alarm "contoso-photos-crash-rate" went from OK to ALARM at 2024-05-14T09:31:07.582+0000',
    );
    expect(n.text).toContain(`Reason: ${ALARM_REASON_START}`);
    expect(n.text).toMatch(/Time to halt: +350 ms/);
    expect(n.text).toContain(PHOTOS_URL);
  });

  it('tells a person what to do after a halt: investigate, customers keep it, a new submission is a clone', async () => {
    const { n } = await notify();

    expect(n.text).toMatch(/Next step: Investigate the crashes/);
    expect(n.text).toMatch(/customers who already got submission \d+ keep it/);
    expect(n.text).toMatch(
      /create a new submission in Partner Center \(it starts as a clone of the halted one\)/,
    );
  });

  it('tells a person to halt by hand now when the watchdog failed, with the error', async () => {
    const { n } = await notify({
      halts: {
        [PHOTOS_SUBMISSION]: new StoreApiError('STORE_HTTP_503', 'POST haltpackagerollout answered 503', {
          status: 503,
        }),
      },
    });

    expect(n.text).toMatch(/^ACTION NEEDED/);
    expect(n.text).toMatch(/Error: +STORE_HTTP_503: POST haltpackagerollout answered 503/);
    expect(n.text).toMatch(/Next step: ACT NOW: halt the rollout by hand in Partner Center/);
    expect(n.text).toContain(PHOTOS_URL);
  });

  it.each([
    [{ globalDryRun: true }, /set "dryRun": false in the watchdog config \(cdk\.json\) and deploy/],
    [
      { apps: [{ ...PHOTOS, mode: 'dry-run' as const }] },
      /set "mode": "enforce" on the entry of 9NBLGGH4R315 in "apps" \(cdk\.json\)/,
    ],
    [
      { intake: parseEvent(loadEventFixture('manual-dry-run')) },
      /invoke the watchdog with \{"applicationId": "9NBLGGH4R315", "dryRun": false\}/,
    ],
  ])('explains how to enforce after a dry run (%#)', async (scenario, how) => {
    const { n } = await notify(scenario);

    expect(n.outcome).toBe('would-halt');
    expect(n.text).toMatch(/Result: +WOULD HALT/);
    expect(n.text).toMatch(/Next step: Nothing was changed \(dry run\)/);
    expect(n.text).toMatch(how);
  });

  it('describes a manual event with its reason instead of an alarm', async () => {
    const { n } = await notify({ intake: parseEvent(loadEventFixture('manual-dry-run')) });

    expect(n.text).toContain(
      'A person invoked the watchdog by hand (reason: "console test"); it asked for a dry run.',
    );
    expect(n.text).not.toMatch(/Alarm:/);
  });

  it('explains already-halted and no-active-rollout results', async () => {
    const already = (await notify({ lookups: { [PHOTOS.applicationId]: [stopped] } })).n;
    const none = (await notify({ lookups: { [PHOTOS.applicationId]: [nothing] } })).n;

    expect(already.text).toMatch(/Next step: Nothing more to halt: the rollout was already stopped/);
    expect(none.text).toMatch(/Details: +the app has no published submission/);
    expect(none.text).toMatch(/Next step: No action needed for this rollout/);
    expect(none.text).toMatch(/Submission: +none found/);
  });

  it('names each flight target with its flight ID', async () => {
    const { n } = await notify({
      lookups: { [PHOTOS.applicationId]: [inProgress(mainRef()), inProgress(flightRef(), 50)] },
    });

    expect(n.text).toContain(`Contoso Photos (9NBLGGH4R315) - package flight ${FLIGHT_ID}`);
    expect(n.text).toMatch(/Live percentage: +50%/);
  });

  it('never carries a token from an error message or alarm reason', async () => {
    const jwt = 'eyJ0eXAiOiJKV1QifQ.eyJhdWQiOiJtYW5hZ2UifQ.c2ln';
    const intake: Intake = {
      kind: 'alarm',
      alarms: [
        {
          alarmName: 'contoso-photos-crash-rate',
          newState: 'ALARM',
          reason: `copied a header: Authorization: Bearer ${jwt}`,
          time: '2024-05-14T09:31:07.582+0000',
          source: 'eventbridge',
        },
      ],
    };

    const { n } = await notify({ intake, halts: { [PHOTOS_SUBMISSION]: new Error(`echo ${jwt}`) } });

    expect(n.text).not.toContain(jwt);
    expect(n.text).toContain('[redacted');
    expect(JSON.stringify(n.json.targets)).not.toContain(jwt);
  });
});

describe('buildNotification: json and SNS message structure', () => {
  it('carries the results, the trigger, the outcome and the timings', async () => {
    const { n, run } = await notify();

    expect(n.json).toMatchObject({
      schemaVersion: 1,
      outcome: 'halted',
      subject: n.subject,
      trigger: { kind: 'alarm', alarms: [{ alarmName: 'contoso-photos-crash-rate', newState: 'ALARM' }] },
      timings: { decisionMs: run.elapsedMs },
    });
    expect(n.json.targets).toEqual([
      expect.objectContaining({
        ...run.targets[0],
        appName: 'Contoso Photos',
        dryRun: false,
        elapsedMs: 350,
        alarmNames: ['contoso-photos-crash-rate'],
        partnerCenterUrl: PHOTOS_URL,
        nextStep: expect.stringMatching(/^Investigate the crashes/),
      }),
    ]);
  });

  it('gives people text, chat channels the custom notification and machines JSON, per SNS protocol', async () => {
    const { n } = await notify();

    const structure: Record<string, string> = JSON.parse(buildMessageStructure(n));

    expect(structure.default).toBe(n.text);
    expect(structure.email).toBe(n.text);
    expect(structure.sms).toBe(n.subject);
    expect(JSON.parse(structure.https ?? 'null')).toMatchObject({ version: '1.0', source: 'custom' });
    for (const protocol of ['sqs', 'lambda', 'http', 'email-json']) {
      expect(JSON.parse(structure[protocol] ?? 'null')).toEqual(JSON.parse(JSON.stringify(n.json)));
    }
  });

  it('stays under the SNS size limit when there are very many rollouts', async () => {
    const flights = Array.from({ length: 400 }, (_, i) =>
      inProgress({
        applicationId: PHOTOS.applicationId,
        flightId: FLIGHT_ID,
        submissionId: `${9_000_000 + i}`,
      }),
    );
    const { n } = await notify({ lookups: { [PHOTOS.applicationId]: flights }, globalDryRun: true });

    const structure: Record<string, string> = JSON.parse(buildMessageStructure(n));

    expect(new TextEncoder().encode(buildMessageStructure(n)).length).toBeLessThanOrEqual(256 * 1024);
    const json: { targets: unknown[]; omittedTargets: number } = JSON.parse(structure.sqs ?? 'null');
    expect(json).toMatchObject({ truncated: true, outcome: 'would-halt' });
    expect(json.targets.length + json.omittedTargets).toBe(400);
    expect(json.targets[0]).toMatchObject({ result: 'would-halt', submissionId: '9000000' });
    expect(structure.email).toMatch(/^DRY RUN: .*\[The message was too long and has been cut here\.\]\n$/s);
  });
});

describe('helpers', () => {
  it('links to the app overview in Partner Center', () => {
    expect(partnerCenterUrl('9NBLGGH4R315')).toBe(PHOTOS_URL);
  });

  it('turns any text into one line of printable ASCII', () => {
    expect(toAsciiLine('Café\tPhotos\r\n™ 写真')).toBe('Cafe Photos TM ??');
  });
});

describe('buildNotification: a remembered percentage is never shown as live', () => {
  /** The run of a halt from memory: the percentage is the one seen at 09:58 UTC. */
  async function fromMemory(seenAt: string) {
    const { plan, run } = await notify();
    const [target] = run.targets;
    const [detail] = run.details;
    if (target === undefined || detail === undefined) throw new Error('one target expected');
    const remembered: WatchdogRun = {
      ...run,
      targets: [{ ...target, result: 'halted', rolloutPercentage: 20 }],
      details: [{ ...detail, percentageSeenAt: seenAt }],
    };
    return buildNotification(plan, remembered);
  }

  it('says "when last seen at" in the subject, the e-mail text, the chat card and the JSON', async () => {
    const n = await fromMemory('2026-12-01T09:58:31.000Z');

    expect(n.subject).toBe(
      '[Store watchdog] HALTED Contoso Photos rollout (20% when last seen at 09:58 UTC)',
    );
    expect(n.text).toMatch(
      /\n {2}Percentage: +20% when last seen at 09:58 UTC \(2026-12-01T09:58:31\.000Z; remembered, not read again before the halt\)\n/,
    );
    expect(n.text).not.toContain('Live percentage');
    const chat = JSON.parse(JSON.parse(buildMessageStructure(n)).https);
    expect(chat.content.description).toContain('Percentage: 20% when last seen at 09:58 UTC (remembered)');
    expect(chat.content.description).not.toContain('Live: 20%');
    expect(n.json.targets[0]).toMatchObject({
      rolloutPercentage: 20,
      percentageSeenAt: '2026-12-01T09:58:31.000Z',
    });
  });

  it('keeps a live read as it was: the percentage alone', async () => {
    const { n } = await notify();
    expect(n.subject).toBe('[Store watchdog] HALTED Contoso Photos rollout (20%)');
    expect(JSON.parse(JSON.parse(buildMessageStructure(n)).https).content.description).toContain('Live: 20%');
  });
});

describe('buildNotification: which attempt', () => {
  it('a failure says the attempt and when the watchdog tries again; the last says it will not', async () => {
    const failing = { lookups: { [PHOTOS.applicationId]: new Error('boom') } };
    const { plan, run } = await notify(failing);

    const first = buildNotification(plan, run, {
      attempt: { attempt: 1, of: 3, retry: false, nextInSeconds: 30 },
    });
    const last = buildNotification(plan, run, { attempt: { attempt: 3, of: 3, retry: true } });

    expect(first.subject).toMatch(/^\[Store watchdog\] FAILED to halt Contoso Photos .* - attempt 1 of 3$/);
    expect(first.text).toContain('in about 30 s (attempt 2 of 3)');
    expect(last.subject).toMatch(/ - attempt 3 of 3$/);
    expect(last.text).toContain(
      'only the rollouts that failed (or were not finished) before were examined again',
    );
    expect(last.text).toContain('This was the last attempt: the watchdog will not try again by itself.');
  });

  it('a first attempt that succeeded says nothing about attempts in its subject', async () => {
    const { plan, run } = await notify();
    const n = buildNotification(plan, run, { attempt: { attempt: 1, of: 3, retry: false } });
    expect(n.subject).toBe('[Store watchdog] HALTED Contoso Photos rollout (20%)');
  });
});
