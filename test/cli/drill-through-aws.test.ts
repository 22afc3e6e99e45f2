/**
 * `store-watchdog drill --through-aws` against moto (CloudWatch, SNS, SQS). The function's part (an
 * alarm into ALARM becomes a drill notification on the topic) is played by the test: it waits for the
 * alarm to be in ALARM and publishes the drill notification as the function would (the real
 * `buildNotification` and `publishNotification`).
 */
import { randomUUID } from 'node:crypto';
import {
  CloudWatchClient,
  DescribeAlarmsCommand,
  PutMetricAlarmCommand,
  type StateValue,
} from '@aws-sdk/client-cloudwatch';
import { CreateTopicCommand, ListSubscriptionsByTopicCommand, SNSClient } from '@aws-sdk/client-sns';
import { ListQueuesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { afterEach, beforeEach, expect, it, vi } from 'vitest';
import { runDrillThroughAws } from '../../cli/commands/drill-through-aws.ts';
import { buildMessageStructure, publishNotification } from '../../functions/commons/aws/notify.ts';
import { runWatchdog } from '../../functions/commons/domain/decide.ts';
import { buildNotification } from '../../functions/commons/domain/notification.ts';
import { resolveTargets } from '../../functions/commons/domain/targets.ts';
import {
  configOf,
  fakeRollouts,
  flightRef,
  inProgress,
  mainRef,
  PHOTOS,
  PHOTOS_SUBMISSION,
} from '../functions/commons/domain/fake-rollouts.ts';
import { describeWithMoto, MOTO_SKIP_REASON, motoClientConfig } from '../support/aws.ts';
import { runCliCaptured } from './support.ts';

describeWithMoto(`store-watchdog drill --through-aws (moto)${MOTO_SKIP_REASON}`, () => {
  const config = motoClientConfig();
  const cloudWatch = new CloudWatchClient(config);
  const sns = new SNSClient(config);
  const sqs = new SQSClient(config);
  let alarmName: string;
  let topicArn: string;

  beforeEach(async () => {
    vi.stubEnv('AWS_ENDPOINT_URL', config.endpoint);
    vi.stubEnv('AWS_REGION', config.region);
    vi.stubEnv('AWS_ACCESS_KEY_ID', config.credentials.accessKeyId);
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', config.credentials.secretAccessKey);
    const id = randomUUID();
    alarmName = `StoreRolloutWatchdog-drill-${id}`;
    await cloudWatch.send(
      new PutMetricAlarmCommand({
        AlarmName: alarmName,
        Namespace: 'StoreRolloutWatchdog/Drill',
        MetricName: 'NeverPublished',
        Statistic: 'Maximum',
        Period: 60,
        EvaluationPeriods: 1,
        Threshold: 1,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        TreatMissingData: 'notBreaching',
      }),
    );
    const topic = await sns.send(new CreateTopicCommand({ Name: `watchdog-notifications-${id}` }));
    if (topic.TopicArn === undefined) throw new Error('moto returned no topic');
    topicArn = topic.TopicArn;
  });
  afterEach(() => {
    vi.unstubAllEnvs();
  });

  async function alarmState(): Promise<StateValue | undefined> {
    const output = await cloudWatch.send(new DescribeAlarmsCommand({ AlarmNames: [alarmName] }));
    return output.MetricAlarms?.[0]?.StateValue;
  }

  /** What the deployed function does on the drill alarm: a dry run, published with the drill attribute. */
  async function playTheFunction(options: { drill?: boolean } = {}): Promise<void> {
    const deadline = Date.now() + 30_000;
    while ((await alarmState()) !== 'ALARM') {
      if (Date.now() > deadline) throw new Error('the CLI never set the alarm to ALARM');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const plan = resolveTargets(
      {
        kind: 'alarm',
        alarms: [
          {
            alarmName,
            newState: 'ALARM',
            previousState: 'OK',
            reason: 'store-watchdog drill --through-aws',
            time: new Date().toISOString(),
            source: 'eventbridge',
          },
        ],
      },
      options.drill === false
        ? configOf([{ ...PHOTOS, alarmNames: [alarmName] }])
        : { ...configOf([PHOTOS]), drillAlarmName: alarmName },
    );
    if (plan.kind !== 'act') throw new Error(`expected an acting plan: ${plan.ignored}`);
    const rollouts = fakeRollouts({
      [PHOTOS.applicationId]: [inProgress(mainRef(), 20), inProgress(flightRef(), 50)],
    });
    const run = await runWatchdog(plan, { rollouts, now: () => 0 }, new AbortController().signal);
    const notification = buildNotification(plan, run);
    await publishNotification(sns, topicArn, {
      subject: notification.subject,
      message: buildMessageStructure(notification),
      outcome: notification.outcome,
      drill: notification.drill,
    });
  }

  async function leftovers(): Promise<{ subscriptions: number; queues: string[] }> {
    const subscriptions = await sns.send(new ListSubscriptionsByTopicCommand({ TopicArn: topicArn }));
    const queues = await sqs.send(new ListQueuesCommand({ QueueNamePrefix: 'store-watchdog-drill-' }));
    return { subscriptions: subscriptions.Subscriptions?.length ?? 0, queues: queues.QueueUrls ?? [] };
  }

  it('sets the alarm, receives the drill notification, prints each step and what each app would have had, and cleans up', async () => {
    const [run] = await Promise.all([
      runCliCaptured(
        [
          'drill',
          '--through-aws',
          '--topic-arn',
          topicArn,
          '--alarm-name',
          alarmName,
          '--app',
          PHOTOS.applicationId,
          '--timeout',
          '30',
        ],
        {},
      ),
      playTheFunction(),
    ]);

    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const steps = run.stdout.split('\n').filter((line) => /^ {2}\+ *\d+ ms {2}/.test(line));
    expect(steps.map((line) => line.replace(/^ {2}\+ *\d+ ms {2}/, '').split(':')[0])).toEqual([
      'listening',
      'alarm set',
      'function decision',
      'notification received',
      'cleanup',
      'cleanup',
      'cleanup',
    ]);
    expect(run.stdout).toContain('[Store watchdog] DRILL - DRY RUN: would halt 2 rollouts: Contoso Photos');
    expect(run.stdout).toContain(
      `Contoso Photos (9NBLGGH4R315), main rollout: would-halt (submission ${PHOTOS_SUBMISSION}, 20% live`,
    );
    expect(run.stdout).toMatch(/package flight [0-9a-f-]+: would-halt \(submission \d+, 50% live/);
    expect(run.stdout).toContain('PASS: the alarm reached the watchdog');
    expect(await alarmState()).toBe('OK');
    expect(await leftovers()).toEqual({ subscriptions: 0, queues: [] });
  });

  it('ignores notifications that are not drills: the subscription filters on the drill attribute', async () => {
    const [run] = await Promise.all([
      runCliCaptured(
        // Long enough for the function's stand-in to see the alarm in ALARM on a slow machine.
        ['drill', '--through-aws', '--topic-arn', topicArn, '--alarm-name', alarmName, '--timeout', '8'],
        {},
      ),
      playTheFunction({ drill: false }),
    ]);

    expect(run.code).toBe(1);
    expect(run.stdout).toContain('no drill notification within 8 s');
    expect(run.stdout).toContain('FAIL: the drill did not come back');
    expect(await alarmState()).toBe('OK');
    expect(await leftovers()).toEqual({ subscriptions: 0, queues: [] });
  });

  it('fails when the drill did not examine the app asked for', async () => {
    const [run] = await Promise.all([
      runCliCaptured(
        [
          'drill',
          '--through-aws',
          '--topic-arn',
          topicArn,
          '--alarm-name',
          alarmName,
          '--app',
          '9WZDNCRFJ3TJ',
          '--timeout',
          '30',
        ],
        {},
      ),
      playTheFunction(),
    ]);

    expect(run.code).toBe(1);
    // It says which app the deployed drill examined, and how to make it the one asked for.
    expect(run.stdout).toContain(
      `The deployed drill examined ${PHOTOS.applicationId} (the apps that list the drill alarm`,
    );
    expect(run.stdout).toContain(
      `FAIL: the drill did not examine 9WZDNCRFJ3TJ. To drill it, add "${alarmName}" to its "notifyAlarmNames" in cdk.json and deploy`,
    );
  });

  it('cleans up when interrupted while waiting: alarm back to OK, subscription and queue removed', async () => {
    const interrupt = new AbortController();
    let stdout = '';
    const io = {
      stdout: { write: (text: string) => (stdout += text) },
      stderr: { write: () => true },
      env: {},
    };
    const drill = runDrillThroughAws(
      { topicArn, alarmName, timeoutMs: 60_000, interrupt: interrupt.signal },
      io,
    );
    // Interrupted while it waits for the drill: once the alarm is in ALARM.
    const deadline = Date.now() + 30_000;
    while ((await alarmState()) !== 'ALARM') {
      if (Date.now() > deadline) throw new Error('the CLI never set the alarm to ALARM');
      await new Promise((r) => setTimeout(r, 50));
    }
    interrupt.abort();

    expect(await drill).toBe(1);
    expect(stdout).toContain('Interrupted: cleaning up.');
    expect(stdout).toContain('cleanup: alarm set back to OK');
    expect(await alarmState()).toBe('OK');
    expect(await leftovers()).toEqual({ subscriptions: 0, queues: [] });
  });

  it("without a region: the SDK's own message, and check the region", async () => {
    for (const name of ['AWS_REGION', 'AWS_DEFAULT_REGION', 'AWS_PROFILE']) vi.stubEnv(name, undefined);
    vi.stubEnv('AWS_CONFIG_FILE', '/nonexistent/aws-config');

    const run = await runCliCaptured(
      ['drill', '--through-aws', '--topic-arn', topicArn, '--alarm-name', alarmName],
      {},
    );

    expect(run.code).toBe(1);
    expect(run.stderr).toBe(
      'error: Error: Region is missing; check the AWS region (AWS_REGION, or the region of your AWS profile)\n',
    );
    expect(await alarmState()).toBe('OK');
  });

  it('is a usage error without the topic, naming where to find it', async () => {
    const run = await runCliCaptured(['drill', '--through-aws'], {});

    expect(run.code).toBe(2);
    expect(run.stderr).toContain(
      '--through-aws needs the notification topic ARN: --topic-arn ARN or NOTIFICATION_TOPIC_ARN',
    );
  });
});
