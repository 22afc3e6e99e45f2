/**
 * The Store health story of the local run (`npm start -- --store-health`): on the Store simulator, the
 * probe's own code (`runStoreHealth`) reads a healthy rollout; a crash spike starts on the package
 * being rolled out and shows in the Store's failure reports; the probe's figures climb; the alarm on
 * `CrashRateRatio` is evaluated here by hand, with the stack's rule (ratio above the threshold for
 * `evaluationPeriods` runs in a row), since there is no CloudWatch on this machine, and the story says
 * so; the alarm's state change then reaches the halt path (`handleWatchdogEvent`) like any alarm, which
 * halts the rollout and builds the notification.
 */
import { safeError } from '../../functions/commons/domain/decide.ts';
import type { Notification } from '../../functions/commons/domain/notification.ts';
import {
  type CohortFigures,
  DEFAULT_STORE_HEALTH_SETTINGS,
  windowStart,
} from '../../functions/commons/domain/store-health.ts';
import { definedProps } from '../../functions/commons/optional.ts';
import { createAnalyticsReader } from '../../functions/commons/store/analytics.ts';
import { createPackageVersionReader } from '../../functions/commons/store/cohorts.ts';
import { createStoreAccess } from '../../functions/commons/store/store-access.ts';
import {
  budgetFromRemaining,
  handleWatchdogEvent,
  type WatchdogPorts,
} from '../../functions/halt-rollout/watchdog.ts';
import { STORE_HEALTH_METRICS } from '../../functions/store-health/metrics.ts';
import { type AppHealth, runStoreHealth, type StoreHealthPorts } from '../../functions/store-health/probe.ts';
import { STORE_HEALTH_DEFAULTS, storeHealthAlarmName } from '../../infra/store-health-config.ts';
import { start } from '../store-simulator/index.ts';
import {
  SAMPLE_APP_ID,
  SAMPLE_PUBLISHED_SUBMISSION_ID,
  SAMPLE_TENANT,
  sampleState,
} from '../store-simulator/sample-state.ts';
import { createStoryLogger, createStoryRecorder } from './narrate.ts';
import { localRunConfig } from './scenario.ts';

/** The package the story's spike hits: the one the sample rollout ships at 20 %. */
const BAD_VERSION = '1.4.0.0';
const SPIKE_DEVICES_PER_HOUR = 12;

export interface StoreHealthStory {
  readonly ok: boolean;
  readonly problems: readonly string[];
  readonly lines: readonly string[];
  readonly notification?: Notification;
  /** The ratio of each probe run, in order (undefined: insufficient data). */
  readonly ratios: readonly (number | undefined)[];
  readonly halted: boolean;
}

function round(value: number | undefined, digits = 2): string {
  return value === undefined ? 'n/a' : Number(value.toFixed(digits)).toString();
}

function cohortLine(name: string, figures: CohortFigures): string {
  const exposure =
    figures.exposure.kind === 'active-devices'
      ? `${round(figures.exposure.devices, 0)} active devices`
      : `${round(figures.exposure.percent)}% nominal share`;
  return `    ${name} ${figures.versions.join(', ')}: ${round(figures.crashDevices)} crash devices over ${DEFAULT_STORE_HEALTH_SETTINGS.windowHours} h, ${exposure}, crash rate ${round(figures.crashRate, 4)}%`;
}

function figureLines(app: AppHealth | undefined): { lines: string[]; ratio: number | undefined } {
  if (app === undefined) return { lines: ['    (no app)'], ratio: undefined };
  if (app.state === 'failed')
    return { lines: [`    could not be read: ${safeError(app.error).message}`], ratio: undefined };
  if (app.state === 'no-rollout') return { lines: [`    no live rollout: ${app.reason}`], ratio: undefined };
  if (app.state === 'deferred') return { lines: [`    not read: ${app.reason}`], ratio: undefined };
  const { assessment } = app;
  const lines = [cohortLine('rollout ', assessment.rollout), cohortLine('fallback', assessment.fallback)];
  if (assessment.verdict === 'sufficient') {
    lines.push(`    ${STORE_HEALTH_METRICS.crashRateRatio} = ${round(assessment.ratio)}`);
    return { lines, ratio: assessment.ratio };
  }
  lines.push(`    ${STORE_HEALTH_METRICS.insufficientData} = 1 (no ratio): ${assessment.reasons.join('; ')}`);
  return { lines, ratio: undefined };
}

