/**
 * `ROLLOUT_MEMORY_TABLE`: the stack's durable state table (remembered rollouts, handled transitions,
 * the Store budget, the probe's memory; see the Lambda contract page). Optional: without it, every
 * delivery is handled on its own.
 */
import { ConfigurationError } from '../errors.ts';

/** DynamoDB table names: 3 to 255 letters, digits, `_`, `-` and `.`; or a table ARN. */
const TABLE_NAME = /^[A-Za-z0-9_.-]{3,255}$/;
const TABLE_ARN = /^arn:aws[a-z-]*:dynamodb:[a-z0-9-]+:\d{12}:table\/[A-Za-z0-9_.-]{3,255}$/;

/** The table name (or ARN), or `undefined` when the variable is unset or blank. */
export function parseStateTable(env: Readonly<Record<string, string | undefined>>): string | undefined {
  const value = env.ROLLOUT_MEMORY_TABLE?.trim();
  if (value === undefined || value === '') return undefined;
  if (TABLE_NAME.test(value) || TABLE_ARN.test(value)) return value;
  throw new ConfigurationError(
    'INVALID_ENVIRONMENT',
    'Invalid environment: ROLLOUT_MEMORY_TABLE must be a DynamoDB table name (3 to 255 letters, digits, "_", "-" or ".") or a table ARN',
  );
}
