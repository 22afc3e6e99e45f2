/**
 * The Store health probe Lambda: the composition root. On a schedule, reads every watched app's live
 * rollouts and the Store's failure and usage reports and publishes the figures as CloudWatch metrics
 * (docs/store-health.md); read only. A run with any error fails after publishing what it could.
 * Importing this module never throws: a configuration problem fails every invocation.
 */

import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { createSecretsClient, createStateTableClient } from '../commons/aws/clients.ts';
import { createCredentialsSource } from '../commons/aws/credentials.ts';
import { lazyClientAssertionSource } from '../commons/aws/lazy-web-identity.ts';
import { createProbeMemory } from '../commons/aws/probe-memory.ts';
import { createDurableBudgets } from '../commons/aws/store-budget.ts';
import { describeError, WatchdogError } from '../commons/errors.ts';
import { createDeadline } from '../commons/http/deadline.ts';
import { createObservability } from '../commons/observability.ts';
import { definedProps } from '../commons/optional.ts';
import { createAnalyticsReader } from '../commons/store/analytics.ts';
import { createPackageVersionReader } from '../commons/store/cohorts.ts';
import { createStoreAccess, type StoreAccessOptions } from '../commons/store/store-access.ts';
import { READER_THROTTLE } from '../commons/store/throttle.ts';
import {
  parseStoreHealthEnvironment,
  STORE_HEALTH_SERVICE_NAME,
  type StoreHealthEnvironment,
} from './environment.ts';
import { publishStoreHealth } from './metrics.ts';
import { type AppHealth, runStoreHealth, type StoreHealthPorts, type StoreHealthRun } from './probe.ts';

/** Used when the invocation has no Lambda context (a local call). */
const DEFAULT_REMAINING_MS = 60_000;
/** Left at the end of the invocation to log and flush the metrics. */
const RESERVE_MS = 2_000;

const { logger, metrics } = createObservability(STORE_HEALTH_SERVICE_NAME);

/** A run in which some app could not be probed (the others' figures were published). */
export class StoreHealthRunFailedError extends WatchdogError {
  constructor(failed: readonly string[]) {
    super(
      'upstream',
      'STORE_HEALTH_RUN_FAILED',
      `The Store health probe could not read ${failed.join(', ')}`,
    );
    this.name = 'StoreHealthRunFailedError';
  }
}

type Wiring =
  | { readonly ok: true; readonly config: StoreHealthEnvironment; readonly ports: StoreHealthPorts }
  | { readonly ok: false; readonly error: unknown };

function wire(): Wiring {
  let config: StoreHealthEnvironment;
  try {
    config = parseStoreHealthEnvironment(process.env);
  } catch (error) {
    return { ok: false, error };
  }
  // A scheduled reader in the stack's budget: it takes a slot only while half the window stays free
  // for halts. Without the table (a local run), the process keeps to half the tenant's budget alone.
  const stateTable = config.stateTable;
  const dynamo = stateTable === undefined ? undefined : createStateTableClient();
  const budget: Pick<StoreAccessOptions, 'throttle' | 'sharedBudget'> =
    stateTable === undefined || dynamo === undefined
      ? { throttle: READER_THROTTLE }
      : {
          throttle: false,
          sharedBudget: createDurableBudgets({
            client: dynamo,
            tableName: stateTable,
            budgetClass: 'reader',
            logger,
          }),
        };
  const credentials = createCredentialsSource(createSecretsClient(), config.storeCredentialsSecretId);
  const getClientAssertion = lazyClientAssertionSource();
  const store = createStoreAccess({
    baseUrl: config.storeApiBaseUrl,
    authority: config.azureAdAuthority,
    getCredentials: (signal) => credentials.get(signal),
    refreshCredentials: (signal) => credentials.refresh(signal),
    // Used only when the secret says "credential": "aws-federation" (no key).
    getClientAssertion,
    onCredentialsRejected: (error) =>
      logger.warn('Azure AD rejected the Store credentials; re-reading the secret once', {
        error: describeError(error),
      }),
    ...budget,
  });
  // Only reads: the client's halt is not handed over (`ProbeStore`).
  const ports: StoreHealthPorts = {
    store: store.client,
    packageVersions: createPackageVersionReader(store.client),
    analytics: createAnalyticsReader(store.client),
    now: () => Date.now(),
    ...(stateTable === undefined || dynamo === undefined
      ? {}
      : { memory: createProbeMemory(dynamo, stateTable, logger) }),
  };
  return { ok: true, config, ports };
}

