/**
 * Watching the watchdog: alarms on its functions' errors, throttles and event backlog, and on the depth of every queue
 * where an undelivered or failed alarm event waits for a person. They notify the notification topic.
 */
import { Duration, Stack, Token } from 'aws-cdk-lib';
import { Alarm, ComparisonOperator, type IMetric, TreatMissingData } from 'aws-cdk-lib/aws-cloudwatch';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type { Notifications } from './notifications.ts';
import type { WatchdogFunction } from './watchdog-function.ts';

export interface SelfAlarmsProps {
  /** Where the alarms notify. */
  readonly notifications: Notifications;
  /** Prefix of the alarm names. @default the stack name */
  readonly alarmNamePrefix?: string;
}

/** See the module comment. */
export class SelfAlarms extends Construct {
  private readonly notifications: Notifications;
  private readonly prefix: string;
  private readonly created: Alarm[] = [];

  constructor(scope: Construct, id: string, props: SelfAlarmsProps) {
    super(scope, id);
    this.notifications = props.notifications;
    this.prefix = props.alarmNamePrefix ?? Stack.of(this).stackName;
    if (Token.isUnresolved(this.prefix)) {
      throw new Error(`${this.node.path}: the alarm name prefix must be a literal string`);
    }
  }

  /** The alarms created so far. */
  get alarms(): readonly Alarm[] {
    return this.created;
  }

  /**
   * Alarms on any error of `fn`, on its failure queue holding a message, and on its asynchronous event
   * queue (an event dropped, or one waiting longer than `maxEventWait`). Throttles alarm only when they
   * are not expected: a function with reserved concurrency is throttled by design in a storm, and
   * Lambda's asynchronous queue retries them.
   * @param label - short kebab-case name of the function in alarm names, e.g. `halt-rollout`
   */
  watchFunction(
    fn: WatchdogFunction,
    label: string,
    options: {
      /** Throttles are expected (reserved concurrency). @default false */
      readonly throttlesExpected?: boolean;
      /** How long an event may wait in the asynchronous queue before people are told. @default 10 minutes */
      readonly maxEventWait?: Duration;
    } = {},
  ): void {
    const period = Duration.minutes(1);
    this.addAlarm(`${label}-errors`, {
      description: `The ${label} function failed: see its logs (a failed event is kept in its failure queue).`,
      metric: fn.function.metricErrors({ period, statistic: 'Sum' }),
    });
    if (options.throttlesExpected !== true) {
      this.addAlarm(`${label}-throttles`, {
        description: `The ${label} function was throttled: check the account's Lambda concurrency.`,
        metric: fn.function.metricThrottles({ period, statistic: 'Sum' }),
      });
    }
    this.addAlarm(`${label}-events-dropped`, {
      description: `Lambda dropped an event of the ${label} function (too old, or retries exhausted while throttled): check the rollouts by hand.`,
      metric: fn.function.metric('AsyncEventsDropped', { period, statistic: 'Sum' }),
    });
    const maxEventWait = options.maxEventWait ?? Duration.minutes(10);
    this.addAlarm(
      `${label}-events-waiting`,
      {
        description: `An event of the ${label} function has waited more than ${maxEventWait.toHumanString()} in Lambda's asynchronous queue: the watchdog is behind (a storm, or a stuck invocation).`,
        metric: fn.function.metric('AsyncEventAge', { period, statistic: 'Maximum' }),
      },
      maxEventWait.toMilliseconds(),
    );
    this.watchQueue(
      `${label}-failures`,
      fn.failureQueue,
      `An event of the ${label} function failed after all retries and waits in its failure queue: a person must act on it.`,
    );
  }

  /** An alarm as soon as `queue` holds a visible message. */
  watchQueue(label: string, queue: IQueue, description: string): void {
    this.addAlarm(label, {
      description,
      metric: queue.metricApproximateNumberOfMessagesVisible({
        period: Duration.minutes(1),
        statistic: 'Maximum',
      }),
    });
  }

  private addAlarm(label: string, options: { description: string; metric: IMetric }, threshold = 0): void {
    const alarm = new Alarm(this, label, {
      alarmName: `${this.prefix}-${label}`,
      alarmDescription: options.description,
      metric: options.metric,
      threshold,
      comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });
    this.notifications.notifyOnAlarm(alarm);
    this.created.push(alarm);
  }
}
