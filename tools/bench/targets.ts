/**
 * The benchmark's targets (issue 5) and the round-trip floors they are measured against. Checked by
 * reading the benchmark's report, never by a timed test.
 *
 * Floors: a warm invocation must make 3 Store round trips one after another (read the app, read the
 * rollout, POST the halt); a cold one also reads the secret and gets a token first, 5 in all. With every
 * server (Store, token endpoint, Secrets Manager stand-in) answering after L ms, the floors are 3 × L
 * and 5 × L.
 */

export const WARM_SEQUENTIAL_ROUND_TRIPS = 3;
/** Secret + token + the 3 Store calls. */
export const COLD_SEQUENTIAL_ROUND_TRIPS = 5;

export const TARGETS = {
  /** Warm time to halt ≤ 1.05 × floor + 5 ms. */
  warmFloorFactor: 1.05,
  warmSlackMs: 5,
  overheadP50Ms: 2,
  /** 900 KB, read as decimal kilobytes (the stricter reading). */
  artifactBytes: 900_000,
  importRatio: 1.25,
  /** Lambda's "128 MB" memory size is 128 MiB. */
  peakRssBytes: 128 * 1024 * 1024,
} as const;

/** The round-trip floor of a path at an injected latency. */
export function computeFloorMs(path: 'warm' | 'cold', latencyMs: number): number {
  return (path === 'warm' ? WARM_SEQUENTIAL_ROUND_TRIPS : COLD_SEQUENTIAL_ROUND_TRIPS) * latencyMs;
}

/** The most a warm time to halt may take at an injected latency. */
export function computeWarmLimitMs(latencyMs: number): number {
  return TARGETS.warmFloorFactor * computeFloorMs('warm', latencyMs) + TARGETS.warmSlackMs;
}

export interface TargetCheck {
  readonly target: string;
  readonly figure: string;
  readonly limit: string;
  readonly pass: boolean;
}

/** The figures the targets are checked on. */
export interface TargetFigures {
  /** Median warm time to halt per injected latency, per kind of warm (`label`). */
  readonly warm: ReadonlyArray<{
    readonly latencyMs: number;
    readonly p50Ms: number;
    readonly label: string;
  }>;
  readonly overheadP50Ms: number;
  readonly artifactBytes: number;
  readonly artifactImportP50Ms: number;
  readonly referenceImportP50Ms: number;
  readonly peakRssBytes: number;
}

/** One check per target (one per latency for the warm time to halt). */
export function checkTargets(
  figures: TargetFigures,
  format: { ms: (ms: number) => string; bytes: (bytes: number) => string; mib: (bytes: number) => string },
): TargetCheck[] {
  const importRatio =
    figures.referenceImportP50Ms > 0
      ? figures.artifactImportP50Ms / figures.referenceImportP50Ms
      : Number.NaN;
  return [
    ...figures.warm.map(({ latencyMs, p50Ms, label }) => {
      const limitMs = computeWarmLimitMs(latencyMs);
      return {
        target: `warm time to halt at L = ${latencyMs} ms, ${label}`,
        figure: format.ms(p50Ms),
        limit: `≤ ${format.ms(limitMs)} (1.05 × ${format.ms(computeFloorMs('warm', latencyMs))} + 5 ms)`,
        pass: p50Ms <= limitMs,
      };
    }),
    {
      target: 'handler overhead p50 at L = 0',
      figure: format.ms(figures.overheadP50Ms),
      limit: `≤ ${format.ms(TARGETS.overheadP50Ms)}`,
      pass: figures.overheadP50Ms <= TARGETS.overheadP50Ms,
    },
    {
      target: 'artifact size (index.mjs)',
      figure: format.bytes(figures.artifactBytes),
      limit: `≤ ${format.bytes(TARGETS.artifactBytes)}`,
      pass: figures.artifactBytes <= TARGETS.artifactBytes,
    },
    {
      target: 'artifact import time / reference bundle',
      figure: Number.isFinite(importRatio) ? `${importRatio.toFixed(2)}×` : '—',
      limit: `≤ ${TARGETS.importRatio.toFixed(2)}×`,
      pass: Number.isFinite(importRatio) && importRatio <= TARGETS.importRatio,
    },
    {
      target: 'peak memory (max RSS, deployed artifact)',
      figure: format.mib(figures.peakRssBytes),
      limit: `≤ ${format.mib(TARGETS.peakRssBytes)}`,
      pass: figures.peakRssBytes <= TARGETS.peakRssBytes,
    },
  ];
}
