/**
 * Contract v2: the drill (target resolution, result, subject) and the `https` key of the notification,
 * an AWS Chatbot custom notification held to the documented event format by a schema.
 */
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  buildChatNotification,
  CHAT_LIMITS,
  threadId,
} from '../../../../functions/commons/aws/chat-notification.ts';
import { buildMessageStructure } from '../../../../functions/commons/aws/notify.ts';
import { runWatchdog } from '../../../../functions/commons/domain/decide.ts';
import type { AlarmTransition, Intake } from '../../../../functions/commons/domain/events.ts';
import { buildNotification, type Notification } from '../../../../functions/commons/domain/notification.ts';
import { MAX_SUBJECT_LENGTH } from '../../../../functions/commons/domain/notification-subject.ts';
import type { RolloutLookup } from '../../../../functions/commons/domain/ports.ts';
import { type Plan, resolveTargets } from '../../../../functions/commons/domain/targets.ts';
import type { WatchedApp } from '../../../../functions/commons/domain/watched-apps.ts';
import { StoreApiError } from '../../../../functions/commons/errors.ts';
import {
  configOf,
  FALLBACK_ID,
  fakeRollouts,
  type HaltBehaviour,
  inProgress,
  mainRef,
  PHOTOS,
  PHOTOS_SUBMISSION,
} from './fake-rollouts.ts';

const DRILL = 'store-watchdog-drill';
const MUSIC: WatchedApp = {
  applicationId: '9WZDNCRFJ3TJ',
  name: 'Contoso Music',
  alarmNames: ['contoso-music-crash-rate'],
  notifyAlarmNames: [],
  mode: 'enforce',
};
const MUSIC_SUBMISSION = '1152921504621240001';

function alarm(alarmName: string, newState: AlarmTransition['newState'] = 'ALARM'): AlarmTransition {
  return {
    alarmName,
    newState,
    previousState: newState === 'ALARM' ? 'OK' : 'ALARM',
    reason: 'Alarm state set by an operator: drill',
    time: '2026-12-02T06:00:00.000+0000',
    source: 'eventbridge',
  };
}
function intake(...alarms: AlarmTransition[]): Intake {
  return { kind: 'alarm', alarms };
}
function drillConfig(apps: WatchedApp[], dryRun = false) {
  return { ...configOf(apps, dryRun), drillAlarmName: DRILL };
}
function acting(plan: Plan) {
  if (plan.kind !== 'act') throw new Error(`expected an acting plan: ${plan.ignored}`);
  return plan;
}

describe('resolveTargets: the drill alarm', () => {
  it('is a dry run on one app, the first in WATCHDOG_APPS, when no app lists it, whatever the modes', () => {
    const plan = acting(resolveTargets(intake(alarm(DRILL)), drillConfig([PHOTOS, MUSIC])));

    expect(plan.drill).toBe(true);
    expect(
      plan.apps.map((planned) => [planned.app.applicationId, planned.dryRun, planned.dryRunCause]),
    ).toEqual([[PHOTOS.applicationId, true, 'drill']]);
    expect(plan.apps[0]?.why).toMatch(/drill alarm "store-watchdog-drill" is in ALARM.*never halts/);
  });

  it.each([
    ['alarmNames', { ...MUSIC, alarmNames: [...MUSIC.alarmNames, DRILL] }],
    ['notifyAlarmNames', { ...MUSIC, notifyAlarmNames: [DRILL] }],
  ])('is a dry run only on the apps that list it (in %s)', (_list, music) => {
    const plan = acting(resolveTargets(intake(alarm(DRILL)), drillConfig([PHOTOS, music])));

    expect(plan.apps.map((planned) => planned.app.applicationId)).toEqual([MUSIC.applicationId]);
    expect(plan.apps[0]).toMatchObject({ dryRun: true, dryRunCause: 'drill', alarmNames: [DRILL] });
  });

  it('never enforces, even for an app listing it in alarmNames with mode "enforce"', () => {
    const photos = { ...PHOTOS, alarmNames: [DRILL] };
    const plan = acting(resolveTargets(intake(alarm(DRILL)), drillConfig([photos])));

    expect(plan.apps).toEqual([expect.objectContaining({ dryRun: true, dryRunCause: 'drill' })]);
  });

  it.each(['OK', 'INSUFFICIENT_DATA'] as const)('ignores its transition into %s like any other', (state) => {
    const plan = resolveTargets(intake(alarm(DRILL, state)), drillConfig([PHOTOS]));

    expect(plan).toMatchObject({ kind: 'ignored', warn: false });
  });

  it('is an ordinary unlisted alarm when DRILL_ALARM_NAME is not set', () => {
    const plan = resolveTargets(intake(alarm(DRILL)), configOf([PHOTOS]));

    expect(plan).toMatchObject({ kind: 'ignored', warn: true });
  });

  it('leaves a real alarm in the same event acting as usual on the apps the drill does not name, and then is no DRILL', () => {
    const music = { ...MUSIC, notifyAlarmNames: [DRILL] };
    const plan = acting(
      resolveTargets(intake(alarm(DRILL), alarm('contoso-photos-crash-rate')), drillConfig([PHOTOS, music])),
    );

    // A real halt must never be announced as a drill ("nothing was halted"), nor paged as DRILL FAILED.
    expect(plan.drill).toBe(false);
    expect(plan.apps.map((planned) => [planned.app.applicationId, planned.dryRun])).toEqual([
      [PHOTOS.applicationId, false],
      [MUSIC.applicationId, true],
    ]);
  });
});

