/**
 * The Lambda contract (docs/lambda-contract.md), statement by statement, against the real handler with
 * the Store simulator and moto (Secrets Manager; SNS with an SQS queue subscribed).
 */
import { afterEach, describe, expect, it } from 'vitest';
import {
  app,
  flight,
  publishedSubmission,
  rollout,
  SAMPLE_APP_ID,
  SAMPLE_FALLBACK_SUBMISSION_ID,
  SAMPLE_FLIGHT_ID,
  SAMPLE_FLIGHT_SUBMISSION_ID,
  SAMPLE_PENDING_SUBMISSION_ID,
  SAMPLE_PUBLISHED_SUBMISSION_ID,
  SAMPLE_QUIET_APP_ID,
  SAMPLE_TENANT,
  sampleState,
  stateWith,
  submission,
} from '../../../tools/store-simulator/sample-state.ts';
import { loadEventFixture } from '../../fixtures/events/load.ts';
import { describeWithMoto, MOTO_SKIP_REASON } from '../../support/aws.ts';
import type { ReceivedNotification } from '../../support/aws-resources.ts';
import {
  type HarnessOptions,
  SAMPLE_ALARM,
  SAMPLE_APPS,
  startWatchdog,
  type WatchdogHarness,
} from '../../support/watchdog-harness.ts';

const MAIN_HALTED = {
  applicationId: SAMPLE_APP_ID,
  submissionId: SAMPLE_PUBLISHED_SUBMISSION_ID,
  result: 'halted',
  rolloutPercentage: 20,
  fallbackSubmissionId: SAMPLE_FALLBACK_SUBMISSION_ID,
};
const FLIGHT_HALTED = {
  applicationId: SAMPLE_APP_ID,
  flightId: SAMPLE_FLIGHT_ID,
  submissionId: SAMPLE_FLIGHT_SUBMISSION_ID,
  result: 'halted',
  rolloutPercentage: 50,
};

const harnesses: WatchdogHarness[] = [];
async function watchdog(options: HarnessOptions = {}): Promise<WatchdogHarness> {
  const harness = await startWatchdog(options);
  harnesses.push(harness);
  return harness;
}
afterEach(async () => {
  await Promise.all(harnesses.splice(0).map((harness) => harness.close()));
});

function storeCalls(harness: WatchdogHarness): string[] {
  return harness.simulator.control.requests
    .filter((request) => request.kind === 'store')
    .map((request) => `${request.method} ${request.path.replace('/v1.0/my/', '')}`);
}

function onlyNotification(notifications: ReceivedNotification[]): {
  subject: string;
  json: Record<string, unknown>;
} {
  expect(notifications).toHaveLength(1);
  const [notification] = notifications;
  if (notification === undefined) throw new Error('no notification');
  return { subject: notification.subject ?? '', json: JSON.parse(notification.message) };
}

function sampleSnsAlarm(alarmName = SAMPLE_ALARM): unknown {
  const event = loadEventFixture('sns-alarm');
  return JSON.parse(JSON.stringify(event).replaceAll(SAMPLE_ALARM, alarmName));
}

