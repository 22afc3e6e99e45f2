import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { App, Stack, Validations } from 'aws-cdk-lib';
import { Queue } from 'aws-cdk-lib/aws-sqs';
import { describe, expect, it } from 'vitest';
import { ConfigurationError } from '../../functions/commons/errors.ts';
import { addNagChecks, createWatchdogApp } from '../../infra/watchdog-app.ts';

describe('createWatchdogApp', () => {
  it('fails on a bad config with a message naming the field, before building anything', () => {
    const context = { watchdog: { apps: [{ applicationId: 'CONTOSO', alarmNames: ['crash-rate'] }] } };

    expect(() => createWatchdogApp({ context })).toThrow(ConfigurationError);
    expect(() => createWatchdogApp({ context })).toThrow(
      /watchdog\.apps\[0\]\.applicationId: must be the Store ID/,
    );
  });
});

describe('infra/app.ts, as the CDK CLI runs it', () => {
  it('reports a bad config as one line naming the field, and exits with 1', () => {
    const context = {
      watchdog: { apps: [{ applicationId: '9NBLGGH4R315', alarmNames: ['a'] }], dryrun: true },
    };

    const run = spawnSync(process.execPath, ['infra/app.ts'], {
      cwd: fileURLToPath(new URL('../..', import.meta.url)),
      env: { PATH: process.env.PATH, CDK_CONTEXT_JSON: JSON.stringify(context) },
      encoding: 'utf8',
      timeout: 90_000,
    });
    expect(run.error, 'infra/app.ts did not finish within 90 s').toBeUndefined();

    expect(run.status).toBe(1);
    expect(run.stderr.trim()).toBe(
      'invalid watchdog config (cdk.json, context "watchdog"): watchdog: Unrecognized key: "dryrun"',
    );
  });
});

describe('infra/app.ts with a config that parses but cannot be built', () => {
  it('stops at the config error: its one line, exit status 1, no CDK stack trace and no template synthesized', () => {
    // 30 apps watching every flight cannot all be read in the two runs a day of a 12-hour schedule: the
    // self-check finds that while the stack is being built, after the app exists.
    const apps = Array.from({ length: 30 }, (_, index) => ({
      applicationId: `9NCAT${String(index).padStart(7, '0')}`,
      alarmNames: [`contoso-${index}-crash-rate`],
      flights: 'all',
    }));
    const outdir = mkdtempSync(join(tmpdir(), 'watchdog-app-'));
    try {
      const run = spawnSync(process.execPath, ['infra/app.ts'], {
        cwd: fileURLToPath(new URL('../..', import.meta.url)),
        env: {
          PATH: process.env.PATH,
          CDK_OUTDIR: outdir,
          CDK_CONTEXT_JSON: JSON.stringify({
            watchdog: { apps, selfCheck: { scheduleHours: 12 } },
            'aws:cdk:bundling-stacks': [],
          }),
        },
        encoding: 'utf8',
        timeout: 90_000,
      });
      expect(run.error, 'infra/app.ts did not finish within 90 s').toBeUndefined();

      expect(run.status).toBe(1);
      expect(run.stderr.trim().split('\n')).toEqual([
        expect.stringMatching(
          /^invalid watchdog config: watchdog\.selfCheck\.scheduleHours: the self-check cannot read all 30 apps at least once a day: .*; set watchdog\.selfCheck\.scheduleHours to at most/,
        ),
      ]);
      expect(readdirSync(outdir).filter((name) => name.endsWith('.template.json'))).toEqual([]);
    } finally {
      rmSync(outdir, { recursive: true, force: true });
    }
  });
});

describe('addNagChecks', () => {
  it('fails the synth on an unacknowledged AwsSolutions or Serverless finding', () => {
    const app = new App();
    new Queue(new Stack(app, 'Noncompliant'), 'PlainQueue');
    addNagChecks(app);

    expect(() => app.synth()).toThrow(
      /AwsSolutions-SQS4[\s\S]*Serverless-SQSRedrivePolicy|Serverless-SQSRedrivePolicy[\s\S]*AwsSolutions-SQS4/,
    );
  });

  it('lets a finding pass once it is acknowledged, with a reason, on its construct', () => {
    const app = new App();
    const queue = new Queue(new Stack(app, 'Acknowledged'), 'PlainQueue', { enforceSSL: true });
    for (const id of ['AwsSolutions-SQS3', 'Serverless-SQSRedrivePolicy']) {
      Validations.of(queue).acknowledge({ id, reason: 'a test queue' });
    }
    addNagChecks(app);

    expect(() => app.synth()).not.toThrow();
  });
});
