/**
 * One synth of a generated catalog in a fresh process (so module loading counts, as in `cdk synth`),
 * for `npm run bench -- --synth`: `node tools/bench/synth-child.ts APPS listed|prefix|built`. Prints one
 * JSON line with the figures. `built`: every app's crash alarm built by the stack, the Store health
 * signal on and every flight watched, so the alarms fill nested stacks.
 */
import { deriveWatchedApps, parseWatchdogConfig } from '../../infra/config.ts';
import { createCatalogConfig, synthesizeCatalog } from '../fixtures/catalog.ts';

const [appsArg, mode] = process.argv.slice(2);
const apps = Number(appsArg);
if (!Number.isInteger(apps) || apps < 1 || (mode !== 'listed' && mode !== 'prefix' && mode !== 'built')) {
  throw new Error('usage: synth-child.ts APPS listed|prefix|built');
}
const config = createCatalogConfig(
  mode === 'built'
    ? { apps, createdAlarms: apps, storeHealth: true, allFlights: true }
    : { apps, alarmNamePrefix: mode === 'prefix' },
);
const synthesized = synthesizeCatalog(config);
try {
  const nested = synthesized.templates.filter((template) => template.nested);
  const resources = Object.values(synthesized.template.Resources ?? {});
  const patterns = resources.flatMap((resource) =>
    typeof resource === 'object' &&
    resource !== null &&
    'Type' in resource &&
    resource.Type === 'AWS::Events::Rule' &&
    'Properties' in resource &&
    typeof resource.Properties === 'object' &&
    resource.Properties !== null &&
    'EventPattern' in resource.Properties
      ? [Buffer.byteLength(JSON.stringify(resource.Properties.EventPattern))]
      : [],
  );
  process.stdout.write(
    `${JSON.stringify({
      apps,
      mode,
      synthMs: Math.round(synthesized.elapsedMs),
      templateBytes: synthesized.templateBytes,
      resources: resources.length,
      alarmRules: patterns.length,
      longestPattern: Math.max(0, ...patterns),
      templates: synthesized.templates.length,
      largestNestedBytes: Math.max(0, ...nested.map((template) => template.bytes)),
      largestNestedResources: Math.max(0, ...nested.map((template) => template.resources)),
      totalResources: synthesized.templates.reduce((sum, template) => sum + template.resources, 0),
      appsJsonBytes: JSON.stringify(deriveWatchedApps(parseWatchdogConfig(config))).length,
      assetBytes: [...synthesized.assetBytes.values()].sort((a, b) => b - a),
    })}\n`,
  );
} finally {
  synthesized.dispose();
}
