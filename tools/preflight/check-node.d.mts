/** Types of `check-node.mjs` (plain JavaScript so that an old Node.js can parse it). */
export type VersionTriple = [number, number, number];
export function parseMinimum(range: string): VersionTriple;
export function parseVersion(version: string): VersionTriple;
export function tooOldMessage(found: string, minimum: VersionTriple): string | undefined;
