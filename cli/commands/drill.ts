/**
 * `store-watchdog drill`: a preflight that proves the watchdog is armed for one app, step by step, each
 * PASS or FAIL with the fix. It goes down the path an alarm takes (config, alarms, credentials, token,
 * the app, its live rollout, the decision) with the watchdog's own code, in dry run: nothing is changed.
 */
import { parseArgs } from 'node:util';
import type { WatchedApp } from '../../functions/commons/config/watched-apps.ts';
import {
  redactTokens,
  runWatchdog,
  safeError,
  type WatchdogRun,
} from '../../functions/commons/domain/decide.ts';
import { AWS_FEDERATION } from '../../functions/commons/domain/federation.ts';
import type { ActingPlan } from '../../functions/commons/domain/targets.ts';
import { messageWithoutFix, StoreApiError, WatchdogError } from '../../functions/commons/errors.ts';
import { definedProps } from '../../functions/commons/optional.ts';
import type { StoreAccess } from '../../functions/commons/store/store-access.ts';
import {
  COMMON_HELP,
  COMMON_OPTIONS,
  closeCliStore,
  createCliStore,
  describeTarget,
  formatPercent,
  parseOrUsage,
  readAppId,
  readCommonOptions,
} from '../common.ts';
import { type CliConfig, describeApp, loadCliConfig } from '../config.ts';
import { type CliCredentials, resolveCliCredentials } from '../credentials.ts';
import { type CliIo, COMMAND_TIMEOUT_MS, EXIT_FAILED, EXIT_OK, UsageError } from '../io.ts';
import {
  DEFAULT_DRILL_ALARM_NAME,
  DEFAULT_DRILL_TIMEOUT_SECONDS,
  runDrillThroughAws,
} from './drill-through-aws.ts';

export const DRILL_HELP = `Usage: store-watchdog drill --app ID [--check-alarms] [common options]
       store-watchdog drill --through-aws [--app ID] [--topic-arn ARN] [--alarm-name NAME] [--timeout SECONDS]

A preflight that proves the watchdog is armed for one app. Each step prints PASS or FAIL, with the fix
for a failure: app configured, alarms mapped, credentials readable, token obtained, app readable,
live rollout found, dry-run decision. Nothing is changed.

Options:
  --app ID          the app's Store ID (12 characters, e.g. 9NBLGGH4R315)
  --check-alarms    also check in CloudWatch that each of the app's alarms exists (DescribeAlarms,
                    with the AWS SDK's standard configuration)

With --through-aws, a drill through the deployed account instead: sets the drill alarm to ALARM, waits
for the drill notification on a temporary queue subscribed to the notification topic, prints each step
with its time and what each app would have had (nothing is halted), then sets the alarm back to OK and
removes the queue, also when interrupted (Ctrl-C) or on timeout. Uses the AWS SDK's standard
configuration (AWS_PROFILE, AWS_REGION); needs cloudwatch:SetAlarmState, sns:Subscribe/Unsubscribe and
sqs:CreateQueue/SetQueueAttributes/ReceiveMessage/DeleteQueue.
  --through-aws       run the drill through AWS
  --topic-arn ARN     the notification topic (default: NOTIFICATION_TOPIC_ARN; stack output NotificationTopicArn)
  --alarm-name NAME   the drill alarm (default: DRILL_ALARM_NAME, else ${DEFAULT_DRILL_ALARM_NAME}; output DrillAlarmName)
  --timeout SECONDS   how long to wait for the notification (default ${DEFAULT_DRILL_TIMEOUT_SECONDS})
  --app ID            drill this app: report only it, and fail when the drill did not examine it. The
                      deployed function drills the apps that list the drill alarm, or, when none does,
                      only the first app in "apps": to drill another one, add the drill alarm's name to
                      that app's "notifyAlarmNames" in cdk.json and deploy (the CLI says so when needed)

${COMMON_HELP}
Exit status: 0 when every step passed, 1 when one failed, 2 for a usage error.
`;

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

