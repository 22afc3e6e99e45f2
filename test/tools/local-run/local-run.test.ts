import { spawn } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runLocalRunCommand } from '../../../tools/local-run/command.ts';
import { checkOutcome, type LocalRunOptions, runLocalRun } from '../../../tools/local-run/local-run.ts';
import { loadLocalRunEvent } from '../../../tools/local-run/scenario.ts';
import {
  SAMPLE_APP_ID,
  SAMPLE_PUBLISHED_SUBMISSION_ID,
  SAMPLE_TENANT,
} from '../../../tools/store-simulator/sample-state.ts';
import { loadEventFixture } from '../../fixtures/events/load.ts';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const ENTRY = join(ROOT, 'tools/local-run/index.ts');

const DEFAULTS: LocalRunOptions = {
  dryRun: false,
  manual: false,
  enforce: false,
  alreadyHalted: false,
  flaky: false,
};

/** Runs the command in this process and captures what it writes. */
async function runCommand(argv: string[], options: { color?: boolean } = {}) {
  let stdout = '';
  let stderr = '';
  const code = await runLocalRunCommand(argv, {
    stdout: { write: (text: string) => (stdout += text) },
    stderr: { write: (text: string) => (stderr += text) },
    color: options.color ?? false,
    cwd: ROOT,
  });
  return { code, stdout, stderr };
}

/** Runs `node tools/local-run/index.ts` as a person would (output to pipes: no TTY, no colour). */
function runChild(argv: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [ENTRY, ...argv], { cwd: ROOT, timeout: 90_000 });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

const SCENARIOS: readonly { argv: readonly string[]; story: string; subject: string }[] = [
  { argv: [], story: 'halted: the main rollout is stopped', subject: 'HALTED Contoso Photos rollout (20%)' },
  {
    argv: ['--dry-run'],
    story: 'decision for the main rollout: WOULD HALT',
    subject: 'DRY RUN: would halt Contoso Photos rollout (20%)',
  },
  {
    argv: ['--manual'],
    story: 'decision for the main rollout: WOULD HALT',
    subject: 'DRY RUN: would halt Contoso Photos rollout (20%)',
  },
  {
    argv: ['--manual', '--enforce'],
    story: 'halted: the main rollout is stopped',
    subject: 'HALTED Contoso Photos rollout (20%)',
  },
  {
    argv: ['--already-halted'],
    story: 'its rollout is already stopped',
    subject: 'Contoso Photos rollout was already halted',
  },
  { argv: ['--flaky'], story: '-> 503', subject: 'HALTED Contoso Photos rollout (20%)' },
];

