/**
 * `store-watchdog drill`: a preflight that proves the watchdog is armed for one app, step by step, each
 * PASS or FAIL with the fix. It goes down the path an alarm takes (config, alarms, credentials, token,
 * the app, its live rollout, the decision) with the watchdog's own code, in dry run: nothing is changed.
 */
import { parseArgs } from 'node:util';
import { runWatchdog } from '../../functions/commons/domain/decide.ts';
import { AWS_FEDERATION } from '../../functions/commons/domain/federation.ts';
import type { ActingPlan } from '../../functions/commons/domain/targets.ts';
import type { WatchedApp } from '../../functions/commons/domain/watched-apps.ts';
import { definedProps } from '../../functions/commons/optional.ts';
import type { StoreAccess } from '../../functions/commons/store/store-access.ts';
import {
  COMMON_HELP,
  COMMON_OPTIONS,
  closeCliStore,
  createCliStore,
  parseOrUsage,
  readAppId,
  readCommonOptions,
} from '../common.ts';
import { type CliConfig, describeApp, loadCliConfig } from '../config.ts';
import { type CliCredentials, resolveCliCredentials } from '../credentials.ts';
import { type CliIo, COMMAND_TIMEOUT_MS, EXIT_FAILED, EXIT_OK, UsageError } from '../io.ts';
import {
  checkAlarms,
  checkConfigured,
  checkDecision,
  checkLiveRollout,
  DRILL_STEPS,
  type DrillStep,
  fail,
  fixForApp,
  fixForCredentials,
  fixForToken,
  formatStep,
  pass,
  skip,
} from './drill-steps.ts';
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