export async function runDrill(argv: readonly string[], io: CliIo): Promise<number> {
  const { values } = parseOrUsage(
    () =>
      parseArgs({
        args: [...argv],
        options: {
          ...COMMON_OPTIONS,
          app: { type: 'string' },
          'check-alarms': { type: 'boolean' },
          'through-aws': { type: 'boolean' },
          'topic-arn': { type: 'string' },
          'alarm-name': { type: 'string' },
          timeout: { type: 'string' },
        },
        strict: true,
        allowPositionals: false,
      }),
    DRILL_HELP,
  );
  if (values.help === true) {
    io.stdout.write(DRILL_HELP);
    return EXIT_OK;
  }
  if (values['through-aws'] === true) {
    return runThroughAws(values, io);
  }
  const applicationId = readAppId(values.app, DRILL_HELP);
  const options = readCommonOptions(values);
  // A config that cannot be read is an error, not a step: nothing else can be checked without it.
  const config = await loadCliConfig(options, io);
  const app = config.apps.find((candidate) => candidate.applicationId === applicationId);

  io.stdout.write(
    `Drill for ${app === undefined ? applicationId : describeApp(app)}: is the watchdog armed?\n\n`,
  );
  const steps: DrillStep[] = [];
  const report = (step: DrillStep) => {
    steps.push(step);
    io.stdout.write(formatStep(step));
  };

  report(checkConfigured(config, applicationId, app));
  report(
    app === undefined
      ? skip('alarms mapped', 'the app is not in the config')
      : await checkAlarms(app, values['check-alarms'] === true),
  );

  const signal = AbortSignal.timeout(COMMAND_TIMEOUT_MS);
  let credentials: CliCredentials | undefined;
  let federated = false;
  try {
    credentials = await resolveCliCredentials(
      {
        ...definedProps({ secretId: options.secretId, configSecretId: config.configSecretId }),
      },
      io.env,
    );
    const read = await credentials.get(signal);
    federated = read.credential === AWS_FEDERATION;
    const mode = federated
      ? 'federated (no key: signs in with the AWS identity running this command)'
      : 'signs in with the key';
    report(
      pass(
        'credentials readable',
        `tenant ${read.tenantId}, client ${read.clientId}, ${mode}, ${credentials.origin}`,
      ),
    );
  } catch (error) {
    report(fail('credentials readable', error, fixForCredentials(error)));
  }

  const store = credentials === undefined ? undefined : createCliStore(config, credentials);
  try {
    await runStoreSteps(store, config, applicationId, app, signal, report, federated);
  } finally {
    if (store !== undefined && credentials !== undefined) await closeCliStore(store, credentials);
    else credentials?.close();
  }

  const failed = steps.filter((step) => step.status !== 'PASS').length;
  io.stdout.write(
    failed === 0
      ? `\nAll ${steps.length} steps passed: the watchdog is armed for ${app === undefined ? applicationId : describeApp(app)}.\n`
      : `\n${failed} of ${steps.length} steps did not pass: fix the first FAIL above and run the drill again.\n`,
  );
  return failed === 0 ? EXIT_OK : EXIT_FAILED;
}

async function runThroughAws(
  values: {
    readonly app?: string | undefined;
    readonly 'topic-arn'?: string | undefined;
    readonly 'alarm-name'?: string | undefined;
    readonly timeout?: string | undefined;
  },
  io: CliIo,
): Promise<number> {
  const topicArn = values['topic-arn'] ?? io.env.NOTIFICATION_TOPIC_ARN;
  if (
    topicArn === undefined ||
    !/^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}$/.test(topicArn)
  ) {
    throw new UsageError(
      '--through-aws needs the notification topic ARN: --topic-arn ARN or NOTIFICATION_TOPIC_ARN (the stack output NotificationTopicArn)',
      DRILL_HELP,
    );
  }
  const timeoutSeconds =
    values.timeout === undefined ? DEFAULT_DRILL_TIMEOUT_SECONDS : Number(values.timeout);
  if (!Number.isInteger(timeoutSeconds) || timeoutSeconds < 1 || timeoutSeconds > 900) {
    throw new UsageError('--timeout must be a whole number of seconds from 1 to 900', DRILL_HELP);
  }
  const applicationId = values.app === undefined ? undefined : readAppId(values.app, DRILL_HELP);
  const interrupt = new AbortController();
  const onSigint = () => interrupt.abort();
  process.once('SIGINT', onSigint);
  try {
    return await runDrillThroughAws(
      {
        topicArn,
        alarmName: values['alarm-name'] ?? io.env.DRILL_ALARM_NAME ?? DEFAULT_DRILL_ALARM_NAME,
        ...definedProps({ applicationId }),
        timeoutMs: timeoutSeconds * 1000,
        interrupt: interrupt.signal,
      },
      io,
    );
  } finally {
    process.removeListener('SIGINT', onSigint);
  }
}

