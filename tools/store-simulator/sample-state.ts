/**
 * A realistic starting state, and small builders to compose others in tests.
 *
 * The sample app `9NBLGGH4R315` is the trap the watchdog must not fall into: its last published
 * submission is rolling out (20%), while a newer pending submission sits in Certification with a rollout
 * that has not started. Halting "the pending one first" (what one Store client does by default) hits a 409.
 */
import { definedProps } from '../../functions/commons/optional.ts';
import type { PackageRollout } from '../../functions/commons/store/model.ts';
import type {
  SimApp,
  SimFlight,
  SimSubmission,
  SimTenant,
  SimulatorState,
  SubmissionStatus,
} from './types.ts';

/** The sample application signs in with its key (`federatedTenant` adds federated credentials). */
export const SAMPLE_TENANT: SimTenant & { readonly clientSecret: string } = {
  tenantId: '00000000-0000-4000-8000-000000000001',
  clientId: '00000000-0000-4000-8000-0000000000c1',
  clientSecret: 'sim-secret-not-a-real-credential',
};

export const SAMPLE_APP_ID = '9NBLGGH4R315';
/** The last published submission of the sample app, rolling out at 20%. */
export const SAMPLE_PUBLISHED_SUBMISSION_ID = '1152921504621243680';
/** The submission customers outside the rollout get. */
export const SAMPLE_FALLBACK_SUBMISSION_ID = '1152921504621086517';
/** The pending submission (Certification, rollout not started): the trap. */
export const SAMPLE_PENDING_SUBMISSION_ID = '1152921504621243699';
export const SAMPLE_FLIGHT_ID = '43e448df-97c9-4a43-a0bc-2a445e736bcd';
/** The last published submission of the Insiders flight, rolling out at 50%. */
export const SAMPLE_FLIGHT_SUBMISSION_ID = '1152921504621243710';
export const SAMPLE_FLIGHT_FALLBACK_SUBMISSION_ID = '1152921504621243600';
/** A second app of the tenant, with no rollout at all. */
export const SAMPLE_QUIET_APP_ID = '9NBLGGH29DM8';
export const SAMPLE_QUIET_SUBMISSION_ID = '1152921504621225621';

/** A rollout object. */
export function rollout(
  packageRolloutStatus: PackageRollout['packageRolloutStatus'],
  packageRolloutPercentage: number,
  fallbackSubmissionId: string,
): PackageRollout {
  return { isPackageRollout: true, packageRolloutPercentage, packageRolloutStatus, fallbackSubmissionId };
}

/** The rollout object of a submission without gradual rollout: `{false, 0, NotStarted, "0"}`. */
export function noRollout(): PackageRollout {
  return {
    isPackageRollout: false,
    packageRolloutPercentage: 0,
    packageRolloutStatus: 'PackageRolloutNotStarted',
    fallbackSubmissionId: '0',
  };
}

/** A published submission rolling out to `percentage` (status `PackageRolloutInProgress`). */
export function publishedSubmission(
  id: string,
  percentage: number,
  fallbackSubmissionId = SAMPLE_FALLBACK_SUBMISSION_ID,
): SimSubmission {
  return {
    id,
    status: 'Published',
    rollout: rollout('PackageRolloutInProgress', percentage, fallbackSubmissionId),
  };
}

/** A submission in any status with any rollout (default: no rollout). */
export function submission(
  id: string,
  status: SubmissionStatus,
  packageRollout: PackageRollout = noRollout(),
): SimSubmission {
  return { id, status, rollout: packageRollout };
}

/**
 * An app whose last published submission is the first of `submissions` (unless `lastPublishedSubmissionId`
 * says otherwise). Give `pendingSubmissionId`, `flights`, `tenantId`, `unsupportedFeature` in `extra`.
 */
export function app(
  id: string,
  submissions: SimSubmission[],
  extra: Partial<Omit<SimApp, 'id' | 'submissions'>> = {},
): SimApp {
  const first = submissions[0];
  return {
    id,
    primaryName: extra.primaryName ?? `App ${id}`,
    submissions,
    ...definedProps({ lastPublishedSubmissionId: first?.id }),
    ...extra,
  };
}