/** The alarm event CloudWatch would send through the stack's alarm topic. */
function alarmEvent(alarmName: string, ratios: readonly number[], threshold: number): unknown {
  const now = new Date().toISOString().replace('Z', '+0000');
  const message = {
    AlarmName: alarmName,
    AlarmDescription: `From the Microsoft Store's own failure reports (Store health probe): the crash rate of Contoso Photos (${SAMPLE_APP_ID})'s rolled-out package is more than ${threshold} times its fallback package's.`,
    AWSAccountId: '123456789012',
    NewStateValue: 'ALARM',
    NewStateReason: `Threshold Crossed: ${ratios.length} out of the last ${ratios.length} datapoints [${ratios.map((ratio) => round(ratio)).join(', ')}] were greater than the threshold (${threshold}).`,
    StateChangeTime: now,
    Region: 'US East (N. Virginia)',
    AlarmArn: `arn:aws:cloudwatch:us-east-1:123456789012:alarm:${alarmName}`,
    OldStateValue: 'OK',
    Trigger: {
      MetricName: STORE_HEALTH_METRICS.crashRateRatio,
      Namespace: 'StoreRolloutWatchdog/StoreHealth',
      Dimensions: [{ value: SAMPLE_APP_ID, name: 'ApplicationId' }],
      Period: STORE_HEALTH_DEFAULTS.scheduleMinutes * 60,
      EvaluationPeriods: ratios.length,
      ComparisonOperator: 'GreaterThanThreshold',
      Threshold: threshold,
      TreatMissingData: 'notBreaching',
    },
  };
  return {
    Records: [
      {
        EventSource: 'aws:sns',
        EventVersion: '1.0',
        EventSubscriptionArn: 'arn:aws:sns:us-east-1:123456789012:store-watchdog-alarms:local-run',
        Sns: {
          Type: 'Notification',
          MessageId: 'local-run-store-health',
          TopicArn: 'arn:aws:sns:us-east-1:123456789012:store-watchdog-alarms',
          Subject: `ALARM: "${alarmName}" in US East (N. Virginia)`,
          Message: JSON.stringify(message),
          Timestamp: new Date().toISOString(),
          MessageAttributes: {},
        },
      },
    ],
  };
}

