/**
 * Turning Store answers and transport failures into `StoreApiError`s with stable codes. Messages are
 * built from the request line, the status, the Store's error code and message, and the correlation
 * id: never a header we sent, so never the token.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { StoreApiError, type WatchdogError } from '../errors.ts';
import { deadlineExceeded } from '../http/deadline.ts';
import {
  MAX_RESPONSE_BYTES,
  RESPONSE_TOO_LARGE_CODE,
  readHeader,
  type TransportFailure,
} from '../http/transport.ts';
import { definedProps } from '../optional.ts';
import * as z from '../validation.ts';

/** The stable codes of `StoreApiError`. */
export const STORE_ERROR_CODES = {
  badRequest: 'STORE_BAD_REQUEST',
  unauthorized: 'STORE_UNAUTHORIZED',
  forbidden: 'STORE_FORBIDDEN',
  notFound: 'STORE_NOT_FOUND',
  conflict: 'STORE_CONFLICT',
  throttled: 'STORE_THROTTLED',
  unavailable: 'STORE_UNAVAILABLE',
  httpError: 'STORE_HTTP_ERROR',
  timeout: 'STORE_TIMEOUT',
  network: 'STORE_NETWORK',
  badResponse: 'STORE_BAD_RESPONSE',
  budgetExhausted: 'STORE_BUDGET_EXHAUSTED',
} as const;

/**
 * The Store's error body. Observed shapes: `{"code":"InvalidState","message":...,"target":...}`
 * (windows-dev-center-vsts-extension#72) and, from the API gateway,
 * `{"statusCode":401,"message":...}` (the API gateway's own answer).
 */
const errorBodySchema = z.object({
  code: z.optional(z.union([z.string(), z.number()])),
  statusCode: z.optional(z.number()),
  message: z.optional(z.string()),
});

const MAX_STORE_MESSAGE = 400;

function codeForStatus(status: number): { code: string; retryable: boolean } {
  if (status === 400) return { code: STORE_ERROR_CODES.badRequest, retryable: false };
  if (status === 401) return { code: STORE_ERROR_CODES.unauthorized, retryable: false };
  if (status === 403) return { code: STORE_ERROR_CODES.forbidden, retryable: false };
  if (status === 404) return { code: STORE_ERROR_CODES.notFound, retryable: false };
  if (status === 409) return { code: STORE_ERROR_CODES.conflict, retryable: false };
  if (status === 429) return { code: STORE_ERROR_CODES.throttled, retryable: true };
  if (status >= 500) return { code: STORE_ERROR_CODES.unavailable, retryable: true };
  return { code: STORE_ERROR_CODES.httpError, retryable: false };
}

/** Reads the Store's error code and message from an error body, if it has the known shape. */
export function parseStoreErrorBody(text: string): { storeCode?: string; storeMessage?: string } {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return {};
  }
  const parsed = errorBodySchema.safeParse(json);
  if (!parsed.success) return {};
  const { code, statusCode, message } = parsed.data;
  const storeCode = code ?? statusCode;
  return {
    ...(storeCode === undefined ? {} : { storeCode: String(storeCode) }),
    ...(message === undefined ? {} : { storeMessage: message.slice(0, MAX_STORE_MESSAGE) }),
  };
}

/** The `StoreApiError` for a non-2xx answer to `request` ("GET applications/9NBLGGH4R315"). */
export function createStoreErrorFromResponse(
  request: string,
  status: number,
  headers: IncomingHttpHeaders,
  text: string,
): StoreApiError {
  const { code, retryable } = codeForStatus(status);
  const { storeCode, storeMessage } = parseStoreErrorBody(text);
  const correlationId = readHeader(headers, 'MS-CorrelationId');
  const said = [storeCode, storeMessage].filter((part) => part !== undefined).join(': ');
  const message =
    `${request} answered ${status}${said === '' ? '' : ` (${said})`}` +
    (correlationId === undefined ? '' : ` [MS-CorrelationId ${correlationId}]`);
  return new StoreApiError(
    code,
    message,
    {
      status,
      request,
      ...definedProps({ storeCode, storeMessage, correlationId }),
    },
    { retryable },
  );
}

/** The error for an exchange that got no answer. */
export function createStoreErrorFromFailure(
  request: string,
  failure: TransportFailure,
  cause: unknown,
): WatchdogError {
  switch (failure.kind) {
    case 'deadline':
      return deadlineExceeded(request, cause);
    case 'timeout':
      return new StoreApiError(
        STORE_ERROR_CODES.timeout,
        `${request} got no answer in time (${failure.detail})`,
        { request },
        { cause, retryable: true },
      );
    case 'network':
      return new StoreApiError(
        STORE_ERROR_CODES.network,
        failure.detail === RESPONSE_TOO_LARGE_CODE
          ? `${request} answered with a body larger than ${MAX_RESPONSE_BYTES} bytes, the most the watchdog reads (${failure.detail})`
          : `${request} failed on the network (${failure.detail})`,
        { request },
        { cause, retryable: failure.retryable },
      );
  }
}

/** A 2xx answer whose body does not match the documented resource. */
export function createBadResponseError(request: string, status: number, problem: string): StoreApiError {
  return new StoreApiError(
    STORE_ERROR_CODES.badResponse,
    `${request} answered ${status} with an unexpected body: ${problem}`,
    { status, request },
  );
}

/** Describes the first zod issue as "field: problem", for `STORE_BAD_RESPONSE`. */
export function describeSchemaMismatch(error: z.core.$ZodError): string {
  const issue = error.issues[0];
  if (issue === undefined) return 'the body does not match the expected shape';
  const field = issue.path.map(String).join('.');
  return `${field === '' ? '(body)' : field}: ${issue.message}`;
}

/**
 * Whether a POST that failed this way may nevertheless have taken effect: a 5xx, a timeout or a
 * network failure (Store clients have seen a POST answered 503 that had worked). Reading the state first is
 * always safe, so even a refused connection counts. A 4xx or a 429 means the Store did not act.
 */
export function isAmbiguousFailure(error: unknown): boolean {
  if (!(error instanceof StoreApiError)) return false;
  return (
    error.code === STORE_ERROR_CODES.unavailable ||
    error.code === STORE_ERROR_CODES.timeout ||
    error.code === STORE_ERROR_CODES.network
  );
}

/**
 * The wait the Store's 429 message asks for, "Try again in 14 seconds" (as Store clients have seen it),
 * for when no `Retry-After` header came with it.
 */
export function parseRetryHintFromMessage(message: string | undefined): number | undefined {
  const match = message === undefined ? null : /try again in (\d+) seconds?/i.exec(message);
  return match?.[1] === undefined ? undefined : Number(match[1]) * 1000;
}
