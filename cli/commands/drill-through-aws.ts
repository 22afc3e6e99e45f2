/**
 * `store-watchdog drill --through-aws`: sets the drill alarm to ALARM in the deployed account, waits for
 * the drill notification on a temporary SQS queue subscribed to the notification topic, and prints each
 * step; then sets the alarm back to OK and removes the queue and subscription, also when interrupted or
 * timed out. Nothing is halted (docs/chat-pager-drill.md, docs/lambda-contract.md "Drill").
 */
import { randomUUID } from 'node:crypto';
import { CloudWatchClient, SetAlarmStateCommand } from '@aws-sdk/client-cloudwatch';
import { SNSClient, SubscribeCommand, UnsubscribeCommand } from '@aws-sdk/client-sns';
import {
  CreateQueueCommand,
  DeleteQueueCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SetQueueAttributesCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { awsErrorHint } from '../../functions/commons/aws/aws-errors.ts';
import { safeError } from '../../functions/commons/domain/decide.ts';
import * as z from '../../functions/commons/validation.ts';
import { type CliIo, EXIT_FAILED, EXIT_OK } from '../io.ts';

/** What a drill through AWS calls (docs/chat-pager-drill.md, "Run it"). */
const DRILL_PERMISSIONS =
  'cloudwatch:SetAlarmState, sns:Subscribe and sns:Unsubscribe, and sqs:CreateQueue, SetQueueAttributes, GetQueueAttributes, ReceiveMessage and DeleteQueue';

/** The drill alarm the stack creates (its `DrillAlarmName` output), unless told otherwise. */
export const DEFAULT_DRILL_ALARM_NAME = 'StoreRolloutWatchdog-drill';
export const DEFAULT_DRILL_TIMEOUT_SECONDS = 180;

export interface DrillThroughAwsOptions {
  /** The notification topic (the stack output `NotificationTopicArn`). */
  readonly topicArn: string;
  readonly alarmName: string;
  /** Only this app's rollouts are reported (and the drill fails when the notification does not name it). */
  readonly applicationId?: string;
  readonly timeoutMs: number;
  /** Stops the drill (and cleans up) when it aborts: the CLI wires SIGINT here. */
  readonly interrupt?: AbortSignal;
  /** AWS SDK client settings (tests point them at a local emulator). @default the SDK's standard configuration */
  readonly clientConfig?: ConstructorParameters<typeof SQSClient>[0];
  /** Milliseconds; injectable for tests. @default Date.now */
  readonly now?: () => number;
}

const envelopeSchema = z.object({
  Message: z.string(),
  Timestamp: z.optional(z.string()),
  MessageAttributes: z.optional(z.record(z.string(), z.object({ Type: z.string(), Value: z.string() }))),
});

const decisionSchema = z.object({
  outcome: z.string(),
  subject: z.optional(z.string()),
  drill: z.optional(z.boolean()),
  timings: z.optional(z.object({ decisionMs: z.number() })),
  targets: z.array(
    z.object({
      applicationId: z.string(),
      appName: z.optional(z.string()),
      flightId: z.optional(z.string()),
      submissionId: z.optional(z.string()),
      result: z.string(),
      rolloutPercentage: z.optional(z.number()),
      fallbackSubmissionId: z.optional(z.string()),
      error: z.optional(z.object({ code: z.string(), message: z.string() })),
    }),
  ),
});
type Decision = z.output<typeof decisionSchema>;

/** Runs one drill; resolves to the exit status. Never leaves the alarm in ALARM or the queue behind. */
export async function runDrillThroughAws(options: DrillThroughAwsOptions, io: CliIo): Promise<number> {
  const now = options.now ?? Date.now;
  const config = options.clientConfig ?? {};
  const cloudWatch = new CloudWatchClient(config);
  const sns = new SNSClient(config);
  const sqs = new SQSClient(config);
  const startedAt = now();
  const step = (what: string) =>
    io.stdout.write(`  +${String(Math.round(now() - startedAt)).padStart(6)} ms  ${what}\n`);
  const stop = new AbortController();
  const onInterrupt = () => stop.abort(new Error('interrupted'));
  options.interrupt?.addEventListener('abort', onInterrupt, { once: true });
  if (options.interrupt?.aborted === true) onInterrupt();

  let queueUrl: string | undefined;
  let subscriptionArn: string | undefined;
  let alarmSet = false;
  io.stdout.write(
    `Drill through AWS: alarm "${options.alarmName}" -> watchdog function -> topic ${options.topicArn}\n\n`,
  );
  try {
    // The queue that plays a subscriber: only drill notifications reach it.
    const queueName = `store-watchdog-drill-${randomUUID()}`;
    const created = await sqs.send(
      new CreateQueueCommand({
        QueueName: queueName,
        Attributes: { MessageRetentionPeriod: '600', SqsManagedSseEnabled: 'true' },
      }),
      { abortSignal: stop.signal },
    );
    queueUrl = created.QueueUrl;
    if (queueUrl === undefined) throw new Error('SQS returned no queue URL');
    const attributes = await sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['QueueArn'] }),
      { abortSignal: stop.signal },
    );
    const queueArn = attributes.Attributes?.QueueArn;
    if (queueArn === undefined) throw new Error('SQS returned no queue ARN');
    await sqs.send(allowTopicToSend(queueUrl, queueArn, options.topicArn), { abortSignal: stop.signal });
    const subscription = await sns.send(
      new SubscribeCommand({
        TopicArn: options.topicArn,
        Protocol: 'sqs',
        Endpoint: queueArn,
        Attributes: { FilterPolicy: JSON.stringify({ drill: ['true'] }) },
        ReturnSubscriptionArn: true,
      }),
      { abortSignal: stop.signal },
    );
    subscriptionArn = subscription.SubscriptionArn;
    step(`listening: temporary queue ${queueName} subscribed to the topic (filter: drill = true)`);

    await cloudWatch.send(
      new SetAlarmStateCommand({
        AlarmName: options.alarmName,
        StateValue: 'ALARM',
        StateReason: 'store-watchdog drill --through-aws',
      }),
      { abortSignal: stop.signal },
    );
    alarmSet = true;
    const alarmSetAt = now();
    step(`alarm set: "${options.alarmName}" is in ALARM`);

    const received = await waitForDrill(sqs, queueUrl, options.timeoutMs, stop.signal);
    if (received === undefined) {
      step(`no drill notification within ${Math.round(options.timeoutMs / 1000)} s`);
      io.stdout.write(
        '\nFAIL: the drill did not come back. Either the alarm does not reach the function (check the EventBridge rule\n' +
          "and the alarm topic, and that the function's DRILL_ALARM_NAME is this alarm), or the function failed (see its\n" +
          'logs and its failure queue), or it publishes to another topic (check --topic-arn).\n',
      );
      return EXIT_FAILED;
    }
    const { decision, publishedAt, drillAttribute } = received;
    if (publishedAt !== undefined) {
      const decisionMs = decision.timings?.decisionMs;
      step(
        `function decision: published ${Math.max(0, Math.round(publishedAt - alarmSetAt))} ms after the alarm${decisionMs === undefined ? '' : ` (the decision itself took ${Math.round(decisionMs)} ms)`}`,
      );
    }
    step(`notification received: "${decision.subject ?? '(no subject)'}", outcome ${decision.outcome}`);
    return report(decision, drillAttribute, options, io);
  } catch (error) {
    if (stop.signal.aborted) {
      io.stdout.write('\nInterrupted: cleaning up.\n');
      return EXIT_FAILED;
    }
    const { code, message } = safeError(error);
    const hint = awsErrorHint(error, DRILL_PERMISSIONS);
    io.stderr.write(`error: ${code}: ${message}${hint}\n`);
    return EXIT_FAILED;
  } finally {
    options.interrupt?.removeEventListener('abort', onInterrupt);
    await cleanUp(io, step, {
      ...(alarmSet
        ? {
            alarm: () =>
              cloudWatch.send(
                new SetAlarmStateCommand({
                  AlarmName: options.alarmName,
                  StateValue: 'OK',
                  StateReason: 'store-watchdog drill finished',
                }),
              ),
          }
        : {}),
      ...(subscriptionArn === undefined || subscriptionArn === 'pending confirmation'
        ? {}
        : { subscription: () => sns.send(new UnsubscribeCommand({ SubscriptionArn: subscriptionArn })) }),
      ...(queueUrl === undefined
        ? {}
        : { queue: () => sqs.send(new DeleteQueueCommand({ QueueUrl: queueUrl })) }),
    });
    cloudWatch.destroy();
    sns.destroy();
    sqs.destroy();
  }
}

