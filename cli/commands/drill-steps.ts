/** The steps of `store-watchdog drill`: each check with its PASS, FAIL or SKIP, and the fix for a failure. */

import { redactTokens, safeError, type WatchdogRun } from '../../functions/commons/domain/decide.ts';
import type { WatchedApp } from '../../functions/commons/domain/watched-apps.ts';
import { messageWithoutFix, StoreApiError, WatchdogError } from '../../functions/commons/errors.ts';
import { describeTarget, formatPercent } from '../common.ts';
import type { CliConfig } from '../config.ts';
import { COMMAND_TIMEOUT_MS } from '../io.ts';

export type StepStatus = 'PASS' | 'FAIL' | 'SKIP';

/** One step of the drill. */
export interface DrillStep {
  readonly name: string;
  readonly status: StepStatus;
  /** What was found, or what went wrong. */
  readonly detail: string;
  /** For a failure: what to do about it. */
  readonly fix?: string;
}

export const DRILL_STEPS = [
  'app configured',
  'alarms mapped',
  'credentials readable',
  'token obtained',
  'app readable',
  'live rollout found',
  'dry-run decision',
] as const;

export function checkConfigured(
  config: CliConfig,
  applicationId: string,
  app: WatchedApp | undefined,
): DrillStep {
  if (app === undefined) {
    return {
      name: 'app configured',
      status: 'FAIL',
      detail: `${applicationId} is not a watched app in ${config.source}`,
      fix: 'add it to "watchdog.apps" in cdk.json (applicationId, name, alarms or alarmNames) and deploy: npx cdk deploy',
    };
  }
  const flights = app.flights === undefined ? 'none' : app.flights === 'all' ? 'all' : app.flights.join(', ');
  return pass('app configured', `in ${config.source}: mode ${app.mode}, flights watched: ${flights}`);
}

export async function checkAlarms(app: WatchedApp, inCloudWatch: boolean): Promise<DrillStep> {
  if (app.alarmNames.length === 0) {
    return {
      name: 'alarms mapped',
      status: 'FAIL',
      detail: 'the app lists no alarm: no alarm can ever start a halt',
      fix: 'name its crash alarms in "alarmNames", or describe them in "alarms" for the stack to create, and deploy',
    };
  }
  // Notify-only alarms are the app's warning tier: they must exist too, though they never halt.
  const watched = [...app.alarmNames, ...app.notifyAlarmNames];
  const names = [...app.alarmNames, ...app.notifyAlarmNames.map((name) => `${name} (notify-only)`)].join(
    ', ',
  );
  if (!inCloudWatch) {
    return pass('alarms mapped', `${names} (in the config; add --check-alarms to check them in CloudWatch)`);
  }
  try {
    const existing = await describeExistingAlarms(watched);
    const missing = watched.filter((name) => !existing.has(name));
    if (missing.length === 0) return pass('alarms mapped', `${names} (each exists in CloudWatch)`);
    return {
      name: 'alarms mapped',
      status: 'FAIL',
      detail: `not in CloudWatch (this account and region): ${missing.join(', ')}`,
      fix: 'deploy the stack (npx cdk deploy) to create the alarms it describes, or correct "alarmNames"; check AWS_REGION',
    };
  } catch (error) {
    return fail(
      'alarms mapped',
      error,
      'check the AWS credentials and region (AWS_PROFILE, AWS_REGION); the caller needs cloudwatch:DescribeAlarms',
    );
  }
}

/** The names among `names` that exist in CloudWatch (metric or composite alarms). */
async function describeExistingAlarms(names: readonly string[]): Promise<ReadonlySet<string>> {
  // Loaded only for --check-alarms: the SDK is the slowest import of the CLI.
  const [{ CloudWatchClient }, { createAlarmLookup, describeAlarmsPageWith }] = await Promise.all([
    import('@aws-sdk/client-cloudwatch'),
    import('../../functions/commons/aws/alarms.ts'),
  ]);
  const client = new CloudWatchClient({});
  try {
    const lookup = createAlarmLookup(describeAlarmsPageWith(client, true));
    return await lookup(names, AbortSignal.timeout(COMMAND_TIMEOUT_MS));
  } finally {
    client.destroy();
  }
}

export function checkLiveRollout(run: WatchdogRun): DrillStep {
  const live = run.targets.filter((target) => target.result === 'would-halt');
  if (live.length > 0) {
    return pass(
      'live rollout found',
      live
        .map(
          (target) =>
            `${describeTarget(target, run.targets.indexOf(target))}: submission ${target.submissionId ?? '?'} at ${formatPercent(target.rolloutPercentage ?? 0)}`,
        )
        .join('; '),
    );
  }
  const failed = run.targets.find((target) => target.result === 'failed');
  if (failed !== undefined) {
    return {
      name: 'live rollout found',
      status: 'FAIL',
      detail: `${describeTarget(failed, run.targets.indexOf(failed))}: ${failed.error?.code ?? 'FAILED'}: ${failed.error?.message ?? 'no details'}`,
      fix: 'fix the Store access above (the Azure AD application needs the Manager role), then run the drill again',
    };
  }
  const halted = run.targets.find((target) => target.result === 'already-halted');
  const idle = run.details.find((detail) => detail.note !== undefined)?.note;
  return {
    name: 'live rollout found',
    status: 'FAIL',
    detail:
      halted !== undefined
        ? `the ${describeTarget(halted, run.targets.indexOf(halted))} (submission ${halted.submissionId ?? '?'}) is already halted`
        : `no rollout in progress${idle === undefined ? '' : `: ${idle}`}`,
    fix: 'nothing is live for the watchdog to halt: start the gradual rollout in Partner Center, then run the drill again',
  };
}

