/**
 * The messages between the benchmark and a handler process (Node's IPC channel, JSON). Each side parses
 * what it receives. `zod/mini` keeps the child's own code small beside the handler it measures.
 */
import * as z from 'zod/mini';

/** Parent → child. */
export const parentMessageSchema = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('invoke'),
    id: z.number(),
    event: z.unknown(),
    /** The app the event concerns: its halt POST's answer ends the time to halt. */
    applicationId: z.string(),
  }),
  z.object({ type: z.literal('exit') }),
]);

const invocationSchema = z.object({
  type: z.literal('invoked'),
  id: z.number(),
  ok: z.boolean(),
  /** The error's name and code when the handler threw. */
  errorName: z.optional(z.string()),
  errorCode: z.optional(z.string()),
  /** `targets[].result` of the handler's result (or of the failed invocation's report). */
  results: z.array(z.string()),
  /** From the call to the end of the app's halt POST (client side); absent when no halt POST ended. */
  timeToHaltMs: z.optional(z.number()),
  /** Connections undici opened during the call (0 when every request reused a kept-alive one). */
  connections: z.number(),
});

/** Child → parent. */
export const childMessageSchema = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('ready'),
    /** Wall time of `await import(handler)` (the Lambda init phase). */
    importMs: z.number(),
    /** The invocation made right after the import, as Lambda invokes after the init. */
    cold: invocationSchema,
  }),
  invocationSchema,
  z.object({
    type: z.literal('exiting'),
    /** `process.resourceUsage().maxRSS`, in bytes. */
    maxRssBytes: z.number(),
  }),
  z.object({ type: z.literal('failed'), message: z.string() }),
]);
export type ChildMessage = z.infer<typeof childMessageSchema>;
export type InvocationReport = z.infer<typeof invocationSchema>;
