/**
 * The public shape of the Store simulator: its state, how it starts, and the control API for fault
 * injection. Used by tests, the local run and the benchmark. Never deployed.
 */
import type { PackageRollout } from '../../functions/commons/store/model.ts';

/** The 15 submission statuses (manage-app-submissions.md). */
export type SubmissionStatus =
  | 'None'
  | 'Canceled'
  | 'PendingCommit'
  | 'CommitStarted'
  | 'CommitFailed'
  | 'PendingPublication'
  | 'Publishing'
  | 'Published'
  | 'PublishFailed'
  | 'PreProcessing'
  | 'PreProcessingFailed'
  | 'Certification'
  | 'CertificationFailed'
  | 'Release'
  | 'ReleaseFailed';

/** An Azure AD application registered in a tenant (client credentials). */
export interface SimTenant {
  readonly tenantId: string;
  readonly clientId: string;
  /** The application's key; without one it signs in only with a federated assertion. */
  readonly clientSecret?: string;
  /** Federated identity credentials: which external tokens the v2 endpoint accepts as the application. */
  readonly federatedCredentials?: readonly SimFederatedCredential[];
}

/** An Entra ID federated identity credential (issuer, subject, audiences), as `az ad app federated-credential create` makes it. */
export interface SimFederatedCredential {
  readonly issuer: string;
  readonly subject: string;
  readonly audiences: readonly string[];
}

export interface SimSubmission {
  readonly id: string;
  status: SubmissionStatus;
  rollout: PackageRollout;
  /** Shown as the submission's `friendlyName`; defaults to `Submission {id}`. */
  friendlyName?: string;
  /** Version of the submission's package (`applicationPackages[].version`); defaults to `1.0.0.0`. */
  packageVersion?: string;
}

/** A package flight; its submissions live under `flights/{flightId}/submissions/{id}`. */
export interface SimFlight {
  readonly flightId: string;
  friendlyName: string;
  submissions: SimSubmission[];
  lastPublishedSubmissionId?: string;
  pendingSubmissionId?: string;
  /** Flight group IDs (`groupIds`); defaults to `["0"]`. */
  groupIds?: string[];
  /** `rankHigherThan`: the friendly name of the flight ranked just below; defaults to `Non-flighted submission`. */
  rankHigherThan?: string;
}

export interface SimApp {
  /** Store ID, e.g. `9NBLGGH4R315`. */
  readonly id: string;
  primaryName: string;
  /** `packageIdentityName`; derived from `primaryName` when absent. */
  packageIdentityName?: string;
  /** `firstPublishedDate` (ISO 8601); a fixed date when absent. */
  firstPublishedDate?: string;
  /** The tenant that owns the app (and whose throttle budget its calls spend); defaults to the first tenant. */
  tenantId?: string;
  /** Every submission of the app (the main, non-flight ones). */
  submissions: SimSubmission[];
  lastPublishedSubmissionId?: string;
  pendingSubmissionId?: string;
  flights?: SimFlight[];
  /** The app uses a feature the API does not support: every call about it answers 409 (Microsoft's method pages: 409). */
  unsupportedFeature?: boolean;
  /** Per package version: what the analytics API reports (`failurehits`, `usagedaily`); none when absent. */
  health?: SimVersionHealth[];
  /** The newest hours whose crash reports have not arrived yet. @default 1 */
  analyticsLagHours?: number;
}

/** What the Store's analytics report for one package version of an app. */
export interface SimVersionHealth {
  readonly packageVersion: string;
  /** Devices with a crash per hour (fractional allowed), before the ±20 % variation. */
  crashDevicesPerHour: number;
  /** Daily active devices; no usage rows when absent. */
  dailyActiveDevices?: number;
  /** Extra crash devices per hour from `fromMs` on (see `SimulatorControl.startCrashSpike`). */
  spike?: { readonly fromMs: number; readonly crashDevicesPerHour: number };
}

