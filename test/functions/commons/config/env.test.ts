import { describe, expect, it } from 'vitest';
import { indexAppsByAlarm, parseEnvironment } from '../../../../functions/commons/config/env.ts';
import type { WatchedApp } from '../../../../functions/commons/domain/watched-apps.ts';
import { ConfigurationError } from '../../../../functions/commons/errors.ts';

const APPS_JSON = JSON.stringify([
  { applicationId: '9NBLGGH4R315', name: 'Contoso Photos', alarmNames: ['contoso-photos-crash-rate'] },
]);

const VALID_ENV = {
  STORE_CREDENTIALS_SECRET_ID: 'store-watchdog/credentials',
  NOTIFICATION_TOPIC_ARN: 'arn:aws:sns:us-east-1:123456789012:store-watchdog-decisions',
  WATCHDOG_APPS: APPS_JSON,
};

/** The message of the ConfigurationError that `parseEnvironment` throws for `env`. */
function configErrorOf(env: Record<string, string | undefined>): string {
  try {
    parseEnvironment(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigurationError);
    if (!(error instanceof ConfigurationError)) throw error;
    expect(error.code).toBe('INVALID_ENVIRONMENT');
    expect(error.kind).toBe('configuration');
    return error.message;
  }
  throw new Error('expected parseEnvironment to throw');
}

describe('parseEnvironment', () => {
  it('reads the required variables and applies the documented defaults', () => {
    const config = parseEnvironment(VALID_ENV);

    expect(config.storeCredentialsSecretId).toBe('store-watchdog/credentials');
    expect(config.notificationTopicArn).toBe('arn:aws:sns:us-east-1:123456789012:store-watchdog-decisions');
    expect(config.apps).toEqual([
      {
        applicationId: '9NBLGGH4R315',
        name: 'Contoso Photos',
        alarmNames: ['contoso-photos-crash-rate'],
        notifyAlarmNames: [],
        mode: 'enforce',
      },
    ]);
    expect(config.dryRun).toBe(false);
    // The documented defaults (lambda contract, "Environment").
    expect(config.storeApiBaseUrl).toBe('https://manage.devcenter.microsoft.com/v1.0/my/');
    expect(config.azureAdAuthority).toBe('https://login.microsoftonline.com');
  });

  it('indexes the apps by alarm name', () => {
    const config = parseEnvironment(VALID_ENV);

    expect(config.alarmIndex.get('contoso-photos-crash-rate')?.map((app) => app.applicationId)).toEqual([
      '9NBLGGH4R315',
    ]);
    expect(config.alarmIndex.get('some-other-alarm')).toBeUndefined();
  });

  it.each([
    ['true', true],
    ['TRUE', true],
    ['True', true],
    ['false', false],
    ['FALSE', false],
    ['', false],
  ])('reads DRY_RUN=%j as %s', (value, expected) => {
    expect(parseEnvironment({ ...VALID_ENV, DRY_RUN: value }).dryRun).toBe(expected);
  });

  it.each(['yes', '1', 'on', 'treu'])('rejects DRY_RUN=%j, naming the variable', (value) => {
    expect(configErrorOf({ ...VALID_ENV, DRY_RUN: value })).toMatch(/DRY_RUN must be "true" or "false"/);
  });

  it.each(['STORE_CREDENTIALS_SECRET_ID', 'NOTIFICATION_TOPIC_ARN', 'WATCHDOG_APPS'])(
    'rejects a missing or blank %s, naming it',
    (name) => {
      expect(configErrorOf({ ...VALID_ENV, [name]: undefined })).toMatch(new RegExp(`${name} is required`));
      expect(configErrorOf({ ...VALID_ENV, [name]: '  ' })).toMatch(new RegExp(`${name} is required`));
    },
  );

  it('reports every problem at once', () => {
    const message = configErrorOf({ DRY_RUN: 'maybe' });

    expect(message).toMatch(/STORE_CREDENTIALS_SECRET_ID is required/);
    expect(message).toMatch(/NOTIFICATION_TOPIC_ARN is required/);
    expect(message).toMatch(/WATCHDOG_APPS is required/);
    expect(message).toMatch(/DRY_RUN must be/);
  });

  it('rejects WATCHDOG_APPS that is not JSON without echoing it', () => {
    const message = configErrorOf({ ...VALID_ENV, WATCHDOG_APPS: '[{"applicationId": "SECRETISH-VALUE"' });

    expect(message).toMatch(/WATCHDOG_APPS must be a JSON array of watched apps; it is not valid JSON/);
    expect(message).not.toContain('SECRETISH-VALUE');
  });

  it('rejects an invalid app, naming the variable and the field but not the JSON', () => {
    const message = configErrorOf({
      ...VALID_ENV,
      WATCHDOG_APPS: JSON.stringify([{ applicationId: '9NBLGGH4R315', mode: 'halt-everything' }]),
    });

    expect(message).toMatch(/WATCHDOG_APPS\[0\]\.mode/);
    expect(message).not.toContain('halt-everything');
  });

  it('rejects an empty app list', () => {
    expect(configErrorOf({ ...VALID_ENV, WATCHDOG_APPS: '[]' })).toMatch(
      /WATCHDOG_APPS: must list at least one app/,
    );
  });

  it.each([
    ['http://127.0.0.1:8080/v1.0/my/', 'http://127.0.0.1:8080/v1.0/my/'],
    ['http://localhost:3000/v1.0/my', 'http://localhost:3000/v1.0/my/'],
    ['http://[::1]:3000/', 'http://[::1]:3000/'],
    ['https://store.example.test/v1.0/my/', 'https://store.example.test/v1.0/my/'],
  ])('accepts STORE_API_BASE_URL=%s and keeps a trailing slash', (value, expected) => {
    expect(parseEnvironment({ ...VALID_ENV, STORE_API_BASE_URL: value }).storeApiBaseUrl).toBe(expected);
  });

  it.each([
    ['http://127.0.0.1:8080/', 'http://127.0.0.1:8080'],
    ['https://login.example.test/', 'https://login.example.test'],
  ])('accepts AZURE_AD_AUTHORITY=%s and drops the trailing slash', (value, expected) => {
    expect(parseEnvironment({ ...VALID_ENV, AZURE_AD_AUTHORITY: value }).azureAdAuthority).toBe(expected);
  });

  it.each([
    ['http://manage.devcenter.microsoft.com/v1.0/my/', /http:\/\/ is allowed only on loopback/],
    ['http://10.0.0.5/', /http:\/\/ is allowed only on loopback/],
    ['http://localhost.example.com/', /http:\/\/ is allowed only on loopback/],
    ['ftp://127.0.0.1/', /got the scheme ftp:/],
    ['not a url', /it is not a URL/],
    ['https://user:pass@store.example.test/', /must not contain a user name or password/],
    ['https://store.example.test/?code=1', /must not have a query or a fragment/],
  ])('rejects STORE_API_BASE_URL=%s, naming the variable', (value, reason) => {
    const message = configErrorOf({ ...VALID_ENV, STORE_API_BASE_URL: value });

    expect(message).toMatch(/STORE_API_BASE_URL/);
    expect(message).toMatch(reason);
    expect(message).not.toContain('pass@');
  });

  it('rejects a plain-http AZURE_AD_AUTHORITY off loopback, naming the variable', () => {
    expect(configErrorOf({ ...VALID_ENV, AZURE_AD_AUTHORITY: 'http://login.microsoftonline.com' })).toMatch(
      /AZURE_AD_AUTHORITY must be an https:\/\/ URL/,
    );
  });
});

