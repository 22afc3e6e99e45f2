/**
 * The PagerDuty Events API v2 adapter: one `trigger` event per call, POSTed as JSON to the enqueue
 * endpoint over the project's undici transport (`sendHttpRequest`), with a timeout per attempt and
 * bounded retries (`runWithRetries`) on 429, 5xx and network failures. A 400 is the event's fault and is
 * not retried here. Resending a trigger is safe: PagerDuty deduplicates it by `dedup_key`.
 *
 * The routing key travels in the request body only. No error message, log line or result carries it:
 * anything that came back from the server is cleaned of it before it is used.
 */
import type { Dispatcher } from 'undici';
import { WatchdogError } from '../commons/errors.ts';
import {
  type AttemptResult,
  parseRetryAfter,
  REAL_RETRY_ENVIRONMENT,
  type RetryEnvironment,
  type RetryPolicy,
  runWithRetries,
} from '../commons/http/retry.ts';
import { classifyFailure, sendHttpRequest } from '../commons/http/transport.ts';
import { definedProps } from '../commons/optional.ts';
import * as z from '../commons/validation.ts';
import type { PagerTrigger } from './page-plan.ts';

export const DEFAULT_EVENTS_URL = 'https://events.pagerduty.com/v2/enqueue';

/** The code of the error for PagerDuty's 400 "Invalid routing key": the key, not the event, is wrong. */
export const PAGER_ROUTING_KEY_REFUSED = 'PAGER_ROUTING_KEY_REFUSED';

const EVENTS_API_RETRY_POLICY: RetryPolicy = {
  maxAttempts: 4,
  baseDelayMs: 500,
  maxDelayMs: 8_000,
  maxRetryAfterMs: 30_000,
};

export interface EventsApiOptions {
  readonly dispatcher: Dispatcher;
  /** The enqueue endpoint. @default DEFAULT_EVENTS_URL */
  readonly url?: URL;
  /** Longest single attempt. @default 10_000 */
  readonly attemptTimeoutMs?: number;
  readonly policy?: RetryPolicy;
  readonly environment?: RetryEnvironment;
}

/** What PagerDuty answered a delivered event (202 Accepted). */
export interface EventsApiAccepted {
  readonly status: string;
  readonly message: string;
  readonly dedupKey: string;
  readonly attempts: number;
}

export interface EventsApiClient {
  /**
   * Sends one trigger. Throws `WatchdogError` (`PAGER_REJECTED`, `PAGER_ROUTING_KEY_REFUSED`,
   * `PAGER_UNAVAILABLE`) when it was not accepted.
   */
  trigger(routingKey: string, event: PagerTrigger, signal: AbortSignal): Promise<EventsApiAccepted>;
}

const acceptedSchema = z.object({ status: z.string(), message: z.string(), dedup_key: z.string() });
const rejectedSchema = z.object({ message: z.optional(z.string()), errors: z.optional(z.array(z.string())) });

export function createEventsApiClient(options: EventsApiOptions): EventsApiClient {
  const url = options.url ?? new URL(DEFAULT_EVENTS_URL);
  const attemptTimeoutMs = options.attemptTimeoutMs ?? 10_000;
  const policy = options.policy ?? EVENTS_API_RETRY_POLICY;
  const environment = options.environment ?? REAL_RETRY_ENVIRONMENT;

  return {
    async trigger(routingKey, event, signal) {
      const clean = (text: string): string =>
        routingKey === '' ? text : text.replaceAll(routingKey, '[routing key]');
      const body = JSON.stringify({
        routing_key: routingKey,
        event_action: 'trigger',
        dedup_key: event.dedupKey,
        payload: {
          summary: event.summary,
          source: event.source,
          severity: event.severity,
          component: event.component,
          custom_details: event.customDetails,
        },
        links: event.links,
      });
      let attempts = 0;
      return runWithRetries(
        async (attempt): Promise<AttemptResult<EventsApiAccepted>> => {
          attempts = attempt;
          const attemptSignal = AbortSignal.any([signal, AbortSignal.timeout(attemptTimeoutMs)]);
          let response: Awaited<ReturnType<typeof sendHttpRequest>>;
          try {
            response = await sendHttpRequest(options.dispatcher, {
              method: 'POST',
              url,
              headers: { 'content-type': 'application/json', accept: 'application/json' },
              body,
              signal: attemptSignal,
            });
          } catch (error) {
            const failure = classifyFailure(error, signal);
            const detail = failure.kind === 'deadline' ? 'the deadline passed' : failure.detail;
            return {
              ok: false,
              retryable:
                failure.kind !== 'deadline' &&
                (failure.kind === 'timeout' || failure.retryable || attemptSignal.aborted),
              error: unavailable(`no answer from the Events API (${detail})`, error),
            };
          }
          if (response.status === 202) {
            const accepted = acceptedSchema.safeParse(safeJson(response.text));
            return {
              ok: true,
              value: accepted.success
                ? {
                    status: accepted.data.status,
                    message: clean(accepted.data.message),
                    dedupKey: accepted.data.dedup_key,
                    attempts,
                  }
                : { status: 'success', message: 'accepted', dedupKey: event.dedupKey, attempts },
            };
          }
          if (response.status === 429 || response.status >= 500) {
            const retryAfterMs = parseRetryAfter(response.headers['retry-after'], environment.now());
            return {
              ok: false,
              retryable: true,
              ...definedProps({ retryAfterMs }),
              error: unavailable(`the Events API answered ${response.status}`),
            };
          }
          const rejected = rejectedSchema.safeParse(safeJson(response.text));
          const reason = rejected.success
            ? [rejected.data.message, ...(rejected.data.errors ?? [])]
                .filter((part) => part !== undefined)
                .join('; ')
            : '';
          // An unknown integration key (400 "Invalid routing key"): the key's fault, not the event's.
          const keyRefused =
            response.status === 400 && /invalid routing key/i.test(rejected.success ? reason : response.text);
          return {
            ok: false,
            retryable: false,
            error: new WatchdogError(
              'upstream',
              keyRefused ? PAGER_ROUTING_KEY_REFUSED : 'PAGER_REJECTED',
              clean(
                `the Events API rejected the event with ${response.status}${reason === '' ? '' : `: ${reason.slice(0, 300)}`}`,
              ),
              { retryable: false },
            ),
          };
        },
        { policy, environment, signal, what: `POST ${url.host}${url.pathname}` },
      );
    },
  };
}

function unavailable(message: string, cause?: unknown): WatchdogError {
  return new WatchdogError('upstream', 'PAGER_UNAVAILABLE', message, {
    retryable: true,
    ...definedProps({ cause }),
  });
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
