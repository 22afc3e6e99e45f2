/**
 * The shape of the stack's durable state table (`ROLLOUT_MEMORY_TABLE`): generic keys, so each kind of
 * item has its own partition prefix, and a TTL attribute for items that only matter for a while.
 *
 * | item | `pk` | `sk` |
 * |---|---|---|
 * | a remembered live rollout | `app#<application ID>` | `main` or `flight#<flight ID in lower case>` |
 * | a handled alarm transition (`transition-ledger.ts`; expires a week after its last write) | `transition#<alarm name>\|<new state>\|<epoch ms>` | `part#<storm part>` |
 * | the tenant's Store request budget (`store-budget.ts`) | `budget#<tenant ID>` | `window` |
 * | what the Store health probe remembers of an app (no TTL: dropped when the app is no longer watched) | `probe` | `app#<application ID>` |
 */

/** The table's key attributes (the stack creates the table with them). */
export const STATE_TABLE_KEY = { partition: 'pk', sort: 'sk' } as const;

/** The attribute DynamoDB's time to live reads: epoch seconds after which an item may be deleted. */
export const STATE_TABLE_TTL_ATTRIBUTE = 'expiresAt';

/** The partition of an app's remembered rollouts. */
export function appPartition(applicationId: string): string {
  return `app#${applicationId}`;
}

/** The partition of a handled alarm transition (see `transition-ledger.ts`). */
export function transitionPartition(identity: string): string {
  return `transition#${identity}`;
}

/** The partition of a tenant's Store request budget. */
export function budgetPartition(tenantId: string): string {
  return `budget#${tenantId}`;
}

/** The one partition of the Store health probe's memory (one Query reads all of it). */
export const PROBE_PARTITION = 'probe';

/** The sort key of an app's item in the probe's partition. */
export function probeSortKey(applicationId: string): string {
  return `app#${applicationId}`;
}
