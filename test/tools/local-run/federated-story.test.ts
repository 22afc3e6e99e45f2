/**
 * `npm start -- --federated`: the federated credentials story end to end on the stand-ins, with the
 * functions' own code: federation off (refused, with the command), switched on by the custom resource's
 * code, an unknown function (refused, with the az command), then trusted, then a halt with no key.
 */
import { describe, expect, it } from 'vitest';
import { runLocalRunCommand } from '../../../tools/local-run/command.ts';
import { runFederatedStory } from '../../../tools/local-run/federated-story.ts';

describe('local run: the federated credentials story', () => {
  it('is refused twice with the fix, then halts the rollout signed in with the function’s AWS identity', async () => {
    const story = await runFederatedStory();

    expect(story.problems).toEqual([]);
    expect(story.ok).toBe(true);
    expect(story.refusals).toEqual(['FEDERATION_DISABLED', 'AUTH_REJECTED']);
    expect(story.halted).toBe(true);
    const text = story.lines.join('\n');
    expect(text).toContain(
      'fix: Switch outbound identity federation on in this account, once: run aws iam enable-outbound-web-identity-federation',
    );
    expect(text).toContain('AADSTS70021');
    expect(text).toMatch(
      /az ad app federated-credential create --id 00000000-0000-4000-8000-0000000000c1 --parameters '\{"name":"StoreRolloutWatchdog-HaltRollout"/,
    );
    expect(text).toContain(
      'Store    POST applications/9NBLGGH4R315/submissions/1152921504621243680/haltpackagerollout -> 200',
    );
    // The secret shown has no key, and no token ever reaches the story.
    expect(text).not.toMatch(/clientSecret/);
    expect(text).not.toMatch(/eyJ[\w-]+\.eyJ/);
  });

  it('prints JSON with --json and refuses other scenario options', async () => {
    let stdout = '';
    let stderr = '';
    const io = {
      stdout: { write: (text: string) => (stdout += text) },
      stderr: { write: (text: string) => (stderr += text) },
    };

    expect(await runLocalRunCommand(['--federated', '--json'], io)).toBe(0);
    expect(JSON.parse(stdout)).toEqual({
      ok: true,
      problems: [],
      refusals: ['FEDERATION_DISABLED', 'AUTH_REJECTED'],
      halted: true,
    });
    expect(await runLocalRunCommand(['--federated', '--flaky'], io)).toBe(2);
    expect(stderr).toContain('--federated tells its own story; leave out --flaky');
  });
});
