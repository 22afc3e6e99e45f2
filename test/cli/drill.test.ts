import { randomUUID } from 'node:crypto';
import { CloudWatchClient, PutMetricAlarmCommand } from '@aws-sdk/client-cloudwatch';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  SAMPLE_APP_ID,
  SAMPLE_PUBLISHED_SUBMISSION_ID,
  SAMPLE_QUIET_APP_ID,
} from '../../tools/store-simulator/sample-state.ts';
import { describeWithMoto, motoClientConfig } from '../support/aws.ts';
import { startCloudWatchStandIn } from '../support/cloudwatch-stand-in.ts';
import { runCliCaptured, startCliStore } from './support.ts';

/** The status and name of each step line, in order (`PASS  app configured ...`). */
function readSteps(stdout: string): string[] {
  return stdout
    .split('\n')
    .filter((line) => /^(PASS|FAIL|SKIP) {2}/.test(line))
    .map((line) => line.slice(0, 28).trimEnd().replace(/ +/g, ' '));
}

describe('store-watchdog drill', () => {
  it('passes every step for a watched app whose rollout is live, and changes nothing', async () => {
    const { simulator, env } = await startCliStore();

    const { code, stdout } = await runCliCaptured(['drill', '--app', SAMPLE_APP_ID], env);

    expect(code).toBe(0);
    expect(readSteps(stdout)).toEqual([
      'PASS app configured',
      'PASS alarms mapped',
      'PASS credentials readable',
      'PASS token obtained',
      'PASS app readable',
      'PASS live rollout found',
      'PASS dry-run decision',
    ]);
    expect(stdout).toContain(`main rollout: submission ${SAMPLE_PUBLISHED_SUBMISSION_ID} at 20%`);
    expect(stdout).toContain('on an alarm the watchdog will HALT them');
    expect(stdout).toContain('All 7 steps passed: the watchdog is armed for Contoso Photos (9NBLGGH4R315).');
    expect(simulator.control.effectiveHalts).toBe(0);
  });

  it('says when the watchdog would only report (global dry run)', async () => {
    const { env } = await startCliStore();

    const { code, stdout } = await runCliCaptured(['drill', '--app', SAMPLE_APP_ID], {
      ...env,
      DRY_RUN: 'true',
    });

    expect(code).toBe(0);
    expect(stdout).toContain('on an alarm the watchdog will only REPORT them: its dry run is on');
  });

  it('fails the token step with the fix when Azure AD rejects the secret, and skips what needs a token', async () => {
    const { env, tenant } = await startCliStore();

    const { code, stdout } = await runCliCaptured(['drill', '--app', SAMPLE_APP_ID], {
      ...env,
      STORE_CLIENT_SECRET: 'not-the-secret',
    });

    expect(code).toBe(1);
    expect(readSteps(stdout)).toEqual([
      'PASS app configured',
      'PASS alarms mapped',
      'PASS credentials readable',
      'FAIL token obtained',
      'SKIP app readable',
      'SKIP live rollout found',
      'SKIP dry-run decision',
    ]);
    expect(stdout).toMatch(/FAIL {2}token obtained {8}AUTH_REJECTED: /);
    expect(stdout).toContain('fix: Azure AD refused the credentials: check the tenant ID, client ID and key');
    expect(stdout).toContain('4 of 7 steps did not pass');
    expect(stdout).not.toContain('not-the-secret');
    expect(stdout).not.toContain(tenant.clientSecret);
  });

  it('fails the credentials step with the fix when none are given', async () => {
    const { env } = await startCliStore();
    const { STORE_TENANT_ID: _t, STORE_CLIENT_ID: _c, STORE_CLIENT_SECRET: _s, ...withoutCredentials } = env;

    const { code, stdout } = await runCliCaptured(['drill', '--app', SAMPLE_APP_ID], withoutCredentials);

    expect(code).toBe(1);
    expect(stdout).toMatch(/FAIL {2}credentials readable {2}NO_CREDENTIALS: /);
    expect(stdout).toContain('fix: set STORE_TENANT_ID, STORE_CLIENT_ID and STORE_CLIENT_SECRET');
    expect(readSteps(stdout).slice(3)).toEqual([
      'SKIP token obtained',
      'SKIP app readable',
      'SKIP live rollout found',
      'SKIP dry-run decision',
    ]);
  });

  it('fails "app configured" for an app the config does not list', async () => {
    const { env } = await startCliStore();

    const { code, stdout } = await runCliCaptured(['drill', '--app', SAMPLE_QUIET_APP_ID], env);

    expect(code).toBe(1);
    expect(stdout).toContain(
      `FAIL  app configured        ${SAMPLE_QUIET_APP_ID} is not a watched app in WATCHDOG_APPS`,
    );
    expect(stdout).toContain('fix: add it to "watchdog.apps" in cdk.json');
  });

  it('fails "alarms mapped" for an app without alarms', async () => {
    const { env } = await startCliStore();
    const apps = [{ applicationId: SAMPLE_APP_ID }];

    const { code, stdout } = await runCliCaptured(['drill', '--app', SAMPLE_APP_ID], {
      ...env,
      WATCHDOG_APPS: JSON.stringify(apps),
    });

    expect(code).toBe(1);
    expect(stdout).toContain(
      'FAIL  alarms mapped         the app lists no alarm: no alarm can ever start a halt',
    );
  });

  it('fails "live rollout found" when the rollout is already halted', async () => {
    const { env } = await startCliStore();
    await runCliCaptured(['halt', '--app', SAMPLE_APP_ID, '--yes'], env);

    const { code, stdout } = await runCliCaptured(['drill', '--app', SAMPLE_APP_ID], env);

    expect(code).toBe(1);
    expect(stdout).toContain(
      `FAIL  live rollout found    the main rollout (submission ${SAMPLE_PUBLISHED_SUBMISSION_ID}) is already halted`,
    );
    expect(stdout).toContain('SKIP  dry-run decision      nothing live to decide on');
  });

  it('fails "app readable" with the fix when the Store does not know the app', async () => {
    const { env } = await startCliStore((state) => {
      state.apps = state.apps.filter((app) => app.id !== SAMPLE_APP_ID);
    });

    const { code, stdout } = await runCliCaptured(['drill', '--app', SAMPLE_APP_ID], env);

    expect(code).toBe(1);
    expect(stdout).toMatch(/FAIL {2}app readable {10}STORE_NOT_FOUND: /);
    expect(stdout).toContain('fix: the app is not in this Partner Center account');
  });
});