async function decide(
  plan: Plan,
  lookups: Record<string, RolloutLookup[] | Error>,
  halts: Record<string, HaltBehaviour> = {},
) {
  const acted = acting(plan);
  const clock = { t: 0 };
  const rollouts = fakeRollouts(lookups, halts, clock);
  const run = await runWatchdog(acted, { rollouts, now: () => clock.t }, new AbortController().signal);
  return { run, rollouts, n: buildNotification(acted, run) };
}

describe('a drill decision and its notification', () => {
  it('finds the live rollout, reports would-halt and never halts', async () => {
    const plan = resolveTargets(intake(alarm(DRILL)), drillConfig([PHOTOS]));
    const { run, rollouts } = await decide(plan, { [PHOTOS.applicationId]: [inProgress(mainRef(), 20)] });

    expect(run.targets).toEqual([expect.objectContaining({ result: 'would-halt', rolloutPercentage: 20 })]);
    expect(rollouts.events.filter((event) => event.startsWith('halt'))).toEqual([]);
  });

  it('says DRILL in the subject, the text, the JSON and the chat message', async () => {
    const plan = resolveTargets(intake(alarm(DRILL)), drillConfig([PHOTOS]));
    const { n } = await decide(plan, { [PHOTOS.applicationId]: [inProgress(mainRef(), 20)] });

    expect(n.drill).toBe(true);
    expect(n.subject).toBe('[Store watchdog] DRILL - DRY RUN: would halt Contoso Photos rollout (20%)');
    expect(n.text.split('\n')[0]).toMatch(/^DRILL: .*nothing was halted/);
    expect(n.text).toContain('this was a drill');
    expect(n.json.drill).toBe(true);
    const structure: Record<string, string> = JSON.parse(buildMessageStructure(n));
    const chat = JSON.parse(structure.https ?? 'null');
    expect(chat.content.title).toMatch(/^DRILL - Would halt \(dry run\): Contoso Photos$/);
    expect(chat.content.keywords).toContain('drill');
    expect(chat.metadata.additionalContext).toEqual({ outcome: 'would-halt', drill: 'true' });
  });

  it('keeps DRILL and stays within the SNS subject limit for a very long app name', async () => {
    const photos = { ...PHOTOS, name: 'Contoso '.repeat(30) };
    const plan = resolveTargets(intake(alarm(DRILL)), drillConfig([photos]));
    const { n } = await decide(plan, { [PHOTOS.applicationId]: [inProgress(mainRef(), 20)] });

    expect(n.subject.length).toBeLessThanOrEqual(MAX_SUBJECT_LENGTH);
    expect(n.subject.startsWith('[Store watchdog] DRILL - ')).toBe(true);
  });

  it('keeps both DRILL and the pending count on a long subject, the pending count last', async () => {
    const photos = { ...PHOTOS, name: 'Contoso '.repeat(30) };
    const acted = acting(resolveTargets(intake(alarm(DRILL)), drillConfig([photos])));
    const run = await runWatchdog(
      acted,
      {
        rollouts: fakeRollouts({ [PHOTOS.applicationId]: [inProgress(mainRef(), 20)] }, {}, { t: 0 }),
        now: () => 0,
      },
      new AbortController().signal,
    );
    const n = buildNotification(acted, run, {
      pending: { applicationIds: ['9WZDNCRFJ3PS', '9NBLGGH4R316'], nextPart: 2 },
    });

    expect(n.subject.length).toBeLessThanOrEqual(MAX_SUBJECT_LENGTH);
    expect(n.subject.startsWith('[Store watchdog] DRILL - ')).toBe(true);
    expect(n.subject.endsWith(' (+2 pending)')).toBe(true);
  });

  it('is not a drill for an ordinary alarm: no drill flag anywhere', async () => {
    const plan = resolveTargets(intake(alarm('contoso-photos-crash-rate')), drillConfig([PHOTOS]));
    const { n } = await decide(plan, { [PHOTOS.applicationId]: [inProgress(mainRef(), 20)] });

    expect(n.drill).toBe(false);
    expect(n.subject).not.toContain('DRILL');
    expect(n.json).not.toHaveProperty('drill');
  });
});

