/**
 * What the local run watches while the watchdog works: a `RolloutPort` wrapper and a logger that write
 * down, with a timestamp, each step the invocation takes. The ports underneath are the Lambda's own;
 * the wrappers only observe and never change a value or an error.
 */

import type { Notification } from '../../functions/commons/domain/notification.ts';
import type {
  FlightSelection,
  HaltOutcome,
  RolloutLookup,
  RolloutPort,
} from '../../functions/commons/domain/ports.ts';
import type { WatchdogPorts } from '../../functions/halt-rollout/watchdog.ts';

/** One thing that happened, at `performance.now()` time `at`. */
export type StoryEvent =
  | {
      readonly at: number;
      readonly kind: 'log';
      readonly level: 'info' | 'warn' | 'error';
      readonly message: string;
      readonly attributes: Record<string, unknown>;
    }
  | {
      readonly at: number;
      readonly kind: 'lookup-start';
      readonly applicationId: string;
      readonly flights: FlightSelection;
    }
  | { readonly at: number; readonly kind: 'lookup-done'; readonly lookups: readonly RolloutLookup[] }
  | {
      readonly at: number;
      readonly kind: 'halt-start';
      readonly found: Extract<RolloutLookup, { state: 'in-progress' }>;
    }
  | { readonly at: number; readonly kind: 'halt-done'; readonly outcome: HaltOutcome }
  | { readonly at: number; readonly kind: 'halt-failed'; readonly error: unknown }
  | { readonly at: number; readonly kind: 'published'; readonly notification: Notification };

/** Collects the events of one run, in the order they happened. */
export interface StoryRecorder {
  readonly events: readonly StoryEvent[];
  /** Adds an event stamped with the current time. */
  record(event: DistributiveOmit<StoryEvent, 'at'>): void;
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

export function createStoryRecorder(now: () => number = () => performance.now()): StoryRecorder {
  const events: StoryEvent[] = [];
  return {
    events,
    record(event) {
      events.push({ ...event, at: now() });
    },
  };
}

/** The Lambda's `RolloutPort`, with each lookup and halt written down when it starts and ends. */
export function narrateRollouts(port: RolloutPort, story: StoryRecorder): RolloutPort {
  return {
    async findLiveRollouts(request, signal) {
      story.record({ kind: 'lookup-start', applicationId: request.applicationId, flights: request.flights });
      const lookups = await port.findLiveRollouts(request, signal);
      story.record({ kind: 'lookup-done', lookups });
      return lookups;
    },
    async haltRollout(found, signal) {
      story.record({ kind: 'halt-start', found });
      try {
        const outcome = await port.haltRollout(found, signal);
        story.record({ kind: 'halt-done', outcome });
        return outcome;
      } catch (error) {
        story.record({ kind: 'halt-failed', error });
        throw error;
      }
    },
  };
}

/** A logger for `WatchdogPorts` that writes the invocation's log lines into the story. */
export function createStoryLogger(story: StoryRecorder): WatchdogPorts['logger'] {
  const log =
    (level: 'info' | 'warn' | 'error') =>
    (message: string, attributes: Record<string, unknown>): void =>
      story.record({ kind: 'log', level, message, attributes });
  return { info: log('info'), warn: log('warn'), error: log('error') };
}
