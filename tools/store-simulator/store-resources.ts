/**
 * The Store API's resources as the simulator renders them, with the field names of Microsoft's "Manage
 * app submissions" and "Get app data" pages.
 */
import { definedProps } from '../../functions/commons/optional.ts';
import type { SimApp, SimFlight, SimSubmission } from './types.ts';

/** The "not set" date of the submission API (manage-app-submissions.md). */
const NOT_SET_DATE = '1601-01-01T00:00:00.0000000Z';

function submissionRef(
  id: string | undefined,
  resourceLocation: string,
): { id: string; resourceLocation: string } | undefined {
  return id === undefined ? undefined : { id, resourceLocation };
}

/** Application resource (get-app-data.md); absent submission references are omitted (get-all-apps.md). */
export function renderApplication(app: SimApp): Record<string, unknown> {
  const identity =
    app.packageIdentityName ?? `SimulatorPublisher.${app.primaryName.replace(/[^0-9A-Za-z]/g, '')}`;
  const last = submissionRef(
    app.lastPublishedSubmissionId,
    `applications/${app.id}/submissions/${app.lastPublishedSubmissionId}`,
  );
  const pending = submissionRef(
    app.pendingSubmissionId,
    `applications/${app.id}/submissions/${app.pendingSubmissionId}`,
  );
  return {
    id: app.id,
    primaryName: app.primaryName,
    packageFamilyName: `${identity}_ng6try80pwt52`,
    packageIdentityName: identity,
    publisherName: 'CN=Simulator Publisher',
    firstPublishedDate: app.firstPublishedDate ?? '2024-01-15T10:00:00.0000000Z',
    ...definedProps({ lastPublishedApplicationSubmission: last, pendingApplicationSubmission: pending }),
    hasAdvancedListingPermission: false,
  };
}

/**
 * Flight resource (get-a-flight.md). The documented `resourceLocation` of a flight submission lacks the
 * `applications/{app}/` prefix; reproduced here so clients that build URLs from it fail loudly.
 */
export function renderFlight(flight: SimFlight): Record<string, unknown> {
  const location = (id: string | undefined): string => `flights/${flight.flightId}/submissions/${id}`;
  const last = submissionRef(flight.lastPublishedSubmissionId, location(flight.lastPublishedSubmissionId));
  const pending = submissionRef(flight.pendingSubmissionId, location(flight.pendingSubmissionId));
  return {
    flightId: flight.flightId,
    friendlyName: flight.friendlyName,
    ...definedProps({ lastPublishedFlightSubmission: last, pendingFlightSubmission: pending }),
    groupIds: [...(flight.groupIds ?? ['0'])],
    rankHigherThan: flight.rankHigherThan ?? 'Non-flighted submission',
  };
}

export function renderStatusDetails(): Record<string, unknown> {
  return { errors: [], warnings: [], certificationReports: [] };
}

function renderPackageDeliveryOptions(submission: SimSubmission): Record<string, unknown> {
  return {
    packageRollout: { ...submission.rollout },
    isMandatoryUpdate: false,
    mandatoryUpdateEffectiveDate: NOT_SET_DATE,
  };
}

function renderPackage(submission: SimSubmission): Record<string, unknown> {
  const version = submission.packageVersion ?? '1.0.0.0';
  return {
    fileName: `contoso_app_${version}_x64.msixupload`,
    fileStatus: 'Uploaded',
    version,
    architecture: 'x64',
    languages: ['en-us'],
    capabilities: ['runFullTrust'],
    minimumDirectXVersion: 'None',
    minimumSystemRam: 'None',
  };
}

/** App submission resource: the fields of Microsoft's "Manage app submissions". */
export function renderAppSubmission(submission: SimSubmission): Record<string, unknown> {
  return {
    id: submission.id,
    friendlyName: submission.friendlyName ?? `Submission ${submission.id}`,
    status: submission.status,
    statusDetails: renderStatusDetails(),
    targetPublishMode: 'Immediate',
    targetPublishDate: NOT_SET_DATE,
    fileUploadUrl: '',
    applicationPackages: [renderPackage(submission)],
    packageDeliveryOptions: renderPackageDeliveryOptions(submission),
    isSeekEnabled: false,
    notesForCertification: '',
  };
}

/** Flight submission resource (manage-flight-submissions.md). */
export function renderFlightSubmission(
  flight: SimFlight,
  submission: SimSubmission,
): Record<string, unknown> {
  return {
    id: submission.id,
    flightId: flight.flightId,
    status: submission.status,
    statusDetails: renderStatusDetails(),
    flightPackages: [renderPackage(submission)],
    packageDeliveryOptions: renderPackageDeliveryOptions(submission),
    fileUploadUrl: '',
    targetPublishMode: 'Immediate',
    targetPublishDate: NOT_SET_DATE,
    notesForCertification: '',
  };
}
