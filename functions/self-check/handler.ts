/**
 * The self-check Lambda: the composition root. On a schedule, proves that the halt path still works
 * (the secret, a token, every app and its live rollouts, read only, every watched alarm); a problem
 * fails the invocation. Every run reads the secret and asks Azure AD again: checking them is the point.
 * Importing this module never throws: a configuration problem is reported by every invocation.
 */
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { type Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import type { Dispatcher } from 'undici';
import { createAlarmLookup, describeAlarmsPageWith } from '../commons/aws/alarms.ts';
import { createSecretsClient, createStateTableClient } from '../commons/aws/clients.ts';
import { createCredentialsSource } from '../commons/aws/credentials.ts';
import { lazyClientAssertionSource } from '../commons/aws/lazy-web-identity.ts';
import { createRolloutMemory } from '../commons/aws/rollout-memory.ts';
import { createDurableBudgets } from '../commons/aws/store-budget.ts';
import { parseStateTable } from '../commons/config/state-table.ts';
import { rememberingLookups } from '../commons/domain/memory.ts';
import { describeError } from '../commons/errors.ts';
import { createDeadline } from '../commons/http/deadline.ts';
import { createDispatcher } from '../commons/http/transport.ts';
import { createObservability } from '../commons/observability.ts';
import { createStoreAccess, type StoreAccessOptions } from '../commons/store/store-access.ts';
import { runSelfCheck, SelfCheckFailedError, type SelfCheckPorts, type SelfCheckReport } from './checks.ts';
import {
  parseSelfCheckEnvironment,
  SELF_CHECK_SERVICE_NAME,
  type SelfCheckEnvironment,
} from './environment.ts';
import { SELF_CHECK_STORE_REQUESTS_PER_MINUTE, type Slice, selectSlice } from './slices.ts';

// The self-check's share of the tenant's request budget lives with the slice plan that depends on it.
export { SELF_CHECK_STORE_REQUESTS_PER_MINUTE } from './slices.ts';

/** Used when the invocation has no Lambda context (a local call). */
const DEFAULT_REMAINING_MS = 60_000;
/** Left at the end of the invocation to log the report and flush the metrics. */
const RESERVE_MS = 2_000;

const { logger, metrics } = createObservability(SELF_CHECK_SERVICE_NAME);

type Wiring =
  | {
      readonly ok: true;
      readonly config: SelfCheckEnvironment;
      /** Ports for one run: fresh credentials and token provider over the container's clients. */
      readonly createPorts: () => SelfCheckPorts;
    }
  | { readonly ok: false; readonly error: unknown };

function wire(): Wiring {
  let config: SelfCheckEnvironment;
  let stateTable: string | undefined;
  try {
    config = parseSelfCheckEnvironment(process.env);
    stateTable = parseStateTable(process.env);
  } catch (error) {
    return { ok: false, error };
  }
  const dynamo = stateTable === undefined ? undefined : createStateTableClient();
  // Remembers each app's live rollout, so that a halt of it can be a single request.
  const memory =
    dynamo === undefined || stateTable === undefined
      ? undefined
      : createRolloutMemory(dynamo, stateTable, logger);
  // A scheduled reader in the stack's budget: it takes a slot only while half the window stays free
  // for halts. Without the table (a local run), the process keeps to half the tenant's budget alone.
  const budget: Pick<StoreAccessOptions, 'throttle' | 'sharedBudget'> =
    dynamo === undefined || stateTable === undefined
      ? { throttle: { limit: SELF_CHECK_STORE_REQUESTS_PER_MINUTE, followUpMs: 0 } }
      : {
          throttle: false,
          sharedBudget: createDurableBudgets({
            client: dynamo,
            tableName: stateTable,
            budgetClass: 'reader',
            logger,
          }),
        };
  // Endpoints come from the SDK's standard configuration (AWS_ENDPOINT_URL, AWS_REGION, ...).
  const secrets = createSecretsClient();
  const getClientAssertion = lazyClientAssertionSource();
  const describeAlarms = createAlarmLookup(describeAlarmsPageWith(new CloudWatchClient({}), true));
  const dispatcher: Dispatcher = createDispatcher();
  const createPorts = (): SelfCheckPorts => {
    const credentials = createCredentialsSource(secrets, config.storeCredentialsSecretId);
    const store = createStoreAccess({
      baseUrl: config.storeApiBaseUrl,
      authority: config.azureAdAuthority,
      dispatcher,
      getCredentials: (signal) => credentials.get(signal),
      refreshCredentials: (signal) => credentials.refresh(signal),
      // Used only when the secret says "credential": "aws-federation" (no key).
      getClientAssertion,
      onCredentialsRejected: (error) =>
        logger.warn('Azure AD rejected the Store credentials; re-reading the secret once', {
          error: describeError(error),
        }),
      // It never halts, so it keeps no room for follow-up halts in the budget.
      ...budget,
    });
    // Only reads: the rollout port's halt is not handed over.
    return {
      getCredentials: (signal) => credentials.get(signal),
      getToken: (signal) => store.tokenProvider.getToken(signal),
      findLiveRollouts:
        memory === undefined
          ? (request, signal) => store.rolloutPort.findLiveRollouts(request, signal)
          : rememberingLookups(
              (request, signal) => store.rolloutPort.findLiveRollouts(request, signal),
              memory,
            ),
      describeAlarms,
      now: () => performance.now(),
    };
  };
  return { ok: true, config, createPorts };
}

const wiring = wire();

/** The metrics of one run (see the README, "Self-check"). */
export function recordSelfCheck(target: Metrics, report: SelfCheckReport): void {
  target.addMetric('SelfCheckFailures', MetricUnit.Count, report.summary.failures);
  target.addMetric('CredentialsOk', MetricUnit.Count, report.summary.credentialsOk ? 1 : 0);
  target.addMetric('AppsUnreadable', MetricUnit.Count, report.summary.appsUnreadable);
  // Unknown when CloudWatch could not be asked: no data point rather than a false zero.
  if (report.summary.alarmsMissing !== undefined) {
    target.addMetric('AlarmsMissing', MetricUnit.Count, report.summary.alarmsMissing);
  }
}

function logReport(report: SelfCheckReport): void {
  for (const { status, ...check } of report.checks) {
    if (status === 'FAIL') logger.error('check failed', { status, ...check });
    else logger.info(status === 'PASS' ? 'check passed' : 'check skipped', { status, ...check });
  }
  const summary = { ok: report.ok, ...report.summary, elapsedMs: report.elapsedMs };
  if (report.ok) logger.info('self-check passed', summary);
  else logger.error('self-check failed', summary);
}

/** What a run returns: the report, and which slice of the apps it read. */
export type SelfCheckRunReport = SelfCheckReport & {
  readonly slice: { readonly index: number; readonly count: number; readonly apps: number };
};

/**
 * When the run was scheduled: the `time` of an EventBridge scheduled event (the same for a retried
 * delivery), else now (a manual invoke).
 */
export function scheduledTimeOf(event: unknown, now: number): number {
  if (typeof event !== 'object' || event === null || !('time' in event) || typeof event.time !== 'string') {
    return now;
  }
  const time = Date.parse(event.time);
  return Number.isNaN(time) ? now : time;
}

async function selfCheck(event: unknown, context: Context | undefined): Promise<SelfCheckRunReport> {
  if (!wiring.ok) {
    metrics.addMetric('SelfCheckFailures', MetricUnit.Count, 1);
    logger.error('configuration error', { error: describeError(wiring.error) });
    throw wiring.error;
  }
  const remaining =
    typeof context?.getRemainingTimeInMillis === 'function'
      ? context.getRemainingTimeInMillis()
      : DEFAULT_REMAINING_MS;
  const signal = createDeadline({ timeoutMs: Math.max(0, remaining - RESERVE_MS) });
  const slice: Slice = selectSlice(
    wiring.config.apps,
    wiring.config.slicePlan,
    scheduledTimeOf(event, Date.now()),
  );
  logger.info('self-check slice', { slice: slice.index + 1, slices: slice.count, apps: slice.apps.length });
  const report = await runSelfCheck({ ...wiring.config, apps: slice.apps }, wiring.createPorts(), signal);
  recordSelfCheck(metrics, report);
  logReport(report);
  if (!report.ok) throw new SelfCheckFailedError(report);
  return { ...report, slice: { index: slice.index, count: slice.count, apps: slice.apps.length } };
}

/** The Lambda entry point (any event: the schedule's, or `{}` from a manual invoke). */
export const handler = middy(selfCheck, { timeoutEarlyInMillis: 0 })
  .use(injectLambdaContext(logger, { resetKeys: true }))
  .use(logMetrics(metrics, { captureColdStartMetric: true }));
