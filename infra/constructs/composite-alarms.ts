/**
 * The composite alarms of the config (`apps[].composites[]`): each goes into ALARM only when every one of
 * its children is in ALARM (`ALARM("a") AND ALARM("b")`), so one noisy signal alone cannot halt a
 * rollout. Children are named, not referenced: they may be alarms this stack creates (the composite then
 * depends on them, so CloudFormation creates them first) or alarms that already exist.
 */
import { type Alarm, AlarmRule, CompositeAlarm } from 'aws-cdk-lib/aws-cloudwatch';
import { Construct } from 'constructs';
import { type CompositeSpec, compositeRule } from '../alarm-config.ts';

/** A composite spec and the apps (display names) it watches. */
export interface WatchedCompositeSpec {
  readonly spec: CompositeSpec;
  /** Shown in the default alarm description. */
  readonly appNames: readonly string[];
}

export interface CompositeAlarmsProps {
  readonly specs: readonly WatchedCompositeSpec[];
  /** Alarms this stack creates, by name: a child among them is created before the composite. */
  readonly created: ReadonlyMap<string, Alarm>;
  /**
   * The scope each composite is created in, by its name (a nested stack: `AlarmStacks.scopeFor`).
   * @default this construct
   */
  readonly scopeFor?: (alarmName: string) => Construct;
}

/** See the module comment. */
export class CompositeAlarms extends Construct {
  /** One composite alarm per spec, in order, each with its configured (literal) name. */
  readonly alarms: readonly CompositeAlarm[];

  constructor(scope: Construct, id: string, props: CompositeAlarmsProps) {
    super(scope, id);
    const scopeFor = props.scopeFor ?? (() => this);
    this.alarms = props.specs.map(({ spec, appNames }) => {
      const effect =
        spec.action === 'halt'
          ? `ALARM halts the in-progress rollout of ${appNames.join(', ')}`
          : `ALARM notifies about ${appNames.join(', ')} (notify-only: never halts)`;
      const alarm = new CompositeAlarm(
        scopeFor(spec.alarmName),
        `Composite-${encodeURIComponent(spec.alarmName)}`,
        {
          compositeAlarmName: spec.alarmName,
          alarmDescription:
            spec.description ??
            `Store rollout watchdog: in ALARM when ${spec.allOf.join(' and ')} are all in ALARM; ${effect}`,
          alarmRule: AlarmRule.fromString(compositeRule(spec)),
        },
      );
      for (const child of spec.allOf) {
        const created = props.created.get(child);
        if (created !== undefined) alarm.node.addDependency(created);
      }
      return alarm;
    });
  }
}
