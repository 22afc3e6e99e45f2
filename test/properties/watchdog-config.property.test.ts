/**
 * `parseWatchdogConfig` (the stack's config in `cdk.json`) over arbitrary JSON and mutated real configs:
 * it returns a config the function and CloudWatch will accept, or rejects with a clear
 * `ConfigurationError` naming the field; it never throws anything else (a bad config must fail
 * `cdk synth` with one readable line, not a stack trace).
 */
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { watchedAppsSchema } from '../../functions/commons/domain/watched-apps.ts';
import { ConfigurationError } from '../../functions/commons/errors.ts';
import { deriveWatchedApps, parseWatchdogConfig, type WatchdogConfig } from '../../infra/config.ts';
import { anyJson, isClearError, mutatedFrom, NUM_RUNS, outcomeOf } from './arbitraries.ts';

const cdkJson: unknown = JSON.parse(readFileSync(new URL('../../cdk.json', import.meta.url), 'utf8'));
const sampleConfig: unknown =
  typeof cdkJson === 'object' && cdkJson !== null && 'context' in cdkJson ? cdkJson.context : undefined;
const projectConfig =
  typeof sampleConfig === 'object' && sampleConfig !== null && 'watchdog' in sampleConfig
    ? sampleConfig.watchdog
    : undefined;

/** Two apps sharing an alarm, an existing secret by ARN, e-mails, and created alarms with every field. */
const RICH_CONFIG = {
  secret: { arn: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:store-credentials-AbCdEf' },
  notificationEmails: ['release-team@example.com'],
  dryRun: false,
  apps: [
    {
      applicationId: '9NBLGGH4R315',
      name: 'Contoso Photos',
      flights: ['43e448df-97c9-4a43-a0bc-2a445e736bcd'],
      alarmNames: ['shared-crash-rate'],
      alarms: [
        {
          alarmName: 'contoso-photos-crash-rate',
          namespace: 'ContosoPhotos/Telemetry',
          metricName: 'CrashRate',
          dimensions: { Channel: 'Store' },
          statistic: 'p99',
          threshold: 2,
          periodSeconds: 60,
          evaluationPeriods: 5,
          datapointsToAlarm: 3,
        },
      ],
    },
    { applicationId: '9NBLGGH29DM8', mode: 'dry-run', alarmNames: ['shared-crash-rate'] },
  ],
};

const configs = fc.oneof(
  { weight: 1, arbitrary: fc.constantFrom(projectConfig, RICH_CONFIG) },
  { weight: 4, arbitrary: mutatedFrom(projectConfig) },
  { weight: 4, arbitrary: mutatedFrom(RICH_CONFIG) },
  { weight: 1, arbitrary: anyJson },
);

/** The promises of an accepted config: the function accepts what it derives, CloudWatch the alarms. */
function expectDeployable(config: WatchdogConfig): void {
  const apps = deriveWatchedApps(config);
  expect(watchedAppsSchema.safeParse(apps).success).toBe(true);
  for (const app of apps) expect(app.alarmNames.length).toBeGreaterThan(0);
  const specs = config.apps.flatMap((app) => app.alarms);
  const created = specs.map((spec) => spec.alarmName);
  expect(new Set(created).size).toBe(created.length);
  for (const spec of specs) {
    expect(spec.datapointsToAlarm ?? spec.evaluationPeriods).toBeLessThanOrEqual(spec.evaluationPeriods);
    expect(spec.periodSeconds * spec.evaluationPeriods).toBeLessThanOrEqual(86_400);
    expect(Number.isFinite(spec.threshold)).toBe(true);
  }
}

describe('parseWatchdogConfig, property-based', () => {
  it('has the project config to start from', () => {
    expect(() => parseWatchdogConfig(projectConfig)).not.toThrow();
    expect(() => parseWatchdogConfig(RICH_CONFIG)).not.toThrow();
  });

  it('returns a deployable config or a clear ConfigurationError naming the field, for arbitrary and mutated configs', () => {
    fc.assert(
      fc.property(configs, (input) => {
        const outcome = outcomeOf(() => parseWatchdogConfig(input));
        if (outcome.ok) {
          expectDeployable(outcome.value);
          return;
        }
        expect(isClearError(outcome.error, ConfigurationError)).toBe(true);
        const message = outcome.error instanceof Error ? outcome.error.message : '';
        expect(message).toMatch(/^invalid watchdog config\b/);
        expect(outcome.error instanceof ConfigurationError ? outcome.error.code : '').toBe(
          'INVALID_WATCHDOG_CONFIG',
        );
      }),
      { numRuns: NUM_RUNS },
    );
  });
});
