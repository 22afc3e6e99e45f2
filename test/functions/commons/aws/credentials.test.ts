import { inspect } from 'node:util';
import { PutSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  createCredentialsSource,
  parseStoreCredentials,
} from '../../../../functions/commons/aws/credentials.ts';
import { ConfigurationError } from '../../../../functions/commons/errors.ts';
import { describeWithMoto, MOTO_SKIP_REASON, motoClientConfig } from '../../../support/aws.ts';
import { createSecret, motoClients } from '../../../support/aws-resources.ts';

const TENANT = '00000000-0000-4000-8000-000000000001';
const SECRET_VALUE = 'very-secret-key-value~123';

describe('parseStoreCredentials', () => {
  it('reads the three fields', () => {
    const credentials = parseStoreCredentials(
      JSON.stringify({ tenantId: TENANT, clientId: 'client', clientSecret: SECRET_VALUE }),
      'sid',
    );
    expect(credentials).toMatchObject({ tenantId: TENANT, clientId: 'client' });
    expect(credentials.clientSecret).toBe(SECRET_VALUE);
  });

  it('reads a federated secret: no key, "credential": "aws-federation"', () => {
    const credentials = parseStoreCredentials(
      JSON.stringify({ tenantId: TENANT, clientId: 'client', credential: 'aws-federation' }),
      'sid',
    );
    expect(credentials).toMatchObject({ tenantId: TENANT, clientId: 'client', credential: 'aws-federation' });
    expect(credentials.mode).toBe('aws-federation');
    expect(credentials.clientSecret).toBeUndefined();
    expect(JSON.parse(JSON.stringify(credentials))).toEqual({
      tenantId: TENANT,
      clientId: 'client',
      credential: 'aws-federation',
    });
  });

  it('never shows the secret when serialized or inspected', () => {
    const credentials = parseStoreCredentials(
      JSON.stringify({ tenantId: TENANT, clientId: 'client', clientSecret: SECRET_VALUE }),
      'sid',
    );
    expect(JSON.stringify(credentials)).not.toContain(SECRET_VALUE);
    expect(inspect(credentials)).not.toContain(SECRET_VALUE);
    expect(JSON.stringify({ ...credentials })).not.toContain(SECRET_VALUE);
  });

  it.each([
    // Neither a key nor federation (this case said "clientSecret is missing" before federation).
    [{ tenantId: TENANT, clientId: 'c' }, /neither clientSecret nor credential/],
    [
      { tenantId: TENANT, clientId: 'c', clientSecret: SECRET_VALUE, credential: 'aws-federation' },
      /has both clientSecret and credential/,
    ],
    [
      { tenantId: TENANT, clientId: 'c', credential: 'federation' },
      /the field credential must be "aws-federation"/,
    ],
    [{ clientId: 'c', clientSecret: SECRET_VALUE }, /the field tenantId is missing/],
    [{ tenantId: TENANT, clientId: 7, clientSecret: SECRET_VALUE }, /the field clientId must be a string/],
    [
      { tenantId: 'evil/../path', clientId: 'c', clientSecret: SECRET_VALUE },
      /the field tenantId must be the Azure AD tenant ID/,
    ],
    [{ tenantId: TENANT, clientId: '', clientSecret: SECRET_VALUE }, /the field clientId must not be empty/],
  ])('names the missing or malformed field, never a value (%#)', (value, message) => {
    let thrown: unknown;
    try {
      parseStoreCredentials(JSON.stringify(value), 'sid');
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(ConfigurationError);
    expect(String(thrown)).toMatch(message);
    expect(String(thrown)).not.toContain(SECRET_VALUE);
  });

  it('rejects a value that is not JSON without echoing it', () => {
    expect(() => parseStoreCredentials(`{"clientSecret": "${SECRET_VALUE}"`, 'sid')).toThrow(/is not JSON/);
    expect(() => parseStoreCredentials(`{"clientSecret": "${SECRET_VALUE}"`, 'sid')).not.toThrow(
      SECRET_VALUE,
    );
  });

  it('says how to fill an empty secret', () => {
    expect(() => parseStoreCredentials(undefined, 'sid')).toThrow(/has no value yet/);
  });
});

describeWithMoto(`credentials from Secrets Manager${MOTO_SKIP_REASON}`, () => {
  let clients: ReturnType<typeof motoClients>;
  beforeAll(() => {
    clients = motoClients();
  });

  const value = (clientSecret: string) =>
    JSON.stringify({ tenantId: TENANT, clientId: 'client', clientSecret });

  it('reads the secret once and serves later calls from memory until the TTL passes', async () => {
    const secretId = await createSecret(clients.secrets, value('first'));
    let now = 0;
    const source = createCredentialsSource(clients.secrets, secretId, { ttlMs: 1000, now: () => now });

    expect((await source.get()).clientSecret).toBe('first');
    await clients.secrets.send(
      new PutSecretValueCommand({ SecretId: secretId, SecretString: value('second') }),
    );
    now = 999;
    expect((await source.get()).clientSecret).toBe('first');
    now = 1000;
    expect((await source.get()).clientSecret).toBe('second');
  });

  it('refresh() re-reads a rotated secret and says it changed', async () => {
    const secretId = await createSecret(clients.secrets, value('old'));
    const source = createCredentialsSource(clients.secrets, secretId);
    await source.get();

    const unchanged = await source.refresh();
    expect(unchanged.changed).toBe(false);

    await clients.secrets.send(
      new PutSecretValueCommand({ SecretId: secretId, SecretString: value('rotated') }),
    );
    const rotated = await source.refresh();
    expect(rotated).toMatchObject({ changed: true });
    expect(rotated.credentials.clientSecret).toBe('rotated');
    expect((await source.get()).clientSecret).toBe('rotated');
  });

  it('shares one read between concurrent callers', async () => {
    const secretId = await createSecret(clients.secrets, value('shared'));
    let reads = 0;
    clients.secrets.middlewareStack.add(
      (next) => async (args) => {
        reads += 1;
        return next(args);
      },
      { step: 'initialize', name: 'countReads' },
    );
    const source = createCredentialsSource(clients.secrets, secretId);
    await Promise.all([source.get(), source.get(), source.get()]);
    clients.secrets.middlewareStack.remove('countReads');
    expect(reads).toBe(1);
  });

  it('reports a missing secret as a configuration error naming it', async () => {
    const source = createCredentialsSource(clients.secrets, 'no-such-secret-for-watchdog');
    await expect(source.get()).rejects.toMatchObject({ code: 'SECRET_NOT_FOUND', kind: 'configuration' });
    await expect(source.get()).rejects.toThrow(/no-such-secret-for-watchdog does not exist/);
  });

  it('reports a malformed secret by field name', async () => {
    const secretId = await createSecret(
      clients.secrets,
      JSON.stringify({ tenantId: TENANT, clientSecret: 'x' }),
    );
    const source = createCredentialsSource(new SecretsManagerClient(motoClientConfig()), secretId);
    await expect(source.get()).rejects.toMatchObject({ code: 'SECRET_MALFORMED' });
    await expect(source.get()).rejects.toThrow(/the field clientId is missing/);
  });
});
