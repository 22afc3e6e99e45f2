import { readFileSync } from 'node:fs';
import { App } from 'aws-cdk-lib';
import { describe, expect, it } from 'vitest';
import { indexAppsByAlarm } from '../../functions/commons/config/env.ts';
import { resolveTargets } from '../../functions/commons/domain/targets.ts';
import { watchedAppsSchema } from '../../functions/commons/domain/watched-apps.ts';
import { ConfigurationError } from '../../functions/commons/errors.ts';
import {
  deriveWatchedApps,
  listWatchedAlarmNames,
  loadWatchdogConfig,
  parseWatchdogConfig,
  type WatchdogConfigInput,
} from '../../infra/config.ts';

const cdkJson: unknown = JSON.parse(readFileSync(new URL('../../cdk.json', import.meta.url), 'utf8'));

const crashRate = {
  alarmName: 'contoso-photos-crash-rate',
  namespace: 'ContosoPhotos/Telemetry',
  metricName: 'CrashRate',
  threshold: 2,
  periodSeconds: 10,
  evaluationPeriods: 3,
};

function configWith(overrides: Partial<WatchdogConfigInput> = {}): WatchdogConfigInput {
  return {
    apps: [{ applicationId: '9NBLGGH4R315', name: 'Contoso Photos', alarms: [crashRate] }],
    ...overrides,
  };
}

/** The message of the error `parse` throws (fails the test when it does not throw a ConfigurationError). */
function problemWith(input: unknown): string {
  try {
    parseWatchdogConfig(input);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigurationError);
    expect(error).toMatchObject({ code: 'INVALID_WATCHDOG_CONFIG' });
    return error instanceof Error ? error.message : String(error);
  }
  throw new Error('expected the config to be rejected');
}

describe('the config shipped in cdk.json', () => {
  it('is valid, dry-run globally, and derives the Contoso Photos entry of WATCHDOG_APPS', () => {
    const app = new App({ context: { watchdog: readWatchdogContext() } });

    const config = loadWatchdogConfig(app);

    expect(config.dryRun).toBe(true);
    expect(deriveWatchedApps(config)).toEqual([
      {
        applicationId: '9NBLGGH4R315',
        name: 'Contoso Photos',
        alarmNames: ['contoso-photos-crash-rate'],
        notifyAlarmNames: [],
        flights: 'all',
        mode: 'enforce',
      },
    ]);
    expect(config.apps.flatMap((app) => app.alarms)).toEqual([
      expect.objectContaining({ periodSeconds: 10, treatMissingData: 'notBreaching' }),
    ]);
  });
});