async function runStoreSteps(
  store: StoreAccess | undefined,
  config: CliConfig,
  applicationId: string,
  app: WatchedApp | undefined,
  signal: AbortSignal,
  report: (step: DrillStep) => void,
  federated: boolean,
): Promise<void> {
  if (store === undefined) {
    for (const name of DRILL_STEPS.slice(3)) report(skip(name, 'needs the credentials'));
    return;
  }
  try {
    const token = await store.tokenProvider.getToken(signal);
    report(
      pass(
        'token obtained',
        federated
          ? `AWS STS issued a web identity token and Azure AD (${config.azureAdAuthority}) exchanged it for a token for tenant ${token.tenantId}`
          : `Azure AD (${config.azureAdAuthority}) issued a token for tenant ${token.tenantId}`,
      ),
    );
  } catch (error) {
    report(fail('token obtained', error, fixForToken(error)));
    for (const name of DRILL_STEPS.slice(4)) report(skip(name, 'needs a token'));
    return;
  }
  try {
    const found = await store.client.getApplication(applicationId, signal);
    report(
      pass(
        'app readable',
        `the Store knows ${found.primaryName === undefined ? found.id : `"${found.primaryName}" (${found.id})`}`,
      ),
    );
  } catch (error) {
    report(fail('app readable', error, fixForApp(error)));
    for (const name of DRILL_STEPS.slice(5)) report(skip(name, 'needs the app'));
    return;
  }
  if (app === undefined) {
    for (const name of DRILL_STEPS.slice(5)) report(skip(name, 'the app is not in the config'));
    return;
  }

  // The watchdog's own decision over its own port, forced to a dry run.
  const plan: ActingPlan = {
    kind: 'act',
    trigger: {
      kind: 'manual',
      reason: `store-watchdog drill --app ${applicationId}`,
      enforceRequested: false,
    },
    apps: [
      { app, dryRun: true, dryRunCause: 'manual-event', why: 'a drill is always a dry run', alarmNames: [] },
    ],
    unmatchedAlarms: [],
  };
  const run = await runWatchdog(plan, { rollouts: store.rolloutPort, now: () => performance.now() }, signal);
  report(checkLiveRollout(run));
  report(checkDecision(run, app, config.dryRun));
}

function checkConfigured(config: CliConfig, applicationId: string, app: WatchedApp | undefined): DrillStep {
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

async function checkAlarms(app: WatchedApp, inCloudWatch: boolean): Promise<DrillStep> {
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

function checkLiveRollout(run: WatchdogRun): DrillStep {
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

function checkDecision(run: WatchdogRun, app: WatchedApp, globalDryRun: boolean): DrillStep {
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

function pass(name: string, detail: string): DrillStep {
  return { name, status: 'PASS', detail };
}

function skip(name: string, why: string): DrillStep {
  return { name, status: 'SKIP', detail: why };
}

function fail(name: string, error: unknown, fix: string): DrillStep {
  const { code, message: said } = safeError(error);
  // The fix goes on a line of its own: not twice when the error carries it (our own, bounded words).
  const message =
    error instanceof WatchdogError && error.fix !== undefined ? redactTokens(messageWithoutFix(error)) : said;
  return { name, status: 'FAIL', detail: `${code}: ${message}`, fix };
}

function formatStep(step: DrillStep): string {
  const head = `${step.status.padEnd(4)}  ${step.name.padEnd(20)}  ${step.detail}\n`;
  return step.fix === undefined ? head : `${head}${' '.repeat(28)}fix: ${step.fix}\n`;
}

function codeOf(error: unknown): string {
  return safeError(error).code;
}

function fixForCredentials(error: unknown): string {
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

function fixForToken(error: unknown): string {
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

function fixForApp(error: unknown): string {
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