describe('local run: the stories end in the Store as the scenario says', () => {
  it('the default story halts the live 20% rollout exactly once and leaves the pending submission alone', async () => {
    const outcome = await runLocalRun(DEFAULTS);

    expect(outcome.ok).toBe(true);
    expect(outcome.problems).toEqual([]);
    expect(outcome.result?.targets).toEqual([
      expect.objectContaining({
        applicationId: SAMPLE_APP_ID,
        submissionId: SAMPLE_PUBLISHED_SUBMISSION_ID,
        rolloutPercentage: 20,
        result: 'halted',
      }),
    ]);
    expect(outcome.before.rollout.packageRolloutStatus).toBe('PackageRolloutInProgress');
    expect(outcome.after.rollout.packageRolloutStatus).toBe('PackageRolloutStopped');
    expect(outcome.after.effectiveHalts).toBe(1);
    expect(outcome.after.pending).toEqual(outcome.before.pending);
    expect(outcome.notification?.subject).toBe('[Store watchdog] HALTED Contoso Photos rollout (20%)');
  });

  it('a global dry run finds the rollout, reports would-halt and changes nothing', async () => {
    const outcome = await runLocalRun({ ...DEFAULTS, dryRun: true });

    expect(outcome.ok).toBe(true);
    expect(outcome.result?.targets[0]?.result).toBe('would-halt');
    expect(outcome.after.rollout).toEqual(outcome.before.rollout);
    expect(outcome.after.effectiveHalts).toBe(0);
    expect(outcome.requests.some((request) => request.method === 'POST' && request.kind === 'store')).toBe(
      false,
    );
  });

  it('a manual event is a dry run unless --enforce, then it halts', async () => {
    const dry = await runLocalRun({ ...DEFAULTS, manual: true });
    const enforced = await runLocalRun({ ...DEFAULTS, manual: true, enforce: true });

    expect(dry.ok).toBe(true);
    expect(dry.result?.targets[0]?.result).toBe('would-halt');
    expect(dry.after.rollout.packageRolloutStatus).toBe('PackageRolloutInProgress');
    expect(enforced.ok).toBe(true);
    expect(enforced.result?.targets[0]?.result).toBe('halted');
    expect(enforced.after.rollout.packageRolloutStatus).toBe('PackageRolloutStopped');
    expect(enforced.after.effectiveHalts).toBe(1);
  });

  it('a rollout stopped before the alarm is reported already-halted, with no halt sent', async () => {
    const outcome = await runLocalRun({ ...DEFAULTS, alreadyHalted: true });

    expect(outcome.ok).toBe(true);
    expect(outcome.result?.targets[0]?.result).toBe('already-halted');
    expect(outcome.after.effectiveHalts).toBe(0);
    expect(
      outcome.requests.filter((request) => request.method === 'POST' && request.kind === 'store'),
    ).toEqual([]);
  });

  it('a flaky Store (429 with Retry-After, then 503 on the halt that took effect) still halts exactly once', async () => {
    const outcome = await runLocalRun({ ...DEFAULTS, flaky: true });

    expect(outcome.ok).toBe(true);
    expect(outcome.result?.targets[0]?.result).toBe('halted');
    expect(outcome.after.effectiveHalts).toBe(1);
    const statuses = outcome.requests.map((request) => `${request.method} ${request.status}`);
    expect(statuses).toContain('GET 429');
    expect(statuses).toContain('POST 503');
    // One halt POST, then a read: never a second POST after the ambiguous 503.
    const storePosts = outcome.requests.filter(
      (request) => request.kind === 'store' && request.method === 'POST',
    );
    expect(storePosts).toHaveLength(1);
    // Retry-After: 1 was honoured before the second read of the app.
    const appReads = outcome.requests.filter((request) =>
      request.path.endsWith(`/applications/${SAMPLE_APP_ID}`),
    );
    expect(appReads.map((request) => request.status)).toEqual([429, 200]);
    expect((appReads[1]?.startedAt ?? 0) - (appReads[0]?.startedAt ?? 0)).toBeGreaterThanOrEqual(950);
  });

  it('answers with the configured latency and still completes the story', async () => {
    const outcome = await runLocalRun({ ...DEFAULTS, latencyMs: 40 });

    expect(outcome.ok).toBe(true);
    const storeRead = outcome.requests.find((request) => request.kind === 'store');
    expect((storeRead?.endedAt ?? 0) - (storeRead?.startedAt ?? 0)).toBeGreaterThanOrEqual(35);
  });

  it('flags a story that did not end as expected (the rollout still live after the default story)', async () => {
    const dry = await runLocalRun({ ...DEFAULTS, dryRun: true });

    const problems = checkOutcome({
      ...dry,
      scenario: {
        ...dry.scenario,
        expected: { result: 'halted', rolloutStatus: 'PackageRolloutStopped', effectiveHalts: 1 },
      },
    });

    expect(problems).toEqual([
      'expected the main rollout to be halted, but it was would-halt',
      'expected the rollout to end PackageRolloutStopped, but the Store has it PackageRolloutInProgress',
      'expected 1 halt(s) to take effect in the Store, but 0 did',
    ]);
  });
});

