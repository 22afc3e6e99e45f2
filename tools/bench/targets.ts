/**
 * The benchmark's targets (the project's own) and the round-trip floors they are measured against.
 * Checked by reading the benchmark's report, never by a timed test.
 *
 * Floors: a warm invocation makes 3 Store round trips one after another (read the app, read the rollout,
 * POST the halt); a cold one also reads the secret and gets a token first, 5 in all. With every server
 * answering after L ms, the floors are 3 × L and 5 × L.
 */
import { formatBytes, formatMebibytes, formatMs } from './format.ts';

export const WARM_SEQUENTIAL_ROUND_TRIPS = 3;
/** Secret + token + the 3 Store calls. */
export const COLD_SEQUENTIAL_ROUND_TRIPS = 5;

export const TARGETS = {
  /** Warm time to halt ≤ 1.05 × floor + 5 ms. */
  warmFloorFactor: 1.05,
  warmSlackMs: 5,
  /** 900 kB, read as decimal kilobytes (the stricter reading). */
  artifactBytes: 900_000,
  importRatio: 1.25,
  /** Lambda's "128 MB" memory size is 128 MiB. */
  peakRssBytes: 128 * 1024 * 1024,
} as const;

export interface TargetCheck {
  readonly target: string;
  readonly figure: string;
  readonly limit: string;
  readonly pass: boolean;
}

/** The round-trip floor of a path at an injected latency. */
export function computeFloorMs(path: 'warm' | 'cold', latencyMs: number): number {
  return (path === 'warm' ? WARM_SEQUENTIAL_ROUND_TRIPS : COLD_SEQUENTIAL_ROUND_TRIPS) * latencyMs;
}

/** The most a warm time to halt may take at an injected latency. */
export function computeWarmLimitMs(latencyMs: number): number {
  return TARGETS.warmFloorFactor * computeFloorMs('warm', latencyMs) + TARGETS.warmSlackMs;
}

/** Warm time to halt (its p50) at latency L, for the kind of warm invocation `label` names. */
export function checkWarm(latencyMs: number, p50Ms: number, label: string): TargetCheck {
  const limitMs = computeWarmLimitMs(latencyMs);
  return {
    target: `warm time to halt at L = ${latencyMs} ms, ${label}`,
    figure: formatMs(p50Ms),
    limit: `≤ ${formatMs(limitMs)} (1.05 × ${formatMs(computeFloorMs('warm', latencyMs))} + 5 ms)`,
    pass: p50Ms <= limitMs,
  };
}

export function checkArtifactSize(bytes: number): TargetCheck {
  return {
    target: 'artifact size (index.mjs)',
    figure: formatBytes(bytes),
    limit: `≤ ${formatBytes(TARGETS.artifactBytes)}`,
    pass: bytes <= TARGETS.artifactBytes,
  };
}

/** The artifact's import time (p50) over the reference bundle's. */
export function checkImportRatio(artifactP50Ms: number, referenceP50Ms: number): TargetCheck {
  const ratio = referenceP50Ms > 0 ? artifactP50Ms / referenceP50Ms : Number.NaN;
  return {
    target: 'artifact import time / reference bundle',
    figure: Number.isFinite(ratio) ? `${ratio.toFixed(2)}×` : '—',
    limit: `≤ ${TARGETS.importRatio.toFixed(2)}×`,
    pass: Number.isFinite(ratio) && ratio <= TARGETS.importRatio,
  };
}

export function checkPeakRss(bytes: number): TargetCheck {
  return {
    target: 'peak memory (max RSS, deployed artifact)',
    figure: formatMebibytes(bytes),
    limit: `≤ ${formatMebibytes(TARGETS.peakRssBytes)}`,
    pass: bytes <= TARGETS.peakRssBytes,
  };
}
