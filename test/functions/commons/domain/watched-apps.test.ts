import { describe, expect, it } from 'vitest';
import { watchedAppsSchema } from '../../../../functions/commons/domain/watched-apps.ts';
import { formatIssues } from '../../../../functions/commons/validation.ts';

function errorsOf(value: unknown): string {
  const parsed = watchedAppsSchema.safeParse(value);
  if (parsed.success) throw new Error('expected the config to be rejected');
  return formatIssues('WATCHDOG_APPS', parsed.error);
}

describe('WATCHDOG_APPS schema', () => {
  it('applies the documented defaults', () => {
    const apps = watchedAppsSchema.parse([{ applicationId: '9NBLGGH4R315' }]);
    expect(apps).toEqual([
      { applicationId: '9NBLGGH4R315', alarmNames: [], notifyAlarmNames: [], mode: 'enforce' },
    ]);
  });

  it('names the field that is wrong', () => {
    expect(errorsOf([{ applicationId: '9nblggh4r315' }])).toMatch(
      /^WATCHDOG_APPS\[0\]\.applicationId: must be the Store ID/,
    );
    expect(errorsOf([{ applicationId: '9NBLGGH4R315', mode: 'halt' }])).toMatch(/WATCHDOG_APPS\[0\]\.mode/);
    expect(errorsOf([{ applicationId: '9NBLGGH4R315', flights: ['nope'] }])).toMatch(
      /WATCHDOG_APPS\[0\]\.flights\[0\]/,
    );
    expect(errorsOf([{ applicationId: '9NBLGGH4R315', alarm: 'x' }])).toMatch(/Unrecognized key/);
  });

  it('rejects a flight listed twice (in any case), which would be halted twice at once', () => {
    const flight = '43e448df-97c9-4a43-a0bc-2a445e736bcd';
    expect(errorsOf([{ applicationId: '9NBLGGH4R315', flights: [flight, flight.toUpperCase()] }])).toMatch(
      /WATCHDOG_APPS\[0\]\.flights: lists a flight ID twice/,
    );
  });

  it('rejects an alarm that is both halting and notify-only for the same app, naming WATCHDOG_APPS', () => {
    expect(
      errorsOf([{ applicationId: '9NBLGGH4R315', alarmNames: ['a', 'b'], notifyAlarmNames: ['c', 'b'] }]),
    ).toBe(
      'WATCHDOG_APPS[0].notifyAlarmNames[1]: "b" is also in alarmNames: an alarm either halts the app or only notifies',
    );
  });

  it('rejects an empty list and duplicate apps', () => {
    expect(errorsOf([])).toMatch(/at least one app/);
    expect(errorsOf([{ applicationId: '9NBLGGH4R315' }, { applicationId: '9NBLGGH4R315' }])).toMatch(
      /WATCHDOG_APPS\[1\]\.applicationId: 9NBLGGH4R315 is listed twice/,
    );
  });
});