/**
 * The custom notification event format of AWS Chatbot (Amazon Q Developer in chat applications):
 * `version` must be "1.0", `source` must be "custom", `textType` only "client-markdown"; the length
 * bounds are the ones the builder promises (`CHAT_LIMITS`, at or below AWS's).
 */
const chatSchema = z.strictObject({
  version: z.literal('1.0'),
  source: z.literal('custom'),
  id: z.string().optional(),
  content: z.strictObject({
    textType: z.literal('client-markdown'),
    title: z.string().min(1).max(CHAT_LIMITS.title),
    description: z.string().min(1).max(CHAT_LIMITS.description),
    nextSteps: z.array(z.string().min(1).max(CHAT_LIMITS.nextStep)).min(1).max(CHAT_LIMITS.nextSteps),
    keywords: z.array(z.string().min(1).max(CHAT_LIMITS.keyword)).min(1).max(CHAT_LIMITS.keywords),
  }),
  metadata: z.strictObject({
    threadId: z.string().min(1).max(CHAT_LIMITS.threadId),
    summary: z.string().min(1).max(CHAT_LIMITS.summary),
    eventType: z.string().min(1),
    relatedResources: z.array(z.string()).optional(),
    additionalContext: z.record(z.string(), z.string()),
  }),
});

describe('the https message: an AWS Chatbot custom notification', () => {
  it('fits the event format and carries the facts of a halt', async () => {
    const plan = resolveTargets(intake(alarm('contoso-photos-crash-rate')), configOf([PHOTOS]));
    const { n } = await decide(plan, { [PHOTOS.applicationId]: [inProgress(mainRef(), 20)] });

    const chat = chatSchema.parse(JSON.parse(JSON.parse(buildMessageStructure(n)).https));

    expect(chat.content.title).toBe('HALTED: Contoso Photos');
    for (const fact of [
      PHOTOS_SUBMISSION,
      'Live: 20%',
      `Fallback: ${FALLBACK_ID}`,
      'contoso-photos-crash-rate',
      'Time to halt',
    ]) {
      expect(chat.content.description).toContain(fact);
    }
    expect(chat.content.nextSteps[0]).toMatch(/^Investigate the crashes/);
    expect(chat.content.nextSteps).toContain(
      'Partner Center: https://partner.microsoft.com/dashboard/products/9NBLGGH4R315/overview',
    );
    expect(chat.content.keywords).toEqual(['halted', PHOTOS.applicationId]);
    expect(chat.metadata).toMatchObject({
      threadId: `store-watchdog-${PHOTOS.applicationId}-${PHOTOS_SUBMISSION}`,
      summary: n.subject,
      additionalContext: { outcome: 'halted' },
    });
  });

  it('threads by app and submission: the retry of the same rollout lands in the same thread, another app not', async () => {
    const first = await decide(
      resolveTargets(intake(alarm('contoso-photos-crash-rate')), configOf([PHOTOS])),
      {
        [PHOTOS.applicationId]: [inProgress(mainRef(), 20)],
      },
    );
    const retry = await decide(
      resolveTargets(intake(alarm('contoso-photos-crash-rate')), configOf([PHOTOS])),
      { [PHOTOS.applicationId]: [inProgress(mainRef(), 20)] },
      { [PHOTOS_SUBMISSION]: 'already-halted' },
    );
    const music = await decide(resolveTargets(intake(alarm('contoso-music-crash-rate')), configOf([MUSIC])), {
      [MUSIC.applicationId]: [inProgress(mainRef(MUSIC.applicationId, MUSIC_SUBMISSION), 10)],
    });
    const thread = (n: Notification) =>
      JSON.parse(JSON.parse(buildMessageStructure(n)).https).metadata.threadId;

    expect(thread(retry.n)).toBe(thread(first.n));
    expect(thread(music.n)).not.toBe(thread(first.n));
    expect(threadId({ applicationId: MUSIC.applicationId })).toBe(
      `store-watchdog-${MUSIC.applicationId}-no-submission`,
    );
  });

  it('names a failure with its safe error and the act-now step, within the bounds', async () => {
    const plan = resolveTargets(intake(alarm('contoso-photos-crash-rate')), configOf([PHOTOS]));
    const { n } = await decide(
      plan,
      { [PHOTOS.applicationId]: [inProgress(mainRef(), 20)] },
      {
        [PHOTOS_SUBMISSION]: new StoreApiError('STORE_CONFLICT', 'the Store answered 409 Conflict', {
          status: 409,
        }),
      },
    );

    const chat = chatSchema.parse(JSON.parse(JSON.parse(buildMessageStructure(n)).https));

    expect(chat.content.title).toBe('FAILED to halt (act now): Contoso Photos');
    expect(chat.content.description).toContain('STORE_CONFLICT');
    expect(chat.content.nextSteps[0]).toMatch(/^ACT NOW/);
    expect(chat.metadata.additionalContext).toEqual({ outcome: 'failed' });
  });

  it('stays within every bound for hundreds of rollouts and very long names', async () => {
    const photos = { ...PHOTOS, name: 'Contoso Photos '.repeat(17) };
    const apps = [photos, { ...MUSIC, name: 'Contoso Music '.repeat(18), alarmNames: photos.alarmNames }];
    const flights = Array.from({ length: 300 }, (_, i) =>
      inProgress({
        applicationId: PHOTOS.applicationId,
        flightId: `7bfc11d5-f710-47c5-8a67-${String(i).padStart(12, '0')}`,
        submissionId: `${9_000_000 + i}`,
      }),
    );
    const plan = resolveTargets(intake(alarm('contoso-photos-crash-rate')), configOf(apps, true));
    const { n } = await decide(plan, {
      [PHOTOS.applicationId]: flights,
      [MUSIC.applicationId]: [inProgress(mainRef(MUSIC.applicationId, MUSIC_SUBMISSION), 10)],
    });

    const chat = chatSchema.parse(JSON.parse(JSON.parse(buildMessageStructure(n)).https));

    expect(chat.content.description.endsWith('...')).toBe(true);
    expect(chat.content.title.length).toBeLessThanOrEqual(CHAT_LIMITS.title);
  });

  it('builds from the notification JSON alone', () => {
    const chat = buildChatNotification({
      drill: false,
      json: {
        schemaVersion: 1,
        outcome: 'no-active-rollout',
        subject: '[Store watchdog] No active rollout to halt for Contoso Photos',
        trigger: { kind: 'manual', enforceRequested: false },
        targets: [
          {
            applicationId: PHOTOS.applicationId,
            result: 'no-active-rollout',
            appName: 'Contoso Photos',
            dryRun: true,
            elapsedMs: 1500,
            alarmNames: [],
            partnerCenterUrl: 'https://partner.microsoft.com/dashboard/products/9NBLGGH4R315/overview',
          },
        ],
        timings: { decisionMs: 1500 },
      },
    });

    expect(chatSchema.parse(chat).content.description).toContain(
      'Submission: none found | Decided after: 1.5 s',
    );
    expect(chat.content.nextSteps).toEqual([
      'Partner Center: https://partner.microsoft.com/dashboard/products/9NBLGGH4R315/overview',
    ]);
  });
});