/** A package flight whose last published submission is the first of `submissions`. */
export function flight(
  flightId: string,
  friendlyName: string,
  submissions: SimSubmission[],
  extra: Partial<Omit<SimFlight, 'flightId' | 'friendlyName' | 'submissions'>> = {},
): SimFlight {
  const first = submissions[0];
  return {
    flightId,
    friendlyName,
    submissions,
    ...definedProps({ lastPublishedSubmissionId: first?.id }),
    ...extra,
  };
}

/** One app of `rollingApps`: its Store ID, the submission rolling out, and that submission's fallback. */
export interface RollingApp {
  readonly applicationId: string;
  readonly submissionId: string;
  readonly fallback: string;
}

/**
 * `count` apps, each rolling out a published submission at 20% over a published fallback of its own,
 * with Store IDs `9N<series><serial>` (`series`: two upper-case letters or digits): the apps of a storm.
 */
export function rollingApps(count: number, series: string): { targets: RollingApp[]; apps: SimApp[] } {
  if (!/^[0-9A-Z]{2}$/.test(series))
    throw new RangeError(`series must be two upper-case letters or digits: ${series}`);
  if (!Number.isInteger(count) || count < 0 || count > 99_999_999)
    throw new RangeError(`bad app count ${count}`);
  const targets = Array.from({ length: count }, (_, index): RollingApp => {
    const serial = String(index + 1).padStart(8, '0');
    return {
      applicationId: `9N${series}${serial}`,
      submissionId: `51529215047${serial}`,
      fallback: `61529215047${serial}`,
    };
  });
  const apps = targets.map(({ applicationId, submissionId, fallback }) =>
    app(applicationId, [publishedSubmission(submissionId, 20, fallback), submission(fallback, 'Published')]),
  );
  return { targets, apps };
}

/** A state with the sample tenant and the given apps. */
export function stateWith(...apps: SimApp[]): SimulatorState {
  return { tenants: [{ ...SAMPLE_TENANT }], apps };
}

/** A fresh copy of the sample state (see the module comment). */
export function sampleState(): SimulatorState {
  return stateWith(
    app(
      SAMPLE_APP_ID,
      [
        { ...publishedSubmission(SAMPLE_PUBLISHED_SUBMISSION_ID, 20), packageVersion: '1.4.0.0' },
        {
          ...submission(SAMPLE_PENDING_SUBMISSION_ID, 'Certification', {
            isPackageRollout: true,
            packageRolloutPercentage: 10,
            packageRolloutStatus: 'PackageRolloutNotStarted',
            fallbackSubmissionId: '0',
          }),
          packageVersion: '1.5.0.0',
        },
        { ...submission(SAMPLE_FALLBACK_SUBMISSION_ID, 'Published'), packageVersion: '1.3.0.0' },
      ],
      {
        primaryName: 'Contoso Photos',
        pendingSubmissionId: SAMPLE_PENDING_SUBMISSION_ID,
        // The same crash rate on the rollout (1.4, 20 %) and the fallback (1.3): healthy.
        health: [
          { packageVersion: '1.3.0.0', crashDevicesPerHour: 8, dailyActiveDevices: 40_000 },
          { packageVersion: '1.4.0.0', crashDevicesPerHour: 2, dailyActiveDevices: 10_000 },
        ],
        flights: [
          flight(SAMPLE_FLIGHT_ID, 'Insiders', [
            {
              ...publishedSubmission(SAMPLE_FLIGHT_SUBMISSION_ID, 50, SAMPLE_FLIGHT_FALLBACK_SUBMISSION_ID),
              packageVersion: '1.5.0.0',
            },
            { ...submission(SAMPLE_FLIGHT_FALLBACK_SUBMISSION_ID, 'Published'), packageVersion: '1.4.0.0' },
          ]),
        ],
      },
    ),
    app(
      SAMPLE_QUIET_APP_ID,
      [{ ...submission(SAMPLE_QUIET_SUBMISSION_ID, 'Published'), packageVersion: '2.0.0.0' }],
      {
        primaryName: 'Contoso Notes',
      },
    ),
  );
}
