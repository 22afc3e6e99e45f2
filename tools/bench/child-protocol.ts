/**
 * The messages between the benchmark and its child processes (Node's IPC channel, JSON). Each side
 * parses what it receives. `zod/mini` keeps the child's own code small, so it weighs little in the
 * child's memory beside the handler it measures.
 */
import * as z from 'zod/mini';

/** Parent → child. */
export const parentMessageSchema = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('invoke'),
    id: z.number(),
    event: z.unknown(),
    /** What `context.getRemainingTimeInMillis()` starts from. */
    remainingMs: z.number(),
    /** The app the event concerns: its halt POST is the end of the time to halt. */
    applicationId: z.string(),
  }),
  z.object({
    type: z.literal('raw-round-trips'),
    id: z.number(),
    storeBaseUrl: z.string(),
    authority: z.string(),
    tenantId: z.string(),
    clientId: z.string(),
    clientSecret: z.string(),
    apps: z.array(z.object({ applicationId: z.string(), submissionId: z.string() })),
  }),
  z.object({ type: z.literal('exit') }),
]);
export type ParentMessage = z.infer<typeof parentMessageSchema>;

const invocationSchema = z.object({
  type: z.literal('invoked'),
  id: z.number(),
  ok: z.boolean(),
  /** The error's name and code when the handler threw. */
  errorName: z.optional(z.string()),
  errorCode: z.optional(z.string()),
  /** `targets[].result` of the handler's result (or of the failed invocation's report). */
  results: z.array(z.string()),
  /** Error codes of failed targets. */
  failureCodes: z.array(z.string()),
  /** Wall time of `await handler(event, context)`. */
  totalMs: z.number(),
  /** From the call to the end of the app's halt POST (client side); absent when no halt POST ended. */
  timeToHaltMs: z.optional(z.number()),
  /** Time within the call during which at least one HTTP exchange was in flight. */
  networkMs: z.number(),
  /** HTTP exchanges that overlapped the call. */
  exchanges: z.number(),
  /** Time spent in the Store's exchanges alone (their sum; they do not overlap on this path). */
  storeExchangeMs: z.number(),
});

/** Child → parent. */
export const childMessageSchema = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('ready'),
    /** Wall time of `await import(handler)` (the Lambda init phase). */
    importMs: z.number(),
    /** RSS before the handler was imported (Node and the child's own code). */
    baselineRssBytes: z.number(),
    /** The invocation made right after the import (`--cold-event`), as Lambda invokes after init. */
    cold: z.optional(invocationSchema),
  }),
  invocationSchema,
  z.object({ type: z.literal('raw-done'), id: z.number(), durationsMs: z.array(z.number()) }),
  z.object({
    type: z.literal('exiting'),
    /** `process.resourceUsage().maxRSS`, in bytes. */
    maxRssBytes: z.number(),
    heapUsedBytes: z.number(),
  }),
  z.object({ type: z.literal('failed'), message: z.string() }),
]);
export type ChildMessage = z.infer<typeof childMessageSchema>;
export type InvocationReport = z.infer<typeof invocationSchema>;