/** Lets exactly this topic send to the temporary queue (needed in AWS; harmless on an emulator). */
function allowTopicToSend(queueUrl: string, queueArn: string, topicArn: string): SetQueueAttributesCommand {
  return new SetQueueAttributesCommand({
    QueueUrl: queueUrl,
    Attributes: {
      Policy: JSON.stringify({
        Version: '2012-10-17',
        Statement: [
          {
            Effect: 'Allow',
            Principal: { Service: 'sns.amazonaws.com' },
            Action: 'sqs:SendMessage',
            Resource: queueArn,
            Condition: { ArnEquals: { 'aws:SourceArn': topicArn } },
          },
        ],
      }),
    },
  });
}

async function waitForDrill(
  sqs: SQSClient,
  queueUrl: string,
  timeoutMs: number,
  signal: AbortSignal,
): Promise<{ decision: Decision; publishedAt?: number; drillAttribute: boolean } | undefined> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const waitSeconds = Math.max(0, Math.min(20, Math.floor((deadline - Date.now()) / 1000)));
    const output = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 1, WaitTimeSeconds: waitSeconds }),
      { abortSignal: signal },
    );
    for (const message of output.Messages ?? []) {
      const envelope = envelopeSchema.safeParse(safeJson(message.Body ?? ''));
      if (!envelope.success) continue;
      const decision = decisionSchema.safeParse(safeJson(envelope.data.Message));
      if (!decision.success) continue;
      const published =
        envelope.data.Timestamp === undefined ? Number.NaN : Date.parse(envelope.data.Timestamp);
      return {
        decision: decision.data,
        ...(Number.isNaN(published) ? {} : { publishedAt: published }),
        drillAttribute: envelope.data.MessageAttributes?.drill?.Value === 'true',
      };
    }
    if (waitSeconds === 0) await new Promise((resolve) => setTimeout(resolve, 250));
  }
  return undefined;
}

