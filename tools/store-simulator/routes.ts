/**
 * The Store API routes the simulator serves (the methods of Microsoft's "Manage app submissions", "Manage package flights" and "Manage package flight submissions"), parsed from the method and the
 * path below `/v1.0/my/`. Parsing only: what each route does lives in `store-model.ts`.
 */

/** The three rollout POSTs (rows 6–8 and 14–16). */
export type RolloutAction = 'update' | 'halt' | 'finalize';

/** Where a submission lives: an app's main line (no `flightId`) or a package flight. */
export interface SubmissionPath {
  readonly applicationId: string;
  readonly flightId?: string;
  readonly submissionId: string;
}

export type StoreRoute =
  | { readonly op: 'list-apps' }
  | { readonly op: 'get-app'; readonly applicationId: string }
  | { readonly op: 'create-submission'; readonly applicationId: string }
  | { readonly op: 'list-flights'; readonly applicationId: string }
  | { readonly op: 'get-flight'; readonly applicationId: string; readonly flightId: string }
  | { readonly op: 'get-submission'; readonly at: SubmissionPath }
  | { readonly op: 'get-status'; readonly at: SubmissionPath }
  | { readonly op: 'get-rollout'; readonly at: SubmissionPath }
  | { readonly op: 'rollout-action'; readonly action: RolloutAction; readonly at: SubmissionPath };

/** The path prefix of the Store API (the base URL is `https://manage.devcenter.microsoft.com/v1.0/my/`). */
export const STORE_PATH_PREFIX = '/v1.0/my/';

/**
 * Azure AD token paths: `/{tenantId}/oauth2/token` (v1) and `/{tenantId}/oauth2/v2.0/token` (v2).
 * Returns the tenant segment and the version, or `undefined`.
 */
export function matchTokenPath(
  path: string,
): { readonly tenantSegment: string; readonly version: 1 | 2 } | undefined {
  const match = /^\/([^/]+)\/oauth2\/(v2\.0\/)?token\/?$/.exec(path);
  const tenantSegment = match?.[1] === undefined ? undefined : decodeSegment(match[1]);
  return tenantSegment === undefined
    ? undefined
    : { tenantSegment, version: match?.[2] === undefined ? 1 : 2 };
}

const ROLLOUT_ACTIONS: Readonly<Record<string, RolloutAction>> = {
  updatepackagerolloutpercentage: 'update',
  haltpackagerollout: 'halt',
  finalizepackagerollout: 'finalize',
};

/**
 * Matches a Store API request. `path` is the full path (with the `/v1.0/my/` prefix, without the query).
 * Returns `undefined` for anything not in the table (the server answers 404).
 */
export function matchStoreRoute(method: string, path: string): StoreRoute | undefined {
  if (!path.startsWith(STORE_PATH_PREFIX)) return undefined;
  // A trailing slash is tolerated: the documented flight @nextLink is `.../listflights/?skip=2&top=2`.
  const segments = path.slice(STORE_PATH_PREFIX.length).replace(/\/+$/, '').split('/').map(decodeSegment);
  if (segments.some((segment) => segment === undefined || segment === '')) return undefined;
  const [root, applicationId, ...rest] = segments;
  if (root !== 'applications') return undefined;
  if (applicationId === undefined) return method === 'GET' ? { op: 'list-apps' } : undefined;

  const [first, second, third, fourth, fifth, sixth, ...extra] = rest;
  if (first === undefined) return method === 'GET' ? { op: 'get-app', applicationId } : undefined;
  if (first === 'listflights' && second === undefined) {
    return method === 'GET' ? { op: 'list-flights', applicationId } : undefined;
  }
  if (first === 'submissions') {
    if (second === undefined)
      return method === 'POST' ? { op: 'create-submission', applicationId } : undefined;
    if (fourth !== undefined) return undefined;
    return matchSubmissionRoute(method, { applicationId, submissionId: second }, third);
  }
  if (first === 'flights' && second !== undefined) {
    if (third === undefined)
      return method === 'GET' ? { op: 'get-flight', applicationId, flightId: second } : undefined;
    if (third !== 'submissions' || fourth === undefined || sixth !== undefined || extra.length > 0)
      return undefined;
    return matchSubmissionRoute(method, { applicationId, flightId: second, submissionId: fourth }, fifth);
  }
  return undefined;
}

function matchSubmissionRoute(
  method: string,
  at: SubmissionPath,
  leaf: string | undefined,
): StoreRoute | undefined {
  if (method === 'GET') {
    if (leaf === undefined) return { op: 'get-submission', at };
    if (leaf === 'status') return { op: 'get-status', at };
    if (leaf === 'packagerollout') return { op: 'get-rollout', at };
    return undefined;
  }
  if (method === 'POST' && leaf !== undefined) {
    const action = ROLLOUT_ACTIONS[leaf];
    return action === undefined ? undefined : { op: 'rollout-action', action, at };
  }
  return undefined;
}

function decodeSegment(segment: string): string | undefined {
  try {
    return decodeURIComponent(segment);
  } catch {
    return undefined;
  }
}
