/**
 * The self-check's logic over fake ports: which checks run, in what order, what is skipped, what each
 * failure says to do, and what the summary counts. The handler test runs the same code against the
 * Store simulator and moto.
 */
import { describe, expect, it } from 'vitest';
import type { RolloutLookup } from '../../../functions/commons/domain/ports.ts';
import type { WatchedApp } from '../../../functions/commons/domain/watched-apps.ts';
import {
  AuthError,
  ConfigurationError,
  StoreApiError,
  WatchdogError,
} from '../../../functions/commons/errors.ts';
import { definedProps } from '../../../functions/commons/optional.ts';
import {
  ALARM_MISSING,
  type CheckResult,
  describeFailedChecks,
  runSelfCheck,
  SelfCheckFailedError,
  type SelfCheckPorts,
  type SelfCheckReport,
} from '../../../functions/self-check/checks.ts';

const SECRET_ID = 'store/credentials';
const CREDENTIALS = { tenantId: '00000000-0000-4000-8000-000000000001', clientId: 'client-1' };
const PHOTOS: WatchedApp = {
  applicationId: '9NBLGGH4R315',
  name: 'Contoso Photos',
  alarmNames: ['photos-crash-rate', 'shared-crash-rate'],
  notifyAlarmNames: [],
  flights: 'all',
  mode: 'enforce',
};
const NOTES: WatchedApp = {
  applicationId: '9NBLGGH29DM8',
  alarmNames: ['shared-crash-rate'],
  notifyAlarmNames: [],
  mode: 'dry-run',
};

function inProgress(applicationId: string, flightId?: string): RolloutLookup {
  return {
    state: 'in-progress',
    ref: {
      applicationId,
      submissionId: '1152921504621243680',
      ...definedProps({ flightId }),
    },
    rollout: {
      isPackageRollout: true,
      packageRolloutPercentage: 20,
      packageRolloutStatus: 'PackageRolloutInProgress',
      fallbackSubmissionId: '1152921504621086517',
    },
  };
}

function storeError(code: string, status: number): StoreApiError {
  return new StoreApiError(code, `GET applications/x answered ${status}`, { status });
}

interface Calls {
  credentials: number;
  token: number;
  findLiveRollouts: string[];
  describeAlarms: (readonly string[])[];
  concurrentReads: number;
  maxConcurrentReads: number;
}

/** Ports where everything works; override any of them. */
function fakePorts(overrides: Partial<SelfCheckPorts> = {}): { ports: SelfCheckPorts; calls: Calls } {
  const calls: Calls = {
    credentials: 0,
    token: 0,
    findLiveRollouts: [],
    describeAlarms: [],
    concurrentReads: 0,
    maxConcurrentReads: 0,
  };
  const ports: SelfCheckPorts = {
    getCredentials: async () => {
      calls.credentials++;
      return CREDENTIALS;
    },
    getToken: async () => {
      calls.token++;
      return 'a token';
    },
    findLiveRollouts: async (request) => {
      calls.findLiveRollouts.push(request.applicationId);
      calls.concurrentReads++;
      calls.maxConcurrentReads = Math.max(calls.maxConcurrentReads, calls.concurrentReads);
      await new Promise((resolve) => setTimeout(resolve, 5));
      calls.concurrentReads--;
      return [inProgress(request.applicationId)];
    },
    describeAlarms: async (names) => {
      calls.describeAlarms.push(names);
      return new Set(names);
    },
    now: () => 0,
    ...overrides,
  };
  return { ports, calls };
}

function run(ports: SelfCheckPorts, apps: readonly WatchedApp[] = [PHOTOS, NOTES]): Promise<SelfCheckReport> {
  return runSelfCheck({ storeCredentialsSecretId: SECRET_ID, apps }, ports, AbortSignal.timeout(5_000));
}

function rows(report: SelfCheckReport): string[] {
  return report.checks.map((check) => `${check.check} ${check.subject} ${check.status}`);
}

function only(report: SelfCheckReport, check: CheckResult['check']): CheckResult {
  const found = report.checks.filter((result) => result.check === check);
  if (found.length !== 1 || found[0] === undefined) throw new Error(`expected one ${check} check`);
  return found[0];
}

