/**
 * The federation setup Lambda: the stack's custom resource that switches IAM outbound identity
 * federation on in the account and reads its issuer (see `setup.ts`). It answers CloudFormation itself
 * (a PUT of the result to the request's presigned `ResponseURL`), so no provider framework is needed.
 * The answer never carries a secret: there is none here.
 */
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { IAMClient } from '@aws-sdk/client-iam';
import middy from '@middy/core';
import type { CloudFormationCustomResourceEvent, Context } from 'aws-lambda';
import { describeError } from '../commons/errors.ts';
import { createObservability } from '../commons/observability.ts';
import { switchOnFederation } from './setup.ts';

const { logger } = createObservability('store-rollout-watchdog-federation-setup');
/** The physical ID: one switch per account. */
const PHYSICAL_ID = 'outbound-web-identity-federation';
/** Attempts at answering CloudFormation (it waits an hour for an answer that never comes). */
const RESPONSE_ATTEMPTS = 3;

const iam = new IAMClient({
  maxAttempts: 3,
  requestHandler: { connectionTimeout: 2_000, requestTimeout: 10_000 },
});

/** The response CloudFormation expects at `ResponseURL`. */
export function renderResponse(
  event: CloudFormationCustomResourceEvent,
  outcome:
    | { readonly ok: true; readonly data: Record<string, string> }
    | { readonly ok: false; readonly reason: string },
): string {
  return JSON.stringify({
    Status: outcome.ok ? 'SUCCESS' : 'FAILED',
    Reason: outcome.ok ? 'done' : outcome.reason.slice(0, 3000),
    PhysicalResourceId: PHYSICAL_ID,
    StackId: event.StackId,
    RequestId: event.RequestId,
    LogicalResourceId: event.LogicalResourceId,
    ...(outcome.ok ? { Data: outcome.data } : {}),
  });
}

async function respond(url: string, body: string): Promise<void> {
  let lastError: unknown;
  for (let attempt = 1; attempt <= RESPONSE_ATTEMPTS; attempt++) {
    try {
      // A presigned S3 URL: the signature covers an empty content type.
      const response = await fetch(url, {
        method: 'PUT',
        headers: { 'content-type': '' },
        body,
        signal: AbortSignal.timeout(10_000),
      });
      if (response.ok) return;
      lastError = new Error(`CloudFormation's response URL answered ${response.status}`);
    } catch (error) {
      lastError = error;
    }
  }
  throw lastError;
}

async function federationSetup(
  event: CloudFormationCustomResourceEvent,
  context: Context | undefined,
): Promise<void> {
  const remaining =
    typeof context?.getRemainingTimeInMillis === 'function' ? context.getRemainingTimeInMillis() : 60_000;
  let body: string;
  if (event.RequestType === 'Delete') {
    logger.info('stack deleted: outbound identity federation stays as it is in the account');
    body = renderResponse(event, { ok: true, data: {} });
  } else {
    try {
      const setup = await switchOnFederation(iam, AbortSignal.timeout(Math.max(1_000, remaining - 15_000)));
      logger.info(
        setup.switchedOn
          ? 'outbound identity federation switched on'
          : 'outbound identity federation was on already',
        {
          issuer: setup.issuer,
        },
      );
      body = renderResponse(event, { ok: true, data: { Issuer: setup.issuer } });
    } catch (error) {
      const described = describeError(error);
      logger.error('outbound identity federation could not be switched on', { error: described });
      body = renderResponse(event, { ok: false, reason: described.message });
    }
  }
  await respond(event.ResponseURL, body);
}

/** The Lambda entry point (CloudFormation custom resource events). */
export const handler = middy(federationSetup, { timeoutEarlyInMillis: 0 }).use(
  injectLambdaContext(logger, { resetKeys: true }),
);
