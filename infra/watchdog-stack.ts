/**
 * The Store rollout watchdog stack: composes the constructs (see `architecture.md` in the README's
 * picture). Environment-agnostic: it synthesizes without AWS credentials or network.
 */
import { Aws, CfnOutput, Duration, Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import type { WatchedApp } from '../functions/commons/config/watched-apps.ts';
import { SCHEDULED_READER_SHARES } from '../functions/commons/store/reader-budget.ts';
import { deriveWatchedApps, listWatchedAlarmNames, type WatchdogConfig } from './config.ts';
import { AlarmIntake } from './constructs/alarm-intake.ts';
import { ChatChannels } from './constructs/chat-channels.ts';
import { CompositeAlarms } from './constructs/composite-alarms.ts';
import { DrillAlarm } from './constructs/drill-alarm.ts';
import { Notifications } from './constructs/notifications.ts';
import { PagerForwarder } from './constructs/pager-forwarder.ts';
import { SelfAlarms } from './constructs/self-alarms.ts';
import { SelfCheck } from './constructs/self-check.ts';
import { StateTable } from './constructs/state-table.ts';
import { SECRET_TEMPLATE, StoreCredentials } from './constructs/store-credentials.ts';
import { StoreHealth } from './constructs/store-health.ts';
import { StormContinuation } from './constructs/storm-continuation.ts';
import { WatchdogFunction } from './constructs/watchdog-function.ts';
import { type WatchedAlarmSpec, WatchedAlarms } from './constructs/watched-alarms.ts';
import { listStoreHealthApps } from './store-health-config.ts';

/** The handler of the halt-rollout function, relative to the project root. */
export const HALT_ROLLOUT_ENTRY = 'functions/halt-rollout/handler.ts';

export interface WatchdogStackProps extends StackProps {
  /** The parsed `watchdog` config (see `loadWatchdogConfig`). */
  readonly config: WatchdogConfig;
  /**
   * How long one halt-rollout invocation may run. Long enough to wait for the Store's request budget
   * (20 calls a minute per tenant): a storm of 20 alarmed apps needs 60 calls, about two minutes.
   * @default Duration.minutes(5)
   */
  readonly haltRolloutTimeout?: Duration;
  /**
   * The most halt-rollout invocations that run at once. With 1, the function's process-wide request
   * budget is the tenant's whole budget: concurrent alarms wait in Lambda's asynchronous event queue
   * (retried within the function's maximum event age, none lost) instead of each environment spending
   * its own 20 calls and meeting the Store's 429s; duplicates (SNS and EventBridge) run one after the
   * other, and the second reports `already-halted`.
   * @default 1
   */
  readonly haltRolloutConcurrency?: number;
}

/** See the module comment. */
export class WatchdogStack extends Stack {
  readonly haltRollout: WatchdogFunction;
  readonly notifications: Notifications;
  readonly credentials: StoreCredentials;
  readonly intake: AlarmIntake;
  readonly watchedAlarms: WatchedAlarms;
  readonly compositeAlarms: CompositeAlarms;
  readonly selfAlarms: SelfAlarms;
  readonly selfCheck: SelfCheck;
  readonly drill: DrillAlarm;
  readonly chat?: ChatChannels;
  readonly pager?: PagerForwarder;
  /** The Store health probe, when some app has the signal on. */
  readonly storeHealth: StoreHealth | undefined;
  readonly stateTable: StateTable;
  readonly stormContinuation: StormContinuation;

  constructor(scope: Construct, id: string, props: WatchdogStackProps) {
    super(scope, id, props);
    const { config } = props;
    const watchedApps = deriveWatchedApps(config);
    const storeHealthApps = listStoreHealthApps(config);

    this.haltRollout = new WatchdogFunction(this, 'HaltRollout', {
      entry: HALT_ROLLOUT_ENTRY,
      description:
        'Store rollout watchdog: halts a Microsoft Store package rollout when a watched alarm fires',
      serviceName: 'store-rollout-watchdog',
      watchedApps,
      environment: { DRY_RUN: String(config.dryRun) },
      timeout: props.haltRolloutTimeout ?? Duration.minutes(5),
      reservedConcurrentExecutions: props.haltRolloutConcurrency ?? 1,
    });

    this.credentials = new StoreCredentials(this, 'StoreCredentials', {
      ...(config.secret === undefined ? {} : { existing: config.secret }),
    });
    this.credentials.grantReadTo(this.haltRollout);

    this.notifications = new Notifications(this, 'Notifications', { emails: config.notificationEmails });
    this.notifications.grantPublishTo(this.haltRollout);

    this.watchedAlarms = new WatchedAlarms(this, 'WatchedAlarms', { specs: describeAlarmSpecs(config) });
    // With an alarm-name prefix, the drill alarm's name carries it too, so the prefix rule delivers it.
    this.drill = new DrillAlarm(
      this,
      'Drill',
      config.alarmNamePrefix === undefined
        ? {}
        : { alarmName: `${config.alarmNamePrefix}${this.stackName}-drill` },
    );
    this.haltRollout.addEnvironment('DRILL_ALARM_NAME', this.drill.alarmName);
    this.intake = new AlarmIntake(this, 'AlarmIntake', {
      target: this.haltRollout,
      alarmNames: [...listWatchedAlarmNames(config), this.drill.alarmName],
      ...(config.alarmNamePrefix === undefined ? {} : { alarmNamePrefix: config.alarmNamePrefix }),
    });
    this.compositeAlarms = new CompositeAlarms(this, 'CompositeAlarms', {
      specs: config.apps.flatMap((app) =>
        app.composites.map((spec) => ({ spec, appNames: appNamesWatching(watchedApps, spec.alarmName) })),
      ),
      created: this.watchedAlarms.byName,
    });
    for (const alarm of [...this.watchedAlarms.alarms, ...this.compositeAlarms.alarms, this.drill.alarm]) {
      this.intake.addAlarm(alarm);
    }

    this.selfAlarms = new SelfAlarms(this, 'SelfAlarms', { notifications: this.notifications });
    // Reserved concurrency throttles duplicates and storms by design; the backlog alarms watch instead.
    this.selfAlarms.watchFunction(this.haltRollout, 'halt-rollout', { throttlesExpected: true });
    this.selfAlarms.watchQueue(
      'intake-dead-letters',
      this.intake.deadLetterQueue,
      'An alarm event could not be delivered to the halt-rollout function and waits in the intake dead-letter queue: check the rollout by hand.',
    );

    if (config.chat !== undefined) {
      this.chat = new ChatChannels(this, 'Chat', { topic: this.notifications.topic, chat: config.chat });
    }
    if (config.pagerDuty !== undefined) {
      this.pager = new PagerForwarder(this, 'Pager', {
        topic: this.notifications.topic,
        pagerDuty: config.pagerDuty,
      });
      this.selfAlarms.watchFunction(this.pager.forwarder, 'pager');
      this.selfAlarms.watchQueue(
        'pager-dead-letters',
        this.pager.deadLetterQueue,
        'A page could not be delivered to PagerDuty after all retries and waits in the pager dead-letter queue: check the notification topic subscribers and the routing key.',
      );
    }

    // Its own alarms (a failed run; no run for two periods) notify people. Its failure queue is not
    // watched: every failed run lands there, which would duplicate the failed-run alarm.
    this.selfCheck = new SelfCheck(this, 'SelfCheck', {
      apps: watchedApps,
      credentials: this.credentials,
      notifications: this.notifications,
      schedule: Duration.minutes(Math.round(config.selfCheck.scheduleHours * 60)),
      // Both scheduled readers together keep to half the tenant's budget (reader-budget.ts).
      ...(storeHealthApps.length === 0 ? {} : { requestsPerMinute: SCHEDULED_READER_SHARES.selfCheck }),
    });

    this.storeHealth =
      storeHealthApps.length === 0
        ? undefined
        : new StoreHealth(this, 'StoreHealth', {
            apps: storeHealthApps,
            watchedApps: watchedApps.filter((app) =>
              storeHealthApps.some((health) => health.applicationId === app.applicationId),
            ),
            credentials: this.credentials,
            notifications: this.notifications,
            schedule: Duration.minutes(config.storeHealth.scheduleMinutes),
          });
    for (const alarm of this.storeHealth?.appAlarms ?? []) this.intake.addAlarm(alarm);
    for (const alarm of this.storeHealth?.flightAlarms ?? []) this.intake.addAlarm(alarm);
    // Each app's live rollout, remembered by the self-check, so that a halt of it is one Store request.
    this.stateTable = new StateTable(this, 'State');
    this.stateTable.connect(this.selfCheck.function);
    this.stateTable.connect(this.haltRollout);
    // The probe remembers what it read, so that a run reads only what changed.
    if (this.storeHealth !== undefined) this.stateTable.connect(this.storeHealth.function);

    // Storms longer than one invocation: the apps not reached are handed on through this queue.
    this.stormContinuation = new StormContinuation(this, 'StormContinuation', {
      target: this.haltRollout,
      functionTimeout: props.haltRolloutTimeout ?? Duration.minutes(5),
    });
    this.selfAlarms.watchQueue(
      'storm-continuation-dead-letters',
      this.stormContinuation.deadLetterQueue,
      'Apps of an alarm storm that the halt-rollout function handed on could not be handled and wait in the storm continuation dead-letter queue: check their rollouts by hand.',
    );

    new CfnOutput(this, 'NotificationTopicArn', {
      description: 'Subscribe here (e-mail, chat, pager) to hear every decision of the watchdog',
      value: this.notifications.topic.topicArn,
    });
    new CfnOutput(this, 'AlarmTopicArn', {
      description:
        'The alarm action of the alarms this stack creates (alarms made elsewhere are watched through EventBridge)',
      value: this.intake.alarmTopic.topicArn,
    });
    new CfnOutput(this, 'HaltRolloutFunctionName', {
      description: 'The halt-rollout function (test it from the console with a manual event)',
      value: this.haltRollout.function.functionName,
    });
    new CfnOutput(this, 'StoreCredentialsSecretId', {
      description: 'The Store credentials secret',
      value: this.credentials.secretId,
    });
    new CfnOutput(this, 'SelfCheckCommand', {
      description: 'Run the self-check now (after filling the secret, or after a fix)',
      value: `aws lambda invoke --region ${Aws.REGION} --function-name ${this.selfCheck.function.function.functionName} /dev/stdout`,
    });
    new CfnOutput(this, 'DrillAlarmName', {
      description: 'The drill alarm: set it to ALARM to run the whole path as a dry run',
      value: this.drill.alarmName,
    });
    new CfnOutput(this, 'DrillCommand', {
      description: 'Run a drill (or: npm run watchdog -- drill --through-aws)',
      value: this.drill.drillCommand(Aws.REGION),
    });
    if (this.credentials.createdSecret !== undefined) {
      new CfnOutput(this, 'FillSecretCommand', {
        description: 'Run once after the first deploy, with your Azure AD tenant ID, client ID and key',
        value: `aws secretsmanager put-secret-value --region ${Aws.REGION} --secret-id ${this.credentials.secretId} --secret-string '${SECRET_TEMPLATE.replaceAll('""', '"..."')}'`,
      });
    }
  }
}

/** Each created alarm with the display names of every app it watches (its own and those naming it). */
function describeAlarmSpecs(config: WatchdogConfig): WatchedAlarmSpec[] {
  const watchedApps = deriveWatchedApps(config);
  return config.apps.flatMap((app) =>
    app.alarms.map((spec) => ({ spec, appNames: appNamesWatching(watchedApps, spec.alarmName) })),
  );
}

/** Display names of the apps that list an alarm (halting or notify-only). */
function appNamesWatching(watchedApps: readonly WatchedApp[], alarmName: string): string[] {
  return watchedApps
    .filter(
      (watched) => watched.alarmNames.includes(alarmName) || watched.notifyAlarmNames.includes(alarmName),
    )
    .map((watched) => `${watched.name ?? watched.applicationId} (${watched.applicationId})`);
}