export function checkDecision(run: WatchdogRun, app: WatchedApp, globalDryRun: boolean): DrillStep {
  const failed = run.targets.filter((target) => target.result === 'failed');
  if (failed.length > 0) {
    return {
      name: 'dry-run decision',
      status: 'FAIL',
      detail: `${failed.length} of ${run.targets.length} rollout(s) could not be decided: ${failed.map((target) => describeTarget(target, run.targets.indexOf(target))).join(', ')}`,
      fix: 'see the error above; on an alarm the watchdog would report these as FAILED and a person would have to halt by hand',
    };
  }
  const live = run.targets.filter((target) => target.result === 'would-halt');
  if (live.length === 0) return skip('dry-run decision', 'nothing live to decide on');
  const them = live.length === 1 ? 'it' : 'them';
  const onAlarm = globalDryRun
    ? `on an alarm the watchdog will only REPORT ${them}: its dry run is on ("dryRun": true in cdk.json)`
    : app.mode === 'dry-run'
      ? `on an alarm the watchdog will only REPORT ${them}: the app's mode is "dry-run"`
      : `on an alarm the watchdog will HALT ${them}`;
  return pass(
    'dry-run decision',
    `would halt ${live.length} rollout(s) in ${Math.round(run.elapsedMs)} ms; ${onAlarm}`,
  );
}

export function pass(name: string, detail: string): DrillStep {
  return { name, status: 'PASS', detail };
}

export function skip(name: string, why: string): DrillStep {
  return { name, status: 'SKIP', detail: why };
}

export function fail(name: string, error: unknown, fix: string): DrillStep {
  const { code, message: said } = safeError(error);
  // The fix goes on a line of its own: not twice when the error carries it (our own, bounded words).
  const message =
    error instanceof WatchdogError && error.fix !== undefined ? redactTokens(messageWithoutFix(error)) : said;
  return { name, status: 'FAIL', detail: `${code}: ${message}`, fix };
}

export function formatStep(step: DrillStep): string {
  const head = `${step.status.padEnd(4)}  ${step.name.padEnd(20)}  ${step.detail}\n`;
  return step.fix === undefined ? head : `${head}${' '.repeat(28)}fix: ${step.fix}\n`;
}

function codeOf(error: unknown): string {
  return safeError(error).code;
}

export function fixForCredentials(error: unknown): string {
  switch (codeOf(error)) {
    case 'NO_CREDENTIALS':
    case 'INCOMPLETE_CREDENTIALS':
      return 'set STORE_TENANT_ID, STORE_CLIENT_ID and STORE_CLIENT_SECRET, or name the secret with --secret-id (the stack output StoreCredentialsSecretId)';
    case 'SECRET_NOT_FOUND':
      return 'check the secret id (the stack output StoreCredentialsSecretId) and the AWS region (AWS_REGION)';
    case 'SECRET_ACCESS_DENIED':
    case 'SECRET_DECRYPTION_FAILED':
      return 'use AWS credentials allowed secretsmanager:GetSecretValue on the secret (and kms:Decrypt on its key)';
    case 'SECRET_EMPTY':
    case 'SECRET_MALFORMED':
      return 'store {"tenantId": "...", "clientId": "...", "clientSecret": "..."} in the secret (aws secretsmanager put-secret-value), or with no key {"tenantId": "...", "clientId": "...", "credential": "aws-federation"} (docs/federated-credentials.md)';
    default:
      return 'check the AWS credentials, region and network, then run the drill again';
  }
}

export function fixForToken(error: unknown): string {
  // Federated sign-in failures know their own fix (which claim did not match, federation off, ...).
  if (error instanceof WatchdogError && error.fix !== undefined) return error.fix;
  switch (codeOf(error)) {
    case 'AUTH_REJECTED':
      return (
        'Azure AD refused the credentials: check the tenant ID, client ID and key of the Azure AD application ' +
        'in Partner Center (Account settings > User management > Azure AD applications); an expired key needs a new one in the secret'
      );
    case 'AUTH_NETWORK':
    case 'AUTH_TIMEOUT':
    case 'AUTH_UNAVAILABLE':
      return 'check that the Azure AD authority (--authority or AZURE_AD_AUTHORITY) is reachable from here';
    default:
      return 'check the tenant ID and the Azure AD authority (--authority or AZURE_AD_AUTHORITY)';
  }
}

export function fixForApp(error: unknown): string {
  const status = error instanceof StoreApiError ? error.status : undefined;
  if (status === 404) {
    return 'the app is not in this Partner Center account: check the app ID, and that the Azure AD application belongs to the account that owns it';
  }
  if (status === 401 || status === 403) {
    return 'give the Azure AD application the Manager role in Partner Center (Account settings > User management)';
  }
  if (status === 409)
    return 'the app uses a Partner Center feature the submission API does not support: halt it in Partner Center';
  return 'check the Store API base (--store-url or STORE_API_BASE_URL) and the network, then run the drill again';
}
