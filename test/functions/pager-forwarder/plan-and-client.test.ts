/**
 * The pure page plan (what pages whom) and the Events API client against the loopback stand-in,
 * without AWS: unknown messages are kept (an error), alarms going back to OK page nobody, and a hanging
 * Events API is cut by the attempt timeout and retried.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BadInputError, WatchdogError } from '../../../functions/commons/errors.ts';
import { createDispatcher } from '../../../functions/commons/http/transport.ts';
import { createEventsApiClient } from '../../../functions/pager-forwarder/events-api.ts';
import { decisionDedupKey, PAGER_LIMITS, planPage } from '../../../functions/pager-forwarder/page-plan.ts';
import { parseRoutingKey } from '../../../functions/pager-forwarder/routing-key.ts';
import { type EventsApiStandIn, startEventsApiStandIn } from '../../support/pagerduty-stand-in.ts';

const KEY = 'abcdefghijklmnopqrstuvwxyz012345';

function envelope(message: unknown): string {
  return JSON.stringify({ Type: 'Notification', MessageId: 'm-1', Message: JSON.stringify(message) });
}

const TRIGGER = {
  dedupKey: decisionDedupKey('9NBLGGH4R315', '1152921504621243680'),
  summary: 'ACT NOW: test',
  severity: 'critical' as const,
  source: 'store-rollout-watchdog',
  component: '9NBLGGH4R315',
  customDetails: {},
  links: [],
};

describe('planPage', () => {
  it('pages nobody for a health alarm going back to OK', () => {
    expect(planPage(envelope({ AlarmName: 'a', NewStateValue: 'OK' }))).toEqual({
      kind: 'skip',
      why: 'health alarm "a" went to OK: only ALARM pages',
    });
  });

  it('pages nobody for a decision without a failed target', () => {
    const plan = planPage(
      envelope({
        schemaVersion: 1,
        outcome: 'halted',
        targets: [{ applicationId: '9NBLGGH4R315', result: 'halted' }],
      }),
    );
    expect(plan.kind).toBe('skip');
  });

  it('groups the failed flights of one submission into one event, keeping the summary within the limit', () => {
    const failed = (flightId: string) => ({
      applicationId: '9NBLGGH4R315',
      appName: 'Contoso '.repeat(200),
      flightId,
      submissionId: '1152921504621243999',
      result: 'failed',
      error: { code: 'STORE_HTTP_500', message: 'x'.repeat(2000) },
    });
    const plan = planPage(
      envelope({ schemaVersion: 1, outcome: 'failed', targets: [failed('f1'), failed('f2')] }),
    );

    if (plan.kind !== 'page') throw new Error('expected a page');
    expect(plan.triggers).toHaveLength(1);
    expect(plan.triggers[0]?.summary.length).toBeLessThanOrEqual(PAGER_LIMITS.summary);
    expect(plan.triggers[0]?.links).toEqual([]);
  });

  it('never pages a remembered percentage as if it were live: it says when it was last seen', () => {
    const target = {
      applicationId: '9NBLGGH4R315',
      appName: 'Contoso Photos',
      submissionId: '1152921504621243680',
      result: 'failed',
      error: { code: 'STORE_HTTP_500', message: 'unavailable' },
    };
    const remembered = planPage(
      envelope({
        schemaVersion: 1,
        outcome: 'failed',
        targets: [{ ...target, rolloutPercentage: 20, percentageSeenAt: '2026-12-01T09:58:00.000Z' }],
      }),
    );
    const live = planPage(
      envelope({ schemaVersion: 1, outcome: 'failed', targets: [{ ...target, rolloutPercentage: 20 }] }),
    );

    if (remembered.kind !== 'page' || live.kind !== 'page') throw new Error('expected pages');
    expect(remembered.triggers[0]?.summary).toContain(
      'submission 1152921504621243680 at 20% when last seen at 09:58 UTC.',
    );
    expect(remembered.triggers[0]?.customDetails).toMatchObject({
      targets: [expect.objectContaining({ percentageSeenAt: '2026-12-01T09:58:00.000Z' })],
    });
    expect(live.triggers[0]?.summary).toContain('submission 1152921504621243680 at 20%.');
  });

  it('says DRILL FAILED for a failed drill (nothing to halt by hand, something to fix)', () => {
    const plan = planPage(
      envelope({
        schemaVersion: 1,
        outcome: 'failed',
        drill: true,
        targets: [
          {
            applicationId: '9NBLGGH4R315',
            result: 'failed',
            error: { code: 'SECRET_MALFORMED', message: 'the field clientSecret is missing' },
          },
        ],
      }),
    );

    if (plan.kind !== 'page') throw new Error('expected a page');
    expect(plan.triggers[0]?.summary).toMatch(
      /^DRILL FAILED: .* a real alarm would fail the same way\. Fix it before the rollout\. Cause: SECRET_MALFORMED/,
    );
  });

  it.each([
    ['a body that is not JSON', 'nope', /the SQS message body is not JSON/],
    [
      'an envelope without Message',
      JSON.stringify({ Type: 'Notification' }),
      /not an SNS notification: body.Message/,
    ],
    [
      'a message of another kind',
      envelope({ hello: 'world' }),
      /neither a watchdog decision .* nor a CloudWatch alarm/,
    ],
  ])('rejects %s with a clear error (the record is kept)', (_what, body, message) => {
    expect(() => planPage(body)).toThrow(BadInputError);
    expect(() => planPage(body)).toThrow(message);
  });
});

describe('parseRoutingKey', () => {
  it('reads the key itself or {"routingKey"}', () => {
    expect(parseRoutingKey(KEY, 's')).toBe(KEY);
    expect(parseRoutingKey(JSON.stringify({ routingKey: KEY }), 's')).toBe(KEY);
  });

  it.each([undefined, '', 'short', '{"routing_key":"x"}', '{nope'])(
    'rejects %j without quoting it',
    (value) => {
      expect(() => parseRoutingKey(value, 'pager/key')).toThrow(
        /secret pager\/key must hold the 32-character/,
      );
    },
  );
});

describe('Events API client', () => {
  let standIn: EventsApiStandIn;
  beforeAll(async () => {
    standIn = await startEventsApiStandIn();
  });
  afterAll(async () => {
    await standIn.close();
  });

  it('cuts a hanging attempt at its timeout and retries it', async () => {
    const client = createEventsApiClient({
      dispatcher: createDispatcher(),
      url: standIn.url,
      // Long enough for a normal attempt on a loaded machine; the hanging one never answers.
      attemptTimeoutMs: 1_500,
      policy: { maxAttempts: 3, baseDelayMs: 10, maxDelayMs: 20, maxRetryAfterMs: 1000 },
    });
    standIn.failNext('hang');

    const accepted = await client.trigger(KEY, TRIGGER, AbortSignal.timeout(10_000));

    expect(accepted).toMatchObject({ status: 'success', dedupKey: TRIGGER.dedupKey, attempts: 2 });
  });

  it('gives up after its bounded attempts with an error that never quotes the routing key', async () => {
    const client = createEventsApiClient({
      dispatcher: createDispatcher(),
      url: standIn.url,
      policy: { maxAttempts: 2, baseDelayMs: 10, maxDelayMs: 20, maxRetryAfterMs: 1000 },
    });
    standIn.failNext({ status: 500 }, { status: 500 });
    const before = standIn.requests();

    const error = await client
      .trigger(KEY, TRIGGER, AbortSignal.timeout(10_000))
      .catch((caught: unknown) => caught);

    expect(standIn.requests() - before).toBe(2);
    expect(error).toBeInstanceOf(WatchdogError);
    expect(error).toMatchObject({ code: 'PAGER_UNAVAILABLE', message: 'the Events API answered 500' });
  });

  it('names the fields PagerDuty rejects (400), not retried', async () => {
    const client = createEventsApiClient({ dispatcher: createDispatcher(), url: standIn.url });

    const error = await client
      .trigger(KEY, { ...TRIGGER, summary: '' }, AbortSignal.timeout(10_000))
      .catch((caught: unknown) => caught);

    expect(error).toMatchObject({ code: 'PAGER_REJECTED' });
    expect(String(error)).toContain("'payload.summary' is invalid");
    expect(String(error)).not.toContain(KEY);
  });
});