describeWithMoto('store-watchdog drill --check-alarms (CloudWatch on moto)', () => {
  beforeEach(() => {
    const aws = motoClientConfig();
    vi.stubEnv('AWS_ENDPOINT_URL', aws.endpoint);
    vi.stubEnv('AWS_REGION', aws.region);
    vi.stubEnv('AWS_ACCESS_KEY_ID', aws.credentials.accessKeyId);
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', aws.credentials.secretAccessKey);
  });
  afterEach(() => {
    vi.unstubAllEnvs();
  });

  async function createAlarm(name: string): Promise<void> {
    const cloudWatch = new CloudWatchClient(motoClientConfig());
    await cloudWatch.send(
      new PutMetricAlarmCommand({
        AlarmName: name,
        Namespace: 'ContosoPhotos/Telemetry',
        MetricName: 'CrashRate',
        Statistic: 'Average',
        Period: 60,
        EvaluationPeriods: 1,
        Threshold: 2,
        ComparisonOperator: 'GreaterThanThreshold',
      }),
    );
    cloudWatch.destroy();
  }

  it('passes when each alarm of the app exists in CloudWatch', async () => {
    const { env } = await startCliStore();
    const alarm = `crash-rate-${randomUUID()}`;
    await createAlarm(alarm);
    const apps = [{ applicationId: SAMPLE_APP_ID, alarmNames: [alarm] }];

    const { code, stdout } = await runCliCaptured(['drill', '--app', SAMPLE_APP_ID, '--check-alarms'], {
      ...env,
      WATCHDOG_APPS: JSON.stringify(apps),
    });

    expect(code).toBe(0);
    expect(stdout).toContain(`PASS  alarms mapped         ${alarm} (each exists in CloudWatch)`);
  });

  it('sees a composite alarm and a notify-only alarm of the app (CloudWatch stand-in: moto has no composite alarms)', async () => {
    const { env } = await startCliStore();
    const standIn = await startCloudWatchStandIn({
      metricAlarms: ['contoso-photos-crash-rate'],
      compositeAlarms: { 'contoso-photos-corroborated': 'ALARM("contoso-photos-crash-rate")' },
    });
    vi.stubEnv('AWS_ENDPOINT_URL_CLOUDWATCH', standIn.url);
    const apps = [
      {
        applicationId: SAMPLE_APP_ID,
        alarmNames: ['contoso-photos-corroborated'],
        notifyAlarmNames: ['contoso-photos-crash-rate'],
      },
    ];

    try {
      const { code, stdout } = await runCliCaptured(['drill', '--app', SAMPLE_APP_ID, '--check-alarms'], {
        ...env,
        WATCHDOG_APPS: JSON.stringify(apps),
      });

      expect(code).toBe(0);
      expect(stdout).toContain(
        'PASS  alarms mapped         contoso-photos-corroborated, contoso-photos-crash-rate (notify-only) (each exists in CloudWatch)',
      );
      expect(standIn.requests.map((request) => request.body.AlarmTypes)).toEqual([
        ['MetricAlarm', 'CompositeAlarm'],
      ]);
    } finally {
      await standIn.close();
    }
  });

  it('fails with the fix when an alarm of the app does not exist', async () => {
    const { env } = await startCliStore();
    const present = `crash-rate-${randomUUID()}`;
    const missing = `crash-rate-missing-${randomUUID()}`;
    await createAlarm(present);
    const apps = [{ applicationId: SAMPLE_APP_ID, alarmNames: [present, missing] }];

    const { code, stdout } = await runCliCaptured(['drill', '--app', SAMPLE_APP_ID, '--check-alarms'], {
      ...env,
      WATCHDOG_APPS: JSON.stringify(apps),
    });

    expect(code).toBe(1);
    expect(stdout).toContain(
      `FAIL  alarms mapped         not in CloudWatch (this account and region): ${missing}`,
    );
    expect(stdout).toContain('fix: deploy the stack (npx cdk deploy)');
  });
});
