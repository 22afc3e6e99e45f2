import { describe, expect, it } from 'vitest';
import { parseEvent } from '../../../../functions/commons/domain/events.ts';
import { BadInputError } from '../../../../functions/commons/errors.ts';
import { loadEventFixture } from '../../../fixtures/events/load.ts';

const ALARM_REASON =
  'Threshold Crossed: 1 out of the last 1 datapoints [6.8 (14/05/24 09:26:00)] was greater than the threshold (2.0) (minimum 1 datapoint for OK -> ALARM transition).';
const ALARM_ARN = 'arn:aws:cloudwatch:us-east-1:123456789012:alarm:contoso-photos-crash-rate';

/** A CloudWatch alarm notification as SNS carries it in `Message`. */
function alarmMessage(overrides: Record<string, unknown> = {}): string {
  return JSON.stringify({
    AlarmName: 'contoso-photos-crash-rate',
    NewStateValue: 'ALARM',
    NewStateReason: ALARM_REASON,
    StateChangeTime: '2024-05-14T09:31:07.582+0000',
    AlarmArn: ALARM_ARN,
    OldStateValue: 'OK',
    Trigger: { MetricName: 'CrashRate', Namespace: 'Contoso/Photos' },
    ...overrides,
  });
}

/** An SNS-to-Lambda event with one record per message. */
function snsEvent(...messages: string[]): unknown {
  return {
    Records: messages.map((Message) => ({
      EventSource: 'aws:sns',
      EventVersion: '1.0',
      Sns: { Type: 'Notification', Message, TopicArn: 'arn:aws:sns:us-east-1:123456789012:alarms' },
    })),
  };
}

/** The BadInputError `parseEvent` throws for `event`. */
function rejectionOf(event: unknown): BadInputError {
  try {
    parseEvent(event);
  } catch (error) {
    if (error instanceof BadInputError) return error;
    throw error;
  }
  throw new Error('expected parseEvent to reject the event');
}

describe('parseEvent: the documented fixtures', () => {
  it('reads an SNS alarm notification into an ALARM transition', () => {
    expect(parseEvent(loadEventFixture('sns-alarm'))).toEqual({
      kind: 'alarm',
      alarms: [
        {
          alarmName: 'contoso-photos-crash-rate',
          newState: 'ALARM',
          previousState: 'OK',
          reason: ALARM_REASON,
          time: '2024-05-14T09:31:07.582+0000',
          alarmArn: ALARM_ARN,
          source: 'sns',
        },
      ],
    });
  });

  it('reads an EventBridge CloudWatch Alarm State Change into the same transition', () => {
    expect(parseEvent(loadEventFixture('eventbridge-alarm'))).toEqual({
      kind: 'alarm',
      alarms: [
        {
          alarmName: 'contoso-photos-crash-rate',
          newState: 'ALARM',
          previousState: 'OK',
          reason: ALARM_REASON,
          time: '2024-05-14T09:31:07.582+0000',
          alarmArn: ALARM_ARN,
          source: 'eventbridge',
        },
      ],
    });
  });

  it('parses transitions into OK and INSUFFICIENT_DATA without rejecting them', () => {
    const states = (['sns-alarm-ok', 'eventbridge-alarm-ok', 'eventbridge-insufficient-data'] as const).map(
      (name) => {
        const intake = parseEvent(loadEventFixture(name));
        return intake.kind === 'alarm' ? intake.alarms.map((a) => `${a.previousState}->${a.newState}`) : [];
      },
    );

    expect(states).toEqual([['ALARM->OK'], ['ALARM->OK'], ['OK->INSUFFICIENT_DATA']]);
  });

  it('reads a manual event without dryRun as a dry run', () => {
    expect(parseEvent(loadEventFixture('manual-dry-run'))).toEqual({
      kind: 'manual',
      applicationId: '9NBLGGH4R315',
      reason: 'console test',
      enforce: false,
    });
  });

  it('reads a manual event with "dryRun": false as a request to enforce', () => {
    expect(parseEvent(loadEventFixture('manual-enforce'))).toMatchObject({
      kind: 'manual',
      applicationId: '9NBLGGH4R315',
      enforce: true,
    });
  });
});

