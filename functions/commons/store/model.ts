/**
 * The Store submission API resources the watchdog reads, as zod schemas (parse at the edge, trust
 * inside). Field names follow Microsoft's "Get app data" and "Manage app submissions". Unknown fields
 * are kept out; an app can lack either submission reference (Microsoft's "Get all apps").
 */
import { ROLLOUT_STATUSES } from '../domain/rollout.ts';
import * as z from '../validation.ts';

export type { PackageRollout, PackageRolloutStatus, RolloutRef } from '../domain/rollout.ts';

/** The wire format of a rollout; what it parses to must be the domain's `PackageRollout`. */
export const packageRolloutSchema = z.object({
  isPackageRollout: z.boolean(),
  packageRolloutPercentage: z.number().check(z.gte(0), z.lte(100)),
  packageRolloutStatus: z.enum(ROLLOUT_STATUSES),
  fallbackSubmissionId: z.string(),
});

const submissionRefSchema = z.object({
  id: z.string().check(z.minLength(1)),
  resourceLocation: z.optional(z.string()),
});
export type SubmissionRef = z.infer<typeof submissionRefSchema>;

export const applicationSchema = z.object({
  id: z.string(),
  primaryName: z.optional(z.string()),
  lastPublishedApplicationSubmission: z.nullish(submissionRefSchema),
  pendingApplicationSubmission: z.nullish(submissionRefSchema),
});
export type Application = z.infer<typeof applicationSchema>;

/**
 * A page of `GET applications` (Microsoft's "Get all apps"): the apps, and a relative `@nextLink` while
 * more remain.
 */
export const applicationListSchema = z.object({
  value: z.array(applicationSchema),
  '@nextLink': z.nullish(z.string()),
  totalCount: z.optional(z.number()),
});

export const flightSchema = z.object({
  flightId: z.string(),
  friendlyName: z.optional(z.string()),
  lastPublishedFlightSubmission: z.nullish(submissionRefSchema),
  pendingFlightSubmission: z.nullish(submissionRefSchema),
});
export type Flight = z.infer<typeof flightSchema>;

export const flightListSchema = z.object({
  value: z.array(flightSchema),
  '@nextLink': z.optional(z.string()),
  totalCount: z.optional(z.number()),
});

const packageVersionsSchema = z.optional(z.array(z.object({ version: z.optional(z.nullable(z.string())) })));

/** The parts of an app or flight submission resource the watchdog needs. */
export const submissionSchema = z.object({
  id: z.string(),
  status: z.string(),
  /** The packages of an app submission; only their versions are kept (the Store health probe's cohorts). */
  applicationPackages: packageVersionsSchema,
  /** The packages of a flight submission (Microsoft's "Get a package flight submission"). */
  flightPackages: packageVersionsSchema,
});
export type Submission = z.infer<typeof submissionSchema>;
