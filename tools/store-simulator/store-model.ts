/**
 * What the simulated Store API does: plain functions over the simulator state, no HTTP. Each
 * operation takes the state, the caller's tenant and a parsed route, and returns the status and JSON
 * body to send. Rollout operations change the state in place (the state is the simulator's own deep
 * copy, never the caller's object).
 *
 * Behaviour follows Microsoft's "Create and manage submissions" pages (the methods, resources, rollout
 * states and errors). Where the docs are silent, the choice is marked [INFERRED].
 */
import { definedProps } from '../../functions/commons/optional.ts';
import type { PackageRollout } from '../../functions/commons/store/model.ts';
import type { RolloutAction, StoreRoute, SubmissionPath } from './routes.ts';
import {
  renderApplication,
  renderAppSubmission,
  renderFlight,
  renderFlightSubmission,
  renderStatusDetails,
} from './store-resources.ts';
import type { SimApp, SimFlight, SimSubmission, SimulatorState } from './types.ts';

/** What the HTTP layer sends back for a Store API call. */
export interface StoreReply {
  readonly status: number;
  readonly body: unknown;
  /** True when this call changed a rollout to `PackageRolloutStopped` (counted by `effectiveHalts`). */
  readonly haltTookEffect?: boolean;
}

/**
 * The error body: `{code, message, target}`. Observed, not documented (Store clients' error handling;
 * windows-dev-center-vsts-extension#72).
 */
export interface StoreErrorBody {
  readonly code: 'InvalidState' | 'ResourceNotFound' | 'InvalidParameterValue';
  readonly message: string;
  readonly target?: string;
}

const UNSUPPORTED_FEATURE_MESSAGE =
  'This application uses features that are not supported by the submission API.';
const GUID_PATTERN = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
/** Without `top`, get-all-apps.md returns the first 10 apps. */
const DEFAULT_PAGE_SIZE = 10;

function reply(status: number, body: unknown): StoreReply {
  return { status, body };
}

function fail(status: number, code: StoreErrorBody['code'], message: string, target?: string): StoreReply {
  const body: StoreErrorBody = { code, message, ...definedProps({ target }) };
  return { status, body };
}

/** The tenant that owns an app: its own `tenantId`, else the first tenant of the state. */
export function findOwnerTenantId(state: SimulatorState, app: SimApp): string | undefined {
  return app.tenantId ?? state.tenants[0]?.tenantId;
}

/** The apps a tenant can see, in state order. Another tenant's app is invisible (404 as if absent). */
export function listTenantApps(state: SimulatorState, tenantId: string): SimApp[] {
  return state.apps.filter((app) => findOwnerTenantId(state, app) === tenantId);
}

