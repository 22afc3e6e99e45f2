/**
 * The Store rollout watchdog stack: composes the constructs (see `architecture.md` in the README's
 * picture). Environment-agnostic: it synthesizes without AWS credentials or network.
 */
import { Aws, CfnOutput, Duration, Stack, type StackProps } from 'aws-cdk-lib';
import type { Alarm, CompositeAlarm } from 'aws-cdk-lib/aws-cloudwatch';
import type { Construct } from 'constructs';
import type { WatchedApp } from '../functions/commons/domain/watched-apps.ts';
import { definedProps } from '../functions/commons/optional.ts';
import { SELF_CHECK_STORE_REQUESTS_PER_MINUTE } from '../functions/self-check/slices.ts';
import {
  deriveWatchedApps,
  listCreatedAlarmNames,
  listWatchedAlarmNames,
  type WatchdogConfig,
} from './config.ts';
import { AlarmIntake } from './constructs/alarm-intake.ts';
import { AlarmStacks } from './constructs/alarm-stacks.ts';
import { ChatChannels } from './constructs/chat-channels.ts';
import { CompositeAlarms } from './constructs/composite-alarms.ts';
import { ConsoleTestEvents } from './constructs/console-test-events.ts';
import { DrillAlarm } from './constructs/drill-alarm.ts';
import { literalAlarmName } from './constructs/encrypted-topic.ts';
import { Notifications } from './constructs/notifications.ts';
import { OutboundFederation } from './constructs/outbound-federation.ts';
import { PagerForwarder } from './constructs/pager-forwarder.ts';
import { SelfAlarms } from './constructs/self-alarms.ts';
import { SelfCheck } from './constructs/self-check.ts';
import { StateTable } from './constructs/state-table.ts';
import {
  FEDERATED_SECRET_TEMPLATE,
  SECRET_TEMPLATE,
  StoreCredentials,
} from './constructs/store-credentials.ts';
import { StoreHealth } from './constructs/store-health.ts';
import { StormContinuation } from './constructs/storm-continuation.ts';
import { WatchdogFunction } from './constructs/watchdog-function.ts';
import { type WatchedAlarmSpec, WatchedAlarms } from './constructs/watched-alarms.ts';
import {
  DEFAULT_HALT_ROLLOUT_CONCURRENCY,
  HALT_ROLLOUT_MAX_EVENT_AGE_SECONDS,
  HALT_ROLLOUT_TIMEOUT_SECONDS,
} from './halt-rollout-limits.ts';
import { listStoreHealthApps } from './store-health-config.ts';

/** The handler of the halt-rollout function, relative to the project root. */
export const HALT_ROLLOUT_ENTRY = 'functions/halt-rollout/handler.ts';

export interface WatchdogStackProps extends StackProps {
  /** The parsed `watchdog` config (see `loadWatchdogConfig`). */
  readonly config: WatchdogConfig;
  /**
   * How long one halt-rollout invocation may run. Long enough to wait for the Store's request budget
   * (20 calls a minute per tenant): a storm of 20 alarmed apps needs 60 calls, about two minutes.
   * @default HALT_ROLLOUT_TIMEOUT_SECONDS (5 minutes)
   */
  readonly haltRolloutTimeout?: Duration;
  /**
   * The most halt-rollout invocations that run at once (reserved concurrency). The Store request budget
   * is the tenant's whatever this is (docs/storms.md, "Many alarms at once").
   * @default DEFAULT_HALT_ROLLOUT_CONCURRENCY (10)
   */
  readonly haltRolloutConcurrency?: number;
}

/** See `WatchdogStackProps.haltRolloutConcurrency`. */
export { DEFAULT_HALT_ROLLOUT_CONCURRENCY };

/** See the module comment. */
export class WatchdogStack extends Stack {
  readonly haltRollout: WatchdogFunction;
  readonly notifications: Notifications;
  readonly credentials: StoreCredentials;
  readonly intake: AlarmIntake;
  /** The nested stacks that hold the alarms built from the config (and Store health dashboard pages). */
  readonly alarmStacks: AlarmStacks;
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
  /** Federated Store credentials, when the config has `federation`. */
  readonly federation: OutboundFederation | undefined;

