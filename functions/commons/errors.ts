/**
 * The watchdog's error hierarchy. Every error has a stable `code`, a `kind`, and says whether a retry
 * could help. Expected outcomes (`halted`, `already-halted`, ...) are values, never errors.
 *
 * No error message may contain a token or the client secret: messages are built from our own words,
 * IDs, HTTP statuses and the Store's error code/message only.
 */
export type ErrorKind = 'configuration' | 'bad-input' | 'upstream' | 'auth' | 'timeout';

export interface WatchdogErrorOptions {
  readonly cause?: unknown;
  readonly retryable?: boolean;
  /** What the user does about it; appended to the message as `Fix: …`. */
  readonly fix?: string;
}

export class WatchdogError extends Error {
  readonly code: string;
  readonly kind: ErrorKind;
  readonly retryable: boolean;
  /** What the user does about it, when the error knows (also the end of `message`). */
  readonly fix: string | undefined;

  constructor(kind: ErrorKind, code: string, message: string, options: WatchdogErrorOptions = {}) {
    super(
      options.fix === undefined ? message : `${message}. Fix: ${options.fix}`,
      options.cause === undefined ? undefined : { cause: options.cause },
    );
    this.name = 'WatchdogError';
    this.kind = kind;
    this.code = code;
    this.retryable = options.retryable ?? false;
    this.fix = options.fix;
  }
}

/** The deployment is wrong: a missing or malformed environment variable, config or secret. */
export class ConfigurationError extends WatchdogError {
  constructor(code: string, message: string, options: WatchdogErrorOptions = {}) {
    super('configuration', code, message, options);
    this.name = 'ConfigurationError';
  }
}

/** The input (event, CLI argument, ID) is wrong; nothing was called. */
export class BadInputError extends WatchdogError {
  constructor(code: string, message: string, options: WatchdogErrorOptions = {}) {
    super('bad-input', code, message, options);
    this.name = 'BadInputError';
  }
}

/**
 * The code of a `DeadlineExceededError` for a Store request that was still waiting for a slot in the
 * tenant's budget when the deadline came: it was never sent, so nothing changed (a storm hands its app on).
 */
export const SLOT_DEADLINE_CODE = 'STORE_SLOT_DEADLINE';

/** The deadline passed before the work was done. */
export class DeadlineExceededError extends WatchdogError {
  /** `options.code`: a more precise code than `DEADLINE_EXCEEDED` (e.g. `SLOT_DEADLINE_CODE`). */
  constructor(message: string, options: WatchdogErrorOptions & { readonly code?: string } = {}) {
    super('timeout', options.code ?? 'DEADLINE_EXCEEDED', message, options);
    this.name = 'DeadlineExceededError';
  }
}

/** Details of a failed call to the Store API or the Azure AD token endpoint. */
export interface UpstreamErrorDetails {
  /** HTTP status, absent for network errors and timeouts. */
  readonly status?: number;
  /** The `code` field of the Store's (or Azure AD's `error`) error body. */
  readonly storeCode?: string;
  /** The `message` field of the Store's error body (or Azure AD's `error_description`). */
  readonly storeMessage?: string;
  /** The `MS-CorrelationId` response header. */
  readonly correlationId?: string;
  /** Method and path of the request (no query string, no host credentials). */
  readonly request?: string;
}

/** A call to the Store API failed. */
export class StoreApiError extends WatchdogError {
  readonly status: number | undefined;
  readonly storeCode: string | undefined;
  readonly storeMessage: string | undefined;
  readonly correlationId: string | undefined;
  readonly request: string | undefined;

  constructor(
    code: string,
    message: string,
    details: UpstreamErrorDetails,
    options: WatchdogErrorOptions = {},
  ) {
    super('upstream', code, message, options);
    this.name = 'StoreApiError';
    this.status = details.status;
    this.storeCode = details.storeCode;
    this.storeMessage = details.storeMessage;
    this.correlationId = details.correlationId;
    this.request = details.request;
  }
}

/** Azure AD refused the credentials, or the token endpoint could not be reached. */
export class AuthError extends WatchdogError {
  readonly status: number | undefined;
  readonly storeCode: string | undefined;
  readonly storeMessage: string | undefined;

  constructor(
    code: string,
    message: string,
    details: UpstreamErrorDetails,
    options: WatchdogErrorOptions = {},
  ) {
    super('auth', code, message, options);
    this.name = 'AuthError';
    this.status = details.status;
    this.storeCode = details.storeCode;
    this.storeMessage = details.storeMessage;
  }
}

/** An error's message without its `Fix: …` (for a report that shows the fix on a line of its own). */
export function messageWithoutFix(error: unknown): string {
  const { message } = describeError(error);
  if (!(error instanceof WatchdogError) || error.fix === undefined) return message;
  const suffix = `. Fix: ${error.fix}`;
  return message.endsWith(suffix) ? message.slice(0, -suffix.length) : message;
}

/** A short, safe description of any thrown value, for logs, results and notifications. */
export function describeError(error: unknown): { code: string; message: string } {
  if (error instanceof WatchdogError) return { code: error.code, message: error.message };
  if (error instanceof Error) return { code: error.name, message: error.message };
  return { code: 'UNKNOWN', message: String(error) };
}