/** Tells the story; never throws for a Store or watchdog failure (it becomes a problem). */
export async function runStoreHealthStory(): Promise<StoreHealthStory> {
  const simulator = await start({ state: sampleState() });
  const lines: string[] = [];
  const problems: string[] = [];
  const ratios: (number | undefined)[] = [];
  const alarmName = storeHealthAlarmName(SAMPLE_APP_ID);
  const threshold = STORE_HEALTH_DEFAULTS.ratioThreshold;
  const periods = STORE_HEALTH_DEFAULTS.evaluationPeriods;
  const store = createStoreAccess({
    baseUrl: simulator.storeBaseUrl,
    authority: simulator.authority,
    getCredentials: async () => ({ ...SAMPLE_TENANT }),
    // Per process; the story's runs need no pacing (the budget is proven by the tests).
    throttle: false,
  });
  let notification: Notification | undefined;
  let halted = false;
  try {
    const settings = DEFAULT_STORE_HEALTH_SETTINGS;
    const ports: StoreHealthPorts = {
      store: store.client,
      packageVersions: createPackageVersionReader(store.client),
      analytics: createAnalyticsReader(store.client),
      now: () => Date.now(),
    };
    const probe = async (label: string) => {
      const run = await runStoreHealth(
        [{ applicationId: SAMPLE_APP_ID, name: 'Contoso Photos', settings }],
        ports,
        AbortSignal.timeout(30_000),
      );
      const { lines: figures, ratio } = figureLines(run.apps[0]);
      ratios.push(ratio);
      lines.push(`  ${label}`, ...figures);
      return ratio;
    };

    lines.push(
      'Store rollout watchdog - local run (the Store health probe)',
      '===========================================================',
      '',
      'Setup',
      `  Store simulator at ${simulator.url}: Contoso Photos (${SAMPLE_APP_ID}) rolls out ${BAD_VERSION} to 20%`,
      `  (submission ${SAMPLE_PUBLISHED_SUBMISSION_ID}); everyone else keeps the fallback's 1.3.0.0.`,
      `  The Store's reports: hourly crash devices per package version (the newest hour still lagging),`,
      '  daily active devices per version up to yesterday.',
      `  The app's Store health alarm "${alarmName}": ${STORE_HEALTH_METRICS.crashRateRatio} > ${threshold} for ${periods} runs in a row,`,
      '  with action "halt" for this story (the default is "notify").',
      '',
      'What happened',
    );

    const healthy = await probe('1. the probe reads the healthy rollout (the same code as the Lambda):');
    if (healthy === undefined || healthy > threshold)
      problems.push(
        `the healthy rollout should have a ratio at or below ${threshold}, got ${round(healthy)}`,
      );

    simulator.control.startCrashSpike({
      applicationId: SAMPLE_APP_ID,
      packageVersion: BAD_VERSION,
      crashDevicesPerHour: SPIKE_DEVICES_PER_HOUR,
    });
    const now = Date.now();
    const rows = await ports.analytics.getCrashHours(
      SAMPLE_APP_ID,
      { startMs: windowStart(now, settings.windowHours), endMs: now },
      AbortSignal.timeout(30_000),
    );
    lines.push(
      `  2. ${BAD_VERSION} starts crashing: ${SPIKE_DEVICES_PER_HOUR} more devices an hour. The Store's failure reports (failurehits, hourly):`,
      ...rows
        .filter((row) => row.packageVersion === BAD_VERSION)
        .map(
          (row) =>
            `       ${new Date(row.hourStartMs).toISOString().slice(0, 16).replace('T', ' ')} UTC  ${BAD_VERSION}  ${round(row.deviceCount)} crash devices`,
        ),
      '     (the simulator backdates the spike a few hours: on the real Store, reports take hours to arrive)',
    );

    const breaching: number[] = [];
    for (let run = 1; run <= periods; run++) {
      const ratio = await probe(
        `${2 + run}. probe run ${run} after the spike (${STORE_HEALTH_DEFAULTS.scheduleMinutes} minutes apart when deployed):`,
      );
      if (ratio !== undefined && ratio > threshold) breaching.push(ratio);
    }

    lines.push(
      `  ${3 + periods}. the alarm, evaluated here by hand (SIMULATED: no CloudWatch on this machine): ${breaching.length} of the last ${periods} data points above ${threshold}`,
    );
    if (breaching.length < periods) {
      problems.push(
        `the spike should breach the threshold ${periods} times, it did ${breaching.length} times`,
      );
    } else {
      lines.push(
        `     -> ALARM: "${alarmName}" goes OK -> ALARM and reaches the halt-rollout function through the alarm topic`,
      );
      const config = localRunConfig(
        simulator,
        [{ applicationId: SAMPLE_APP_ID, name: 'Contoso Photos', alarmNames: [alarmName], mode: 'enforce' }],
        false,
      );
      const halting = createStoreAccess({
        baseUrl: config.storeApiBaseUrl,
        authority: config.azureAdAuthority,
        getCredentials: async () => ({ ...SAMPLE_TENANT }),
        throttle: false,
      });
      const story = createStoryRecorder();
      const watchdogPorts: WatchdogPorts = {
        rollouts: halting.rolloutPort,
        publish: async (built) => {
          notification = built;
        },
        now: () => performance.now(),
        logger: createStoryLogger(story),
      };
      try {
        const result = await handleWatchdogEvent(
          alarmEvent(alarmName, breaching, threshold),
          config,
          watchdogPorts,
          budgetFromRemaining(60_000),
        );
        const main = result.targets.find((target) => target.flightId === undefined);
        halted = main?.result === 'halted';
        lines.push(
          `  ${4 + periods}. the halt path: the main rollout of Contoso Photos is ${main?.result ?? 'not examined'}`,
        );
      } catch (error) {
        problems.push(`the halt path failed: ${safeError(error).message}`);
      } finally {
        await halting.dispatcher.close();
      }
      const status = simulator.control.rollout(
        SAMPLE_APP_ID,
        SAMPLE_PUBLISHED_SUBMISSION_ID,
      ).packageRolloutStatus;
      if (!halted || status !== 'PackageRolloutStopped')
        problems.push(`expected the rollout halted, but the Store has it ${status}`);
    }
  } catch (error) {
    problems.push(`the story broke: ${safeError(error).message}`);
  } finally {
    await store.dispatcher.close();
    await simulator.close();
  }

  if (notification !== undefined) {
    lines.push(
      '',
      `The notification (e-mail subject: ${notification.subject})`,
      ...notification.text.split('\n').map((line) => `  ${line}`),
    );
  } else if (problems.length === 0) {
    problems.push('no notification was published');
  }
  lines.push('');
  if (problems.length === 0) {
    lines.push(
      "OK: the Store's own failure reports showed the bad package, the probe's ratio crossed the threshold, the (simulated) alarm reached the halt path, and the rollout was halted once.",
    );
  } else {
    lines.push('PROBLEM: the story did not end as expected:', ...problems.map((problem) => `  - ${problem}`));
  }
  return {
    ok: problems.length === 0,
    problems,
    lines,
    ratios,
    halted,
    ...definedProps({ notification }),
  };
}
