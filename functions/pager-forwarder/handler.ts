/**
 * The pager forwarder Lambda: the composition root. It reads the pager queue (subscribed to the
 * notification topic with a filter on failures and the watchdog's health alarms) and sends PagerDuty
 * Events API v2 `trigger` events (see `forward.ts`). Reports partial batch failures, so a failed
 * delivery is retried by SQS and then kept in the dead-letter queue.
 *
 * Environment: `PAGER_ROUTING_KEY_SECRET_ID` (required: the secret holding the routing key) and
 * `PAGERDUTY_EVENTS_URL` (the enqueue endpoint; https, or http on loopback for tests).
 */
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import middy from '@middy/core';
import type { Context, SQSEvent } from 'aws-lambda';
import { ConfigurationError } from '../commons/errors.ts';
import { createDeadline } from '../commons/http/deadline.ts';
import { createDispatcher } from '../commons/http/transport.ts';
import { createObservability } from '../commons/observability.ts';
import { createEventsApiClient, DEFAULT_EVENTS_URL } from './events-api.ts';
import { type BatchResponse, type ForwarderPorts, forwardBatch } from './forward.ts';
import { createRoutingKeySource } from './routing-key.ts';

const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);
const DEFAULT_REMAINING_MS = 60_000;

const { logger } = createObservability('store-rollout-watchdog-pager');

function wire(): { ok: true; ports: ForwarderPorts } | { ok: false; error: ConfigurationError } {
  const secretId = process.env.PAGER_ROUTING_KEY_SECRET_ID?.trim() ?? '';
  if (secretId === '') {
    return {
      ok: false,
      error: new ConfigurationError('INVALID_ENVIRONMENT', 'PAGER_ROUTING_KEY_SECRET_ID is required'),
    };
  }
  const rawUrl = process.env.PAGERDUTY_EVENTS_URL?.trim() || DEFAULT_EVENTS_URL;
  let url: URL;
  try {
    url = new URL(rawUrl);
  } catch {
    return {
      ok: false,
      error: new ConfigurationError('INVALID_ENVIRONMENT', 'PAGERDUTY_EVENTS_URL is not a URL'),
    };
  }
  if (!(url.protocol === 'https:' || (url.protocol === 'http:' && LOOPBACK_HOSTS.has(url.hostname)))) {
    return {
      ok: false,
      error: new ConfigurationError(
        'INVALID_ENVIRONMENT',
        'PAGERDUTY_EVENTS_URL must be an https:// URL (http:// only for 127.0.0.1, localhost or [::1])',
      ),
    };
  }
  return {
    ok: true,
    ports: {
      events: createEventsApiClient({ dispatcher: createDispatcher(), url }),
      routingKey: createRoutingKeySource(new SecretsManagerClient({}), secretId),
      logger,
    },
  };
}

const wiring = wire();

async function forward(event: SQSEvent, context: Context | undefined): Promise<BatchResponse> {
  if (!wiring.ok) {
    logger.error('configuration error', { code: wiring.error.code, message: wiring.error.message });
    throw wiring.error;
  }
  const remaining =
    typeof context?.getRemainingTimeInMillis === 'function'
      ? context.getRemainingTimeInMillis()
      : DEFAULT_REMAINING_MS;
  const signal = createDeadline({ timeoutMs: Math.max(0, remaining - 2_000) });
  return forwardBatch(event.Records, wiring.ports, signal);
}

/** The Lambda entry point. */
export const handler = middy(forward, { timeoutEarlyInMillis: 0 }).use(
  injectLambdaContext(logger, { resetKeys: true }),
);
