/**
 * Lambda contract version 2, the statements about signals: notify-only alarms, composite alarms and a
 * failed invocation's error that names its causes. Against the real handler with the Store simulator
 * and moto (Secrets Manager; SNS with an SQS queue subscribed), like `handler.test.ts`.
 */
import { afterEach, describe, expect, it } from 'vitest';
import {
  SAMPLE_APP_ID,
  SAMPLE_PUBLISHED_SUBMISSION_ID,
  SAMPLE_TENANT,
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

const WARNING_ALARM = 'contoso-photos-crash-rate-warning';
const COMPOSITE_ALARM = 'contoso-photos-corroborated';
const HANG_ALARM = 'contoso-photos-hang-rate';

const harnesses: WatchdogHarness[] = [];
async function watchdog(options: HarnessOptions = {}): Promise<WatchdogHarness> {
  const harness = await startWatchdog(options);
  harnesses.push(harness);
  return harness;
}
afterEach(async () => {
  await Promise.all(harnesses.splice(0).map((harness) => harness.close()));
});

function onlyNotification(notifications: ReceivedNotification[]): {
  json: Record<string, unknown>;
  attributes: Record<string, string>;
} {
  expect(notifications).toHaveLength(1);
  const [notification] = notifications;
  if (notification === undefined) throw new Error('no notification');
  return { json: JSON.parse(notification.message), attributes: notification.attributes };
}

/** The sample SNS alarm event with one record per alarm name, all going OK → ALARM. */
function snsAlarms(...alarmNames: string[]): unknown {
  const event = loadEventFixture('sns-alarm');
  const json = JSON.stringify(event);
  const records = alarmNames.map((name) => {
    const one: unknown = JSON.parse(json.replaceAll(SAMPLE_ALARM, name));
    if (typeof one !== 'object' || one === null || !('Records' in one) || !Array.isArray(one.Records)) {
      throw new Error('the sns-alarm fixture has no Records');
    }
    return one.Records[0];
  });
  return { Records: records };
}

/** The sample app with the given halting and notify-only alarms, enforcing. */
function sampleApp(alarmNames: string[], notifyAlarmNames: string[]): HarnessOptions['apps'] {
  return [{ ...SAMPLE_APPS[0], alarmNames, notifyAlarmNames }];
}

describeWithMoto(`halt-rollout handler: contract v2 signals${MOTO_SKIP_REASON}`, () => {
  describe('notify-only alarms', () => {
    it('gives would-halt for every live rollout, never a halt, even with DRY_RUN false and mode "enforce"', async () => {
      const harness = await watchdog({
        apps: sampleApp([SAMPLE_ALARM], [WARNING_ALARM]),
        env: { DRY_RUN: 'false' },
      });

      const { result, error } = await harness.invoke(snsAlarms(WARNING_ALARM));

      expect(error).toBeUndefined();
      expect(result?.targets.map((target) => target.result)).toEqual(['would-halt', 'would-halt']);
      expect(result?.targets[0]?.submissionId).toBe(SAMPLE_PUBLISHED_SUBMISSION_ID);
      expect(harness.simulator.control.effectiveHalts).toBe(0);
      expect(
        harness.simulator.control.requests.filter(
          (request) => request.method === 'POST' && request.kind === 'store',
        ),
      ).toEqual([]);
    });

    it('says in the notification that the alarm is notify-only', async () => {
      const harness = await watchdog({ apps: sampleApp([SAMPLE_ALARM], [WARNING_ALARM]) });

      await harness.invoke(snsAlarms(WARNING_ALARM));

      const { json, attributes } = onlyNotification(await harness.sink.drain({ expect: 1 }));
      expect(attributes.outcome).toBe('would-halt');
      const targets = Array.isArray(json.targets) ? json.targets : [];
      expect(targets).toHaveLength(2);
      for (const target of targets) {
        expect(target).toMatchObject({
          dryRun: true,
          dryRunCause: 'notify-only',
          alarmNames: [WARNING_ALARM],
        });
        expect(String(target.nextStep)).toMatch(/notify-only/);
      }
    });

    it('is never a halt whatever the modes: also with an app in mode "dry-run" and the global DRY_RUN', async () => {
      const harness = await watchdog({
        apps: [
          {
            ...SAMPLE_APPS[0],
            alarmNames: [SAMPLE_ALARM],
            notifyAlarmNames: [WARNING_ALARM],
            mode: 'dry-run',
          },
        ],
        env: { DRY_RUN: 'true' },
      });

      const { result } = await harness.invoke(snsAlarms(WARNING_ALARM));

      expect(result?.targets.map((target) => target.result)).toEqual(['would-halt', 'would-halt']);
      expect(harness.simulator.control.effectiveHalts).toBe(0);
      const { json } = onlyNotification(await harness.sink.drain({ expect: 1 }));
      expect(JSON.stringify(json.targets)).toContain('"dryRunCause":"notify-only"');
    });

    it('lets the halting alarm decide when a halting and a notify-only alarm of the app are in ALARM in one event', async () => {
      const harness = await watchdog({ apps: sampleApp([SAMPLE_ALARM], [WARNING_ALARM]) });

      const { result, error } = await harness.invoke(snsAlarms(WARNING_ALARM, SAMPLE_ALARM));

      expect(error).toBeUndefined();
      expect(result?.targets.map((target) => target.result)).toEqual(['halted', 'halted']);
      expect(harness.simulator.control.effectiveHalts).toBe(2);
      const { json } = onlyNotification(await harness.sink.drain({ expect: 1 }));
      expect(JSON.stringify(json.targets)).not.toContain('notify-only');
    });

    it('halts the app that lists an alarm as halting and only notifies about the app that lists it notify-only', async () => {
      const harness = await watchdog({
        apps: [
          { ...SAMPLE_APPS[0], alarmNames: [SAMPLE_ALARM], notifyAlarmNames: [] },
          {
            applicationId: '9NBLGGH29DM8',
            name: 'Contoso Quiet',
            alarmNames: ['other'],
            notifyAlarmNames: [SAMPLE_ALARM],
          },
        ],
      });

      const { result } = await harness.invoke(snsAlarms(SAMPLE_ALARM));

      const byApp = new Map<string, string[]>();
      for (const target of result?.targets ?? []) {
        byApp.set(target.applicationId, [...(byApp.get(target.applicationId) ?? []), target.result]);
      }
      expect(byApp.get(SAMPLE_APP_ID)).toEqual(['halted', 'halted']);
      expect(byApp.get('9NBLGGH29DM8')?.every((kind) => kind !== 'halted')).toBe(true);
    });

    it('fails with an error naming WATCHDOG_APPS when an app lists an alarm in both lists', async () => {
      const harness = await watchdog({ apps: sampleApp([SAMPLE_ALARM], [SAMPLE_ALARM]) });

      const { result, error } = await harness.invoke(loadEventFixture('sns-alarm'));

      expect(result).toBeUndefined();
      expect(error?.message).toContain('WATCHDOG_APPS');
      expect(error?.message).toContain('notifyAlarmNames');
      expect(harness.simulator.control.requests).toEqual([]);
      expect(await harness.sink.drain()).toEqual([]);
    });
  });

  describe('composite alarms', () => {
    it.each(['sns-composite-alarm', 'eventbridge-composite-alarm'] as const)(
      'handles a composite alarm by name like a metric alarm (%s), and the notification names the triggering child',
      async (fixture) => {
        const harness = await watchdog({ apps: sampleApp([COMPOSITE_ALARM], [SAMPLE_ALARM, HANG_ALARM]) });

        const { result, error } = await harness.invoke(loadEventFixture(fixture));

        expect(error).toBeUndefined();
        expect(result?.targets.map((target) => target.result)).toEqual(['halted', 'halted']);
        const { json } = onlyNotification(await harness.sink.drain({ expect: 1 }));
        expect(json.trigger).toMatchObject({
          kind: 'alarm',
          alarms: [
            {
              alarmName: COMPOSITE_ALARM,
              composite: {
                rule: `ALARM("${SAMPLE_ALARM}") AND ALARM("${HANG_ALARM}")`,
                triggeringChildren: [HANG_ALARM],
              },
            },
          ],
        });
      },
    );

    it('ignores a composite alarm that no app lists', async () => {
      const harness = await watchdog();

      const { result } = await harness.invoke(loadEventFixture('eventbridge-composite-alarm'));

      expect(result?.targets).toEqual([]);
      expect(result?.ignored).toContain(COMPOSITE_ALARM);
      expect(harness.simulator.control.requests).toEqual([]);
    });
  });

  describe('failure', () => {
    it('names the cause of each failed target in the invocation error, by field, never the secret', async () => {
      const harness = await watchdog({
        secretString: JSON.stringify({ tenantId: SAMPLE_TENANT.tenantId, clientId: SAMPLE_TENANT.clientId }),
      });

      const { result, error } = await harness.invoke(loadEventFixture('sns-alarm'));

      expect(result).toBeUndefined();
      expect(error?.message).toMatch(
        // A secret with neither a key nor federation names both fields (was "clientSecret is missing").
        new RegExp(`${SAMPLE_APP_ID} main rollout: SECRET_MALFORMED: .*neither clientSecret nor credential`),
      );
      expect(error?.message).not.toContain(SAMPLE_TENANT.clientSecret);
      onlyNotification(await harness.sink.drain({ expect: 1 }));
    });

    it('names a Store failure with its code, and only the targets that failed', async () => {
      const harness = await watchdog();
      harness.simulator.control.failNext({
        status: 409,
        count: 10,
        match: { method: 'POST', path: `/submissions/${SAMPLE_PUBLISHED_SUBMISSION_ID}/haltpackagerollout` },
        body: { code: 'InvalidState', message: 'This application uses features that are not supported.' },
      });

      const { result, error } = await harness.invoke(loadEventFixture('sns-alarm'), { remainingMs: 10_000 });

      expect(result).toBeUndefined();
      expect(error?.message).toMatch(
        /^1 of 2 rollout\(s\) could not be handled: 9NBLGGH4R315 main rollout: [A-Z_]+: /,
      );
      expect(error?.message).not.toMatch(/flight/);
      expect(harness.simulator.control.effectiveHalts).toBe(1);
    });
  });
});