describe('runSelfCheck', () => {
  it('checks the credentials, the token, each app in config order, then each distinct alarm once', async () => {
    const { ports, calls } = fakePorts();

    const report = await run(ports);

    expect(rows(report)).toEqual([
      `credentials ${SECRET_ID} PASS`,
      `token client client-1 in tenant ${CREDENTIALS.tenantId} PASS`,
      'app Contoso Photos (9NBLGGH4R315) PASS',
      'app 9NBLGGH29DM8 PASS',
      'alarm photos-crash-rate PASS',
      'alarm shared-crash-rate PASS',
    ]);
    expect(report.ok).toBe(true);
    expect(report.summary).toEqual({ failures: 0, credentialsOk: true, alarmsMissing: 0, appsUnreadable: 0 });
    expect(calls.describeAlarms).toEqual([['photos-crash-rate', 'shared-crash-rate']]);
  });

  it('reads each app exactly once, one app at a time, with its configured flights', async () => {
    const requests: unknown[] = [];
    const { ports, calls } = fakePorts();
    const counted = ports.findLiveRollouts;

    const report = await run({
      ...ports,
      findLiveRollouts: (request, signal) => {
        requests.push(request);
        return counted(request, signal);
      },
    });

    expect(report.ok).toBe(true);
    expect(requests).toEqual([
      { applicationId: PHOTOS.applicationId, flights: 'all' },
      { applicationId: NOTES.applicationId, flights: undefined },
    ]);
    expect(calls.maxConcurrentReads).toBe(1);
    expect(calls.token).toBe(1);
  });

  it('describes what it found in each rollout it read', async () => {
    const { ports } = fakePorts({
      findLiveRollouts: async (request) => [
        inProgress(request.applicationId),
        {
          state: 'none',
          applicationId: request.applicationId,
          flightId: 'f-1',
          reason: 'the rollout of submission 1 is complete (finalized)',
        },
      ],
    });

    const report = await run(ports, [PHOTOS]);

    expect(only(report, 'app').reason).toBe(
      'main rollout: submission 1152921504621243680 rolling out at 20%; flight f-1: nothing to halt (the rollout of submission 1 is complete (finalized))',
    );
  });

  describe('credentials', () => {
    it.each([
      ['SECRET_EMPTY', /put-secret-value --secret-id store\/credentials/],
      ['SECRET_MALFORMED', /put-secret-value --secret-id store\/credentials/],
      ['SECRET_NOT_FOUND', /Create the secret/],
      ['SECRET_ACCESS_DENIED', /kmsKeyArn/],
    ])('fails on %s with its fix, and skips the token and every app', async (code, fix) => {
      const { ports, calls } = fakePorts({
        getCredentials: async () => {
          throw new ConfigurationError(code, `secret ${SECRET_ID} is unusable`);
        },
      });

      const report = await run(ports);

      expect(report.checks.slice(0, 4).map((check) => `${check.check} ${check.status}`)).toEqual([
        'credentials FAIL',
        'token SKIP',
        'app SKIP',
        'app SKIP',
      ]);
      expect(only(report, 'credentials')).toMatchObject({ code, fix: expect.stringMatching(fix) });
      expect(calls.token).toBe(0);
      expect(calls.findLiveRollouts).toEqual([]);
      expect(report.summary).toMatchObject({ failures: 1, credentialsOk: false, appsUnreadable: 0 });
    });
  });

  describe('token', () => {
    it('says the key probably expired, and how to store a new one, when Azure AD rejects it', async () => {
      const { ports, calls } = fakePorts({
        getToken: async () => {
          throw new AuthError('AUTH_REJECTED', 'the token endpoint rejected the credentials: 401', {
            status: 401,
          });
        },
      });

      const report = await run(ports);

      const token = only(report, 'token');
      expect(token).toMatchObject({ status: 'FAIL', code: 'AUTH_REJECTED' });
      expect(token.fix).toContain('expired');
      expect(token.fix).toContain(
        `put-secret-value --secret-id ${SECRET_ID} --secret-string '{"tenantId":"${CREDENTIALS.tenantId}","clientId":"client-1","clientSecret":"<the new key>"}'`,
      );
      expect(calls.findLiveRollouts).toEqual([]);
      expect(report.summary.credentialsOk).toBe(false);
    });

    it('says the next run retries when Azure AD cannot be reached', async () => {
      const { ports } = fakePorts({
        getToken: async () => {
          throw new AuthError('AUTH_NETWORK', 'the token endpoint could not be reached (ECONNREFUSED)', {});
        },
      });

      const report = await run(ports);

      expect(only(report, 'token').fix).toMatch(/next run retries/);
    });
  });

  describe('apps', () => {
    it.each([
      ['STORE_NOT_FOUND', 404, /applicationId 9NBLGGH4R315/],
      ['STORE_UNAUTHORIZED', 401, /Manager role/],
      ['STORE_FORBIDDEN', 403, /Manager role/],
      ['STORE_CONFLICT', 409, /does not support/],
      ['STORE_THROTTLED', 429, /request budget/],
      ['STORE_UNAVAILABLE', 503, /next run retries/],
    ])(
      'fails an app whose main rollout answers %s, with the matching fix, and reads the next app',
      async (code, status, fix) => {
        const read: string[] = [];
        const { ports } = fakePorts({
          findLiveRollouts: async (request) => {
            read.push(request.applicationId);
            return [
              request.applicationId === PHOTOS.applicationId
                ? { state: 'failed', applicationId: request.applicationId, error: storeError(code, status) }
                : inProgress(request.applicationId),
            ];
          },
        });

        const report = await run(ports);

        const [photos, notes] = report.checks.filter((check) => check.check === 'app');
        expect(photos).toMatchObject({ status: 'FAIL', code, fix: expect.stringMatching(fix) });
        expect(photos?.reason).toContain(`main rollout: GET applications/x answered ${status}`);
        expect(notes?.status).toBe('PASS');
        expect(read).toEqual([PHOTOS.applicationId, NOTES.applicationId]);
        expect(report.summary).toMatchObject({ failures: 1, appsUnreadable: 1, credentialsOk: true });
      },
    );

    it('fails an app when one of its flights cannot be read, naming the flight', async () => {
      const { ports } = fakePorts({
        findLiveRollouts: async (request) => [
          inProgress(request.applicationId),
          {
            state: 'failed',
            applicationId: request.applicationId,
            flightId: 'f-gone',
            error: storeError('STORE_NOT_FOUND', 404),
          },
        ],
      });

      const report = await run(ports, [PHOTOS]);

      expect(only(report, 'app')).toMatchObject({
        status: 'FAIL',
        reason: 'flight f-gone: GET applications/x answered 404',
        fix: expect.stringContaining('Flight f-gone does not exist any more'),
      });
    });

    it('fails an app whose lookup rejects', async () => {
      const { ports } = fakePorts({
        findLiveRollouts: async () => {
          throw new WatchdogError('bad-input', 'INVALID_APPLICATION_ID', 'applicationId is not a Store ID');
        },
      });

      const report = await run(ports, [PHOTOS]);

      expect(only(report, 'app')).toMatchObject({ status: 'FAIL', code: 'INVALID_APPLICATION_ID' });
    });
  });

  describe('alarms', () => {
    it('fails each watched alarm that does not exist, naming every app that lists it', async () => {
      const { ports } = fakePorts({ describeAlarms: async () => new Set(['photos-crash-rate']) });

      const report = await run(ports);

      const shared = report.checks.find((check) => check.subject === 'shared-crash-rate');
      expect(shared).toMatchObject({ check: 'alarm', status: 'FAIL', code: ALARM_MISSING });
      expect(shared?.reason).toContain('Contoso Photos (9NBLGGH4R315), 9NBLGGH29DM8');
      expect(shared?.fix).toContain('alarmNames of Contoso Photos (9NBLGGH4R315), 9NBLGGH29DM8');
      expect(report.summary).toMatchObject({ failures: 1, alarmsMissing: 1 });
    });

    it('fails once, and leaves the missing count unknown, when the alarms cannot be looked up', async () => {
      const { ports } = fakePorts({
        describeAlarms: async () => {
          throw new WatchdogError(
            'upstream',
            'ALARMS_UNREADABLE',
            'CloudWatch DescribeAlarms failed (AccessDenied)',
          );
        },
      });

      const report = await run(ports);

      expect(report.checks.filter((check) => check.check === 'alarm')).toEqual([
        expect.objectContaining({
          status: 'FAIL',
          subject: 'photos-crash-rate, shared-crash-rate',
          code: 'ALARMS_UNREADABLE',
          fix: expect.stringContaining('cloudwatch:DescribeAlarms'),
        }),
      ]);
      expect(report.summary.alarmsMissing).toBeUndefined();
    });

    it('still checks the alarms when the Store cannot be reached at all', async () => {
      const { ports, calls } = fakePorts({
        getCredentials: async () => {
          throw new ConfigurationError('SECRET_NOT_FOUND', 'secret does not exist');
        },
      });

      const report = await run(ports);

      expect(calls.describeAlarms).toHaveLength(1);
      expect(report.checks.filter((check) => check.check === 'alarm').map((check) => check.status)).toEqual([
        'PASS',
        'PASS',
      ]);
    });

    it('asks nothing of CloudWatch when no app lists an alarm', async () => {
      const { ports, calls } = fakePorts();

      const report = await run(ports, [{ ...NOTES, alarmNames: [] }]);

      expect(calls.describeAlarms).toEqual([]);
      expect(report.summary.alarmsMissing).toBe(0);
    });
  });
});