describe('parseWatchdogConfig', () => {
  it('applies the safe defaults: global dry run, missing data not breaching, no e-mails, created secret', () => {
    const config = parseWatchdogConfig(configWith());

    expect(config.dryRun).toBe(true);
    expect(config.notificationEmails).toEqual([]);
    expect(config.secret).toBeUndefined();
    expect(config.apps[0]?.alarms[0]).toMatchObject({
      statistic: 'Average',
      comparison: 'GreaterThanThreshold',
      treatMissingData: 'notBreaching',
      dimensions: {},
    });
    expect(config.apps[0]?.mode).toBe('enforce');
  });

  it('accepts 10-second high-resolution periods and multiples of 60', () => {
    for (const periodSeconds of [10, 60, 120, 300, 3600]) {
      expect(() =>
        parseWatchdogConfig(
          configWith({
            apps: [{ applicationId: '9NBLGGH4R315', alarms: [{ ...crashRate, periodSeconds }] }],
          }),
        ),
      ).not.toThrow();
    }
  });

  it('accepts an existing secret by name (with its key) or by complete ARN', () => {
    expect(parseWatchdogConfig(configWith({ secret: { name: 'store/credentials' } })).secret).toEqual({
      name: 'store/credentials',
    });
    const arn = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:store/credentials-AbC123';
    const kmsKeyArn = 'arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab';
    expect(parseWatchdogConfig(configWith({ secret: { arn, kmsKeyArn } })).secret).toEqual({
      arn,
      kmsKeyArn,
    });
  });

  it('leaves the self-check schedule to the stack (derived from the catalog) unless told otherwise', () => {
    expect(parseWatchdogConfig(configWith()).selfCheck).toEqual({});
    expect(parseWatchdogConfig(configWith({ selfCheck: { scheduleHours: 1.5 } })).selfCheck).toEqual({
      scheduleHours: 1.5,
    });
  });

  it.each([
    [0.1, 'at least 0.25'],
    [13, 'at most 12'],
    [1.0001, 'a whole number of minutes'],
  ])('rejects a self-check every %s hours, naming the field', (scheduleHours, message) => {
    expect(problemWith(configWith({ selfCheck: { scheduleHours } }))).toContain(
      `watchdog.selfCheck.scheduleHours: must be ${message}`,
    );
  });

  describe('rejects a bad config with a message naming the field', () => {
    it('a Store ID that is not 12 upper-case letters and digits', () => {
      const message = problemWith(
        configWith({ apps: [{ applicationId: '9nblggh4r315', alarmNames: ['a'] }] }),
      );

      expect(message).toContain('watchdog.apps[0].applicationId: must be the Store ID');
    });

    it('a period of 30 seconds', () => {
      const message = problemWith(
        configWith({
          apps: [{ applicationId: '9NBLGGH4R315', alarms: [{ ...crashRate, periodSeconds: 30 }] }],
        }),
      );

      expect(message).toContain('watchdog.apps[0].alarms[0].periodSeconds: must be 10 (high resolution)');
    });

    it('more datapoints to alarm than evaluation periods', () => {
      const message = problemWith(
        configWith({
          apps: [{ applicationId: '9NBLGGH4R315', alarms: [{ ...crashRate, datapointsToAlarm: 4 }] }],
        }),
      );

      expect(message).toContain(
        'watchdog.apps[0].alarms[0].datapointsToAlarm: must not exceed evaluationPeriods (3)',
      );
    });

    it('an evaluation range longer than a day', () => {
      const message = problemWith(
        configWith({
          apps: [
            {
              applicationId: '9NBLGGH4R315',
              alarms: [{ ...crashRate, periodSeconds: 3600, evaluationPeriods: 25 }],
            },
          ],
        }),
      );

      expect(message).toContain('watchdog.apps[0].alarms[0].evaluationPeriods');
    });

    it('an unknown key, at the top, in an app, or in an alarm spec (a typo must not be ignored)', () => {
      const typos = {
        apps: [{ applicationId: '9NBLGGH4R315', alarms: [{ ...crashRate, treshold: 3 }], flight: 'all' }],
        dryrun: false,
      };

      const message = problemWith(typos);

      expect(message).toContain('watchdog: Unrecognized key: "dryrun"');
      expect(message).toContain('watchdog.apps[0]: Unrecognized key: "flight"');
      expect(message).toContain('watchdog.apps[0].alarms[0]: Unrecognized key: "treshold"');
    });

    it('an app without any alarm', () => {
      const message = problemWith(configWith({ apps: [{ applicationId: '9NBLGGH4R315' }] }));

      expect(message).toContain('watchdog.apps[0].alarms: the app needs at least one alarm');
    });

    it('the same app twice, or the same alarm created twice', () => {
      const message = problemWith(
        configWith({
          apps: [
            { applicationId: '9NBLGGH4R315', alarms: [crashRate] },
            { applicationId: '9NBLGGH4R315', alarms: [crashRate] },
          ],
        }),
      );

      expect(message).toContain('watchdog.apps[1].applicationId: 9NBLGGH4R315 is listed twice');
      expect(message).toContain(
        'watchdog.apps[1].alarms[0].alarmName: contoso-photos-crash-rate is already created at watchdog.apps[0].alarms[0]',
      );
    });

    it('a secret given both by name and by ARN, or by a partial ARN', () => {
      expect(
        problemWith(
          configWith({
            secret: { name: 'x', arn: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:x-AbC123' },
          }),
        ),
      ).toContain('watchdog.secret: give exactly one of name or arn');
      expect(
        problemWith(
          configWith({ secret: { arn: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:x' } }),
        ),
      ).toContain('watchdog.secret.arn: must be the complete secret ARN');
    });

    it('a notification address that is not an e-mail address, and a global dry run that is not a boolean', () => {
      const message = problemWith({ ...configWith({ notificationEmails: ['ops'] }), dryRun: 'false' });

      expect(message).toContain('watchdog.notificationEmails[0]: must be an e-mail address');
      expect(message).toContain('watchdog.dryRun:');
    });
  });
});

describe('deriveWatchedApps', () => {
  it('merges existing and created alarm names, drops stack-only fields, and satisfies the function schema', () => {
    const config = parseWatchdogConfig({
      apps: [
        {
          applicationId: '9NBLGGH4R315',
          alarmNames: ['existing-crash-alarm', 'contoso-photos-crash-rate'],
          alarms: [crashRate],
          flights: ['3d0f1e1b-5d6a-4b3e-9a4a-6f1f0f7f2a11'],
          mode: 'dry-run',
        },
        { applicationId: '9WZDNCRFJ3PS', name: 'Contoso Notes', alarmNames: ['contoso-photos-crash-rate'] },
      ],
    });

    const apps = deriveWatchedApps(config);

    expect(apps).toEqual([
      {
        applicationId: '9NBLGGH4R315',
        alarmNames: ['existing-crash-alarm', 'contoso-photos-crash-rate'],
        notifyAlarmNames: [],
        flights: ['3d0f1e1b-5d6a-4b3e-9a4a-6f1f0f7f2a11'],
        mode: 'dry-run',
      },
      {
        applicationId: '9WZDNCRFJ3PS',
        name: 'Contoso Notes',
        alarmNames: ['contoso-photos-crash-rate'],
        notifyAlarmNames: [],
        mode: 'enforce',
      },
    ]);
    expect(watchedAppsSchema.parse(JSON.parse(JSON.stringify(apps)))).toEqual(apps);
    expect(listWatchedAlarmNames(config)).toEqual(['existing-crash-alarm', 'contoso-photos-crash-rate']);
  });
});

describe('drilling an app other than the first', () => {
  it('an app lists the drill alarm in notifyAlarmNames: the drill then examines that app, and only it', () => {
    const drillAlarm = 'StoreRolloutWatchdog-drill';
    const config = parseWatchdogConfig({
      apps: [
        { applicationId: '9NBLGGH4R315', alarmNames: ['photos-crash-rate'] },
        { applicationId: '9WZDNCRFJ3PS', alarmNames: ['notes-crash-rate'], notifyAlarmNames: [drillAlarm] },
      ],
    });
    const apps = deriveWatchedApps(config);
    const plan = resolveTargets(
      {
        kind: 'alarm',
        alarms: [
          {
            alarmName: drillAlarm,
            newState: 'ALARM',
            reason: 'drill',
            time: '2026-12-01T10:00:00Z',
            source: 'eventbridge',
          },
        ],
      },
      { apps, alarmIndex: indexAppsByAlarm(apps), dryRun: false, drillAlarmName: drillAlarm },
    );
    if (plan.kind !== 'act') throw new Error(plan.ignored);
    expect(plan.apps.map((planned) => [planned.app.applicationId, planned.dryRunCause])).toEqual([
      ['9WZDNCRFJ3PS', 'drill'],
    ]);
  });
});

describe('loadWatchdogConfig', () => {
  it('reads the config given on the command line as a JSON string', () => {
    const app = new App({ context: { watchdog: JSON.stringify(configWith({ dryRun: false })) } });

    expect(loadWatchdogConfig(app).dryRun).toBe(false);
  });

  it('fails when the context has no watchdog config, or it is not JSON', () => {
    expect(() => loadWatchdogConfig(new App())).toThrow(/cdk\.json has no context "watchdog"/);
    expect(() => loadWatchdogConfig(new App({ context: { watchdog: '{apps:' } }))).toThrow(/is not JSON/);
  });
});

function readWatchdogContext(): unknown {
  if (typeof cdkJson !== 'object' || cdkJson === null || !('context' in cdkJson)) {
    throw new Error('cdk.json has no context');
  }
  const context = cdkJson.context;
  if (typeof context !== 'object' || context === null || !('watchdog' in context)) {
    throw new Error('cdk.json has no watchdog context');
  }
  return context.watchdog;
}
