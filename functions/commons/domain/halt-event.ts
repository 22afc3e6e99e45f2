/**
 * The first two stages of the halt path: what an event is (an alarm, a manual event or a continuation)
 * and the plan it resolves to against the current config. Plain data in, plain data out.
 */
import { definedProps } from '../optional.ts';
import { type Continuation, readContinuation, resolveContinuation, type StormPart } from './continuation.ts';
import { type Intake, parseEvent } from './events.ts';
import { type Plan, resolveTargets, type TargetConfig } from './targets.ts';

/** What an event is: a public event (an alarm or a manual event) or a continuation of a storm. */
export type HaltEvent =
  | { readonly kind: 'intake'; readonly intake: Intake }
  | { readonly kind: 'continuation'; readonly continuation: Continuation };

/** A parsed event resolved against the config: the stage after parsing. */
export interface ResolvedEvent {
  readonly plan: Plan;
  readonly storm: StormPart;
  /** Apps a continuation names that its alarms no longer reach (the config changed): left out. */
  readonly leftOut: readonly string[];
  /** Set for a continuation: the part it carries on (for the log). */
  readonly continuationPart?: number;
  /** Set for a scheduled retry: the attempt it makes and the targets it re-examines. */
  readonly retry?: Continuation['retry'];
}

/**
 * What an event is. Throws `BadInputError` for anything that is not exactly one of the accepted
 * events (see the Lambda contract, "Events it accepts").
 */
export function parseHaltEvent(event: unknown): HaltEvent {
  const continuation = readContinuation(event);
  return continuation === undefined
    ? { kind: 'intake', intake: parseEvent(event) }
    : { kind: 'continuation', continuation };
}

/**
 * The plan of a parsed event: a public event starts a storm (part 1); a continuation carries its own
 * part, narrowed to the apps its alarms still reach. Throws `BadInputError` for a manual event about an
 * app that is not watched, or a continuation that names an app twice.
 *
 * @param stormStartedAt - when a storm starting now starts (read only for a public event)
 */
export function resolveHaltEvent(
  parsed: HaltEvent,
  config: TargetConfig,
  stormStartedAt: () => string,
): ResolvedEvent {
  if (parsed.kind === 'intake') {
    return {
      plan: resolveTargets(parsed.intake, config),
      storm: { part: 1, stormStartedAt: stormStartedAt() },
      leftOut: [],
    };
  }
  const { continuation } = parsed;
  const { plan, dropped } = resolveContinuation(continuation, config);
  return {
    plan,
    storm: { part: continuation.part, stormStartedAt: continuation.stormStartedAt },
    leftOut: dropped,
    continuationPart: continuation.part,
    ...definedProps({ retry: continuation.retry }),
  };
}
