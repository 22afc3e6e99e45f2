/**
 * Contract v2, "Drill" and the `https` message, statement by statement, against the real handler with the
 * Store simulator and moto (SNS with an SQS queue subscribed, and an HTTPS subscription played by a
 * loopback server).
 */
import { createServer, type Server } from 'node:http';
import { SNSClient, SubscribeCommand } from '@aws-sdk/client-sns';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  SAMPLE_APP_ID,
  SAMPLE_FALLBACK_SUBMISSION_ID,
  SAMPLE_PUBLISHED_SUBMISSION_ID,
  SAMPLE_QUIET_APP_ID,
} from '../../../tools/store-simulator/sample-state.ts';
import { loadEventFixture } from '../../fixtures/events/load.ts';
import { describeWithMoto, MOTO_SKIP_REASON, motoClientConfig } from '../../support/aws.ts';
import {
  type HarnessOptions,
  SAMPLE_ALARM,
  SAMPLE_APPS,
  startWatchdog,
  type WatchdogHarness,
} from '../../support/watchdog-harness.ts';

const DRILL = 'store-watchdog-drill';

const harnesses: WatchdogHarness[] = [];
const servers: Server[] = [];
async function watchdog(options: HarnessOptions = {}): Promise<WatchdogHarness> {
  const harness = await startWatchdog({ ...options, env: { DRILL_ALARM_NAME: DRILL, ...options.env } });
  harnesses.push(harness);
  return harness;
}
afterEach(async () => {
  await Promise.all(harnesses.splice(0).map((harness) => harness.close()));
  await Promise.all(servers.splice(0).map((server) => new Promise((resolve) => server.close(resolve))));
});

/** An EventBridge or SNS alarm event for `alarmName`, into `state`. */
function alarmEvent(delivery: 'sns' | 'eventbridge', alarmName: string, state = 'ALARM'): unknown {
  const event = loadEventFixture(delivery === 'sns' ? 'sns-alarm' : 'eventbridge-alarm');
  const text = JSON.stringify(event).replaceAll(SAMPLE_ALARM, alarmName);
  if (state === 'ALARM') return JSON.parse(text);
  return JSON.parse(
    delivery === 'sns'
      ? text.replace('\\"NewStateValue\\":\\"ALARM\\"', `\\"NewStateValue\\":\\"${state}\\"`)
      : text.replace('"value":"ALARM"', `"value":"${state}"`),
  );
}

function storeHalts(harness: WatchdogHarness): number {
  return harness.simulator.control.requests.filter(
    (request) => request.kind === 'store' && request.method === 'POST',
  ).length;
}

