/**
 * The suite-wide secret check (`test/support/secret-leaks.ts`): it fails on a real leak, and the harness
 * really feeds it what the function shows the world. The check itself runs after every test file that
 * uses the watchdog harness.
 */
import { describe, expect, it } from 'vitest';
import { SAMPLE_TENANT } from '../../tools/store-simulator/sample-state.ts';
import { loadEventFixture } from '../fixtures/events/load.ts';
import { describeWithMoto, MOTO_SKIP_REASON } from '../support/aws.ts';
import { SecretLeakCollector, suiteLeakCollector } from '../support/secret-leaks.ts';
import { startWatchdog } from '../support/watchdog-harness.ts';

const SECRET = 'Zx9/Secret+Value=with "quotes"';
const TOKEN = 'eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.payload.signature';

describe('secret leak collector', () => {
  it.each([
    ['a log line', 'log', JSON.stringify({ level: 'ERROR', message: `token was ${TOKEN}` }), 'access token'],
    ['an error', 'error', `AuthError: rejected client_secret=${encodeURIComponent(SECRET)}`, 'client secret'],
    [
      'a notification',
      'notification',
      JSON.stringify({ Message: JSON.stringify({ s: SECRET }) }),
      'client secret',
    ],
  ])(
    'fails when a value leaks into %s, saying what and where but never the value',
    (_label, source, text, kind) => {
      const collector = new SecretLeakCollector();
      collector.watch('client secret', SECRET);
      collector.watch('access token', TOKEN);
      collector.record('log', 'an innocent line');
      collector.record(source, text);

      expect(() => collector.assertNoLeaks()).toThrow(`a ${kind}`);
      const message = (() => {
        try {
          collector.assertNoLeaks();
          return '';
        } catch (error) {
          return error instanceof Error ? error.message : String(error);
        }
      })();
      expect(message).toContain(`${source} #1`);
      expect(message).not.toContain(SECRET);
      expect(message).not.toContain(TOKEN);
    },
  );

  it('finds the secret as is, URL-encoded (a form body) and JSON-escaped (once, or twice as in an SNS envelope)', () => {
    const collector = new SecretLeakCollector();
    collector.watch('client secret', SECRET);
    collector.record('log', `plain ${SECRET}`);
    collector.record('log', `client_secret=${encodeURIComponent(SECRET)}`);
    collector.record('log', JSON.stringify({ value: SECRET }));
    collector.record('notification', JSON.stringify({ Message: JSON.stringify({ value: SECRET }) }));

    expect(collector.findLeaks().map((finding) => finding.spelling)).toEqual([
      'as is',
      'URL-encoded',
      'JSON-escaped',
      'JSON-escaped twice',
    ]);
  });

  it('passes when nothing leaked, and ignores values too short to tell apart from IDs', () => {
    const collector = new SecretLeakCollector();
    collector.watch('client secret', SECRET);
    collector.watch('access token', '0');
    collector.record('log', 'submission 1152921504621243680 halted');

    expect(() => collector.assertNoLeaks()).not.toThrow();
    expect(collector.stats().watched).toBe(1);
  });

  it('reads lazily watched values when it checks, so a token issued later still counts', () => {
    const collector = new SecretLeakCollector();
    const issued: string[] = [];
    collector.watchAll(() => issued.map((token) => ['access token', token] as const));
    collector.record('log', `Bearer ${TOKEN}`);
    expect(collector.findLeaks()).toEqual([]);

    issued.push(TOKEN);

    expect(collector.findLeaks()).toEqual([
      { kind: 'access token', source: 'log', textIndex: 0, spelling: 'as is' },
    ]);
  });
});

describeWithMoto(`secret leak check over the watchdog harness${MOTO_SKIP_REASON}`, () => {
  it('sees the log lines, errors, results and notifications of every invocation, with the tokens and secret watched', async () => {
    const before = suiteLeakCollector.stats();
    const harness = await startWatchdog();
    try {
      await harness.warmUpSettled();
      harness.simulator.control.expireAllTokens();
      // One acting invocation that fails (a notification and an error), one that succeeds (a result).
      harness.simulator.control.failNext({ status: 404, count: 20, match: { kind: 'store', method: 'GET' } });
      const failed = await harness.invoke(loadEventFixture('sns-alarm'));
      harness.simulator.control.clearFaults();
      const halted = await harness.invoke(loadEventFixture('sns-alarm'));
      expect(failed.error).toMatchObject({ name: 'TargetsFailedError', code: 'TARGETS_FAILED' });
      expect(halted.result?.targets.map((target) => target.result)).toEqual(['halted', 'halted']);
      await harness.sink.drain({ expect: 2 });
    } finally {
      await harness.close();
    }

    const after = suiteLeakCollector.stats();
    const grew = (source: string) => (after.bySource[source] ?? 0) - (before.bySource[source] ?? 0);
    expect(grew('log')).toBeGreaterThan(5);
    expect(grew('error')).toBe(1);
    expect(grew('result')).toBe(1);
    expect(grew('notification')).toBe(2);
    // The sample secret and at least the two tokens issued (before and after expiry).
    expect(after.watched).toBeGreaterThanOrEqual(3);
    expect(harness.simulator.control.issuedTokens().length).toBeGreaterThanOrEqual(2);
    expect(suiteLeakCollector.findLeaks()).toEqual([]);
    expect(SAMPLE_TENANT.clientSecret.length).toBeGreaterThanOrEqual(8);
  });
});