function report(
  decision: Decision,
  drillAttribute: boolean,
  options: Pick<DrillThroughAwsOptions, 'applicationId' | 'alarmName'>,
  io: CliIo,
): number {
  const { applicationId } = options;
  const examined = [...new Set(decision.targets.map((target) => target.applicationId))];
  io.stdout.write(
    `\nThe deployed drill examined ${examined.length === 0 ? 'no app' : examined.join(', ')} (the apps that list the drill alarm, or the first app in "apps" when none does).\n`,
  );
  const targets = decision.targets.filter(
    (target) => applicationId === undefined || target.applicationId === applicationId,
  );
  io.stdout.write('\nWhat each app would have had (nothing was halted):\n');
  for (const target of targets) {
    const which = target.flightId === undefined ? 'main rollout' : `package flight ${target.flightId}`;
    const name =
      target.appName === undefined ? target.applicationId : `${target.appName} (${target.applicationId})`;
    const facts = [
      target.submissionId === undefined ? 'no submission' : `submission ${target.submissionId}`,
      ...(target.rolloutPercentage === undefined ? [] : [`${target.rolloutPercentage}% live`]),
      ...(target.fallbackSubmissionId === undefined ? [] : [`fallback ${target.fallbackSubmissionId}`]),
      ...(target.error === undefined ? [] : [`${target.error.code}: ${target.error.message}`]),
    ];
    io.stdout.write(`  ${name}, ${which}: ${target.result} (${facts.join(', ')})\n`);
  }
  const problems = [
    ...(decision.drill === true && drillAttribute ? [] : ['the notification is not marked as a drill']),
    ...(applicationId !== undefined && targets.length === 0
      ? [
          `the drill did not examine ${applicationId}. To drill it, add "${options.alarmName}" to its "notifyAlarmNames" in cdk.json and deploy (a drill never halts, and the drill alarm only ever drills)`,
        ]
      : []),
    ...(decision.targets.some((target) => target.result === 'halted')
      ? ['a rollout was HALTED by a drill']
      : []),
    ...(targets.some((target) => target.result === 'failed')
      ? ['the watchdog could not examine a rollout (see above)']
      : []),
  ];
  if (problems.length > 0) {
    io.stdout.write(`\nFAIL: ${problems.join('; ')}.\n`);
    return EXIT_FAILED;
  }
  io.stdout.write(
    '\nPASS: the alarm reached the watchdog, it found the rollouts and decided, and its notification reached the topic people subscribe to.\n',
  );
  return EXIT_OK;
}

async function cleanUp(
  io: CliIo,
  step: (what: string) => void,
  actions: {
    alarm?: () => Promise<unknown>;
    subscription?: () => Promise<unknown>;
    queue?: () => Promise<unknown>;
  },
): Promise<void> {
  const names = {
    alarm: 'alarm set back to OK',
    subscription: 'subscription removed',
    queue: 'temporary queue deleted',
  };
  for (const key of ['alarm', 'subscription', 'queue'] as const) {
    const action = actions[key];
    if (action === undefined) continue;
    try {
      await action();
      step(`cleanup: ${names[key]}`);
    } catch (error) {
      const { code, message } = safeError(error);
      io.stderr.write(`warning: cleanup: ${names[key]} failed (${code}: ${message}); do it by hand\n`);
    }
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
