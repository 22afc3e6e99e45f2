/**
 * `parseEnvironment` (the Lambda's environment, `WATCHDOG_APPS` above all) over arbitrary and mutated
 * values: it returns a config that keeps the contract's promises, or rejects with a clear
 * `ConfigurationError` naming a variable; it never throws anything else and never echoes a password
 * put into a URL.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseEnvironment, type WatchdogEnvironment } from '../../functions/commons/config/env.ts';
import { APPLICATION_ID_PATTERN, FLIGHT_ID_PATTERN } from '../../functions/commons/domain/ids.ts';
import { ConfigurationError } from '../../functions/commons/errors.ts';
import {
  anyJson,
  isClearError,
  mutatedFrom,
  NUM_RUNS,
  outcomeOf,
  PATH_INJECTIONS,
  secretLike,
} from './arbitraries.ts';

const VARIABLES = [
  'STORE_CREDENTIALS_SECRET_ID',
  'NOTIFICATION_TOPIC_ARN',
  'WATCHDOG_APPS',
  'DRY_RUN',
  'STORE_API_BASE_URL',
  'AZURE_AD_AUTHORITY',
];
const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);

const SAMPLE_APPS = [
  {
    applicationId: '9NBLGGH4R315',
    name: 'Contoso Photos',
    alarmNames: ['contoso-photos-crash-rate', 'shared-crash-rate'],
    flights: 'all',
    mode: 'enforce',
  },
  {
    applicationId: '9NBLGGH29DM8',
    alarmNames: ['shared-crash-rate'],
    flights: ['43e448df-97c9-4a43-a0bc-2a445e736bcd'],
    mode: 'dry-run',
  },
];

const watchdogApps = fc.oneof(
  { weight: 4, arbitrary: fc.constant(JSON.stringify(SAMPLE_APPS)) },
  { weight: 8, arbitrary: mutatedFrom(SAMPLE_APPS).map((apps) => JSON.stringify(apps) ?? '') },
  { weight: 2, arbitrary: anyJson.map((value) => JSON.stringify(value) ?? '') },
  { weight: 1, arbitrary: fc.string({ maxLength: 30 }) },
);

/** Where a URL carries the generated password (replaced per case). */
const PASSWORD = '{password}';

const url = fc.oneof(
  {
    weight: 16,
    arbitrary: fc.constantFrom(
      undefined,
      '',
      ' ',
      'https://manage.devcenter.microsoft.com/v1.0/my/',
      'https://login.microsoftonline.com/',
      'https://login.microsoftonline.com',
      'http://127.0.0.1:8080',
      'http://localhost/v1.0/my',
      'http://[::1]:9/',
      'HTTPS://STORE.EXAMPLE.COM/V1.0/MY',
    ),
  },
  {
    weight: 3,
    arbitrary: fc.constantFrom(
      'http://store.example.com/v1.0/my/',
      'http://127.0.0.1.example.com/',
      'ftp://store.example.com/',
      'https://store.example.com/?x=1',
      'https://store.example.com/#top',
      'file:///etc/passwd',
      'not a url',
      'javascript:alert(1)',
      `https://user:${PASSWORD}@store.example.com/`,
      `http://user:${PASSWORD}@127.0.0.1/`,
      `https://${PASSWORD}@store.example.com/`,
    ),
  },
  {
    weight: 1,
    arbitrary: fc.constantFrom(...PATH_INJECTIONS).map((text) => `https://store.example.com/${text}`),
  },
  { weight: 1, arbitrary: fc.webUrl({ size: 'xsmall' }) },
  { weight: 1, arbitrary: fc.string({ maxLength: 20 }) },
);

/** Mostly the value given, sometimes unset. */
const mostly = <T>(arbitrary: fc.Arbitrary<T>) => fc.option(arbitrary, { freq: 12, nil: undefined });

const environments = fc
  .tuple(
    fc.record({
      STORE_CREDENTIALS_SECRET_ID: mostly(
        fc.oneof({ weight: 9, arbitrary: fc.constant('store-credentials') }, fc.string({ maxLength: 10 })),
      ),
      NOTIFICATION_TOPIC_ARN: mostly(
        fc.oneof(
          { weight: 9, arbitrary: fc.constant('arn:aws:sns:us-east-1:123456789012:watchdog') },
          fc.string({ maxLength: 10 }),
        ),
      ),
      WATCHDOG_APPS: mostly(watchdogApps),
      DRY_RUN: fc.oneof(
        { weight: 12, arbitrary: fc.constantFrom(undefined, 'true', 'FALSE', 'True', ' false ', '') },
        { weight: 1, arbitrary: fc.constantFrom('yes', '1', '0', 'on') },
        { weight: 1, arbitrary: fc.string({ maxLength: 6 }) },
      ),
      STORE_API_BASE_URL: url,
      AZURE_AD_AUTHORITY: url,
    }),
    secretLike,
  )
  .map(([template, password]) => ({
    env: Object.fromEntries(
      Object.entries<string | undefined>(template).map(([name, value]) => [
        name,
        value?.replace(PASSWORD, password),
      ]),
    ),
    password,
  }));

/** The promises an accepted config keeps (see the Lambda contract, "Environment"). */
function expectContractConfig(config: WatchdogEnvironment): void {
  expect(config.apps.length).toBeGreaterThan(0);
  expect(new Set(config.apps.map((app) => app.applicationId)).size).toBe(config.apps.length);
  for (const app of config.apps) {
    expect(app.applicationId).toMatch(APPLICATION_ID_PATTERN);
    expect(['enforce', 'dry-run']).toContain(app.mode);
    if (Array.isArray(app.flights))
      for (const flight of app.flights) expect(flight).toMatch(FLIGHT_ID_PATTERN);
    else expect([undefined, 'all']).toContain(app.flights);
    for (const alarmName of [...app.alarmNames, ...app.notifyAlarmNames])
      expect(config.alarmIndex.get(alarmName)).toContain(app);
  }
  for (const [alarmName, apps] of config.alarmIndex) {
    for (const app of apps) expect([...app.alarmNames, ...app.notifyAlarmNames]).toContain(alarmName);
  }
  for (const value of [config.storeApiBaseUrl, config.azureAdAuthority]) {
    const parsed = new URL(value);
    expect(
      parsed.protocol === 'https:' || (parsed.protocol === 'http:' && LOOPBACK.has(parsed.hostname)),
    ).toBe(true);
    expect(parsed.username + parsed.password + parsed.search + parsed.hash).toBe('');
  }
  expect(config.storeApiBaseUrl.endsWith('/')).toBe(true);
  expect(config.azureAdAuthority.endsWith('/')).toBe(false);
}

describe('parseEnvironment, property-based', () => {
  it('returns a config that keeps the contract, or a clear ConfigurationError naming a variable', () => {
    fc.assert(
      fc.property(environments, ({ env, password }) => {
        const outcome = outcomeOf(() => parseEnvironment(env));
        if (outcome.ok) {
          expectContractConfig(outcome.value);
          return;
        }
        expect(isClearError(outcome.error, ConfigurationError)).toBe(true);
        const message = outcome.error instanceof Error ? outcome.error.message : '';
        expect(VARIABLES.some((variable) => message.includes(variable))).toBe(true);
        expect(message).not.toContain(password);
      }),
      { numRuns: NUM_RUNS },
    );
  });
});
