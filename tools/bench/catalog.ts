/**
 * A publisher's whole catalog as a watchdog config: hundreds of apps in one stack (one per Partner
 * Center tenant), generated, and synthesized the way `cdk synth` does it. Used by the stack test that
 * proves a 500-app config synthesizes within EventBridge's and Lambda's limits, and by
 * `npm run bench -- --synth`, which reports how long that takes and how large the result is.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { App } from 'aws-cdk-lib';
import type { WatchdogConfigInput } from '../../infra/config.ts';
import { createWatchdogApp } from '../../infra/watchdog-app.ts';
import type { WatchdogStack } from '../../infra/watchdog-stack.ts';

export interface CatalogOptions {
  /** How many apps. */
  readonly apps: number;
  /** How many of them have their alarm created by the stack (the rest name existing alarms). @default 10 */
  readonly createdAlarms?: number;
  /** Watch the alarms through one prefix rule (`alarmNamePrefix`) instead of listing the names. @default false */
  readonly alarmNamePrefix?: boolean;
  /** `selfCheck.scheduleHours`. @default 1 */
  readonly selfCheckScheduleHours?: number;
}

/** The prefix every generated alarm name starts with. */
export const CATALOG_ALARM_PREFIX = 'contoso-catalog-';

/** The Store ID of the `index`th app (12 upper-case letters and digits). */
export function catalogAppId(index: number): string {
  return `9NCAT${String(index).padStart(7, '0')}`;
}

/**
 * `index`th app's crash alarm. Every fifth app watches all its package flights; the first hundred also
 * list one fleet-wide alarm (one alarm watching many apps).
 */
export function createCatalogConfig(options: CatalogOptions): WatchdogConfigInput {
  const created = options.createdAlarms ?? 10;
  const apps = Array.from({ length: options.apps }, (_, index) => {
    const alarmName = `${CATALOG_ALARM_PREFIX}${String(index).padStart(4, '0')}-crash-rate`;
    const fleet = index < 100 ? [`${CATALOG_ALARM_PREFIX}fleet-crash-rate`] : [];
    return {
      applicationId: catalogAppId(index),
      name: `Contoso Catalog App ${index}`,
      ...(index % 5 === 0 ? { flights: 'all' as const } : {}),
      ...(index < created
        ? {
            alarmNames: fleet,
            alarms: [
              {
                alarmName,
                namespace: 'ContosoCatalog/Telemetry',
                metricName: 'CrashRate',
                dimensions: { App: catalogAppId(index) },
                threshold: 2,
                periodSeconds: 10,
                evaluationPeriods: 3,
                datapointsToAlarm: 2,
              },
            ],
          }
        : { alarmNames: [alarmName, ...fleet] }),
    };
  });
  return {
    dryRun: true,
    apps,
    selfCheck: { scheduleHours: options.selfCheckScheduleHours ?? 1 },
    ...(options.alarmNamePrefix === true ? { alarmNamePrefix: CATALOG_ALARM_PREFIX } : {}),
  };
}

export interface SynthesizedCatalog {
  readonly app: App;
  readonly stack: WatchdogStack;
  /** The stack's CloudFormation template. */
  readonly template: Record<string, unknown>;
  /** The template file's size as `cdk synth` writes it (bytes). */
  readonly templateBytes: number;
  /** Each asset's `index.mjs` size (bytes), by asset directory. */
  readonly assetBytes: ReadonlyMap<string, number>;
  /** Wall time of building the app and synthesizing it (bundling included unless turned off). */
  readonly elapsedMs: number;
  /** The cloud assembly directory (removed by `dispose`). */
  readonly directory: string;
  readonly dispose: () => void;
}

/**
 * Builds the app with `config` as its `watchdog` context (cdk-nag packs on, as `cdk synth`) and
 * synthesizes it into a temporary directory. `bundle: false` skips bundling the functions.
 */
export function synthesizeCatalog(
  config: WatchdogConfigInput,
  options: { readonly bundle?: boolean } = {},
): SynthesizedCatalog {
  const outdir = mkdtempSync(join(tmpdir(), 'watchdog-catalog-'));
  const context: Record<string, unknown> = { watchdog: config };
  if (options.bundle === false) context['aws:cdk:bundling-stacks'] = [];
  const started = performance.now();
  const { app, stack } = createWatchdogApp({ context, outdir });
  const assembly = app.synth();
  const elapsedMs = performance.now() - started;
  const artifact = assembly.getStackByName(stack.stackName);
  const templatePath = join(assembly.directory, artifact.templateFile);
  const template: Record<string, unknown> = JSON.parse(readFileSync(templatePath, 'utf8'));
  const assetBytes = new Map<string, number>();
  // The functions' bundles (one ES module each); the CDK's own custom resource provider ships prebuilt.
  const bundles = readdirSync(assembly.directory).filter(
    (entry) => entry.startsWith('asset.') && existsSync(join(assembly.directory, entry, 'index.mjs')),
  );
  for (const name of bundles) {
    assetBytes.set(name, statSync(join(assembly.directory, name, 'index.mjs')).size);
  }
  return {
    app,
    stack,
    template,
    templateBytes: statSync(templatePath).size,
    assetBytes,
    elapsedMs,
    directory: assembly.directory,
    dispose: () => rmSync(outdir, { recursive: true, force: true }),
  };
}