export interface SimulatorState {
  tenants: SimTenant[];
  apps: SimApp[];
}

export interface SimulatorOptions {
  /** Initial state; deep-copied, so the caller's object is never mutated. */
  readonly state: SimulatorState;
  /** Loopback port; 0 (default) picks a free one. */
  readonly port?: number;
  /** Token lifetime in seconds (default 3599, like Azure AD). */
  readonly tokenLifetimeSeconds?: number;
  /**
   * The analytics clock: which hours and days the reports cover, and where a crash spike starts
   * (default `Date.now`). A test fixes it so that no hour or day can turn between two of its reads.
   */
  readonly now?: () => number;
  /** Per-tenant throttle like the real service; default off. */
  readonly throttle?: ThrottleSettings | null;
  /**
   * The clock of the request log (`startedAt`, `endedAt`), the throttle's window and the latency: a test
   * injects a virtual one. @default `performance.now` and Node's timers
   */
  readonly clock?: SimulatorClock;
  /** The AWS STS stand-in for federated credentials (see `federation.ts`). */
  readonly federation?: FederationSettings;
}

export interface SimulatorClock {
  /** Milliseconds. */
  readonly now: () => number;
  /** Sleeps `ms` on that clock, rejecting as soon as `signal` aborts. */
  readonly sleep: (ms: number, signal: AbortSignal) => Promise<void>;
}

export interface FederationSettings {
  /** Outbound identity federation switched on in the account. @default true */
  readonly enabled?: boolean;
  /** Access key ID (of the caller's SigV4 signature) → the role ARN that becomes the token's `sub`. */
  readonly principals?: Readonly<Record<string, string>>;
  /** The `sub` for any other caller. @default `arn:aws:iam::123456789012:role/store-watchdog-local` */
  readonly defaultSubject?: string;
  /**
   * The STS clock (`iat`, `nbf`, `exp`), in milliseconds; Entra ID's is it plus `skewEntraClock`. A test
   * fixes it so that a token's validity is exact. @default Date.now
   */
  readonly now?: () => number;
}

export interface ThrottleSettings {
  /** Requests allowed per window per tenant (the service allows about 20 a minute). */
  readonly limit: number;
  /** The window, in milliseconds (default 60 000). */
  readonly windowMs?: number;
}

/** Which requests a fault applies to. Every given field must match; an empty matcher matches all. */
export interface RequestMatcher {
  readonly kind?: RequestKind;
  readonly method?: 'GET' | 'POST';
  /** Substring of, or pattern for, the request path (without query). */
  readonly path?: string | RegExp;
}

/**
 * `token`: Azure AD (v1 or v2); `store`: the Store API; `sts`: the AWS STS and IAM stand-in; `oidc`: the
 * issuer's discovery document and JWKS.
 */
export type RequestKind = 'token' | 'store' | 'sts' | 'oidc';

export interface RecordedRequest {
  readonly kind: RequestKind;
  readonly method: string;
  /** Path without the query string. */
  readonly path: string;
  readonly query: string;
  /** Final status sent, or `undefined` if the request hung or the connection was reset. */
  status: number | undefined;
  /** When the request arrived and when the answer was sent (`performance.now()`, or the `clock`'s). */
  readonly startedAt: number;
  endedAt: number | undefined;
}

