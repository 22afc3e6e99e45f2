/**
 * An AWS failure says what the SDK said and which of credentials, region or permission to check, from
 * real SDK clients: one without a region, one whose credentials cannot be loaded, and one that moto
 * (with IAM enforced) denies.
 */
import { CloudWatchClient, DescribeAlarmsCommand } from '@aws-sdk/client-cloudwatch';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { awsErrorDetail, causeOf, describeAwsFailure } from '../../../../functions/commons/aws/aws-errors.ts';

async function failureOf(client: CloudWatchClient): Promise<unknown> {
  try {
    await client.send(new DescribeAlarmsCommand({ AlarmNames: ['any'] }));
  } catch (error) {
    return error;
  } finally {
    client.destroy();
  }
  throw new Error('the call did not fail');
}

describe('describeAwsFailure', () => {
  // No region, profile, keys or instance metadata from this machine: the SDK's default chains find nothing.
  beforeEach(() => {
    for (const name of [
      'AWS_REGION',
      'AWS_DEFAULT_REGION',
      'AWS_PROFILE',
      'AWS_ACCESS_KEY_ID',
      'AWS_SECRET_ACCESS_KEY',
      'AWS_SESSION_TOKEN',
      'AWS_WEB_IDENTITY_TOKEN_FILE',
      'AWS_CONTAINER_CREDENTIALS_RELATIVE_URI',
      'AWS_CONTAINER_CREDENTIALS_FULL_URI',
    ]) {
      vi.stubEnv(name, undefined);
    }
    vi.stubEnv('AWS_CONFIG_FILE', '/nonexistent/aws-config');
    vi.stubEnv('AWS_SHARED_CREDENTIALS_FILE', '/nonexistent/aws-credentials');
    vi.stubEnv('AWS_EC2_METADATA_DISABLED', 'true');
  });
  afterEach(() => {
    vi.unstubAllEnvs();
  });

  it("a client without a region: the SDK's 'Region is missing', and check the region", async () => {
    const error = await failureOf(
      new CloudWatchClient({ credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'example' } }),
    );
    expect(causeOf(error)).toBe('region');
    expect(describeAwsFailure('CloudWatch DescribeAlarms', error, 'cloudwatch:DescribeAlarms')).toBe(
      'CloudWatch DescribeAlarms failed: Region is missing (Error); ' +
        'check the AWS region (AWS_REGION, or the region of your AWS profile)',
    );
  });

  it('a client whose credentials cannot be loaded: the provider chain says so, and check the credentials', async () => {
    const error = await failureOf(
      new CloudWatchClient({ region: 'eu-west-1', endpoint: 'http://127.0.0.1:9', maxAttempts: 1 }),
    );
    expect(causeOf(error)).toBe('credentials');
    expect(describeAwsFailure('CloudWatch DescribeAlarms', error, 'cloudwatch:DescribeAlarms')).toBe(
      'CloudWatch DescribeAlarms failed: Could not load credentials from any providers (CredentialsProviderError); ' +
        'check the AWS credentials (AWS_PROFILE, an expired SSO session or keys, or the role)',
    );
  });

  it('a denial: the message names the action, and check the permission', () => {
    const denied = Object.assign(
      new Error(
        'User: arn:aws:iam::123456789012:user/ops is not authorized to perform: cloudwatch:DescribeAlarms',
      ),
      { name: 'AccessDenied', $metadata: { httpStatusCode: 403 } },
    );
    expect(awsErrorDetail(denied, 'cloudwatch:DescribeAlarms')).toBe(
      ': User: arn:aws:iam::123456789012:user/ops is not authorized to perform: cloudwatch:DescribeAlarms (AccessDenied); ' +
        'check the permission: the caller needs cloudwatch:DescribeAlarms',
    );
    const bare403 = Object.assign(new Error('UnknownError'), {
      name: 'Error',
      $metadata: { httpStatusCode: 403 },
    });
    expect(causeOf(bare403)).toBe('permission');
  });

  it('anything else: the message and the name, no guess', () => {
    const throttled = Object.assign(new Error('Rate exceeded'), { name: 'Throttling' });
    expect(causeOf(throttled)).toBeUndefined();
    expect(describeAwsFailure('CloudWatch DescribeAlarms', throttled, 'cloudwatch:DescribeAlarms')).toBe(
      'CloudWatch DescribeAlarms failed: Rate exceeded (Throttling)',
    );
    expect(describeAwsFailure('X', 'not an error', 'x:Y')).toBe('X failed (Unknown)');
    const long = new Error(`${'a'.repeat(400)}\nsecond line`);
    expect(describeAwsFailure('X', long, 'x:Y')).toBe(`X failed: ${'a'.repeat(299)}… (Error)`);
  });
});
