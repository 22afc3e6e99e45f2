import { describe, expect, it } from 'vitest';
import { parseEnvironment } from '../../../../functions/commons/config/env.ts';
import { ConfigurationError } from '../../../../functions/commons/errors.ts';

const VALID_ENV = {
  STORE_CREDENTIALS_SECRET_ID: 'store-watchdog/credentials',
  NOTIFICATION_TOPIC_ARN: 'arn:aws:sns:us-east-1:123456789012:store-watchdog-decisions',
  WATCHDOG_APPS: JSON.stringify([
    { applicationId: '9NBLGGH4R315', alarmNames: ['contoso-photos-crash-rate'] },
  ]),
};

describe('parseEnvironment: DRILL_ALARM_NAME', () => {
  it('is optional: no drill alarm when unset or blank', () => {
    expect(parseEnvironment(VALID_ENV).drillAlarmName).toBeUndefined();
    expect(parseEnvironment({ ...VALID_ENV, DRILL_ALARM_NAME: '  ' }).drillAlarmName).toBeUndefined();
  });

  it('reads the drill alarm name', () => {
    expect(parseEnvironment({ ...VALID_ENV, DRILL_ALARM_NAME: 'store-watchdog-drill' }).drillAlarmName).toBe(
      'store-watchdog-drill',
    );
  });

  it('rejects a name longer than a CloudWatch alarm name can be, naming the variable', () => {
    expect(() => parseEnvironment({ ...VALID_ENV, DRILL_ALARM_NAME: 'x'.repeat(256) })).toThrow(
      new ConfigurationError(
        'INVALID_ENVIRONMENT',
        'Invalid environment: DRILL_ALARM_NAME must be a CloudWatch alarm name (at most 255 characters)',
      ),
    );
  });
});
