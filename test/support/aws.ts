/**
 * Access to the moto server started by the global setup, for tests that exercise real AWS APIs
 * (Secrets Manager, SNS, SQS) locally.
 */
import { describe, inject } from 'vitest';

/** Base URL of the moto server, or `null` when moto is not installed (never under CI). */
export const motoEndpoint: string | null = inject('motoEndpoint');

/** `describe` for suites that need moto: skipped, with the install hint in its name, when moto is missing. */
export const describeWithMoto = describe.skipIf(motoEndpoint === null);

export const MOTO_SKIP_REASON =
  motoEndpoint === null ? ' (skipped: install moto with `pip install "moto[server]"`)' : '';

/** The moto endpoint; throws when called outside `describeWithMoto`. */
export function requireMoto(): string {
  if (motoEndpoint === null) throw new Error('moto is not running');
  return motoEndpoint;
}

/** Client settings for AWS SDK clients pointed at moto (fixed fake credentials, one region). */
export function motoClientConfig(): {
  endpoint: string;
  region: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
} {
  return {
    endpoint: requireMoto(),
    region: 'us-east-1',
    credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
  };
}