describeWithMoto(`halt-rollout handler: the drill and the chat message${MOTO_SKIP_REASON}`, () => {
  describe('the drill alarm (DRILL_ALARM_NAME)', () => {
    it.each(['sns', 'eventbridge'] as const)(
      'into ALARM by %s: every live rollout would-halt, nothing halted, even in enforce mode',
      async (delivery) => {
        const harness = await watchdog();

        const { result, error } = await harness.invoke(alarmEvent(delivery, DRILL));

        expect(error).toBeUndefined();
        expect(result?.drill).toBe(true);
        expect(result?.targets.map((target) => target.result)).toEqual(['would-halt', 'would-halt']);
        expect(result?.targets[0]).toMatchObject({
          applicationId: SAMPLE_APP_ID,
          submissionId: SAMPLE_PUBLISHED_SUBMISSION_ID,
          rolloutPercentage: 20,
          fallbackSubmissionId: SAMPLE_FALLBACK_SUBMISSION_ID,
        });
        expect(storeHalts(harness)).toBe(0);
        expect(harness.simulator.control.effectiveHalts).toBe(0);
      },
    );

    it('notifies with DRILL in the subject and the attribute drill = true besides outcome', async () => {
      const harness = await watchdog();

      await harness.invoke(alarmEvent('eventbridge', DRILL));

      const notifications = await harness.sink.drain({ expect: 1 });
      expect(notifications).toHaveLength(1);
      expect(notifications[0]?.subject).toMatch(/^\[Store watchdog\] DRILL - /);
      expect(notifications[0]?.attributes).toEqual({ outcome: 'would-halt', drill: 'true' });
      expect(JSON.parse(notifications[0]?.message ?? '{}')).toMatchObject({
        drill: true,
        outcome: 'would-halt',
      });
    });

    it('examines one app, the first in WATCHDOG_APPS, when no app lists it: the other is never read', async () => {
      const apps = [...SAMPLE_APPS, { applicationId: SAMPLE_QUIET_APP_ID, alarmNames: ['quiet-crash-rate'] }];
      const harness = await watchdog({ apps });

      const { result } = await harness.invoke(alarmEvent('eventbridge', DRILL));

      expect(new Set(result?.targets.map((target) => target.applicationId))).toEqual(
        new Set([SAMPLE_APP_ID]),
      );
      expect(result?.targets.every((target) => target.result === 'would-halt')).toBe(true);
      const storePaths = harness.simulator.control.requests
        .filter((request) => request.kind === 'store')
        .map((request) => request.path);
      expect(storePaths.length).toBeGreaterThan(0);
      expect(storePaths.filter((path) => path.includes(SAMPLE_QUIET_APP_ID))).toEqual([]);
    });

    it('acts only on the apps that list it, when one does (here in notifyAlarmNames)', async () => {
      const apps = [
        { ...SAMPLE_APPS[0], notifyAlarmNames: [DRILL] },
        { applicationId: SAMPLE_QUIET_APP_ID, alarmNames: ['quiet-crash-rate'] },
      ];
      const harness = await watchdog({ apps });

      const { result } = await harness.invoke(alarmEvent('sns', DRILL));

      expect(new Set(result?.targets.map((target) => target.applicationId))).toEqual(
        new Set([SAMPLE_APP_ID]),
      );
    });

    it('wins over an app that lists it in alarmNames with mode "enforce"', async () => {
      const harness = await watchdog({ apps: [{ ...SAMPLE_APPS[0], alarmNames: [SAMPLE_ALARM, DRILL] }] });

      const { result } = await harness.invoke(alarmEvent('eventbridge', DRILL));

      expect(result?.targets.map((target) => target.result)).toEqual(['would-halt', 'would-halt']);
      expect(harness.simulator.control.effectiveHalts).toBe(0);
    });

    it.each([
      ['sns', 'OK'],
      ['eventbridge', 'OK'],
      ['eventbridge', 'INSUFFICIENT_DATA'],
    ] as const)(
      'ignores its %s transition into %s: no Store call, no notification',
      async (delivery, state) => {
        const harness = await watchdog();

        const { result, error } = await harness.invoke(alarmEvent(delivery, DRILL, state));

        expect(error).toBeUndefined();
        expect(result).toEqual({ ignored: expect.stringContaining(state), targets: [] });
        expect(harness.simulator.control.requests.filter((request) => request.kind === 'store')).toEqual([]);
        expect(await harness.sink.drain()).toEqual([]);
      },
    );

    it('an ordinary alarm still halts, with no drill flag, when DRILL_ALARM_NAME is set', async () => {
      const harness = await watchdog();

      const { result } = await harness.invoke(alarmEvent('eventbridge', SAMPLE_ALARM));

      expect(result).not.toHaveProperty('drill');
      expect(result?.targets.map((target) => target.result)).toEqual(['halted', 'halted']);
      const [notification] = await harness.sink.drain({ expect: 1 });
      expect(notification?.attributes).toEqual({ outcome: 'halted' });
    });
  });

  describe('the https message', () => {
    it('is an AWS Chatbot custom notification for an HTTPS subscriber, with the facts and the thread', async () => {
      const harness = await watchdog();
      const received = await httpsSubscriber(harness.sink.topicArn);

      await harness.invoke(alarmEvent('eventbridge', SAMPLE_ALARM));

      const [delivery] = await received.wait(1);
      const chat = customNotificationSchema.parse(JSON.parse(delivery?.Message ?? 'null'));
      expect(chat.content.title).toBe('HALTED: Contoso Photos');
      for (const fact of [
        SAMPLE_PUBLISHED_SUBMISSION_ID,
        'Live: 20%',
        SAMPLE_FALLBACK_SUBMISSION_ID,
        SAMPLE_ALARM,
      ]) {
        expect(chat.content.description).toContain(fact);
      }
      expect(chat.content.description).toMatch(/Time to halt: \d+ ms/);
      expect(chat.metadata.threadId).toBe(
        `store-watchdog-${SAMPLE_APP_ID}-${SAMPLE_PUBLISHED_SUBMISSION_ID}`,
      );
      expect(chat.metadata.additionalContext).toEqual({ outcome: 'halted' });
    });

    it('says DRILL for a drill', async () => {
      const harness = await watchdog();
      const received = await httpsSubscriber(harness.sink.topicArn);

      await harness.invoke(alarmEvent('sns', DRILL));

      const [delivery] = await received.wait(1);
      const chat = customNotificationSchema.parse(JSON.parse(delivery?.Message ?? 'null'));
      expect(chat.content.title).toMatch(/^DRILL - Would halt/);
      expect(chat.metadata.additionalContext).toEqual({ outcome: 'would-halt', drill: 'true' });
    });
  });
});

/** The documented custom notification event format (required `version`, `source`; a non-empty description). */
const customNotificationSchema = z.object({
  version: z.literal('1.0'),
  source: z.literal('custom'),
  content: z.object({
    textType: z.literal('client-markdown'),
    title: z.string().min(1),
    description: z.string().min(1),
    nextSteps: z.array(z.string()),
    keywords: z.array(z.string()),
  }),
  metadata: z.object({ threadId: z.string().min(1), additionalContext: z.record(z.string(), z.string()) }),
});

const deliverySchema = z.object({ Type: z.string(), Message: z.string() });
type Delivery = z.infer<typeof deliverySchema>;

/** A loopback server subscribed to the topic with protocol `https`: it records what SNS posts. */
async function httpsSubscriber(topicArn: string): Promise<{ wait(count: number): Promise<Delivery[]> }> {
  const deliveries: Delivery[] = [];
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const body = deliverySchema.safeParse(JSON.parse(Buffer.concat(chunks).toString('utf8')));
      if (body.success && body.data.Type === 'Notification') deliveries.push(body.data);
      response.end();
    });
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('the subscriber has no port');
  const { port } = address;
  await new SNSClient(motoClientConfig()).send(
    new SubscribeCommand({ TopicArn: topicArn, Protocol: 'https', Endpoint: `http://127.0.0.1:${port}/` }),
  );
  return {
    async wait(count) {
      const deadline = Date.now() + 5000;
      while (deliveries.length < count && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
      return deliveries;
    },
  };
}
