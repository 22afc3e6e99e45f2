/**
 * `CONTINUATION_QUEUE_URL`: the SQS queue where an invocation hands on the apps of a storm it could not
 * reach within the tenant's request budget, and the delayed retries of failed targets; the queue invokes
 * the function with them. Optional: without it, such apps are reported `failed` and no retry is
 * scheduled. Kept apart from `env.ts`.
 */
import { ConfigurationError } from '../errors.ts';

const QUEUE_URL = /^https:\/\/[A-Za-z0-9.-]+(:\d+)?\/\d{12}\/[A-Za-z0-9_-]{1,80}$/;
const LOOPBACK_QUEUE_URL = /^http:\/\/(127\.0\.0\.1|localhost|\[::1\])(:\d+)?\/\d{12}\/[A-Za-z0-9_-]{1,80}$/;

/** The queue URL, or `undefined` when the variable is unset or blank. */
export function parseContinuationQueueUrl(
  env: Readonly<Record<string, string | undefined>>,
): string | undefined {
  const value = env.CONTINUATION_QUEUE_URL?.trim();
  if (value === undefined || value === '') return undefined;
  if (QUEUE_URL.test(value) || LOOPBACK_QUEUE_URL.test(value)) return value;
  throw new ConfigurationError(
    'INVALID_ENVIRONMENT',
    'Invalid environment: CONTINUATION_QUEUE_URL must be an SQS queue URL (https://sqs.<region>.amazonaws.com/<account>/<name>; http:// only on loopback)',
  );
}
