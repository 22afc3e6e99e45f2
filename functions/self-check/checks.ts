/**
 * The self-check's checks, as plain code over ports: the credentials, a token, each app's live rollouts
 * (read only, one app after another within the tenant's budget; docs/storms.md) and each watched alarm.
 * Each check is `PASS`, `FAIL` (with the reason and the fix) or `SKIP` (a check it depends on failed).
 */

import { AWS_FEDERATION } from '../commons/domain/federation.ts';
import type { RolloutLookup, RolloutPort } from '../commons/domain/ports.ts';
import type { WatchedApp } from '../commons/domain/watched-apps.ts';
import { describeError, messageWithoutFix, WatchdogError } from '../commons/errors.ts';
import { fixApp, fixSecret, fixToken } from './fixes.ts';

/** What a check found. */
export type CheckStatus = 'PASS' | 'FAIL' | 'SKIP';

/** The four kinds of check, in the order they run. */
export type CheckName = 'credentials' | 'token' | 'app' | 'alarm';

/** The outcome of one check. */
export interface CheckResult {
  readonly check: CheckName;
  /** What was checked: the secret, the tenant and client, an application ID, an alarm name. */
  readonly subject: string;
  readonly status: CheckStatus;
  /** What was found, in words for a person; never a secret or a token. */
  readonly reason: string;
  /** What to do about a `FAIL`. */
  readonly fix?: string;
  /** The error code behind a `FAIL` (`AUTH_REJECTED`, `STORE_NOT_FOUND`, `ALARM_MISSING`, ...). */
  readonly code?: string;
}

/** Counts for the metrics (see the README, "Self-check"). */
export interface SelfCheckSummary {
  /** Checks that failed. */
  readonly failures: number;
  /** Whether the secret was read and Azure AD issued a token with it. */
  readonly credentialsOk: boolean;
  /** Watched alarms that do not exist; `undefined` when the alarms could not be looked up at all. */
  readonly alarmsMissing: number | undefined;
  /** Apps (or one of their watched flights) the Store would not show. */
  readonly appsUnreadable: number;
}

/** Everything one run found. */
export interface SelfCheckReport {
  /** No check failed. */
  readonly ok: boolean;
  /** Credentials, token, one per app (config order), one per distinct alarm name (config order). */
  readonly checks: readonly CheckResult[];
  readonly summary: SelfCheckSummary;
  readonly elapsedMs: number;
}

/** The configuration the self-check reads (a part of the watchdog's own). */
export interface SelfCheckConfig {
  /** `STORE_CREDENTIALS_SECRET_ID`, named in the fixes. */
  readonly storeCredentialsSecretId: string;
  readonly apps: readonly WatchedApp[];
}

/** What the self-check needs from the outside world. None of these can change anything. */
export interface SelfCheckPorts {
  /**
   * Reads the Store credentials (Secrets Manager); only the tenant, the client and how it signs in
   * (`credential`: `aws-federation`, or absent for a key) are looked at.
   */
  readonly getCredentials: (signal: AbortSignal) => Promise<CheckedCredentials>;
  /**
   * Obtains a Store API token (Azure AD; federated: after an AWS STS web identity token); the token
   * itself is never looked at.
   */
  readonly getToken: (signal: AbortSignal) => Promise<unknown>;
  /** The Store's read side of the halt path: `RolloutPort.findLiveRollouts`. */
  readonly findLiveRollouts: RolloutPort['findLiveRollouts'];
  /** The names among `names` that exist as alarms (CloudWatch `DescribeAlarms`). */
  readonly describeAlarms: (names: readonly string[], signal: AbortSignal) => Promise<ReadonlySet<string>>;
  /** Milliseconds, for `elapsedMs`. */
  readonly now: () => number;
}

/** What the self-check reads of the credentials. */
export interface CheckedCredentials {
  readonly tenantId: string;
  readonly clientId: string;
  readonly credential?: typeof AWS_FEDERATION | undefined;
}

/** Code of a `FAIL` for a watched alarm that does not exist. */
export const ALARM_MISSING = 'ALARM_MISSING';

/**
 * Runs every check and returns the report; never rejects for a failed check (those are `FAIL`s). The
 * Store checks and the alarm lookup run side by side; `signal` bounds both.
 */
