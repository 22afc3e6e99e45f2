/**
 * Errors made safe to show: shortened, with anything shaped like a bearer token or JWT masked.
 */
import { describeError } from '../errors.ts';

/** Longest error message kept in a result (results go into logs, the return value and the notification). */
const MAX_ERROR_MESSAGE_LENGTH = 500;

/**
 * `describeError`, shortened, with anything shaped like a bearer token or JWT masked. Our own errors
 * never carry one; this guards against a message from elsewhere that might.
 */
export function safeError(error: unknown): { code: string; message: string } {
  const { code, message } = describeError(error);
  const masked = redactTokens(message);
  return {
    code: redactTokens(code).slice(0, 100),
    message:
      masked.length > MAX_ERROR_MESSAGE_LENGTH ? `${masked.slice(0, MAX_ERROR_MESSAGE_LENGTH - 1)}…` : masked,
  };
}

/** Masks JWTs (Azure AD access tokens are JWTs) and `Bearer …` credentials. */
export function redactTokens(text: string): string {
  return text
    .replace(/\beyJ[\w-]*\.[\w-]+\.[\w-]*/g, '[redacted token]')
    .replace(/\b(Bearer)\s+[\w\-.~+/]+=*/gi, '$1 [redacted]');
}
