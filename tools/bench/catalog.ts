/**
 * A publisher's whole catalog as a watchdog config: hundreds of apps in one stack (one per Partner
 * Center tenant), generated, and synthesized the way `cdk synth` does it. Used by the stack tests that
 * prove a 500-app config synthesizes within EventBridge's, Lambda's and CloudFormation's limits (every
 * template: the main stack's and its nested stacks'), and by `npm run bench -- --synth`, which reports
 * how long that takes and how large the result is.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type App, NestedStack } from 'aws-cdk-lib';
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
  /** `selfCheck.scheduleHours`. @default none: the schedule derived from the catalog */
  readonly selfCheckScheduleHours?: number;
  /** Turn on the Store health signal (`storeHealth.enabled`) for every app. @default false */
  readonly storeHealth?: boolean;
  /** Every app watches all its package flights (`flights: "all"`). @default every fifth app */
  readonly allFlights?: boolean;
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
      ...(options.allFlights === true || index % 5 === 0 ? { flights: 'all' as const } : {}),
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
    ...(options.selfCheckScheduleHours === undefined
      ? {}
      : { selfCheck: { scheduleHours: options.selfCheckScheduleHours } }),
    ...(options.storeHealth === true ? { storeHealth: { enabled: true } } : {}),
    ...(options.alarmNamePrefix === true ? { alarmNamePrefix: CATALOG_ALARM_PREFIX } : {}),
  };
}

/** One synthesized CloudFormation template: the main stack's or a nested stack's. */
export interface SynthesizedTemplate {
  /** The stack's construct path (`StoreRolloutWatchdog`, `StoreRolloutWatchdog/CatalogAlarms/Alarms01`). */
  readonly path: string;
  readonly nested: boolean;
  readonly template: Record<string, unknown>;
  /** The template file's size as `cdk synth` writes it (bytes). */
  readonly bytes: number;
  readonly resources: number;
  /** What the main stack passes to this nested stack's parameters (`{}` for the main stack). */
  readonly parameters: Readonly<Record<string, unknown>>;
}

export interface SynthesizedCatalog {
  readonly app: App;
  readonly stack: WatchdogStack;
  /** The main stack's CloudFormation template. */
  readonly template: Record<string, unknown>;
  /** The main template file's size as `cdk synth` writes it (bytes). */
  readonly templateBytes: number;
  /** Every template: the main stack's first, then its nested stacks'. */
  readonly templates: readonly SynthesizedTemplate[];
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
  const read = (
    path: string,
    file: string,
    parameters: Readonly<Record<string, unknown>> | undefined,
  ): SynthesizedTemplate => {
    const body: Record<string, unknown> = JSON.parse(readFileSync(file, 'utf8'));
    const resources = body.Resources;
    return {
      path,
      nested: parameters !== undefined,
      template: body,
      bytes: statSync(file).size,
      resources: typeof resources === 'object' && resources !== null ? Object.keys(resources).length : 0,
      parameters: parameters ?? {},
    };
  };
  const parentResources: Record<string, { Properties?: { Parameters?: Record<string, unknown> } }> =
    typeof template.Resources === 'object' && template.Resources !== null ? { ...template.Resources } : {};
  const templates = [
    read(stack.node.path, templatePath, undefined),
    ...stack.node
      .findAll()
      .filter(NestedStack.isNestedStack)
      .map((nested) => {
        const resource = nested.nestedStackResource;
        const logicalId = resource === undefined ? undefined : stack.getLogicalId(resource);
        const parameters = logicalId === undefined ? {} : parentResources[logicalId]?.Properties?.Parameters;
        return read(nested.node.path, join(assembly.directory, nested.templateFile), parameters ?? {});
      }),
  ];
  return {
    app,
    stack,
    template,
    templateBytes: statSync(templatePath).size,
    templates,
    assetBytes,
    elapsedMs,
    directory: assembly.directory,
    dispose: () => rmSync(outdir, { recursive: true, force: true }),
  };
}