  constructor(scope: Construct, id: string, props: WatchdogStackProps) {
    super(scope, id, props);
    // One timeout: the continuation queue's visibility is derived from it.
    const haltRolloutTimeout = props.haltRolloutTimeout ?? Duration.seconds(HALT_ROLLOUT_TIMEOUT_SECONDS);
    const { config } = props;
    const watchedApps = deriveWatchedApps(config, this.stackName);
    const storeHealthApps = listStoreHealthApps(config, this.stackName);

    this.haltRollout = new WatchdogFunction(this, 'HaltRollout', {
      entry: HALT_ROLLOUT_ENTRY,
      description:
        'Store rollout watchdog: halts a Microsoft Store package rollout when a watched alarm fires',
      serviceName: 'store-rollout-watchdog',
      watchedApps,
      environment: { DRY_RUN: String(config.dryRun) },
      timeout: haltRolloutTimeout,
      reservedConcurrentExecutions: props.haltRolloutConcurrency ?? DEFAULT_HALT_ROLLOUT_CONCURRENCY,
      // No blind retry of the whole event: a malformed event is not retried (it goes straight to the
      // failure queue), and failed targets are retried alone, with backoff, through the continuation
      // queue (at most three attempts per alarm transition; see docs/reliability.md).
      retryAttempts: 0,
      // A storm of looked-up halts needs more than an hour of the budget: its last alarms wait their turn.
      maxEventAge: Duration.seconds(HALT_ROLLOUT_MAX_EVENT_AGE_SECONDS),
    });

    this.credentials = new StoreCredentials(this, 'StoreCredentials', {
      ...definedProps({ existing: config.secret }),
    });
    this.credentials.grantReadTo(this.haltRollout);

    this.notifications = new Notifications(this, 'Notifications', { emails: config.notificationEmails });
    this.notifications.grantPublishTo(this.haltRollout);

    // The alarms built from the config live in nested stacks, so no template passes CloudFormation's limits.
    this.alarmStacks = new AlarmStacks(this, 'CatalogAlarms');
    this.watchedAlarms = new WatchedAlarms(this, 'WatchedAlarms', {
      specs: describeAlarmSpecs(config, watchedApps),
      scopeFor: (name) => this.alarmStacks.scopeFor(name),
    });
    // With an alarm-name prefix, the drill alarm's name carries it too, so the prefix rule delivers it.
    this.drill = new DrillAlarm(
      this,
      'Drill',
      config.alarmNamePrefix === undefined
        ? {}
        : { alarmName: `${config.alarmNamePrefix}${this.stackName}-drill` },
    );
    this.haltRollout.addEnvironment('DRILL_ALARM_NAME', this.drill.alarmName);
    // Each watched alarm reaches the function one way: an alarm created here by its alarm action (the
    // alarm topic), one created elsewhere by an EventBridge rule. With an alarm-name prefix the one rule
    // matches every name with it, created here or not, so those created here get no alarm action.
    const created = new Set([...listCreatedAlarmNames(config, this.stackName), this.drill.alarmName]);
    this.intake = new AlarmIntake(this, 'AlarmIntake', {
      target: this.haltRollout,
      alarmNames: listWatchedAlarmNames(config, this.stackName).filter((name) => !created.has(name)),
      ...definedProps({ alarmNamePrefix: config.alarmNamePrefix }),
    });
    this.compositeAlarms = new CompositeAlarms(this, 'CompositeAlarms', {
      specs: config.apps.flatMap((app) =>
        app.composites.map((spec) => ({ spec, appNames: appNamesWatching(watchedApps, spec.alarmName) })),
      ),
      created: this.watchedAlarms.byName,
      scopeFor: (name) => this.alarmStacks.scopeFor(name, 'composites'),
    });
    new ConsoleTestEvents(this, 'ConsoleTestEvents', {
      function: this.haltRollout.function,
      apps: config.apps,
      drillAlarmName: this.drill.alarmName,
      alarmTopic: this.intake.alarmTopic,
    });
    for (const alarm of [...this.watchedAlarms.alarms, ...this.compositeAlarms.alarms, this.drill.alarm]) {
      this.deliverCreatedAlarm(alarm, config.alarmNamePrefix);
    }

    this.selfAlarms = new SelfAlarms(this, 'SelfAlarms', { notifications: this.notifications });
    // Reserved concurrency throttles large storms by design; the backlog alarms watch instead.
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
    // watched: every failed run lands there, which would duplicate the failed-run alarm. Without a
    // configured schedule, the self-check derives one from the apps.
    const { scheduleHours } = config.selfCheck;
    this.selfCheck = new SelfCheck(this, 'SelfCheck', {
      apps: watchedApps,
      credentials: this.credentials,
      notifications: this.notifications,
      ...(scheduleHours === undefined ? {} : { schedule: Duration.minutes(Math.round(scheduleHours * 60)) }),
      // Both scheduled readers together get at most half the tenant's budget: with the probe beside
      // it, the self-check's slices are planned at half of that.
      ...(storeHealthApps.length === 0
        ? {}
        : { requestsPerMinute: SELF_CHECK_STORE_REQUESTS_PER_MINUTE / 2 }),
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
            scopes: {
              alarm: (name) => this.alarmStacks.scopeFor(name),
              dashboardPage: (page) =>
                this.alarmStacks.namedStack(
                  `StoreHealthDashboard${page}`,
                  `Store rollout watchdog: page ${page} of the Store health dashboard`,
                ),
            },
          });
    for (const alarm of [...(this.storeHealth?.appAlarms ?? []), ...(this.storeHealth?.flightAlarms ?? [])]) {
      this.deliverCreatedAlarm(alarm, config.alarmNamePrefix);
    }
    // Each app's live rollout, remembered by the self-check, so that a halt of it is one Store request.
    this.stateTable = new StateTable(this, 'State');
    this.stateTable.connect(this.selfCheck.function);
    this.stateTable.connect(this.haltRollout, { transitions: true });
    // The probe takes its Store slots from the same budget, and remembers what it read, so that a run
    // reads only what changed.
    if (this.storeHealth !== undefined) this.stateTable.connect(this.storeHealth.function);

    // Storms longer than one invocation: the apps not reached are handed on through this queue.
    this.stormContinuation = new StormContinuation(this, 'StormContinuation', {
      target: this.haltRollout,
      functionTimeout: haltRolloutTimeout,
    });
    this.selfAlarms.watchQueue(
      'storm-continuation-dead-letters',
      this.stormContinuation.deadLetterQueue,
      'Apps of an alarm storm that the halt-rollout function handed on could not be handled and wait in the storm continuation dead-letter queue: check their rollouts by hand.',
    );

    // Federated credentials: only the functions that call the Store may ask STS for a web identity token.
    this.federation =
      config.federation === undefined
        ? undefined
        : new OutboundFederation(this, 'OutboundFederation', {
            enableInAccount: config.federation.enableInAccount,
            clientId: config.federation.clientId,
          });
    if (this.federation !== undefined) {
      this.federation.grantWebIdentityTo('HaltRollout', this.haltRollout);
      this.federation.grantWebIdentityTo('SelfCheck', this.selfCheck.function);
      if (this.storeHealth !== undefined) {
        this.federation.grantWebIdentityTo('StoreHealth', this.storeHealth.function);
      }
      this.federation.addOutputs(this);
    }

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
        description:
          this.federation === undefined
            ? 'Run once after the first deploy, with your Azure AD tenant ID, client ID and key'
            : 'Run once after the first deploy, with your Azure AD tenant ID and client ID (federated: no key)',
        value: `aws secretsmanager put-secret-value --region ${Aws.REGION} --secret-id ${this.credentials.secretId} --secret-string '${(this.federation === undefined ? SECRET_TEMPLATE : FEDERATED_SECRET_TEMPLATE).replaceAll('""', '"..."')}'`,
      });
    }
  }

  /**
   * Makes an alarm this stack creates reach the function one way: its alarm action (the alarm topic),
   * unless the alarm-name prefix rule already matches its name.
   */
  private deliverCreatedAlarm(alarm: Alarm | CompositeAlarm, alarmNamePrefix: string | undefined): void {
    if (alarmNamePrefix !== undefined && literalAlarmName(alarm).startsWith(alarmNamePrefix)) return;
    this.intake.addAlarm(alarm);
  }
}

/** Each created alarm with the display names of every app it watches (its own and those naming it). */
function describeAlarmSpecs(config: WatchdogConfig, watchedApps: readonly WatchedApp[]): WatchedAlarmSpec[] {
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