describe('SelfCheckFailedError', () => {
  it('lists every failed check with its fix, and keeps the report', async () => {
    const { ports } = fakePorts({ describeAlarms: async () => new Set() });
    const report = await run(ports, [PHOTOS]);

    const error = new SelfCheckFailedError(report);

    expect(error.code).toBe('SELF_CHECK_FAILED');
    expect(error.report).toBe(report);
    expect(error.message.split('\n')).toEqual([
      'self-check failed: 2 of 5 checks failed',
      expect.stringMatching(
        /^alarm photos-crash-rate: no alarm \(metric or composite\) named photos-crash-rate .* Fix: Recreate/,
      ),
      expect.stringMatching(/^alarm shared-crash-rate: /),
    ]);
  });

  it('keeps its message under 4000 characters however many checks failed', async () => {
    const apps = Array.from({ length: 60 }, (_, index) => ({
      ...NOTES,
      applicationId: `9NBLGGH${String(index).padStart(5, '0')}`,
      alarmNames: [`alarm-${index}-${'x'.repeat(100)}`],
    }));
    const { ports } = fakePorts({ describeAlarms: async () => new Set() });

    const message = describeFailedChecks(await run(ports, apps));

    expect(message.length).toBeLessThanOrEqual(4000);
    expect(message.startsWith('self-check failed: 60 of 122 checks failed')).toBe(true);
  });
});
