import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { afterEach, describe, expect, it } from 'vitest';
import { type RunningAwsStandIn, startAwsStandIn } from '../../../tools/bench/aws-stand-in.ts';

const SECRET = { id: 'bench/store-credentials', value: '{"tenantId":"t","clientId":"c","clientSecret":"s"}' };
const TOPIC = 'arn:aws:sns:us-east-1:123456789012:bench';

let standIn: RunningAwsStandIn | undefined;

afterEach(async () => {
  await standIn?.close();
  standIn = undefined;
});

async function startClients() {
  standIn = await startAwsStandIn({ secret: SECRET });
  const config = {
    endpoint: standIn.url,
    region: 'us-east-1',
    credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' },
  };
  return { standIn, secrets: new SecretsManagerClient(config), sns: new SNSClient(config) };
}

describe('AWS stand-in', () => {
  it('serves the secret to the real Secrets Manager client, by name and by ARN', async () => {
    const { secrets } = await startClients();

    const byName = await secrets.send(new GetSecretValueCommand({ SecretId: SECRET.id }));
    const byArn = await secrets.send(
      new GetSecretValueCommand({
        SecretId: `arn:aws:secretsmanager:us-east-1:123456789012:secret:${SECRET.id}`,
      }),
    );

    expect(byName.SecretString).toBe(SECRET.value);
    expect(byName.VersionId).toMatch(/^[0-9a-f-]{36}$/);
    expect(byArn.SecretString).toBe(SECRET.value);
  });

  it('answers ResourceNotFoundException for any other secret', async () => {
    const { secrets } = await startClients();

    await expect(secrets.send(new GetSecretValueCommand({ SecretId: 'other' }))).rejects.toMatchObject({
      name: 'ResourceNotFoundException',
    });
  });

  it('accepts a publish from the real SNS client and keeps its topic, subject and outcome attribute', async () => {
    const { sns, standIn: running } = await startClients();

    const output = await sns.send(
      new PublishCommand({
        TopicArn: TOPIC,
        Subject: 'Halted the rollout',
        Message: JSON.stringify({ default: 'text' }),
        MessageStructure: 'json',
        MessageAttributes: { outcome: { DataType: 'String', StringValue: 'halted' } },
      }),
    );

    expect(output.MessageId).toMatch(/^[0-9a-f-]{36}$/);
    expect(running.published).toEqual([
      { topicArn: TOPIC, subject: 'Halted the rollout', outcome: 'halted' },
    ]);
  });

  it('records every request with its kind and status, until cleared', async () => {
    const { secrets, sns, standIn: running } = await startClients();
    await secrets.send(new GetSecretValueCommand({ SecretId: SECRET.id }));
    await sns.send(new PublishCommand({ TopicArn: TOPIC, Message: 'x' }));

    expect(running.requests.map(({ kind, status }) => ({ kind, status }))).toEqual([
      { kind: 'secret', status: 200 },
      { kind: 'publish', status: 200 },
    ]);
    for (const request of running.requests) expect(request.endedAt).toBeGreaterThanOrEqual(request.startedAt);

    running.clearRecords();
    expect(running.requests).toEqual([]);
    expect(running.published).toEqual([]);
  });

  it('refuses a negative latency', async () => {
    const { standIn: running } = await startClients();

    expect(() => running.setLatency(-1)).toThrow(RangeError);
  });
});
