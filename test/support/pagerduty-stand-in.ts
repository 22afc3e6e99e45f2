/**
 * A loopback stand-in of the PagerDuty Events API v2 enqueue endpoint (POST /v2/enqueue), speaking its
 * documented wire format: a valid event gets 202 `{status, message, dedup_key}`; an invalid one 400
 * `{status, message, errors}`, and an event whose routing key is not an integration of the account
 * (`acceptKeys`) 400 with "Invalid routing key". Tests script faults (429, 5xx, a hang) for the next
 * requests.
 */
import { createServer, type Server } from 'node:http';
import { z } from 'zod';

const eventSchema = z.object({
  routing_key: z.string().regex(/^[A-Za-z0-9]{32}$/),
  event_action: z.enum(['trigger', 'acknowledge', 'resolve']),
  dedup_key: z.string().min(1).max(255).optional(),
  payload: z.object({
    summary: z.string().min(1).max(1024),
    source: z.string().min(1).max(255),
    severity: z.enum(['critical', 'error', 'warning', 'info']),
    component: z.string().optional(),
    custom_details: z.record(z.string(), z.unknown()).optional(),
  }),
  links: z.array(z.object({ href: z.string().url(), text: z.string() })).optional(),
});
export type EnqueuedEvent = z.infer<typeof eventSchema>;

/** A scripted answer for one request. */
export type Fault = { readonly status: number; readonly retryAfter?: string } | 'hang';

export interface EventsApiStandIn {
  readonly url: URL;
  /** Every event accepted (202), in order. */
  readonly accepted: EnqueuedEvent[];
  /** How many requests arrived (accepted, rejected and faulted). */
  readonly requests: () => number;
  /** Answers the next requests with these faults, in order. */
  failNext(...faults: Fault[]): void;
  /** From now on, only these routing keys are integrations (others answer "Invalid routing key"). @default any */
  acceptKeys(...keys: string[]): void;
  close(): Promise<void>;
}

export async function startEventsApiStandIn(): Promise<EventsApiStandIn> {
  const accepted: EnqueuedEvent[] = [];
  const faults: Fault[] = [];
  let keys: ReadonlySet<string> | undefined;
  let requests = 0;
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      requests += 1;
      const reply = (status: number, body: unknown, headers: Record<string, string> = {}) => {
        response.writeHead(status, { 'content-type': 'application/json', ...headers });
        response.end(JSON.stringify(body));
      };
      const fault = faults.shift();
      if (fault === 'hang') return;
      if (fault !== undefined) {
        return reply(
          fault.status,
          fault.status === 429
            ? { status: 'throttle event', message: 'Requests for this service are arriving too quickly.' }
            : { status: 'error' },
          fault.retryAfter === undefined ? {} : { 'retry-after': fault.retryAfter },
        );
      }
      if (request.method !== 'POST' || request.url !== '/v2/enqueue')
        return reply(404, { status: 'not found' });
      let json: unknown;
      try {
        json = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      } catch {
        return reply(400, {
          status: 'invalid event',
          message: 'Event object is invalid',
          errors: ['Malformed JSON'],
        });
      }
      const parsed = eventSchema.safeParse(json);
      if (!parsed.success) {
        return reply(400, {
          status: 'invalid event',
          message: 'Event object is invalid',
          errors: parsed.error.issues.map((issue) => `'${issue.path.join('.')}' is invalid`),
        });
      }
      if (keys !== undefined && !keys.has(parsed.data.routing_key)) {
        return reply(400, {
          status: 'invalid event',
          message: 'Event object is invalid',
          errors: ['Invalid routing key'],
        });
      }
      accepted.push(parsed.data);
      reply(202, {
        status: 'success',
        message: 'Event processed',
        dedup_key: parsed.data.dedup_key ?? 'generated',
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('the stand-in has no port');
  return {
    url: new URL(`http://127.0.0.1:${address.port}/v2/enqueue`),
    accepted,
    requests: () => requests,
    failNext: (...next) => faults.push(...next),
    acceptKeys: (...accept) => {
      keys = new Set(accept);
    },
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
