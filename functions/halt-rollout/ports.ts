/**
 * What one watchdog invocation is handed: its ports (the handler: Secrets Manager, the Store API, SQS,
 * DynamoDB and SNS; the local run: the simulator and the terminal) and its time limits.
 */
import type { Continuation } from '../commons/domain/continuation.ts';
import type { DecisionLogger } from '../commons/domain/decide.ts';
import type { Notification } from '../commons/domain/notification.ts';
import type { RolloutMemory, RolloutPort } from '../commons/domain/ports.ts';
import type { TransitionLedger } from '../commons/domain/transitions.ts';
import { createDeadline } from '../commons/http/deadline.ts';

/** Where the invocation's work goes; everything the flow touches outside plain data. */
export interface WatchdogPorts {
  readonly rollouts: RolloutPort;
  /** Each app's remembered live rollout (in the state table); absent: every halt reads first. */
  readonly memory?: RolloutMemory;
  /**
   * Sends a continuation to the queue that invokes the function: the apps of a storm handed on, or a
   * delayed retry of failed targets. Absent: such apps are `failed` and no retry is scheduled.
   * @param delaySeconds - how long the queue holds it back @default none
   */
  readonly handOn?: (continuation: Continuation, signal: AbortSignal, delaySeconds?: number) => Promise<void>;
  /** The transition ledger (in the state table); absent: every delivery is handled on its own. */
  readonly ledger?: TransitionLedger;
  /** Wall-clock milliseconds (when a storm started, claims). @default Date.now */
  readonly wallClock?: () => number;
  /** Publishes the one notification of an acting invocation. */
  readonly publish: (notification: Notification, signal: AbortSignal) => Promise<void>;
  readonly now: () => number;
  readonly logger: DecisionLogger & {
    error(message: string, attributes: Record<string, unknown>): void;
    /** Adds keys to every later log line of the invocation (Powertools' `Logger` has it). */
    appendKeys?(attributes: Record<string, unknown>): void;
  };
}

/** Time limits of one invocation, from the Lambda context. */
export interface InvocationBudget {
  /** Aborts the Store work, leaving time to notify. */
  readonly decideSignal: AbortSignal;
  /** Aborts the notification, just before the Lambda's own timeout. */
  readonly notifySignal: AbortSignal;
  /**
   * Milliseconds until the Lambda's timeout, after which a claim on a transition lapses.
   * @default 900_000 (Lambda's longest timeout)
   */
  readonly remainingMs?: number;
}

/** Splits the time left into the Store work and a reserve for the notification. */
export function budgetFromRemaining(remainingMs: number): InvocationBudget {
  // The larger of 3 s or a fifth of the time for publishing, and a last 500 ms for Lambda itself.
  const notifyReserveMs = Math.max(3000, Math.floor(remainingMs / 5));
  const decideMs = Math.max(0, remainingMs - notifyReserveMs);
  const notifyMs = Math.max(0, remainingMs - 500);
  return {
    decideSignal: createDeadline({ timeoutMs: decideMs }),
    notifySignal: createDeadline({ timeoutMs: notifyMs }),
    remainingMs,
  };
}
