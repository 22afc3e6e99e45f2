/**
 * The self-check Lambda against the Store simulator and moto (Secrets Manager, CloudWatch): what it
 * finds, what it reports, and that it only ever reads.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { definedProps } from '../../../functions/commons/optional.ts';
import type { CheckResult } from '../../../functions/self-check/checks.ts';
import {
  SAMPLE_APP_ID,
  SAMPLE_FLIGHT_ID,
  SAMPLE_PUBLISHED_SUBMISSION_ID,
  SAMPLE_QUIET_APP_ID,
  SAMPLE_TENANT,
} from '../../../tools/store-simulator/sample-state.ts';
import { describeWithMoto, MOTO_SKIP_REASON } from '../../support/aws.ts';
import { startCloudWatchStandIn } from '../../support/cloudwatch-stand-in.ts';
import {
  checksOf,
  readMetrics,
  type SelfCheckHarness,
  type SelfCheckHarnessOptions,
  type SelfCheckInvocation,
  startSelfCheck,
} from './self-check-harness.ts';

const harnesses: SelfCheckHarness[] = [];
async function selfCheck(options: SelfCheckHarnessOptions = {}): Promise<SelfCheckHarness> {
  const harness = await startSelfCheck(options);
  harnesses.push(harness);
  return harness;
}
afterEach(async () => {
  await Promise.all(harnesses.splice(0).map((harness) => harness.close()));
});

/** Every request the simulator received, as "KIND METHOD path" (Store paths without the base). */
function requestsOf(harness: SelfCheckHarness): string[] {
  return harness.simulator.control.requests.map(
    (request) => `${request.kind} ${request.method} ${request.path.replace('/v1.0/my/', '')}`,
  );
}

function statusOf(checks: readonly CheckResult[]): string[] {
  return checks.map((check) => `${check.check} ${check.status}`);
}

const WRONG_KEY = 'an-expired-key-that-azure-ad-refuses';
const SECRET_WITH_WRONG_KEY = JSON.stringify({
  tenantId: SAMPLE_TENANT.tenantId,
  clientId: SAMPLE_TENANT.clientId,
  clientSecret: WRONG_KEY,
});