export interface SimulatorControl {
  /** Every request received, in arrival order. */
  readonly requests: readonly RecordedRequest[];
  clearRequests(): void;
  /** Delay every answer by `ms` (0 turns it off). */
  setLatency(ms: number): void;
  /** The next `count` matching requests answer `status` (with `Retry-After` when given) and change nothing. */
  failNext(options: {
    readonly status: number;
    readonly count?: number;
    readonly match?: RequestMatcher;
    readonly retryAfter?: string;
    readonly body?: unknown;
  }): void;
  /** The next `count` matching requests never answer (until the simulator closes or the client gives up). */
  hangNext(options: { readonly count?: number; readonly match?: RequestMatcher }): void;
  /** The next `count` matching requests get their connection destroyed without an answer. */
  resetNext(options: { readonly count?: number; readonly match?: RequestMatcher }): void;
  /**
   * The next `count` matching requests (at least 2) are held until the last of them arrives, then carried
   * out together in arrival order: a race on the same state made certain rather than likely. A request
   * joins once its body is read and the latency has passed; one whose client gave up meanwhile still
   * counts and is still carried out. Requests still held when `clearFaults` is called go on; `close`
   * lets them end without answering.
   */
  gatherNext(options: { readonly count: number; readonly match?: RequestMatcher }): void;
  /** How many requests are held now, waiting for the rest of their gathering (see `gatherNext`). */
  readonly heldRequests: number;
  /** The next `count` halt requests take effect, then answer 503 (as Store clients have seen). */
  haltAppliesThen503(options?: { readonly count?: number }): void;
  /**
   * Drops every fault still queued (`failNext`, `hangNext`, `resetNext`, `haltAppliesThen503`) and lets
   * gathered requests go on: the service has recovered. Requests already hanging keep hanging.
   */
  clearFaults(): void;
  /**
   * Adds a federated identity credential to the application `clientId` (as `az ad app
   * federated-credential create` does); throws when no tenant has that application.
   */
  addFederatedCredential(clientId: string, credential: SimFederatedCredential): void;
  /** Every web identity token the STS stand-in issued, in issue order (for leak checks, like `issuedTokens`). */
  issuedAssertions(): readonly string[];
  /** Switches outbound identity federation on or off in the STS stand-in's account. */
  setOutboundFederation(enabled: boolean): void;
  /**
   * Sets Entra ID's clock this far ahead of the STS stand-in's (negative: behind), as a skewed clock
   * or an assertion held up in transit would look to the v2 endpoint. @default 0
   */
  skewEntraClock(ms: number): void;
  /** Every token issued so far is now expired (the next Store call with one answers 401). */
  expireAllTokens(): void;
  /**
   * Every access token issued so far (expired ones too), in issue order: what a test searches logs,
   * errors and notifications for to prove that no token leaks.
   */
  issuedTokens(): readonly string[];
  /** Turn the per-tenant throttle on (or off with `null`). */
  setThrottle(settings: ThrottleSettings | null): void;
  /** Current rollout of a submission (a copy), for assertions; throws when it does not exist. */
  rollout(applicationId: string, submissionId: string, flightId?: string): PackageRollout;
  /** A deep copy of the whole state. */
  snapshot(): SimulatorState;
  /** Number of halts that took effect (changed a rollout to Stopped), for "never halted twice" proofs. */
  readonly effectiveHalts: number;
  /**
   * A crash spike on one package version: from `hoursAgo` hours before now (default 6), its hourly
   * crash rows carry `crashDevicesPerHour` more devices. Backdated so that a story need not wait hours
   * for reports to arrive. Adds the version to the app's health figures when it had none.
   */
  startCrashSpike(options: {
    readonly applicationId: string;
    readonly packageVersion: string;
    readonly crashDevicesPerHour: number;
    readonly hoursAgo?: number;
  }): void;
}

export interface RunningSimulator {
  /** `http://127.0.0.1:PORT` */
  readonly url: string;
  /** Store API base, `${url}/v1.0/my/` (what `STORE_API_BASE_URL` is set to). */
  readonly storeBaseUrl: string;
  /** Azure AD authority, `${url}` (token URL `${authority}/{tenantId}/oauth2/token`). */
  readonly authority: string;
  /** The STS stand-in's endpoint (what `AWS_ENDPOINT_URL_STS` is set to): `${url}`. */
  readonly stsEndpoint: string;
  /** The outbound federation issuer (the `iss` of its tokens): `${url}/outbound-federation`. */
  readonly federationIssuer: string;
  readonly control: SimulatorControl;
  close(): Promise<void>;
}
