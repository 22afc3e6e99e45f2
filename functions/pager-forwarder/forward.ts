/**
 * One batch of the pager queue: each record (a message of the notification topic) is planned
 * (`planPage`) and its triggers sent. A record whose delivery failed is reported back to SQS as a batch
 * item failure: SQS delivers it again, and after the queue's last attempt keeps it in the dead-letter
 * queue, which raises an alarm. Nothing is dropped.
 */

import { describeError, WatchdogError } from '../commons/errors.ts';
import { type EventsApiAccepted, type EventsApiClient, PAGER_ROUTING_KEY_REFUSED } from './events-api.ts';
import { type PagerTrigger, planPage } from './page-plan.ts';
import type { RoutingKeySource } from './routing-key.ts';

export interface SqsRecordLike {
  readonly messageId: string;
  readonly body: string;
}

export interface ForwarderPorts {
  readonly events: EventsApiClient;
  readonly routingKey: RoutingKeySource;
  readonly logger: {
    info(message: string, attributes: Record<string, unknown>): void;
    error(message: string, attributes: Record<string, unknown>): void;
  };
}

export interface BatchResponse {
  readonly batchItemFailures: { readonly itemIdentifier: string }[];
}

export async function forwardBatch(
  records: readonly SqsRecordLike[],
  ports: ForwarderPorts,
  signal: AbortSignal,
): Promise<BatchResponse> {
  const failures: { itemIdentifier: string }[] = [];
  for (const record of records) {
    try {
      const plan = planPage(record.body);
      if (plan.kind === 'skip') {
        ports.logger.info('nothing to page', { messageId: record.messageId, why: plan.why });
        continue;
      }
      for (const trigger of plan.triggers) {
        const accepted = await sendTrigger(ports, trigger, signal);
        ports.logger.info('paged', {
          messageId: record.messageId,
          dedupKey: accepted.dedupKey,
          status: accepted.status,
          attempts: accepted.attempts,
        });
      }
    } catch (error) {
      ports.logger.error('page not delivered; the message stays in the queue', {
        messageId: record.messageId,
        error: describeError(error),
      });
      failures.push({ itemIdentifier: record.messageId });
    }
  }
  return { batchItemFailures: failures };
}

/**
 * Sends one trigger with the current routing key; when PagerDuty refuses the key, reads the secret
 * again and, if it holds another key (it was rotated), sends once more with that one.
 */
async function sendTrigger(
  ports: ForwarderPorts,
  trigger: PagerTrigger,
  signal: AbortSignal,
): Promise<EventsApiAccepted> {
  const routingKey = await ports.routingKey.get(signal);
  try {
    return await ports.events.trigger(routingKey, trigger, signal);
  } catch (error) {
    if (!(error instanceof WatchdogError) || error.code !== PAGER_ROUTING_KEY_REFUSED) throw error;
    const fresh = await ports.routingKey.refused(routingKey, signal);
    if (!fresh.changed) throw error;
    return ports.events.trigger(fresh.key, trigger, signal);
  }
}