describe('indexAppsByAlarm', () => {
  const app = (applicationId: string, alarmNames: string[]): WatchedApp => ({
    applicationId,
    alarmNames,
    notifyAlarmNames: [],
    mode: 'enforce',
  });

  it('maps an alarm to every app that lists it, in config order, each once', () => {
    const photos = app('9NBLGGH4R315', ['shared-crash-rate', 'photos-crash-rate', 'photos-crash-rate']);
    const music = app('9WZDNCRFJ3TJ', ['shared-crash-rate']);

    const index = indexAppsByAlarm([photos, music]);

    expect(index.get('shared-crash-rate')).toEqual([photos, music]);
    expect(index.get('photos-crash-rate')).toEqual([photos]);
    expect(index.size).toBe(2);
  });
});

describe('parseEnvironment, WATCHDOG_APPS=bundled (the list built into the artifact)', () => {
  const bundledEnv = { ...VALID_ENV, WATCHDOG_APPS: 'bundled' };

  it('reads the bundled list, validated and with defaults applied, exactly like a list in the variable', () => {
    const fromBundle = parseEnvironment(bundledEnv, { bundledApps: APPS_JSON });

    expect(fromBundle.apps).toEqual(parseEnvironment(VALID_ENV).apps);
    expect(fromBundle.alarmIndex.get('contoso-photos-crash-rate')?.map((app) => app.applicationId)).toEqual([
      '9NBLGGH4R315',
    ]);
  });

  it('keeps a JSON list in the variable in charge when the artifact also carries a list', () => {
    const other = JSON.stringify([{ applicationId: '9NBLGGH29DM8', alarmNames: ['other-crash-rate'] }]);

    const config = parseEnvironment(VALID_ENV, { bundledApps: other });

    expect(config.apps.map((app) => app.applicationId)).toEqual(['9NBLGGH4R315']);
  });

  it('is a configuration error naming WATCHDOG_APPS when the artifact carries no list', () => {
    let message = '';
    try {
      parseEnvironment(bundledEnv, { bundledApps: undefined });
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigurationError);
      message = error instanceof Error ? error.message : '';
    }

    expect(message).toMatch(/WATCHDOG_APPS is "bundled", but this artifact carries no bundled app list/);
  });

  it('reads no list from unbundled sources: the default built-in config is empty here', () => {
    expect(() => parseEnvironment(bundledEnv)).toThrow(/carries no bundled app list/);
  });

  it('validates the bundled list with the same schema, naming the field', () => {
    const bad = JSON.stringify([{ applicationId: 'lower-case', alarmNames: ['a'] }]);

    expect(() => parseEnvironment(bundledEnv, { bundledApps: bad })).toThrow(
      /WATCHDOG_APPS \(bundled\)\[0\]\.applicationId: must be the Store ID/,
    );
  });

  it('still requires the variable: a missing WATCHDOG_APPS is an error even when the artifact carries a list', () => {
    expect(() =>
      parseEnvironment({ ...VALID_ENV, WATCHDOG_APPS: undefined }, { bundledApps: APPS_JSON }),
    ).toThrow(/WATCHDOG_APPS is required/);
  });
});