describeWithMoto(`halt-rollout handler: the Lambda contract${MOTO_SKIP_REASON}`, () => {
  describe('events it accepts', () => {
    it('halts the live main rollout and the watched flight on an SNS-delivered alarm, never the pending submission', async () => {
      const harness = await watchdog();

      const { result, error } = await harness.invoke(loadEventFixture('sns-alarm'));

      expect(error).toBeUndefined();
      expect(result).toEqual({ targets: [MAIN_HALTED, expect.objectContaining(FLIGHT_HALTED)] });
      expect(result).not.toHaveProperty('ignored');
      const control = harness.simulator.control;
      expect(control.rollout(SAMPLE_APP_ID, SAMPLE_PUBLISHED_SUBMISSION_ID).packageRolloutStatus).toBe(
        'PackageRolloutStopped',
      );
      expect(control.rollout(SAMPLE_APP_ID, SAMPLE_PENDING_SUBMISSION_ID).packageRolloutStatus).toBe(
        'PackageRolloutNotStarted',
      );
      expect(control.effectiveHalts).toBe(2);
    });

    it('halts on an EventBridge "CloudWatch Alarm State Change" into ALARM', async () => {
      const harness = await watchdog();

      const { result } = await harness.invoke(loadEventFixture('eventbridge-alarm'));

      expect(result?.targets.map((target) => target.result)).toEqual(['halted', 'halted']);
    });

    it.each(['sns-alarm-ok', 'eventbridge-alarm-ok', 'eventbridge-insufficient-data'] as const)(
      'ignores a transition that is not into ALARM (%s): no Store call, no notification',
      async (fixture) => {
        const harness = await watchdog();

        const { result, error } = await harness.invoke(loadEventFixture(fixture));

        expect(error).toBeUndefined();
        expect(result?.targets).toEqual([]);
        expect(result?.ignored).toMatch(/\S/);
        expect(storeCalls(harness)).toEqual([]);
        expect(await harness.sink.drain()).toEqual([]);
      },
    );

    it('ignores, with a warning in the log, an alarm that no app lists', async () => {
      const harness = await watchdog();

      const { result, logs } = await harness.invoke(sampleSnsAlarm('some-other-alarm'));

      expect(result?.targets).toEqual([]);
      expect(result?.ignored).toContain('some-other-alarm');
      const warnings = logs.map((line) => JSON.parse(line)).filter((entry) => entry.level === 'WARN');
      expect(JSON.stringify(warnings)).toContain('some-other-alarm');
      expect(storeCalls(harness)).toEqual([]);
      expect(await harness.sink.drain()).toEqual([]);
    });

    it('treats a manual event as a dry run unless it says "dryRun": false', async () => {
      const harness = await watchdog();

      const { result } = await harness.invoke(loadEventFixture('manual-dry-run'));

      expect(result?.targets.map((target) => target.result)).toEqual(['would-halt', 'would-halt']);
      expect(result?.targets[0]).toMatchObject({
        submissionId: SAMPLE_PUBLISHED_SUBMISSION_ID,
        rolloutPercentage: 20,
      });
      expect(harness.simulator.control.effectiveHalts).toBe(0);
      expect(storeCalls(harness).filter((call) => call.startsWith('POST'))).toEqual([]);
      const { json } = onlyNotification(await harness.sink.drain({ expect: 1 }));
      expect(json.outcome).toBe('would-halt');
    });

    it('halts on a manual event with "dryRun": false', async () => {
      const harness = await watchdog();

      const { result } = await harness.invoke(loadEventFixture('manual-enforce'));

      expect(result?.targets.map((target) => target.result)).toEqual(['halted', 'halted']);
    });

    it.each([
      ['"dryRun": "false" (a string)', { applicationId: SAMPLE_APP_ID, dryRun: 'false' }],
      ['"dryRun": 0', { applicationId: SAMPLE_APP_ID, dryRun: 0 }],
    ])('treats a manual event with %s as a dry run: only exactly false enforces', async (_label, event) => {
      const harness = await watchdog();

      const { result, error } = await harness.invoke(event);

      expect(error).toBeUndefined();
      expect(result?.targets.map((target) => target.result)).toEqual(['would-halt', 'would-halt']);
      expect(harness.simulator.control.effectiveHalts).toBe(0);
    });

    it.each([
      ['an unknown shape', { hello: 'world' }, /event/i],
      [
        'a manual event for an app that is not watched',
        { applicationId: SAMPLE_QUIET_APP_ID, dryRun: false },
        /9NBLGGH29DM8/,
      ],
      ['a malformed applicationId', { applicationId: '../../applications', dryRun: false }, /applicationId/],
      [
        'an SNS record whose Message is not JSON',
        { Records: [{ EventSource: 'aws:sns', Sns: { Type: 'Notification', Message: 'not json {' } }] },
        /Message/,
      ],
      ['null', null, /event/i],
    ])('rejects %s before any Store call, and publishes nothing', async (_label, event, message) => {
      const harness = await watchdog();

      const { result, error } = await harness.invoke(event);

      expect(result).toBeUndefined();
      expect(error?.message).toMatch(message);
      expect(harness.simulator.control.requests).toEqual([]);
      expect(await harness.sink.drain()).toEqual([]);
    });
  });

  describe('dry-run precedence', () => {
    it('the global DRY_RUN wins over a manual "dryRun": false', async () => {
      const harness = await watchdog({ env: { DRY_RUN: 'TRUE' } });

      const { result } = await harness.invoke(loadEventFixture('manual-enforce'));

      expect(result?.targets.map((target) => target.result)).toEqual(['would-halt', 'would-halt']);
      expect(harness.simulator.control.effectiveHalts).toBe(0);
    });

    it('the global DRY_RUN turns an alarm into would-halt', async () => {
      const harness = await watchdog({ env: { DRY_RUN: 'true' } });

      const { result } = await harness.invoke(loadEventFixture('sns-alarm'));

      expect(result?.targets.map((target) => target.result)).toEqual(['would-halt', 'would-halt']);
      expect(harness.simulator.control.effectiveHalts).toBe(0);
    });

    it('an app in mode "dry-run" is never halted, even by a manual "dryRun": false', async () => {
      const harness = await watchdog({ apps: [{ ...SAMPLE_APPS[0], mode: 'dry-run' }] });

      const alarm = await harness.invoke(loadEventFixture('sns-alarm'));
      const manual = await harness.invoke(loadEventFixture('manual-enforce'));

      expect(alarm.result?.targets.map((target) => target.result)).toEqual(['would-halt', 'would-halt']);
      expect(manual.result?.targets.map((target) => target.result)).toEqual(['would-halt', 'would-halt']);
      expect(harness.simulator.control.effectiveHalts).toBe(0);
    });
  });

  describe('what it returns', () => {
    it('lists every rollout it examined, including those with no active rollout', async () => {
      const state = stateWith(
        app(SAMPLE_APP_ID, [publishedSubmission(SAMPLE_PUBLISHED_SUBMISSION_ID, 20)], {
          flights: [
            flight(SAMPLE_FLIGHT_ID, 'Insiders', [
              submission(
                SAMPLE_FLIGHT_SUBMISSION_ID,
                'Published',
                rollout('PackageRolloutComplete', 100, '1'),
              ),
            ]),
          ],
        }),
        app(SAMPLE_QUIET_APP_ID, [submission('1152921504621225621', 'Published')]),
      );
      const harness = await watchdog({
        state,
        apps: [...SAMPLE_APPS, { applicationId: SAMPLE_QUIET_APP_ID, alarmNames: [SAMPLE_ALARM] }],
      });

      const { result } = await harness.invoke(loadEventFixture('sns-alarm'));

      expect(result?.targets).toEqual([
        expect.objectContaining({ applicationId: SAMPLE_APP_ID, result: 'halted' }),
        expect.objectContaining({
          applicationId: SAMPLE_APP_ID,
          flightId: SAMPLE_FLIGHT_ID,
          result: 'no-active-rollout',
        }),
        expect.objectContaining({ applicationId: SAMPLE_QUIET_APP_ID, result: 'no-active-rollout' }),
      ]);
      expect(result?.targets[2]).not.toHaveProperty('flightId');
    });

    it('an app with flights "all" and no flights has only its main rollout', async () => {
      const state = stateWith(app(SAMPLE_APP_ID, [publishedSubmission(SAMPLE_PUBLISHED_SUBMISSION_ID, 5)]));
      const harness = await watchdog({ state });

      const { result } = await harness.invoke(loadEventFixture('sns-alarm'));

      expect(result?.targets).toEqual([{ ...MAIN_HALTED, rolloutPercentage: 5 }]);
    });

    it('watches only the main rollout when flights are absent, and only the listed flights otherwise', async () => {
      const mainOnly = await watchdog({ apps: [{ ...SAMPLE_APPS[0], flights: undefined }] });
      const listed = await watchdog({ apps: [{ ...SAMPLE_APPS[0], flights: [SAMPLE_FLIGHT_ID] }] });

      const main = await mainOnly.invoke(loadEventFixture('sns-alarm'));
      const both = await listed.invoke(loadEventFixture('sns-alarm'));

      expect(main.result?.targets).toEqual([MAIN_HALTED]);
      expect(storeCalls(mainOnly).some((call) => call.includes('flights'))).toBe(false);
      expect(both.result?.targets.map((target) => target.flightId)).toEqual([undefined, SAMPLE_FLIGHT_ID]);
    });

    it('reports already-halted on a duplicate delivery, and halts nothing twice', async () => {
      const harness = await watchdog();

      await harness.invoke(loadEventFixture('sns-alarm'));
      const second = await harness.invoke(loadEventFixture('eventbridge-alarm'));

      expect(second.error).toBeUndefined();
      expect(second.result?.targets).toEqual([
        expect.objectContaining({ result: 'already-halted', submissionId: SAMPLE_PUBLISHED_SUBMISSION_ID }),
        expect.objectContaining({ result: 'already-halted', flightId: SAMPLE_FLIGHT_ID }),
      ]);
      expect(harness.simulator.control.effectiveHalts).toBe(2);
      const notifications = await harness.sink.drain({ expect: 2 });
      expect(notifications.map((notification) => notification.attributes.outcome)).toEqual([
        'halted',
        'already-halted',
      ]);
    });

    it('only reads and halts: never changes a percentage, finalizes, or touches a submission', async () => {
      const harness = await watchdog();

      await harness.invoke(loadEventFixture('sns-alarm'));

      const posts = storeCalls(harness).filter((call) => call.startsWith('POST'));
      expect(posts).toHaveLength(2);
      expect(posts.every((call) => call.endsWith('/haltpackagerollout'))).toBe(true);
      expect(storeCalls(harness).every((call) => /^(GET|POST) /.test(call))).toBe(true);
    });
  });

  describe('notifications', () => {
    it('publishes exactly one message that says what happened and what to do, with the outcome attribute', async () => {
      const harness = await watchdog();

      await harness.invoke(loadEventFixture('sns-alarm'));

      const notifications = await harness.sink.drain({ expect: 1 });
      const { subject, json } = onlyNotification(notifications);
      expect(notifications[0]?.attributes).toEqual({ outcome: 'halted' });
      expect(subject.length).toBeLessThan(100);
      expect(subject).toMatch(/HALTED/);
      const body = JSON.stringify(json);
      for (const fact of [
        'Contoso Photos',
        SAMPLE_APP_ID,
        SAMPLE_PUBLISHED_SUBMISSION_ID,
        SAMPLE_FALLBACK_SUBMISSION_ID,
        SAMPLE_ALARM,
        'Threshold Crossed',
        'https://partner.microsoft.com/dashboard/products/9NBLGGH4R315/overview',
      ]) {
        expect(body).toContain(fact);
      }
      expect(json.targets).toEqual([
        expect.objectContaining({
          result: 'halted',
          rolloutPercentage: 20,
          nextStep: expect.stringMatching(/new submission/),
        }),
        expect.objectContaining({ result: 'halted', rolloutPercentage: 50 }),
      ]);
    });

    it('uses the app ID as its name when none is configured', async () => {
      const harness = await watchdog({
        apps: [{ applicationId: SAMPLE_APP_ID, alarmNames: [SAMPLE_ALARM] }],
      });

      await harness.invoke(loadEventFixture('sns-alarm'));

      const { subject } = onlyNotification(await harness.sink.drain({ expect: 1 }));
      expect(subject).toContain(SAMPLE_APP_ID);
    });

    it('sets outcome to the worst result among the targets', async () => {
      const state = sampleState();
      const harness = await watchdog({
        state,
        apps: [
          { ...SAMPLE_APPS[0], flights: undefined },
          { applicationId: SAMPLE_QUIET_APP_ID, alarmNames: [SAMPLE_ALARM], mode: 'dry-run' },
        ],
      });
      // The quiet app has no rollout, so its dry run finds nothing: the worst is the main halt.
      await harness.invoke(loadEventFixture('sns-alarm'));
      const [first] = await harness.sink.drain({ expect: 1 });
      expect(first?.attributes.outcome).toBe('halted');

      harness.simulator.control.failNext({ status: 404, count: 10, match: { path: SAMPLE_QUIET_APP_ID } });
      const failing = await harness.invoke(loadEventFixture('sns-alarm'));
      expect(failing.error).toMatchObject({ name: 'TargetsFailedError', code: 'TARGETS_FAILED' });
      const [second] = await harness.sink.drain({ expect: 1 });
      expect(second?.attributes.outcome).toBe('failed');
    });
  });

  describe('failure', () => {
    it('publishes the notification first, then fails the invocation when a target failed', async () => {
      const harness = await watchdog();
      harness.simulator.control.failNext({
        status: 409,
        count: 10,
        match: { method: 'POST' },
        body: {
          code: 'InvalidState',
          message: 'This application uses features that are not supported by the submission API.',
        },
      });
      harness.simulator.control.failNext({
        status: 500,
        count: 50,
        match: { path: '/packagerollout', method: 'GET' },
      });

      const { result, error } = await harness.invoke(loadEventFixture('sns-alarm'), { remainingMs: 10_000 });

      expect(result).toBeUndefined();
      expect(error?.message).toMatch(/could not be handled/);
      const { json } = onlyNotification(await harness.sink.drain({ expect: 1 }));
      expect(json.outcome).toBe('failed');
    });

    it('fails every target, says why by field name, and then fails when the secret is malformed', async () => {
      const harness = await watchdog({
        secretString: JSON.stringify({
          tenantId: SAMPLE_TENANT.tenantId,
          clientSecret: SAMPLE_TENANT.clientSecret,
        }),
      });

      const { result, error } = await harness.invoke(loadEventFixture('sns-alarm'));

      expect(result).toBeUndefined();
      expect(error).toMatchObject({ name: 'TargetsFailedError', code: 'TARGETS_FAILED' });
      const notifications = await harness.sink.drain({ expect: 1 });
      const { json } = onlyNotification(notifications);
      const targets = json.targets;
      expect(Array.isArray(targets) && targets.length > 0).toBe(true);
      expect(JSON.stringify(targets)).toContain('clientId');
      expect(JSON.stringify(json)).not.toContain(SAMPLE_TENANT.clientSecret);
      expect(json.outcome).toBe('failed');
      expect(harness.simulator.control.requests.filter((request) => request.kind === 'store')).toEqual([]);
    });

    it('fails every target when the secret does not exist, and notifies', async () => {
      const harness = await watchdog({ secretString: null });

      const { error } = await harness.invoke(loadEventFixture('sns-alarm'));

      expect(error).toMatchObject({ name: 'TargetsFailedError', code: 'TARGETS_FAILED' });
      const { json } = onlyNotification(await harness.sink.drain({ expect: 1 }));
      expect(json.outcome).toBe('failed');
      expect(JSON.stringify(json)).toMatch(/does not exist/);
    });

    it('notifies and ends before its own time budget when the Store hangs', async () => {
      const harness = await watchdog();
      harness.simulator.control.hangNext({ count: 100, match: { kind: 'store' } });
      const budgetMs = 6000;

      const startedAt = Date.now();
      const { error } = await harness.invoke(loadEventFixture('sns-alarm'), { remainingMs: budgetMs });
      const tookMs = Date.now() - startedAt;

      expect(error).toMatchObject({ name: 'TargetsFailedError', code: 'TARGETS_FAILED' });
      expect(tookMs).toBeLessThan(budgetMs);
      const { json } = onlyNotification(await harness.sink.drain({ expect: 1 }));
      expect(json.outcome).toBe('failed');
    });
  });

  describe('environment', () => {
    it.each([
      ['STORE_CREDENTIALS_SECRET_ID', { STORE_CREDENTIALS_SECRET_ID: undefined }],
      ['NOTIFICATION_TOPIC_ARN', { NOTIFICATION_TOPIC_ARN: undefined }],
      ['WATCHDOG_APPS', { WATCHDOG_APPS: '[{"applicationId":"nope"}]' }],
      ['WATCHDOG_APPS', { WATCHDOG_APPS: 'not json' }],
      ['DRY_RUN', { DRY_RUN: 'yes' }],
      ['STORE_API_BASE_URL', { STORE_API_BASE_URL: 'http://store.example.com/v1.0/my/' }],
      ['AZURE_AD_AUTHORITY', { AZURE_AD_AUTHORITY: 'ftp://login.example.com' }],
    ])(
      'fails the invocation with an error naming %s when it is missing or malformed',
      async (variable, env) => {
        const harness = await watchdog({ env });

        const { error } = await harness.invoke(loadEventFixture('sns-alarm'));

        expect(error?.message).toContain(variable);
        expect(harness.simulator.control.requests).toEqual([]);
        expect(await harness.sink.drain()).toEqual([]);
      },
    );
  });

  describe('logs', () => {
    it('writes only structured JSON lines, with the alarm, app, submission and decision', async () => {
      const harness = await watchdog();

      const halted = await harness.invoke(loadEventFixture('sns-alarm'));
      const ignored = await harness.invoke(loadEventFixture('sns-alarm-ok'));
      const rejected = await harness.invoke({ nonsense: true });

      const lines = [...halted.logs, ...ignored.logs, ...rejected.logs];
      const entries = lines.map((line) => JSON.parse(line));
      expect(entries.length).toBeGreaterThan(3);
      expect(entries).toContainEqual(
        expect.objectContaining({
          alarmNames: [SAMPLE_ALARM],
          applicationId: SAMPLE_APP_ID,
          submissionId: SAMPLE_PUBLISHED_SUBMISSION_ID,
          result: 'halted',
        }),
      );
      expect(entries).toContainEqual(expect.objectContaining({ level: 'ERROR', message: 'event rejected' }));
    });
  });

  describe('secrets', () => {
    it('never writes the client secret into a log line, an error or a notification', async () => {
      const harness = await watchdog();
      harness.simulator.control.expireAllTokens();

      const outputs: string[] = [];
      for (const fixture of ['sns-alarm', 'eventbridge-alarm', 'manual-dry-run'] as const) {
        const { error, logs, result } = await harness.invoke(loadEventFixture(fixture));
        outputs.push(...logs, String(error?.stack), JSON.stringify(result));
      }
      for (const notification of await harness.sink.drain({ expect: 3 }))
        outputs.push(JSON.stringify(notification));
      outputs.push(...harness.allLogs);

      expect(outputs.join('\n')).not.toContain(SAMPLE_TENANT.clientSecret);
    });
  });
});