const wiring = wire();

function logApp(app: AppHealth): void {
  const target = { applicationId: app.applicationId, ...definedProps({ flightId: app.flightId }) };
  if (app.state === 'failed') {
    logger.error('app could not be probed', { ...target, error: describeError(app.error) });
  } else if (app.state === 'deferred') {
    logger.warn('app left for the next run', { ...target, reason: app.reason });
  } else if (app.state === 'no-rollout') {
    logger.info('no live rollout', { ...target, reason: app.reason });
  } else {
    const { assessment } = app;
    logger.info('store health', {
      ...target,
      submissionId: app.ref.submissionId,
      rolloutPercentage: app.cohorts.rolloutPercentage,
      rolloutVersions: app.cohorts.rollout,
      fallbackVersions: app.cohorts.fallback,
      windowHours: app.windowHours,
      verdict: assessment.verdict,
      rollout: assessment.rollout,
      fallback: assessment.fallback,
      ...(assessment.verdict === 'sufficient'
        ? { ratio: assessment.ratio }
        : { reasons: assessment.reasons }),
    });
  }
}

/** What an invocation returns: per app, its state and, when judged, the verdict and ratio. */
export interface StoreHealthSummary {
  readonly apps: ReadonlyArray<{
    readonly applicationId: string;
    readonly flightId?: string;
    readonly state: AppHealth['state'];
    readonly verdict?: 'sufficient' | 'insufficient';
    readonly ratio?: number;
    readonly reason?: string;
  }>;
}

function summarize(run: StoreHealthRun): StoreHealthSummary {
  return {
    apps: run.apps.map((app) => {
      const target = { applicationId: app.applicationId, ...definedProps({ flightId: app.flightId }) };
      if (app.state === 'failed')
        return { ...target, state: app.state, reason: describeError(app.error).message };
      if (app.state === 'no-rollout' || app.state === 'deferred')
        return { ...target, state: app.state, reason: app.reason };
      const { assessment } = app;
      return {
        ...target,
        state: app.state,
        verdict: assessment.verdict,
        ...(assessment.verdict === 'sufficient'
          ? { ratio: assessment.ratio }
          : { reason: assessment.reasons.join('; ') }),
      };
    }),
  };
}

async function probe(_event: unknown, context: Context | undefined): Promise<StoreHealthSummary> {
  if (!wiring.ok) {
    metrics.addMetric('StoreHealthFailures', MetricUnit.Count, 1);
    logger.error('configuration error', { error: describeError(wiring.error) });
    throw wiring.error;
  }
  const remaining =
    typeof context?.getRemainingTimeInMillis === 'function'
      ? context.getRemainingTimeInMillis()
      : DEFAULT_REMAINING_MS;
  const signal = createDeadline({ timeoutMs: Math.max(0, remaining - RESERVE_MS) });
  const run = await runStoreHealth(wiring.config.apps, wiring.ports, signal);
  if (run.listError !== undefined) {
    logger.warn('the app list could not be read; each app was read on its own', {
      error: describeError(run.listError),
    });
  }
  for (const app of run.apps) logApp(app);
  publishStoreHealth(run.apps);
  const failed = [
    ...new Set(
      run.apps
        .filter((app) => app.state === 'failed')
        .map((app) =>
          app.flightId === undefined ? app.applicationId : `${app.applicationId} (flight ${app.flightId})`,
        ),
    ),
  ];
  metrics.addMetric('StoreHealthFailures', MetricUnit.Count, failed.length);
  // Rollouts the run had no time for (read first next run): coverage, not a failure.
  metrics.addMetric('StoreHealthDeferred', MetricUnit.Count, run.deferred);
  if (failed.length > 0) throw new StoreHealthRunFailedError(failed);
  return summarize(run);
}

/** The Lambda entry point (any event: the schedule's, or `{}` from a manual invoke). */
export const handler = middy(probe, { timeoutEarlyInMillis: 0 })
  .use(injectLambdaContext(logger, { resetKeys: true }))
  .use(logMetrics(metrics, { captureColdStartMetric: true }));
