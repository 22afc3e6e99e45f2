/**
 * A scheduled retry hands nothing on, even when the transition ledger cannot be read at its delivery
 * (docs/storms.md, "How a storm is handled": what a retry could not reach stays `failed`). Its part may
 * have handed apps on already, so a second continuation of the same part would be answered as a
 * duplicate and the apps it carried silently lost. The ledger is the real adapter over a table that
 * does not exist (moto), so its claim is `unavailable`.
 */
import { expect, it } from 'vitest';
import { createTransitionLedger } from '../../../functions/commons/aws/transition-ledger.ts';
import { parseEnvironment } from '../../../functions/commons/config/env.ts';
import { CONTINUATION_KIND, type Continuation } from '../../../functions/commons/domain/continuation.ts';
import type { Notification } from '../../../functions/commons/domain/notification.ts';
import { StoreApiError } from '../../../functions/commons/errors.ts';
import { handleWatchdogEvent, TargetsFailedError } from '../../../functions/halt-rollout/watchdog.ts';
import { describeWithMoto } from '../../support/aws.ts';
import { motoDynamo } from '../../support/state-table.ts';
import { fakeRollouts, PHOTOS } from '../commons/domain/fake-rollouts.ts';

const ALARM = PHOTOS.alarmNames[0] ?? '';

const config = parseEnvironment({
  STORE_CREDENTIALS_SECRET_ID: 'store-credentials',
  NOTIFICATION_TOPIC_ARN: 'arn:aws:sns:us-east-1:123456789012:watchdog',
  WATCHDOG_APPS: JSON.stringify([PHOTOS]),
  DRY_RUN: 'false',
});

/** The retry of part 1's failed main rollout, attempt 2, as the queue delivers it. */
function scheduledRetry(): unknown {
  const continuation: Continuation = {
    kind: CONTINUATION_KIND,
    version: 1,
    alarms: [
      {
        alarmName: ALARM,
        newState: 'ALARM',
        previousState: 'OK',
        reason: 'Threshold Crossed',
        time: '2026-12-08T01:00:00.000Z',
        source: 'sns',
      },
    ],
    applicationIds: [PHOTOS.applicationId],
    part: 1,
    stormStartedAt: '2026-12-08T01:00:00.000Z',
    retry: { attempt: 2, targets: [`${PHOTOS.applicationId}#main`] },
  };
  return { Records: [{ eventSource: 'aws:sqs', body: JSON.stringify(continuation) }] };
}

describeWithMoto('a scheduled retry with the ledger unavailable', () => {
  it('keeps what the budget had no slot for failed and hands nothing on', async () => {
    const handedOn: Continuation[] = [];
    const published: Notification[] = [];
    const warnings: string[] = [];
    const quiet = () => {};
    const rollouts = fakeRollouts({
      [PHOTOS.applicationId]: [
        {
          state: 'failed',
          applicationId: PHOTOS.applicationId,
          error: new StoreApiError(
            'STORE_BUDGET_EXHAUSTED',
            'no slot before the deadline',
            {},
            { retryable: true },
          ),
        },
      ],
    });
    const never = new AbortController().signal;

    const outcome = await handleWatchdogEvent(
      scheduledRetry(),
      config,
      {
        rollouts,
        ledger: createTransitionLedger(motoDynamo(), 'no-such-table', {
          warn: (message) => warnings.push(message),
        }),
        handOn: async (continuation) => {
          handedOn.push(continuation);
        },
        publish: async (notification) => {
          published.push(notification);
        },
        now: () => 0,
        logger: { info: quiet, warn: quiet, error: quiet },
      },
      { decideSignal: never, notifySignal: never },
    ).then(
      (result) => ({ result }),
      (error: unknown) => ({ error }),
    );

    expect(warnings).toEqual(['transition ledger not available; handling the delivery on its own']);
    expect(handedOn).toEqual([]);
    expect(outcome).toEqual({ error: expect.any(TargetsFailedError) });
    expect(published.map((notification) => notification.outcome)).toEqual(['failed']);
  });
});