describe('local run: the command tells the story', () => {
  it.each(SCENARIOS)(
    '$argv exits 0 with the rollout found at 20%, the key step and the subject',
    async ({ argv, story, subject }) => {
      const { code, stdout, stderr } = await runCommand([...argv]);

      expect(stderr).toBe('');
      expect(code).toBe(0);
      expect(stdout).toMatch(/alarm received|manual event received/);
      if (!argv.includes('--already-halted')) {
        expect(stdout).toContain(
          `found the live main rollout: submission ${SAMPLE_PUBLISHED_SUBMISSION_ID}, in progress at 20%`,
        );
      }
      expect(stdout).toContain(story);
      expect(stdout).toContain(`Subject: [Store watchdog] ${subject}`);
      expect(stdout).toMatch(
        /\n {2}\+ +\d+ ms {6}Store {5}GET applications\/9NBLGGH4R315 -> \d{3} \(\d+ ms\)/,
      );
      expect(stdout).toMatch(/\nOK: /);
    },
  );

  it('shows how long the halt took and the text body of the e-mail', async () => {
    const { stdout } = await runCommand([]);

    expect(stdout).toMatch(/Time to halt {3}\d+ ms from the start of the decision/);
    expect(stdout).toContain('The Store watchdog HALTED a package rollout.');
    expect(stdout).toContain('Next step: Investigate the crashes.');
  });

  it('writes plain text without colour unless told the terminal wants it', async () => {
    const plain = await runCommand([]);
    const coloured = await runCommand([], { color: true });

    expect(plain.stdout).not.toContain('\u001b[');
    expect(coloured.stdout).toContain('\u001b[');
  });

  it('never prints the client secret', async () => {
    const { stdout, stderr } = await runCommand(['--flaky']);

    expect(stdout + stderr).not.toContain(SAMPLE_TENANT.clientSecret);
  });

  it('--json prints one JSON object with the result and the Store afterwards', async () => {
    const { code, stdout } = await runCommand(['--json']);

    expect(code).toBe(0);
    const json = JSON.parse(stdout);
    expect(json).toMatchObject({
      ok: true,
      result: { targets: [{ applicationId: SAMPLE_APP_ID, result: 'halted', rolloutPercentage: 20 }] },
      notification: { subject: '[Store watchdog] HALTED Contoso Photos rollout (20%)', outcome: 'halted' },
      store: { after: { packageRolloutStatus: 'PackageRolloutStopped' }, effectiveHalts: 1 },
    });
  });

  it('--event runs your own event: an alarm going back to OK is ignored and exits 0', async () => {
    const { code, stdout } = await runCommand(['--event', 'test/fixtures/events/eventbridge-alarm-ok.json']);

    expect(code).toBe(0);
    expect(stdout).toContain('event ignored: alarm "contoso-photos-crash-rate" went to OK');
    expect(stdout).toContain('none: an ignored event publishes nothing');
  });

  it('--event with an event the watchdog rejects exits 1 and says why', async () => {
    const folder = await mkdtemp(join(tmpdir(), 'local-run-'));
    const file = join(folder, 'event.json');
    await writeFile(file, JSON.stringify({ applicationId: '9NBLGGH29DM8', dryRun: false }));

    const { code, stdout } = await runCommand(['--event', file]);

    expect(code).toBe(1);
    expect(stdout).toContain('PROBLEM: the story did not end as expected');
    expect(stdout).toContain('UNKNOWN_APPLICATION');
  });

  it.each([
    [['--enforce'], '--enforce goes with --manual'],
    [['--latency', 'fast'], '--latency must be a whole number of milliseconds'],
    [['--nope'], "Unknown option '--nope'"],
    [['--manual', '--event', 'x.json'], '--event and --manual both name the event'],
    [['--event', 'no-such-file.json'], 'cannot read --event no-such-file.json: ENOENT'],
    [['--event', 'README.md'], '--event README.md is not JSON'],
  ])('%j is a usage error: exit 2, the reason and the help on stderr', async (argv, reason) => {
    const { code, stdout, stderr } = await runCommand(argv);

    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toContain(reason);
    expect(stderr).toContain('Usage: npm start -- [options]');
  });

  it('says it runs its own sample config and its dry-run setting, not cdk.json', async () => {
    const halting = await runCommand([]);
    expect(halting.stdout).toContain("\n  Config         this run's own sample config, not your cdk.json\n");
    expect(halting.stdout).toContain(
      `\n  "dryRun"       false in this run, so it halts (cdk.json's "dryRun" is for the deployed watchdog)\n`,
    );

    const dry = await runCommand(['--dry-run']);
    expect(dry.stdout).toContain('\n  "dryRun"       true (--dry-run: decide and report, never halt)\n');

    const help = await runCommand(['--help']);
    expect(help.stdout).toContain(
      'It runs its own sample config (the sample app, enforced, "dryRun": false unless --dry-run), not your\n' +
        'cdk.json: the "dryRun" in cdk.json (true in the shipped sample) governs only the deployed watchdog.',
    );
  });

  it('--help prints the options and exits 0', async () => {
    const { code, stdout } = await runCommand(['--help']);

    expect(code).toBe(0);
    for (const option of [
      '--dry-run',
      '--manual',
      '--already-halted',
      '--flaky',
      '--latency MS',
      '--json',
      '--event FILE',
    ]) {
      expect(stdout).toContain(option);
    }
  });
});

describe('local run: `node tools/local-run/index.ts` as a command', () => {
  it.each(SCENARIOS)('$argv exits 0 and prints the story without colour', async ({ argv, subject }) => {
    const { code, stdout } = await runChild([...argv]);

    expect(code).toBe(0);
    expect(stdout).toContain(`Subject: [Store watchdog] ${subject}`);
    expect(stdout).toMatch(/\nOK: /);
    expect(stdout).not.toContain('\u001b[');
  });

  it('exits 2 on a usage error', async () => {
    const { code, stderr } = await runChild(['--bogus']);

    expect(code).toBe(2);
    expect(stderr).toContain("Unknown option '--bogus'");
  });
});

describe('local run: sample events', () => {
  it.each([
    ['sns-alarm', 'sns-alarm'],
    ['manual-dry-run', 'manual-dry-run'],
    ['manual-enforce', 'manual-enforce'],
  ] as const)('tools/local-run/events/%s.json matches the test fixture', async (local, fixture) => {
    expect(loadLocalRunEvent(local)).toEqual(loadEventFixture(fixture));
  });
});
