/**
 * The nested stacks that hold the alarms the stack builds, so that no template passes CloudFormation's
 * limits however large the catalog (docs/catalog.md, "The alarms the stack builds").
 *
 * An alarm's stack follows from a hash of its name, never its position in the config: moving an alarm
 * between stacks would create it in the new one while the old one still holds the name. Composites get
 * their own stacks, after the metric alarms they name, so the stacks never wait on each other.
 */
import { createHash } from 'node:crypto';
import { NestedStack } from 'aws-cdk-lib';
import { Construct } from 'constructs';
import { ConfigurationError } from '../../functions/commons/errors.ts';

/** How many nested stacks the metric alarms are spread over (and, separately, the composites). */
export const ALARM_STACK_COUNT = 16;

/**
 * The most alarms one nested stack holds: CloudFormation allows 500 resources per stack; the rest is
 * headroom for an uneven spread. With 16 stacks that is room for thousands of alarms.
 */
export const MAX_ALARMS_PER_STACK = 450;

/** What kind of alarm a nested stack holds. */
export type AlarmStackKind = 'alarms' | 'composites';

/** The 0-based nested stack of `alarmName`: the first four bytes of its SHA-256, modulo the stack count. */
export function alarmStackIndex(alarmName: string, count: number = ALARM_STACK_COUNT): number {
  return createHash('sha256').update(alarmName, 'utf8').digest().readUInt32BE(0) % count;
}

/** See the module comment. */
export class AlarmStacks extends Construct {
  private readonly stacks = new Map<string, { stack: NestedStack; alarms: number }>();

  /**
   * The scope to create the alarm `alarmName` in: its nested stack (created on first use). Throws a
   * `ConfigurationError` when that stack would hold more than `MAX_ALARMS_PER_STACK` alarms.
   */
  scopeFor(alarmName: string, kind: AlarmStackKind = 'alarms'): Construct {
    const index = alarmStackIndex(alarmName);
    const id = `${kind === 'alarms' ? 'Alarms' : 'Composites'}${String(index + 1).padStart(2, '0')}`;
    let entry = this.stacks.get(id);
    if (entry === undefined) {
      entry = {
        stack: new NestedStack(this, id, {
          description: `Store rollout watchdog: ${kind === 'alarms' ? 'alarms' : 'composite alarms'} built from the watchdog config (${index + 1} of ${ALARM_STACK_COUNT})`,
        }),
        alarms: 0,
      };
      this.stacks.set(id, entry);
    }
    entry.alarms++;
    if (entry.alarms > MAX_ALARMS_PER_STACK) {
      throw new ConfigurationError(
        'INVALID_WATCHDOG_CONFIG',
        `invalid watchdog config: watchdog.apps: the stack would build more than ${MAX_ALARMS_PER_STACK} ${kind === 'alarms' ? 'alarms' : 'composite alarms'} in one of its ${ALARM_STACK_COUNT} nested stacks (CloudFormation allows 500 resources per stack); split the apps over two watchdog stacks`,
      );
    }
    return entry.stack;
  }

  /** A nested stack for something else the catalog needs (a dashboard page), by id; created on first use. */
  namedStack(id: string, description: string): NestedStack {
    const existing = this.stacks.get(id);
    if (existing !== undefined) return existing.stack;
    const stack = new NestedStack(this, id, { description });
    this.stacks.set(id, { stack, alarms: 0 });
    return stack;
  }

  /** The nested stacks created so far, by id. */
  get nestedStacks(): ReadonlyMap<string, NestedStack> {
    return new Map([...this.stacks].map(([id, entry]) => [id, entry.stack]));
  }
}
