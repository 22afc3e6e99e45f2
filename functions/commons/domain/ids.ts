/**
 * The Store's identifier rules, owned by the domain: an app, submission or flight ID is checked where it
 * enters (an event, the config, a Store response) and before it goes into a URL, so nothing can inject a
 * path segment or a query. IDs stay strings: submission IDs exceed 2^53.
 */
import { BadInputError } from '../errors.ts';

/** Store ID of an app: 12 upper-case letters and digits, e.g. `9NBLGGH4R315`. */
export const APPLICATION_ID_PATTERN = /^[0-9A-Z]{12}$/;
/** Submission IDs are decimal digits, e.g. `1152921504621243680`. */
export const SUBMISSION_ID_PATTERN = /^[0-9]{1,30}$/;
/** Package flight IDs are GUIDs. */
export const FLIGHT_ID_PATTERN =
  /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

function check(pattern: RegExp, value: unknown, what: string, shape: string): string {
  if (typeof value !== 'string' || !pattern.test(value)) {
    const shown = typeof value === 'string' ? JSON.stringify(value.slice(0, 64)) : typeof value;
    throw new BadInputError('INVALID_ID', `${what} must be ${shape}; got ${shown}`);
  }
  return value;
}

export function assertApplicationId(value: unknown): string {
  return check(APPLICATION_ID_PATTERN, value, 'applicationId', '12 upper-case letters and digits');
}

export function assertSubmissionId(value: unknown): string {
  return check(SUBMISSION_ID_PATTERN, value, 'submissionId', 'a string of digits');
}

export function assertFlightId(value: unknown): string {
  return check(FLIGHT_ID_PATTERN, value, 'flightId', 'a GUID');
}