/** Runs one Store API call for `tenantId` against `state`. */
export function executeStoreRoute(
  state: SimulatorState,
  tenantId: string,
  route: StoreRoute,
  query: URLSearchParams,
): StoreReply {
  if (route.op === 'list-apps') return listApplications(state, tenantId, query);

  const applicationId = 'at' in route ? route.at.applicationId : route.applicationId;
  const app = listTenantApps(state, tenantId).find((candidate) => candidate.id === applicationId);
  if (app === undefined) {
    return fail(
      404,
      'ResourceNotFound',
      `The application ${applicationId} could not be found.`,
      'application',
    );
  }
  // Microsoft's method pages: every method about such an app answers 409.
  if (app.unsupportedFeature === true)
    return fail(409, 'InvalidState', UNSUPPORTED_FEATURE_MESSAGE, 'application');

  switch (route.op) {
    case 'get-app':
      return reply(200, renderApplication(app));
    case 'create-submission':
      return createSubmission(state, app);
    case 'list-flights':
      return listFlights(app, query);
    case 'get-flight':
      return getFlight(app, route.flightId);
    default: {
      const found = resolveSubmission(state, tenantId, app, route.at);
      if ('status' in found) return found;
      const { submission, flight } = found;
      switch (route.op) {
        case 'get-submission':
          return reply(
            200,
            flight === undefined
              ? renderAppSubmission(submission)
              : renderFlightSubmission(flight, submission),
          );
        case 'get-status':
          return reply(200, { status: submission.status, statusDetails: renderStatusDetails() });
        case 'get-rollout':
          // Any state: its 409 conditions do not include the rollout state (get-package-rollout-info-for-an-app-submission.md).
          return reply(200, { ...submission.rollout });
        case 'rollout-action':
          return applyRolloutAction(submission, route.action, query);
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------------
// Lookups

interface FoundSubmission {
  readonly submission: SimSubmission;
  readonly flight: SimFlight | undefined;
}

function resolveSubmission(
  state: SimulatorState,
  tenantId: string,
  app: SimApp,
  at: SubmissionPath,
): FoundSubmission | StoreReply {
  let flight: SimFlight | undefined;
  if (at.flightId !== undefined) {
    const flightId = at.flightId;
    flight = (app.flights ?? []).find((candidate) => candidate.flightId === flightId);
    if (flight === undefined) {
      return fail(404, 'ResourceNotFound', `The package flight ${flightId} could not be found.`, 'flight');
    }
  }
  const submission = (flight?.submissions ?? app.submissions).find(
    (candidate) => candidate.id === at.submissionId,
  );
  if (submission !== undefined) return { submission, flight };

  // 409 when the submission exists but elsewhere (another app, the main line, another flight); only the
  // tenant's own apps are searched, so a foreign tenant's IDs stay invisible.
  if (existsInTenant(state, tenantId, at.submissionId)) {
    const owner = flight === undefined ? `application ${app.id}` : `package flight ${flight.flightId}`;
    return fail(
      409,
      'InvalidState',
      `The submission ${at.submissionId} does not belong to the specified ${owner}.`,
      'submission',
    );
  }
  const what = flight === undefined ? 'submission' : 'package flight submission';
  return fail(404, 'ResourceNotFound', `The ${what} ${at.submissionId} could not be found.`, 'submission');
}

function existsInTenant(state: SimulatorState, tenantId: string, submissionId: string): boolean {
  return listTenantApps(state, tenantId).some(
    (app) =>
      app.submissions.some((submission) => submission.id === submissionId) ||
      (app.flights ?? []).some((flight) =>
        flight.submissions.some((submission) => submission.id === submissionId),
      ),
  );
}

/** Finds a submission by app, optional flight and id, across tenants (for the control API). */
export function findSubmission(
  state: SimulatorState,
  applicationId: string,
  submissionId: string,
  flightId?: string,
): SimSubmission | undefined {
  const app = state.apps.find((candidate) => candidate.id === applicationId);
  if (app === undefined) return undefined;
  const list =
    flightId === undefined
      ? app.submissions
      : (app.flights ?? []).find((flight) => flight.flightId === flightId)?.submissions;
  return list?.find((submission) => submission.id === submissionId);
}

// ---------------------------------------------------------------------------------------------------
// Rollout state machine (Microsoft's "Gradual package rollout" and the halt, update and finalize pages)

function applyRolloutAction(
  submission: SimSubmission,
  action: RolloutAction,
  query: URLSearchParams,
): StoreReply {
  let percentage: number | undefined;
  if (action === 'update') {
    percentage = parsePercentage(query.get('percentage'));
    if (percentage === undefined) {
      return fail(
        400,
        'InvalidParameterValue',
        'The percentage must be a number from 0 to 100.',
        'percentage',
      );
    }
  }
  // (a) of the 409s: the submission must be published and its rollout in progress
  // [halt-the-package-rollout-for-an-app-submission.md and its siblings].
  if (submission.status !== 'Published') {
    return fail(
      409,
      'InvalidState',
      `The submission ${submission.id} is not in a valid state for the package rollout operation: its status is ${submission.status}, not Published.`,
      'packageRollout',
    );
  }
  if (submission.rollout.packageRolloutStatus !== 'PackageRolloutInProgress') {
    return fail(
      409,
      'InvalidState',
      `The submission ${submission.id} is not in a valid state for the package rollout operation: packageRolloutStatus is ${submission.rollout.packageRolloutStatus}, not PackageRolloutInProgress.`,
      'packageRollout',
    );
  }
  const next = nextRollout(submission.rollout, action, percentage);
  submission.rollout = next;
  return { status: 200, body: { ...next }, ...(action === 'halt' ? { haltTookEffect: true } : {}) };
}

/**
 * The rollout after an action on an in-progress rollout. Halt: Stopped at 0 (halt-the-package-rollout-…md);
 * finalize: Complete at 100 (finalize-the-package-rollout-…md); update: the new percentage, still
 * InProgress even at 100 (a rollout at 100% is not a finalize, gradual-package-rollout.md). The fallback
 * is never changed.
 */
export function nextRollout(
  rollout: PackageRollout,
  action: RolloutAction,
  percentage?: number,
): PackageRollout {
  switch (action) {
    case 'halt':
      return { ...rollout, packageRolloutPercentage: 0, packageRolloutStatus: 'PackageRolloutStopped' };
    case 'finalize':
      return { ...rollout, packageRolloutPercentage: 100, packageRolloutStatus: 'PackageRolloutComplete' };
    case 'update':
      return { ...rollout, packageRolloutPercentage: percentage ?? rollout.packageRolloutPercentage };
  }
}

/** A float from 0 to 100 (the docs state no range; Store clients check 0–100). */
function parsePercentage(raw: string | null): number | undefined {
  if (raw === null || !/^\s*[0-9]+(\.[0-9]+)?\s*$/.test(raw)) return undefined;
  const value = Number(raw);
  return Number.isFinite(value) && value >= 0 && value <= 100 ? value : undefined;
}

// ---------------------------------------------------------------------------------------------------
// Create a submission (row 17)

/**
 * Clones the last published submission as `PendingCommit` (create-an-app-submission.md). 409 "because
 * of the current state of the app" when [INFERRED]: a main-line rollout is in progress (it must be halted
 * or finalized first, gradual-package-rollout.md), a pending submission already exists (one in-progress
 * submission per app, as Store clients have seen), or there is nothing to clone.
 */
function createSubmission(state: SimulatorState, app: SimApp): StoreReply {
  const rolling = app.submissions.find(
    (submission) => submission.rollout.packageRolloutStatus === 'PackageRolloutInProgress',
  );
  if (rolling !== undefined) {
    return fail(
      409,
      'InvalidState',
      `The submission could not be created: the package rollout of submission ${rolling.id} is in progress. Halt or finalize it first.`,
      'packageRollout',
    );
  }
  if (app.pendingSubmissionId !== undefined) {
    return fail(
      409,
      'InvalidState',
      `The submission could not be created: the application already has an in-progress submission (${app.pendingSubmissionId}).`,
      'applicationSubmission',
    );
  }
  const source = app.submissions.find((submission) => submission.id === app.lastPublishedSubmissionId);
  if (source === undefined) {
    return fail(
      409,
      'InvalidState',
      'The submission could not be created: the application has no published submission to clone.',
      'applicationSubmission',
    );
  }
  const clone: SimSubmission = {
    id: allocateSubmissionId(state),
    status: 'PendingCommit',
    // packageRolloutStatus and fallbackSubmissionId are assigned by Partner Center (manage-app-submissions.md);
    // a fresh submission has not started rolling out.
    rollout: {
      isPackageRollout: source.rollout.isPackageRollout,
      packageRolloutPercentage: source.rollout.packageRolloutPercentage,
      packageRolloutStatus: 'PackageRolloutNotStarted',
      fallbackSubmissionId: '0',
    },
    ...definedProps({ friendlyName: source.friendlyName, packageVersion: source.packageVersion }),
  };
  app.submissions.push(clone);
  app.pendingSubmissionId = clone.id;
  return reply(200, renderAppSubmission(clone));
}

/** One more than the largest numeric submission ID in the state (IDs exceed 2^53: BigInt). */
function allocateSubmissionId(state: SimulatorState): string {
  let max = 1152921504621000000n;
  for (const app of state.apps) {
    const all = [...app.submissions, ...(app.flights ?? []).flatMap((flight) => flight.submissions)];
    for (const submission of all) {
      if (/^[0-9]+$/.test(submission.id) && BigInt(submission.id) > max) max = BigInt(submission.id);
    }
  }
  return (max + 1n).toString();
}

// ---------------------------------------------------------------------------------------------------
// Lists and paging (rows 1 and 9)

interface Page {
  readonly top: number;
  readonly skip: number;
}

function parsePage(query: URLSearchParams): Page | StoreReply {
  const top = query.get('top');
  const skip = query.get('skip');
  if (top !== null && !/^[1-9][0-9]{0,8}$/.test(top)) {
    return fail(400, 'InvalidParameterValue', 'The top parameter must be a positive integer.', 'top');
  }
  if (skip !== null && !/^[0-9]{1,9}$/.test(skip)) {
    return fail(400, 'InvalidParameterValue', 'The skip parameter must be a non-negative integer.', 'skip');
  }
  return { top: top === null ? DEFAULT_PAGE_SIZE : Number(top), skip: skip === null ? 0 : Number(skip) };
}

function renderPage<T>(items: readonly T[], page: Page, nextPath: string): unknown {
  const end = page.skip + page.top;
  return {
    value: items.slice(page.skip, end),
    ...(end < items.length ? { '@nextLink': `${nextPath}?skip=${end}&top=${page.top}` } : {}),
    totalCount: items.length,
  };
}

/**
 * Get all apps (get-all-apps.md): 404 when the tenant has no apps. [INFERRED] An app with unsupported
 * features is still listed (the 409 comes from the calls about it), so one such app does not hide the others.
 */
function listApplications(state: SimulatorState, tenantId: string, query: URLSearchParams): StoreReply {
  const page = parsePage(query);
  if ('status' in page) return page;
  const apps = listTenantApps(state, tenantId);
  if (apps.length === 0) return fail(404, 'ResourceNotFound', 'No apps were found.', 'application');
  return reply(200, renderPage(apps.map(renderApplication), page, 'applications'));
}

/** The documented @nextLink is `applications/{applicationid}/listflights/?skip=2&top=2` (get-flights-for-an-app.md). */
function listFlights(app: SimApp, query: URLSearchParams): StoreReply {
  const page = parsePage(query);
  if ('status' in page) return page;
  const flights = app.flights ?? [];
  if (flights.length === 0) return fail(404, 'ResourceNotFound', 'No package flights were found.', 'flight');
  return reply(200, renderPage(flights.map(renderFlight), page, `applications/${app.id}/listflights/`));
}

/** A flight ID that is not a GUID is an invalid request: 400 (get-a-flight.md documents 400). */
function getFlight(app: SimApp, flightId: string): StoreReply {
  if (!GUID_PATTERN.test(flightId)) {
    return fail(400, 'InvalidParameterValue', 'The flight ID is not valid: it must be a GUID.', 'flightId');
  }
  const flight = (app.flights ?? []).find((candidate) => candidate.flightId === flightId);
  if (flight === undefined)
    return fail(404, 'ResourceNotFound', `The package flight ${flightId} could not be found.`, 'flight');
  return reply(200, renderFlight(flight));
}
