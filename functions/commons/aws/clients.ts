/**
 * The AWS SDK clients the functions build once per container: the SDK's standard configuration
 * (endpoints from `AWS_ENDPOINT_URL*`, the Region), with bounded attempts and timeouts, so that a
 * stuck connection to the state table or Secrets Manager cannot hold a halt until its deadline.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';

/** The state table: one conditional write or read is milliseconds in the Region. */
export function createStateTableClient(): DynamoDBClient {
  return new DynamoDBClient({
    maxAttempts: 2,
    requestHandler: { connectionTimeout: 1_000, requestTimeout: 2_000 },
  });
}

/** The Store credentials secret. */
export function createSecretsClient(): SecretsManagerClient {
  return new SecretsManagerClient({
    maxAttempts: 3,
    requestHandler: { connectionTimeout: 2_000, requestTimeout: 5_000 },
  });
}