describeWithMoto(`self-check handler${MOTO_SKIP_REASON}`, () => {
  describe('when everything works', () => {
    it('passes every check, returns the report, and publishes zero-failure metrics', async () => {
      const harness = await selfCheck();

      const invocation = await harness.invoke();

      expect(invocation.error).toBeUndefined();
      expect(invocation.result?.ok).toBe(true);
      expect(checksOf(invocation)).toEqual([
        expect.objectContaining({ check: 'credentials', status: 'PASS', subject: harness.secretId }),
        expect.objectContaining({ check: 'token', status: 'PASS' }),
        expect.objectContaining({
          check: 'app',
          status: 'PASS',
          subject: `Contoso Photos (${SAMPLE_APP_ID})`,
          reason: expect.stringContaining(`submission ${SAMPLE_PUBLISHED_SUBMISSION_ID} rolling out at 20%`),
        }),
        expect.objectContaining({ check: 'alarm', status: 'PASS', subject: harness.alarmName }),
      ]);
      expect(readMetrics(invocation.logs)).toMatchObject({
        SelfCheckFailures: 0,
        CredentialsOk: 1,
        AlarmsMissing: 0,
        AppsUnreadable: 0,
      });
    });

    it('passes with no NOTIFICATION_TOPIC_ARN or DRY_RUN: it publishes nothing and halts nothing', async () => {
      const harness = await selfCheck({ env: { DRY_RUN: 'not a boolean' } });

      const { error } = await harness.invoke();

      expect(error).toBeUndefined();
    });

    it('reads each app once (one findLiveRollouts), gets one token, and never POSTs to the Store', async () => {
      const harness = await selfCheck({
        apps: [
          { applicationId: SAMPLE_APP_ID, alarmNames: ['{alarm}'], flights: 'all' },
          { applicationId: SAMPLE_QUIET_APP_ID, alarmNames: ['{alarm}'] },
        ],
      });

      await harness.invoke();

      // The main rollout and the flights of one app are read side by side, so order within an app varies.
      expect(requestsOf(harness).sort()).toEqual(
        [
          `token POST /${SAMPLE_TENANT.tenantId}/oauth2/token`,
          `store GET applications/${SAMPLE_APP_ID}`,
          `store GET applications/${SAMPLE_APP_ID}/submissions/${SAMPLE_PUBLISHED_SUBMISSION_ID}/packagerollout`,
          `store GET applications/${SAMPLE_APP_ID}/listflights`,
          `store GET applications/${SAMPLE_APP_ID}/flights/${SAMPLE_FLIGHT_ID}/submissions/1152921504621243710/packagerollout`,
          `store GET applications/${SAMPLE_QUIET_APP_ID}`,
          `store GET applications/${SAMPLE_QUIET_APP_ID}/submissions/1152921504621225621/packagerollout`,
        ].sort(),
      );
      expect(harness.simulator.control.effectiveHalts).toBe(0);
    });

    it('never halts, not even a rollout in progress, run after run', async () => {
      const harness = await selfCheck();

      for (let run = 0; run < 3; run++) await harness.invoke();

      const control = harness.simulator.control;
      expect(control.effectiveHalts).toBe(0);
      expect(control.rollout(SAMPLE_APP_ID, SAMPLE_PUBLISHED_SUBMISSION_ID).packageRolloutStatus).toBe(
        'PackageRolloutInProgress',
      );
      expect(
        control.requests.filter((request) => request.kind === 'store').map((r) => r.method),
      ).not.toContain('POST');
    });

    it('reads the secret and asks Azure AD again on every run (a warm container proves nothing otherwise)', async () => {
      const harness = await selfCheck();

      await harness.invoke();
      await harness.invoke();

      expect(requestsOf(harness).filter((request) => request.startsWith('token '))).toHaveLength(2);
    });
  });

  describe('an expired or rotated Azure AD key', () => {
    it('fails the token check with the fix, skips the apps, still checks the alarms, and fails the run', async () => {
      const harness = await selfCheck({ secretString: SECRET_WITH_WRONG_KEY });

      const invocation = await harness.invoke();

      expect(invocation.result).toBeUndefined();
      expect(invocation.error?.name).toBe('SelfCheckFailedError');
      expect(statusOf(checksOf(invocation))).toEqual([
        'credentials PASS',
        'token FAIL',
        'app SKIP',
        'alarm PASS',
      ]);
      const token = checksOf(invocation)[1];
      expect(token?.code).toBe('AUTH_REJECTED');
      expect(token?.fix).toMatch(/Add new key/);
      expect(token?.fix).toContain(`put-secret-value --secret-id ${harness.secretId}`);
      expect(invocation.error?.message).toMatch(/token .*Fix: Azure AD refused the key/);
      expect(readMetrics(invocation.logs)).toMatchObject({ SelfCheckFailures: 1, CredentialsOk: 0 });
      expect(requestsOf(harness).filter((request) => request.startsWith('store '))).toEqual([]);
    });

    it('passes again at the next run once the new key is in the secret', async () => {
      const harness = await selfCheck({ secretString: SECRET_WITH_WRONG_KEY });
      const failed = await harness.invoke();

      await harness.putSecret(
        JSON.stringify({
          tenantId: SAMPLE_TENANT.tenantId,
          clientId: SAMPLE_TENANT.clientId,
          clientSecret: SAMPLE_TENANT.clientSecret,
        }),
      );
      const fixed = await harness.invoke();

      expect(failed.error).toMatchObject({ name: 'SelfCheckFailedError', code: 'SELF_CHECK_FAILED' });
      expect(fixed.error).toBeUndefined();
      expect(fixed.result?.ok).toBe(true);
    });

    it('fails the credentials check, with the command that fills it, when the secret has no value', async () => {
      const harness = await selfCheck({ secretString: '{"tenantId":"","clientId":"","clientSecret":""}' });

      const invocation = await harness.invoke();

      expect(statusOf(checksOf(invocation))).toEqual([
        'credentials FAIL',
        'token SKIP',
        'app SKIP',
        'alarm PASS',
      ]);
      expect(checksOf(invocation)[0]?.fix).toContain(`put-secret-value --secret-id ${harness.secretId}`);
      expect(harness.simulator.control.requests).toEqual([]);
    });

    it('fails the credentials check when the secret does not exist', async () => {
      const harness = await selfCheck({ secretString: null });

      const invocation = await harness.invoke();

      expect(checksOf(invocation)[0]).toMatchObject({
        check: 'credentials',
        status: 'FAIL',
        code: 'SECRET_NOT_FOUND',
        reason: expect.stringMatching(/does not exist/),
      });
      expect(readMetrics(invocation.logs)).toMatchObject({ CredentialsOk: 0 });
    });
  });

  describe('a deleted alarm', () => {
    it('fails the run naming the alarm and the app it watched, and counts it as missing', async () => {
      const harness = await selfCheck({
        apps: [
          {
            applicationId: SAMPLE_APP_ID,
            name: 'Contoso Photos',
            alarmNames: ['{alarm}', '{alarm}-sessions'],
          },
        ],
      });
      await harness.deleteAlarm(harness.alarmName);

      const invocation = await harness.invoke();

      const alarms = checksOf(invocation).filter((check) => check.check === 'alarm');
      expect(alarms).toEqual([
        expect.objectContaining({ subject: harness.alarmName, status: 'FAIL', code: 'ALARM_MISSING' }),
        expect.objectContaining({ subject: `${harness.alarmName}-sessions`, status: 'PASS' }),
      ]);
      expect(alarms[0]?.reason).toContain(`Contoso Photos (${SAMPLE_APP_ID})`);
      expect(invocation.error?.message).toContain(harness.alarmName);
      expect(readMetrics(invocation.logs)).toMatchObject({ AlarmsMissing: 1, SelfCheckFailures: 1 });
    });

    it('sees a composite alarm and a notify-only alarm (CloudWatch stand-in: moto has no composite alarms)', async () => {
      const standIn = await startCloudWatchStandIn({
        metricAlarms: ['contoso-photos-crash-rate'],
        compositeAlarms: { 'contoso-photos-corroborated': 'ALARM("contoso-photos-crash-rate")' },
      });
      try {
        const harness = await selfCheck({
          apps: [
            {
              applicationId: SAMPLE_APP_ID,
              alarmNames: ['contoso-photos-corroborated'],
              notifyAlarmNames: ['contoso-photos-crash-rate', 'contoso-photos-deleted'],
            },
          ],
          createAlarms: [],
          env: { AWS_ENDPOINT_URL_CLOUDWATCH: standIn.url },
        });

        const invocation = await harness.invoke();

        const alarms = checksOf(invocation).filter((check) => check.check === 'alarm');
        expect(alarms).toEqual([
          expect.objectContaining({ subject: 'contoso-photos-corroborated', status: 'PASS' }),
          expect.objectContaining({ subject: 'contoso-photos-crash-rate', status: 'PASS' }),
          expect.objectContaining({
            subject: 'contoso-photos-deleted',
            status: 'FAIL',
            code: 'ALARM_MISSING',
          }),
        ]);
        expect(readMetrics(invocation.logs)).toMatchObject({ AlarmsMissing: 1 });
        expect(standIn.requests.map((request) => request.body.AlarmTypes)).toEqual([
          ['MetricAlarm', 'CompositeAlarm'],
        ]);
      } finally {
        await standIn.close();
      }
    });

    it('checks an alarm that several apps share once', async () => {
      const harness = await selfCheck({
        apps: [
          { applicationId: SAMPLE_APP_ID, alarmNames: ['{alarm}'] },
          { applicationId: SAMPLE_QUIET_APP_ID, alarmNames: ['{alarm}'] },
        ],
        createAlarms: [],
      });

      const invocation = await harness.invoke();

      const alarms = checksOf(invocation).filter((check) => check.check === 'alarm');
      expect(alarms).toHaveLength(1);
      expect(alarms[0]?.reason).toContain(`${SAMPLE_APP_ID}, ${SAMPLE_QUIET_APP_ID}`);
      expect(readMetrics(invocation.logs)).toMatchObject({ AlarmsMissing: 1 });
    });
  });

  describe('a catalog read in slices (SELF_CHECK_SLICES, SELF_CHECK_PERIOD_MINUTES)', () => {
    it('reads one slice per scheduled run, in turn, so two runs read each app once, and a retry reads the same slice', async () => {
      const harness = await selfCheck({
        apps: [
          { applicationId: SAMPLE_APP_ID, alarmNames: ['{alarm}'] },
          { applicationId: SAMPLE_QUIET_APP_ID, alarmNames: ['{alarm}'] },
        ],
        env: { SELF_CHECK_SLICES: '2', SELF_CHECK_PERIOD_MINUTES: '60' },
      });
      const appsRead = (invocation: SelfCheckInvocation) =>
        checksOf(invocation)
          .filter((check) => check.check === 'app')
          .map((check) => check.subject);

      const first = await harness.invoke({ time: '2026-12-02T06:00:00Z' });
      const second = await harness.invoke({ time: '2026-12-02T07:00:00Z' });
      const retry = await harness.invoke({ time: '2026-12-02T07:00:00Z' });

      expect(first.error).toBeUndefined();
      expect(appsRead(first)).toHaveLength(1);
      expect(appsRead(second)).toHaveLength(1);
      expect([...appsRead(first), ...appsRead(second)].toSorted()).toEqual(
        [SAMPLE_APP_ID, SAMPLE_QUIET_APP_ID].toSorted(),
      );
      expect(appsRead(retry)).toEqual(appsRead(second));
      expect(second.result).toMatchObject({ slice: { count: 2, apps: 1 } });
      // The Store saw each app read by its own run only: one GET of each application in the two runs.
      const gets = requestsOf(harness).filter((request) =>
        /^store GET applications\/[A-Z0-9]{12}$/.test(request),
      );
      expect(gets.toSorted()).toEqual(
        [SAMPLE_APP_ID, SAMPLE_QUIET_APP_ID, appsRead(second)[0]]
          .map((id) => `store GET applications/${id}`)
          .toSorted(),
      );
    });

    it('fails the run naming the variable when SELF_CHECK_SLICES is not a whole number', async () => {
      const harness = await selfCheck({ env: { SELF_CHECK_SLICES: 'two', SELF_CHECK_PERIOD_MINUTES: '60' } });

      const invocation = await harness.invoke();

      expect(invocation.error?.message).toContain('SELF_CHECK_SLICES must be a whole number from 1');
    });
  });

  describe('an app the Store will not show', () => {
    it('fails the app that answers 404, naming it with the fix, and still checks the others', async () => {
      const unknown = '9NBLGGH00000';
      const harness = await selfCheck({
        apps: [
          { applicationId: unknown, name: 'Gone', alarmNames: ['{alarm}'] },
          { applicationId: SAMPLE_QUIET_APP_ID, alarmNames: ['{alarm}'] },
        ],
      });

      const invocation = await harness.invoke();

      const apps = checksOf(invocation).filter((check) => check.check === 'app');
      expect(apps).toEqual([
        expect.objectContaining({ subject: `Gone (${unknown})`, status: 'FAIL', code: 'STORE_NOT_FOUND' }),
        expect.objectContaining({ subject: SAMPLE_QUIET_APP_ID, status: 'PASS' }),
      ]);
      expect(apps[0]?.reason).toMatch(/404/);
      expect(apps[0]?.fix).toContain(`applicationId ${unknown}`);
      expect(invocation.error?.message).toContain(unknown);
      expect(readMetrics(invocation.logs)).toMatchObject({ AppsUnreadable: 1, SelfCheckFailures: 1 });
    });

    it('fails an app whose configured flight no longer exists', async () => {
      const missingFlight = '00000000-0000-4000-8000-00000000f1f1';
      const harness = await selfCheck({
        apps: [{ applicationId: SAMPLE_APP_ID, alarmNames: ['{alarm}'], flights: [missingFlight] }],
      });

      const invocation = await harness.invoke();

      const app = checksOf(invocation).find((check) => check.check === 'app');
      expect(app).toMatchObject({ status: 'FAIL', code: 'STORE_NOT_FOUND' });
      expect(app?.reason).toContain(`flight ${missingFlight}`);
      expect(app?.fix).toMatch(/flights/);
    });

    it('fails the app when the Store keeps failing, after the client retried', async () => {
      const harness = await selfCheck();
      harness.simulator.control.failNext({ status: 503, count: 50, match: { kind: 'store' } });

      const invocation = await harness.invoke();

      expect(checksOf(invocation).find((check) => check.check === 'app')).toMatchObject({
        status: 'FAIL',
        code: 'STORE_UNAVAILABLE',
      });
    });
  });

  describe('environment', () => {
    it.each([
      ['STORE_CREDENTIALS_SECRET_ID', { STORE_CREDENTIALS_SECRET_ID: undefined }],
      ['WATCHDOG_APPS', { WATCHDOG_APPS: '[{"applicationId":"nope"}]' }],
      ['STORE_API_BASE_URL', { STORE_API_BASE_URL: 'http://store.example.com/v1.0/my/' }],
    ])('fails every run with an error naming %s, and calls nothing', async (variable, env) => {
      const harness = await selfCheck({ env });

      const invocation = await harness.invoke();

      expect(invocation.error?.message).toContain(variable);
      expect(harness.simulator.control.requests).toEqual([]);
      expect(readMetrics(invocation.logs)).toMatchObject({ SelfCheckFailures: 1 });
    });
  });

  describe('logs', () => {
    it('writes one structured line per check and a summary', async () => {
      const harness = await selfCheck({ secretString: SECRET_WITH_WRONG_KEY });

      const { logs } = await harness.invoke();

      const entries = logs.map((line) => JSON.parse(line));
      expect(entries).toContainEqual(
        expect.objectContaining({
          level: 'ERROR',
          message: 'check failed',
          check: 'token',
          code: 'AUTH_REJECTED',
        }),
      );
      expect(entries).toContainEqual(
        expect.objectContaining({ level: 'INFO', message: 'check passed', check: 'alarm' }),
      );
      expect(entries).toContainEqual(
        expect.objectContaining({ level: 'ERROR', message: 'self-check failed', ok: false, failures: 1 }),
      );
      expect(entries.every((entry) => entry.service === 'store-rollout-watchdog-self-check')).toBe(true);
    });

    it('never writes the client secret (right or wrong) into a log line, the error or the report', async () => {
      const outputs: string[] = [];
      for (const secretString of [SECRET_WITH_WRONG_KEY, undefined]) {
        const harness = await startSelfCheck(definedProps({ secretString }));
        const { error, result } = await harness.invoke();
        outputs.push(String(error?.stack), JSON.stringify(error), JSON.stringify(result), ...harness.allLogs);
        await harness.close();
      }

      const text = outputs.join('\n');
      expect(outputs.length).toBeGreaterThan(10);
      expect(text).not.toContain(WRONG_KEY);
      expect(text).not.toContain(SAMPLE_TENANT.clientSecret);
    });
  });
});