describe('parseEvent: SNS', () => {
  it('keeps every record of a multi-record SNS event', () => {
    const intake = parseEvent(
      snsEvent(
        alarmMessage(),
        alarmMessage({ AlarmName: 'fabrikam-crash-rate', NewStateValue: 'OK', OldStateValue: 'ALARM' }),
      ),
    );

    expect(intake.kind === 'alarm' && intake.alarms.map((a) => [a.alarmName, a.newState])).toEqual([
      ['contoso-photos-crash-rate', 'ALARM'],
      ['fabrikam-crash-rate', 'OK'],
    ]);
  });

  it('accepts a notification without OldStateValue or AlarmArn', () => {
    const intake = parseEvent(snsEvent(alarmMessage({ OldStateValue: undefined, AlarmArn: undefined })));

    expect(intake.kind === 'alarm' && intake.alarms[0]).toEqual({
      alarmName: 'contoso-photos-crash-rate',
      newState: 'ALARM',
      reason: ALARM_REASON,
      time: '2024-05-14T09:31:07.582+0000',
      source: 'sns',
    });
  });

  it('rejects a Message that is not JSON, naming the record, without echoing it', () => {
    const error = rejectionOf(snsEvent(alarmMessage(), 'Hello from SNS! token=abc123'));

    expect(error.code).toBe('UNPARSEABLE_SNS_MESSAGE');
    expect(error.message).toMatch(
      /Records\[1\]\.Sns\.Message is not JSON; expected a CloudWatch alarm notification/,
    );
    expect(error.message).not.toContain('abc123');
  });

  it('rejects a JSON Message that is not an alarm notification, naming the missing fields', () => {
    const error = rejectionOf(snsEvent(JSON.stringify({ some: 'message' })));

    expect(error.code).toBe('UNPARSEABLE_SNS_MESSAGE');
    expect(error.message).toMatch(/Records\[0\]\.Sns\.Message\.AlarmName/);
    expect(error.message).toMatch(/Records\[0\]\.Sns\.Message\.NewStateValue/);
  });

  it('rejects an unknown alarm state, naming the field and the states expected', () => {
    const error = rejectionOf(snsEvent(alarmMessage({ NewStateValue: 'PANIC' })));

    expect(error.message).toMatch(/Records\[0\]\.Sns\.Message\.NewStateValue: .*"ALARM"/);
  });

  it('rejects an SNS event without records or without Sns.Message', () => {
    expect(rejectionOf({ Records: [] }).message).toMatch(/event\.Records: must hold at least one record/);
    expect(rejectionOf({ Records: [{ eventSource: 'aws:sqs', body: '{}' }] }).message).toMatch(
      /event\.Records\[0\]\.Sns/,
    );
  });
});

describe('parseEvent: EventBridge', () => {
  it('rejects another CloudWatch event type, naming detail-type', () => {
    const error = rejectionOf({
      source: 'aws.cloudwatch',
      'detail-type': 'CloudWatch Alarm Configuration Change',
      detail: { alarmName: 'contoso-photos-crash-rate' },
    });

    expect(error.code).toBe('INVALID_EVENT');
    expect(error.message).toMatch(/event\.detail-type: must be "CloudWatch Alarm State Change"/);
  });

  it('rejects an event from another source, naming source', () => {
    const error = rejectionOf({
      source: 'aws.ec2',
      'detail-type': 'CloudWatch Alarm State Change',
      detail: {},
    });

    expect(error.message).toMatch(/event\.source: must be "aws\.cloudwatch"/);
  });

  it('rejects a state change without detail.state.value', () => {
    const error = rejectionOf({
      source: 'aws.cloudwatch',
      'detail-type': 'CloudWatch Alarm State Change',
      detail: { alarmName: 'contoso-photos-crash-rate', state: { reason: 'x', timestamp: 't' } },
    });

    expect(error.message).toMatch(/event\.detail\.state\.value/);
  });
});

describe('parseEvent: manual', () => {
  it.each([
    [{ dryRun: true }, false],
    [{ dryRun: 'false' }, false],
    [{ dryRun: 0 }, false],
    [{ dryRun: null }, false],
    [{}, false],
    [{ dryRun: false }, true],
  ])('enforces only when dryRun is exactly false (%j → enforce %s)', (extra, enforce) => {
    expect(parseEvent({ applicationId: '9NBLGGH4R315', ...extra })).toEqual({
      kind: 'manual',
      applicationId: '9NBLGGH4R315',
      enforce,
    });
  });

  it.each(['9nblggh4r315', '9NBLGGH4R31', '9NBLGGH4R315/../x', ''])(
    'rejects the malformed applicationId %j',
    (applicationId) => {
      const error = rejectionOf({ applicationId });

      expect(error.code).toBe('INVALID_ID');
      expect(error.message).toMatch(/applicationId must be 12 upper-case letters and digits/);
    },
  );

  it('rejects a non-string applicationId', () => {
    expect(rejectionOf({ applicationId: 42 }).message).toMatch(/applicationId must be .*; got number/);
  });

  it('rejects an unknown key, so a mistyped "dryrun" is not silently a dry run', () => {
    const error = rejectionOf({ applicationId: '9NBLGGH4R315', dryrun: false });

    expect(error.code).toBe('INVALID_EVENT');
    expect(error.message).toMatch(/dryrun/);
  });

  it('rejects a reason that is not a short string', () => {
    expect(rejectionOf({ applicationId: '9NBLGGH4R315', reason: 7 }).message).toMatch(/event\.reason/);
    expect(rejectionOf({ applicationId: '9NBLGGH4R315', reason: 'x'.repeat(1001) }).message).toMatch(
      /event\.reason/,
    );
  });
});

describe('parseEvent: unknown shapes', () => {
  it.each([
    [null, /must be a JSON object; got null/],
    ['ALARM', /must be a JSON object; got string/],
    [[1, 2], /must be a JSON object; got an array/],
    [{}, /top-level keys: none/],
    [{ hello: 'world', password: 'hunter2' }, /top-level keys: "hello", "password"/],
  ])('rejects %j, saying what was expected', (event, reason) => {
    const error = rejectionOf(event);

    expect(error.code).toBe('UNRECOGNIZED_EVENT');
    expect(error.message).toMatch(reason);
    expect(error.message).toMatch(/Expected an SNS event/);
    expect(error.message).not.toContain('hunter2');
  });
});
