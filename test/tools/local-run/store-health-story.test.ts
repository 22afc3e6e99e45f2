/**
 * `npm start -- --store-health`: the Store health story end to end on the simulator, with the probe's
 * and the halt path's own code: a healthy ratio, the spike in the Store's reports, ratios above the
 * threshold for the alarm's periods, the alarm (evaluated by hand, and said so), one halt, the
 * notification.
 */
import { describe, expect, it } from 'vitest';
import { runLocalRunCommand } from '../../../tools/local-run/command.ts';
import { runStoreHealthStory } from '../../../tools/local-run/store-health-story.ts';

function capture() {
  let stdout = '';
  let stderr = '';
  return {
    io: {
      stdout: { write: (text: string) => (stdout += text) },
      stderr: { write: (text: string) => (stderr += text) },
    },
    out: () => stdout,
    err: () => stderr,
  };
}

describe('local run: the Store health story', () => {
  it('goes from a healthy ratio to a halt through the (simulated) alarm, and says the alarm is simulated', async () => {
    const story = await runStoreHealthStory();

    expect(story.problems).toEqual([]);
    expect(story.ok).toBe(true);
    const [healthy, ...afterSpike] = story.ratios;
    expect(healthy).toBeLessThanOrEqual(3);
    expect(afterSpike).toHaveLength(2);
    for (const ratio of afterSpike) expect(ratio).toBeGreaterThan(3);
    expect(story.halted).toBe(true);
    expect(story.notification?.subject).toContain('HALTED Contoso Photos');
    // The notification says the signal came from the Store's own failure reports (the alarm's name).
    expect(story.notification?.text).toContain('Alarm "StoreRolloutWatchdog-store-health-9NBLGGH4R315"');
    const text = story.lines.join('\n');
    expect(text).toContain('SIMULATED: no CloudWatch on this machine');
    expect(text).toMatch(/1\.4\.0\.0 {2}[\d.]+ crash devices/);
  });

  it('prints JSON with --json and exits 0', async () => {
    const { io, out } = capture();
    const code = await runLocalRunCommand(['--store-health', '--json'], io);
    expect(code).toBe(0);
    expect(JSON.parse(out())).toMatchObject({ ok: true, halted: true, notification: { outcome: 'halted' } });
  });

  it('refuses to mix --store-health with the alarm story options', async () => {
    const { io, err } = capture();
    expect(await runLocalRunCommand(['--store-health', '--dry-run'], io)).toBe(2);
    expect(err()).toContain('--store-health tells its own story; leave out --dry-run');
  });
});
