/**
 * The deployable artifact: its size (`index.mjs`, gzip, source map), what it is made of, and its import
 * time next to the reference bundle's (`reference-entry.ts`: only the Secrets Manager and SNS clients and
 * undici's `Agent`, bundled with the same options). Each import runs in a fresh Node process with
 * `--enable-source-maps`, as deployed, the bundles interleaved; the handler's import does its real
 * module-scope work against endpoints that refuse connections.
 */
import { join } from 'node:path';
import { createBenchApps, createHandlerEnvironment } from '../fixtures/watchdog-apps.ts';
import { type BuiltBundle, bundleWithStackOptions } from './bundles.ts';
import { formatBytes, formatMebibytes, formatMs, formatTable } from './format.ts';
import { measureImportsInterleaved } from './import-time.ts';
import { type SampleSummary, summarizeSample } from './stats.ts';
import { checkArtifactSize, checkImportRatio, type TargetCheck } from './targets.ts';

export interface ArtifactFigures {
  readonly artifact: Omit<BuiltBundle, 'file'>;
  readonly reference: Omit<BuiltBundle, 'file'>;
  readonly imports: ReadonlyArray<{ readonly time: SampleSummary; readonly rssP50Bytes: number }>;
}

export async function measureArtifact(
  projectRoot: string,
  artifact: BuiltBundle,
  bundlesDir: string,
  runs: number,
): Promise<ArtifactFigures> {
  const reference = await bundleWithStackOptions(
    projectRoot,
    'tools/bench/reference-entry.ts',
    join(bundlesDir, 'reference'),
  );
  // A valid configuration whose endpoints refuse connections: the import does all its set-up, and the
  // early credential fetch fails after the measurement.
  const env = createHandlerEnvironment({
    apps: createBenchApps('IM', 1),
    storeBaseUrl: 'http://127.0.0.1:9/v1.0/my/',
    authority: 'http://127.0.0.1:9',
    awsEndpoint: 'http://127.0.0.1:9',
  });
  const samples = await measureImportsInterleaved([artifact.file, reference.file], runs, env, [
    '--enable-source-maps',
  ]);
  const imports = samples.map((bundleSamples) => {
    const time = summarizeSample(bundleSamples.map((sample) => sample.importMs));
    const rss = summarizeSample(bundleSamples.map((sample) => sample.rssBytes));
    if (time === undefined || rss === undefined) throw new Error('no import samples');
    return { time, rssP50Bytes: rss.p50 };
  });
  const { file: _artifactFile, ...artifactFigures } = artifact;
  const { file: _referenceFile, ...referenceFigures } = reference;
  return { artifact: artifactFigures, reference: referenceFigures, imports };
}

/** The section's Markdown and its target checks (size, import time). */
export function renderArtifact(figures: ArtifactFigures): { text: string; targets: TargetCheck[] } {
  const [artifactImport, referenceImport] = figures.imports;
  const rows = [
    ['artifact (halt-rollout)', figures.artifact, artifactImport],
    ['reference (SDK clients + undici)', figures.reference, referenceImport],
  ] as const;
  const top = figures.artifact.composition.slice(0, 8);
  const text = [
    `### Artifact (bundled as \`cdk synth\` does; import: median of ${artifactImport?.time.n ?? 0} fresh processes, --enable-source-maps)`,
    '',
    formatTable(
      [
        { header: 'bundle' },
        { header: 'index.mjs', align: 'right' },
        { header: 'gzip', align: 'right' },
        { header: 'source map', align: 'right' },
        { header: 'import p50', align: 'right' },
        { header: 'min – max', align: 'right' },
        { header: 'RSS after import', align: 'right' },
      ],
      rows.map(([name, bundle, imported]) => [
        name,
        formatBytes(bundle.bytes),
        formatBytes(bundle.gzipBytes),
        formatBytes(bundle.mapBytes),
        formatMs(imported?.time.p50),
        imported === undefined ? '—' : `${formatMs(imported.time.min)} – ${formatMs(imported.time.max)}`,
        formatMebibytes(imported?.rssP50Bytes),
      ]),
    ),
    '',
    `Largest parts of the artifact: ${top.map((entry) => `${entry.name} ${formatBytes(entry.bytes).replace(/ \(.*\)$/, '')}`).join(', ')}.`,
  ].join('\n');
  return {
    text,
    targets: [
      checkArtifactSize(figures.artifact.bytes),
      checkImportRatio(artifactImport?.time.p50 ?? Number.NaN, referenceImport?.time.p50 ?? Number.NaN),
    ],
  };
}