export async function runSelfCheck(
  config: SelfCheckConfig,
  ports: SelfCheckPorts,
  signal: AbortSignal,
): Promise<SelfCheckReport> {
  const startedAt = ports.now();
  const [storeChecks, alarmChecks] = await Promise.all([
    checkStore(config, ports, signal),
    checkAlarms(config.apps, ports, signal),
  ]);
  const checks = [...storeChecks, ...alarmChecks.checks];
  const failed = (check: CheckResult) => check.status === 'FAIL';
  const passed = (name: CheckName) => checks.some((check) => check.check === name && check.status === 'PASS');
  const summary: SelfCheckSummary = {
    failures: checks.filter(failed).length,
    credentialsOk: passed('credentials') && passed('token'),
    alarmsMissing: alarmChecks.looked
      ? alarmChecks.checks.filter((check) => check.code === ALARM_MISSING).length
      : undefined,
    appsUnreadable: checks.filter((check) => check.check === 'app' && failed(check)).length,
  };
  return { ok: summary.failures === 0, checks, summary, elapsedMs: Math.round(ports.now() - startedAt) };
}

/** Thrown by the handler when a run found a problem, so the function's `Errors` metric raises the alarm. */
export class SelfCheckFailedError extends WatchdogError {
  readonly report: SelfCheckReport;

  constructor(report: SelfCheckReport) {
    super('configuration', 'SELF_CHECK_FAILED', describeFailedChecks(report));
    this.name = 'SelfCheckFailedError';
    this.report = report;
  }
}

/** The longest error message (Lambda shows it in the console and the invoke response). */
const MAX_MESSAGE_LENGTH = 4000;

/** One line per failed check, with its fix. */
export function describeFailedChecks(report: SelfCheckReport): string {
  const failures = report.checks.filter((check) => check.status === 'FAIL');
  const lines = failures.map(
    (check) =>
      `${check.check} ${check.subject}: ${check.reason}${check.fix === undefined ? '' : ` Fix: ${check.fix}`}`,
  );
  const message = `self-check failed: ${failures.length} of ${report.checks.length} checks failed\n${lines.join('\n')}`;
  return message.length <= MAX_MESSAGE_LENGTH ? message : `${message.slice(0, MAX_MESSAGE_LENGTH - 1)}…`;
}

async function checkStore(
  config: SelfCheckConfig,
  ports: SelfCheckPorts,
  signal: AbortSignal,
): Promise<CheckResult[]> {
  const secretId = config.storeCredentialsSecretId;
  const skipApps = (because: string): CheckResult[] =>
    config.apps.map((app) => ({
      check: 'app',
      subject: labelOf(app),
      status: 'SKIP',
      reason: `not read: ${because}`,
    }));

  let credentials: CheckedCredentials;
  try {
    credentials = await ports.getCredentials(signal);
  } catch (error) {
    const { code, message } = describeError(error);
    return [
      {
        check: 'credentials',
        subject: secretId,
        status: 'FAIL',
        reason: message,
        fix: fixSecret(code, secretId),
        code,
      },
      { check: 'token', subject: secretId, status: 'SKIP', reason: 'not requested: no credentials' },
      ...skipApps('no credentials'),
    ];
  }
  const client = `client ${credentials.clientId} in tenant ${credentials.tenantId}`;
  const federated = credentials.credential === AWS_FEDERATION;
  const mode = federated
    ? 'federated: no key, it signs in with the AWS identity of its role (docs/federated-credentials.md)'
    : 'it signs in with the key in the secret';
  const results: CheckResult[] = [
    {
      check: 'credentials',
      subject: secretId,
      status: 'PASS',
      reason: `read the credentials of ${client}; ${mode}`,
    },
  ];

  try {
    await ports.getToken(signal);
    results.push({
      check: 'token',
      subject: client,
      status: 'PASS',
      reason: federated
        ? 'AWS STS issued a web identity token, and Azure AD accepted it for a Store API token'
        : 'Azure AD issued a Store API token',
    });
  } catch (error) {
    const { code } = describeError(error);
    const known = error instanceof WatchdogError ? error.fix : undefined;
    results.push(
      {
        check: 'token',
        subject: client,
        status: 'FAIL',
        reason: messageWithoutFix(error),
        fix: known ?? fixToken(code, credentials, secretId),
        code,
      },
      ...skipApps('no Store API token'),
    );
    return results;
  }

  // One app at a time: a burst of every app's reads at once would eat the budget a halt may need.
  for (const app of config.apps) results.push(await checkApp(app, credentials.clientId, ports, signal));
  return results;
}

