/**
 * The halt-rollout Lambda: the composition root. Clients and configuration are built once per container
 * and handed to the invocation flow in `watchdog.ts`. Importing it never throws: a configuration
 * problem is reported by every invocation, and the early fetch of the secret and a token swallows its
 * errors, which the first invocation meets again.
 */
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { SNSClient } from '@aws-sdk/client-sns';
import { SQSClient } from '@aws-sdk/client-sqs';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { createSecretsClient, createStateTableClient } from '../commons/aws/clients.ts';
import { sendContinuation } from '../commons/aws/continuation-queue.ts';
import { createCredentialsSource } from '../commons/aws/credentials.ts';
import { lazyClientAssertionSource } from '../commons/aws/lazy-web-identity.ts';
import { buildMessageStructure, publishNotification } from '../commons/aws/notify.ts';
import { createRolloutMemory } from '../commons/aws/rollout-memory.ts';
import { createDurableBudgets } from '../commons/aws/store-budget.ts';
import { createTransitionLedger } from '../commons/aws/transition-ledger.ts';
import { parseEnvironment, type WatchdogEnvironment } from '../commons/config/env.ts';
import { parseStateTable } from '../commons/config/state-table.ts';
import { parseContinuationQueueUrl } from '../commons/config/storm-env.ts';
import type { WatchdogResult } from '../commons/domain/results.ts';
import { BadInputError, ConfigurationError, describeError } from '../commons/errors.ts';
import { createObservability, recordRun } from '../commons/observability.ts';
import { createStoreAccess } from '../commons/store/store-access.ts';
import { budgetFromRemaining, handleWatchdogEvent, type WatchdogPorts } from './watchdog.ts';

/** Used when the invocation has no Lambda context (a local call); the deployed function has 300 s. */
const DEFAULT_REMAINING_MS = 60_000;
/** Bound on the early fetch during init (the Lambda init phase is limited to 10 s). */
const PREFETCH_TIMEOUT_MS = 5_000;

const { logger, metrics } = createObservability();

type Wiring =
  | {
      readonly ok: true;
      readonly config: WatchdogEnvironment;
      readonly ports: WatchdogPorts;
      readonly warmUp: () => Promise<void>;
    }
  | { readonly ok: false; readonly error: unknown };

function wire(): Wiring {
  let config: WatchdogEnvironment;
  let stateTable: string | undefined;
  let continuationQueueUrl: string | undefined;
  try {
    config = parseEnvironment(process.env);
    stateTable = parseStateTable(process.env);
    continuationQueueUrl = parseContinuationQueueUrl(process.env);
  } catch (error) {
    return { ok: false, error };
  }
  // Endpoints come from the SDK's standard configuration (AWS_ENDPOINT_URL, AWS_REGION, ...).
  const secrets = createSecretsClient();
  const sns = new SNSClient({});
  const credentials = createCredentialsSource(secrets, config.storeCredentialsSecretId);
  const getClientAssertion = lazyClientAssertionSource();
  const dynamo = stateTable === undefined ? undefined : createStateTableClient();
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
    // The stack's budget, shared with every container, the self-check and the Store health probe; the
    // process's own throttle stays in front of it to order this container's requests.
    ...(dynamo === undefined || stateTable === undefined
      ? {}
      : {
          sharedBudget: createDurableBudgets({
            client: dynamo,
            tableName: stateTable,
            budgetClass: 'halt',
            logger,
          }),
        }),
  });
  const ports: WatchdogPorts = {
    rollouts: store.rolloutPort,
    ...(dynamo === undefined || stateTable === undefined
      ? {}
      : {
          memory: createRolloutMemory(dynamo, stateTable, logger),
          ledger: createTransitionLedger(dynamo, stateTable, logger),
        }),
    ...(continuationQueueUrl === undefined
      ? {}
      : { handOn: handOnTo(new SQSClient({}), continuationQueueUrl) }),
    now: () => performance.now(),
    logger,
    publish: async (notification, signal) => {
      await publishNotification(
        sns,
        config.notificationTopicArn,
        {
          subject: notification.subject,
          message: buildMessageStructure(notification),
          outcome: notification.outcome,
          drill: notification.drill,
        },
        signal,
      );
    },
  };
  const warmUp = async () => {
    await store.tokenProvider.getToken(AbortSignal.timeout(PREFETCH_TIMEOUT_MS));
  };
  return { ok: true, config, ports, warmUp };
}

function handOnTo(sqs: SQSClient, queueUrl: string): NonNullable<WatchdogPorts['handOn']> {
  return async (continuation, signal, delaySeconds) => {
    await sendContinuation(sqs, queueUrl, continuation, signal, delaySeconds);
  };
}

const wiring = wire();

// Start fetching the secret and a token while Lambda initializes; the first invocation reuses them.
if (wiring.ok) {
  wiring.warmUp().catch((error: unknown) => {
    logger.debug('early credential fetch failed; the invocation will retry it', {
      error: describeError(error),
    });
  });
}

async function haltRollout(event: unknown, context: Context | undefined): Promise<WatchdogResult> {
  try {
    if (!wiring.ok) throw wiring.error;
    const remaining =
      typeof context?.getRemainingTimeInMillis === 'function'
        ? context.getRemainingTimeInMillis()
        : DEFAULT_REMAINING_MS;
    return await handleWatchdogEvent(
      event,
      wiring.config,
      wiring.ports,
      budgetFromRemaining(remaining),
      (report) => {
        if (report.result.duplicate === true) metrics.addMetric('DuplicateDeliveries', MetricUnit.Count, 1);
        else if (report.run === undefined) metrics.addMetric('IgnoredEvents', MetricUnit.Count, 1);
        else recordRun(metrics, report.run);
      },
    );
  } catch (error) {
    if (error instanceof BadInputError) {
      metrics.addMetric('RejectedEvents', MetricUnit.Count, 1);
      logger.error('event rejected', { error: describeError(error) });
    } else if (error instanceof ConfigurationError && !wiring.ok) {
      metrics.addMetric('ConfigurationErrors', MetricUnit.Count, 1);
      logger.error('configuration error', { error: describeError(error) });
    }
    throw error;
  }
}

/** The Lambda entry point. */
export const handler = middy(haltRollout, { timeoutEarlyInMillis: 0 })
  .use(injectLambdaContext(logger, { resetKeys: true }))
  .use(logMetrics(metrics, { captureColdStartMetric: true }));
