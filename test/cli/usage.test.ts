import { describe, expect, it } from 'vitest';
import { SAMPLE_APP_ID } from '../../tools/store-simulator/sample-state.ts';
import { runCliCaptured, startCliStore, writeCdkJson } from './support.ts';

describe('store-watchdog: usage', () => {
  it.each([
    [[], 'error: a command is required', 'Usage: store-watchdog <command> [options]'],
    [['frobnicate'], 'error: unknown command "frobnicate"', 'Usage: store-watchdog <command> [options]'],
    [['status', '--bogus'], "error: Unknown option '--bogus'", 'Usage: store-watchdog status'],
    [
      ['status', 'extra'],
      "error: Unexpected argument 'extra'. This command does not take positional arguments",
      'Usage: store-watchdog status',
    ],
    [['halt'], 'error: --app ID is required', 'Usage: store-watchdog halt --app ID'],
    [
      ['halt', '--app'],
      "error: Option '--app <value>' argument missing",
      'Usage: store-watchdog halt --app ID',
    ],
    [
      ['halt', '--app', 'contoso'],
      'error: --app: must be the app\'s Store ID, 12 letters and digits (e.g. 9NBLGGH4R315); got "contoso"',
      'Usage: store-watchdog halt --app ID',
    ],
    [
      ['halt', '--app', SAMPLE_APP_ID, '--flight', 'insiders'],
      'error: --flight: flightId must be a GUID; got "insiders"',
      'Usage: store-watchdog halt --app ID',
    ],
    [['drill'], 'error: --app ID is required', 'Usage: store-watchdog drill --app ID'],
    [
      ['drill', '--app', SAMPLE_APP_ID, '--yes'],
      "error: Unknown option '--yes'",
      'Usage: store-watchdog drill',
    ],
  ])('%j exits 2 with the reason and the help on stderr, and calls nothing', async (argv, reason, help) => {
    const { simulator, env } = await startCliStore();

    const { code, stdout, stderr } = await runCliCaptured(argv, env);

    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr.startsWith(`${reason}\n\n${help}`)).toBe(true);
    expect(simulator.control.requests).toEqual([]);
  });

  it.each([
    [['--help'], 'Usage: store-watchdog <command> [options]'],
    [['-h'], 'Usage: store-watchdog <command> [options]'],
    [['status', '--help'], 'Usage: store-watchdog status [--json] [common options]'],
    [['halt', '--help'], 'Usage: store-watchdog halt --app ID [--flight ID] [--yes] [common options]'],
    [['drill', '-h'], 'Usage: store-watchdog drill --app ID [--check-alarms] [common options]'],
  ])('%j prints the help and exits 0 without any config or credentials', async (argv, usage) => {
    const { code, stdout, stderr } = await runCliCaptured(argv, {}, '/nonexistent');

    expect(code).toBe(0);
    expect(stderr).toBe('');
    expect(stdout.startsWith(usage)).toBe(true);
    expect(stdout).toContain('Exit status: 0');
  });
});

describe('store-watchdog: configuration errors are one clear line, exit 1, no stack', () => {
  it('without WATCHDOG_APPS or a cdk.json here', async () => {
    const { env } = await startCliStore();
    const { WATCHDOG_APPS: _unused, ...withoutApps } = env;

    const { code, stderr } = await runCliCaptured(['status'], withoutApps, '/nonexistent');

    expect(code).toBe(1);
    expect(stderr).toBe(
      'error: CONFIG_UNREADABLE: no watchdog config: /nonexistent/cdk.json cannot be read (ENOENT); ' +
        'run from the project folder, pass --config FILE, or set WATCHDOG_APPS\n',
    );
  });

  it('names the field of a bad stack config', async () => {
    const { env } = await startCliStore();
    const folder = await writeCdkJson({ apps: [{ applicationId: 'nope', alarmNames: ['a'] }] });

    const { code, stderr } = await runCliCaptured(['status', '--config', `${folder}/cdk.json`], env);

    expect(code).toBe(1);
    expect(stderr).toContain('error: INVALID_WATCHDOG_CONFIG: ');
    expect(stderr).toContain('watchdog.apps[0].applicationId: must be the Store ID');
    expect(stderr).not.toContain('    at ');
  });

  it('names WATCHDOG_APPS when it is not valid', async () => {
    const { env } = await startCliStore();

    const { code, stderr } = await runCliCaptured(['status'], { ...env, WATCHDOG_APPS: '[{' });

    expect(code).toBe(1);
    expect(stderr).toContain('WATCHDOG_APPS must be a JSON array of watched apps');
  });

  it('refuses a plain-http Store URL that is not loopback', async () => {
    const { env } = await startCliStore();

    const { code, stderr } = await runCliCaptured(
      ['status', '--store-url', 'http://store.example.com/v1.0/my/'],
      env,
    );

    expect(code).toBe(1);
    expect(stderr).toContain('STORE_API_BASE_URL must be an https:// URL');
  });

  it('asks for the missing credential variables, never echoing the ones given', async () => {
    const { env, tenant } = await startCliStore();
    const { STORE_CLIENT_ID: _unused, ...partial } = env;

    const { code, stderr } = await runCliCaptured(['status'], partial);

    expect(code).toBe(1);
    expect(stderr).toBe(
      'error: INCOMPLETE_CREDENTIALS: STORE_CLIENT_ID is not set (STORE_TENANT_ID and STORE_CLIENT_SECRET are): ' +
        'set all three, or none and use a secret\n',
    );
    expect(stderr).not.toContain(tenant.clientSecret);
  });

  it('--store-url and --authority point it at another Store than the environment', async () => {
    const { simulator, env } = await startCliStore();
    const elsewhere = {
      ...env,
      STORE_API_BASE_URL: 'https://store.invalid/',
      AZURE_AD_AUTHORITY: 'https://login.invalid',
    };

    const { code } = await runCliCaptured(
      ['status', '--store-url', simulator.storeBaseUrl, '--authority', simulator.authority],
      elsewhere,
    );

    expect(code).toBe(0);
    expect(simulator.control.requests.length).toBeGreaterThan(0);
  });
});