async function checkApp(
  app: WatchedApp,
  clientId: string,
  ports: SelfCheckPorts,
  signal: AbortSignal,
): Promise<CheckResult> {
  const subject = labelOf(app);
  let lookups: RolloutLookup[];
  try {
    lookups = await ports.findLiveRollouts(
      { applicationId: app.applicationId, flights: app.flights },
      signal,
    );
  } catch (error) {
    // findLiveRollouts reports Store failures as `failed` lookups; only a bad ID makes it reject.
    const { code, message } = describeError(error);
    return {
      check: 'app',
      subject,
      status: 'FAIL',
      reason: message,
      fix: fixApp(code, app, undefined, clientId),
      code,
    };
  }
  const failures = lookups.flatMap((lookup) => (lookup.state === 'failed' ? [lookup] : []));
  const first = failures[0];
  if (first === undefined) {
    return { check: 'app', subject, status: 'PASS', reason: lookups.map(describeLookup).join('; ') };
  }
  const { code } = describeError(first.error);
  const reason = failures
    .map((failure) => `${targetOf(failure.flightId)}: ${describeError(failure.error).message}`)
    .join('; ');
  return {
    check: 'app',
    subject,
    status: 'FAIL',
    reason,
    fix: fixApp(code, app, first.flightId, clientId),
    code,
  };
}

async function checkAlarms(
  apps: readonly WatchedApp[],
  ports: SelfCheckPorts,
  signal: AbortSignal,
): Promise<{ checks: CheckResult[]; looked: boolean }> {
  const watchers = new Map<string, string[]>();
  for (const app of apps) {
    for (const alarmName of [...app.alarmNames, ...app.notifyAlarmNames]) {
      const names = watchers.get(alarmName) ?? [];
      if (!names.includes(labelOf(app))) names.push(labelOf(app));
      watchers.set(alarmName, names);
    }
  }
  const alarmNames = [...watchers.keys()];
  if (alarmNames.length === 0) return { checks: [], looked: true };

  let existing: ReadonlySet<string>;
  try {
    existing = await ports.describeAlarms(alarmNames, signal);
  } catch (error) {
    const { code, message } = describeError(error);
    const check: CheckResult = {
      check: 'alarm',
      subject: alarmNames.join(', '),
      status: 'FAIL',
      reason: `the alarms could not be looked up: ${message}`,
      fix: 'Redeploy the stack so the self-check role may call cloudwatch:DescribeAlarms on the watched alarms; if it persists, check the CloudWatch service health.',
      code,
    };
    return { checks: [check], looked: false };
  }
  const checks = alarmNames.map((alarmName): CheckResult => {
    const watched = (watchers.get(alarmName) ?? []).join(', ');
    if (existing.has(alarmName)) {
      return { check: 'alarm', subject: alarmName, status: 'PASS', reason: `exists; it watches ${watched}` };
    }
    return {
      check: 'alarm',
      subject: alarmName,
      status: 'FAIL',
      reason: `no alarm (metric or composite) named ${alarmName} exists in this account and Region (deleted or renamed?): it can no longer halt the rollout of ${watched}`,
      fix: `Recreate the alarm, or list its new name in alarmNames of ${watched} in the watchdog config and redeploy.`,
      code: ALARM_MISSING,
    };
  });
  return { checks, looked: true };
}

/** "Contoso Photos (9NBLGGH4R315)", or the ID alone when the app has no name. */
function labelOf(app: WatchedApp): string {
  return app.name === undefined ? app.applicationId : `${app.name} (${app.applicationId})`;
}

function targetOf(flightId: string | undefined): string {
  return flightId === undefined ? 'main rollout' : `flight ${flightId}`;
}

function describeLookup(lookup: RolloutLookup): string {
  const target = targetOf(
    lookup.state === 'in-progress' || lookup.state === 'stopped' ? lookup.ref.flightId : lookup.flightId,
  );
  switch (lookup.state) {
    case 'in-progress':
      return `${target}: submission ${lookup.ref.submissionId} rolling out at ${lookup.rollout.packageRolloutPercentage}%`;
    case 'stopped':
      return `${target}: the rollout of submission ${lookup.ref.submissionId} is halted`;
    case 'none':
      return `${target}: nothing to halt (${lookup.reason})`;
    case 'failed':
      return `${target}: ${describeError(lookup.error).message}`;
  }
}
