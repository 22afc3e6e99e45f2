/**
 * The Microsoft Store submission API calls on the halt path, over undici (Microsoft's "Manage app
 * submissions" and "Manage package flight submissions").
 *
 * - IDs are validated before any URL is built, and URLs are built from IDs only, never from a
 *   `resourceLocation` (whose flight form lacks the `applications/{app}/` prefix; Microsoft's "Get app data").
 * - GETs are retried on 429, 5xx and network failures. A POST is retried only after a 429 (the Store
 *   did not act); any other failure of a POST is the caller's to resolve by reading the state first.
 * - A 401 renews the token once and repeats the call once (tokens live 60 minutes; Microsoft's "Create
 *   and manage submissions").
 */
import type { Dispatcher } from 'undici';
import { assertApplicationId, assertFlightId, assertSubmissionId } from '../domain/ids.ts';
import { StoreApiError, WatchdogError } from '../errors.ts';
import { deadlineLeaving } from '../http/deadline.ts';
import {
  type AttemptResult,
  DEFAULT_RETRY_POLICY,
  parseRetryAfter,
  REAL_RETRY_ENVIRONMENT,
  type RetryEnvironment,
  type RetryPolicy,
  runWithRetries,
} from '../http/retry.ts';
import { classifyFailure, type HttpResponse, readHeader, sendHttpRequest } from '../http/transport.ts';
import { definedProps } from '../optional.ts';
import type * as z from '../validation.ts';
import {
  type Application,
  applicationListSchema,
  applicationSchema,
  type Flight,
  flightListSchema,
  flightSchema,
  type PackageRollout,
  packageRolloutSchema,
  type RolloutRef,
  type Submission,
  submissionSchema,
} from './model.ts';
import type { RequestBudget, RequestPriority } from './request-budget.ts';
import {
  createBadResponseError,
  createStoreErrorFromFailure,
  createStoreErrorFromResponse,
  describeSchemaMismatch,
  parseRetryHintFromMessage,
  STORE_ERROR_CODES,
} from './store-errors.ts';
import type { AccessToken, TokenProvider } from './token-provider.ts';

export interface StoreClientOptions {
  /** The API base, e.g. `https://manage.devcenter.microsoft.com/v1.0/my/`. */
  readonly baseUrl: string;
  /** The keep-alive dispatcher (see `createDispatcher`). */
  readonly dispatcher: Dispatcher;
  readonly tokenProvider: TokenProvider;
  /**
   * The request budget of a tenant (see `getTenantThrottle`, and `createDurableBudgets` for the
   * stack's shared one). @default no client-side budget
   */
  readonly throttle?: (tenantId: string) => RequestBudget;
  /**
   * Time a request keeps for itself before its deadline: its budget slot must come this long before the
   * deadline (at most half the time left), or it is not sent (`SLOT_DEADLINE_CODE`, so the halt path hands the
   * app on) rather than sent to be cut off in flight. @default SEND_RESERVE_MS
   */
  readonly sendReserveMs?: number;
  readonly retry?: Partial<RetryPolicy>;
  readonly environment?: Partial<RetryEnvironment>;
  /** Flights asked for per `listflights` page. @default 100 */
  readonly flightPageSize?: number;
  /**
   * Apps asked for per `applications` page. An app resource is well under 2 KB, so a page of 100 stays
   * far below the response cap (`MAX_RESPONSE_BYTES`). @default 100
   */
  readonly applicationPageSize?: number;
}

/** A GET below the API base, for the adapters built on this client (e.g. the analytics reads). */
export interface ResourceRequest<S extends z.ZodMiniType> {
  /** Relative to the base, built from validated IDs only, e.g. `analytics/failurehits`. */
  readonly path: string;
  readonly query?: Record<string, string>;
  /** What the answer must look like. */
  readonly schema: S;
}

/** The reads and the halt the watchdog needs. Every method takes the caller's deadline signal. */
export interface StoreClient {
  /** GET `applications/{app}` (Microsoft's "Get an app"). */
  getApplication(applicationId: string, signal: AbortSignal): Promise<Application>;
  /**
   * Every app of the account, `GET applications?top=N` page by page, following `@nextLink`; none when
   * the Store answers 404 when there are none (Microsoft's "Get all apps").
   */
  listApplications(signal: AbortSignal): Promise<Application[]>;
  /** Every package flight of an app, following `@nextLink`; none when the Store answers 404 (Microsoft's "Get package flights for an app"). */
  listFlights(applicationId: string, signal: AbortSignal): Promise<Flight[]>;
  /** GET `applications/{app}/flights/{flightId}` (Microsoft's "Get a package flight"). */
  getFlight(applicationId: string, flightId: string, signal: AbortSignal): Promise<Flight>;
  /** GET an app or flight submission (Microsoft's "Get an app submission", "Get a package flight submission"). */
  getSubmission(ref: RolloutRef, signal: AbortSignal): Promise<Submission>;
  /** GET its package rollout (Microsoft's "Get rollout info for an app submission"). */
  getPackageRollout(ref: RolloutRef, signal: AbortSignal): Promise<PackageRollout>;
  /** POST `haltpackagerollout` (Microsoft's "Halt the rollout for an app submission"). Not retried on ambiguous failures. */
  haltPackageRollout(ref: RolloutRef, signal: AbortSignal): Promise<PackageRollout>;
  /** GET any resource below the base, with the same token, retries, deadline and budget as the rest. */
  getResource<S extends z.ZodMiniType>(
    request: ResourceRequest<S>,
    signal: AbortSignal,
  ): Promise<z.output<S>>;
}

/** See `StoreClientOptions.sendReserveMs`: the dispatcher's connect timeout, well above a Store answer's time. */
export const SEND_RESERVE_MS = 3_000;

const MAX_FLIGHT_PAGES = 50;
/** 100 pages of 100: ten thousand apps, far more than any account the watchdog watches. */
const MAX_APPLICATION_PAGES = 100;

interface CallSpec<S extends z.ZodMiniType> {
  readonly method: 'GET' | 'POST';
  /** Relative to the base, built from validated IDs. */
  readonly path: string;
  readonly query?: Record<string, string>;
  readonly schema: S;
  /** Its place in the tenant's budget: a started halt finishes before new work starts. */
  readonly priority: RequestPriority;
}

/** Creates the Store API client. */
export function createStoreClient(options: StoreClientOptions): StoreClient {
  const base = new URL(options.baseUrl.endsWith('/') ? options.baseUrl : `${options.baseUrl}/`);
  const policy: RetryPolicy = { ...DEFAULT_RETRY_POLICY, ...options.retry };
  const environment: RetryEnvironment = { ...REAL_RETRY_ENVIRONMENT, ...options.environment };
  const pageSize = options.flightPageSize ?? 100;
  const applicationPageSize = options.applicationPageSize ?? 100;
  const { dispatcher, tokenProvider } = options;

  /** One exchange with a token and a budget slot; the response whatever its status. */
  const sendAuthorized = async (
    token: AccessToken,
    spec: CallSpec<z.ZodMiniType>,
    what: string,
    url: URL,
    signal: AbortSignal,
    slotSignal: AbortSignal,
  ): Promise<HttpResponse> => {
    await options.throttle?.(token.tenantId).acquire(slotSignal, what, spec.priority);
    return sendHttpRequest(dispatcher, {
      method: spec.method,
      url,
      headers: { authorization: `Bearer ${token.value}`, accept: 'application/json' },
      signal,
    });
  };

  const call = async <S extends z.ZodMiniType>(
    spec: CallSpec<S>,
    signal: AbortSignal,
  ): Promise<z.output<S>> => {
    const what = `${spec.method} ${spec.path}`;
    const url = new URL(spec.path, base);
    if (spec.query !== undefined) url.search = new URLSearchParams(spec.query).toString();
    const retryAnyFailure = spec.method === 'GET';
    let renewedToken = false;
    // Once per call, for every attempt: a slot must leave the request time for its answer.
    const slotSignal = deadlineLeaving(signal, options.sendReserveMs ?? SEND_RESERVE_MS);

    const attempt = async (): Promise<AttemptResult<z.output<S>>> => {
      let response: HttpResponse;
      try {
        let token = await tokenProvider.getToken(signal);
        response = await sendAuthorized(token, spec, what, url, signal, slotSignal);
        if (response.status === 401 && !renewedToken) {
          // An expired or revoked token: renew once, repeat once. The gateway rejected
          // the call before the Store saw it, so repeating even a POST is safe.
          renewedToken = true;
          tokenProvider.invalidate(token);
          token = await tokenProvider.getToken(signal);
          response = await sendAuthorized(token, spec, what, url, signal, slotSignal);
        }
      } catch (caught) {
        if (!isTransportFailure(caught)) throw caught;
        const error = createStoreErrorFromFailure(what, classifyFailure(caught, signal), caught);
        return { ok: false, error, retryable: retryAnyFailure && error.retryable };
      }
      if (response.status >= 200 && response.status < 300)
        return { ok: true, value: parseBody(spec, what, response) };
      const error = createStoreErrorFromResponse(what, response.status, response.headers, response.text);
      const retryAfterMs = findRetryAfter(response, error, environment.now());
      return {
        ok: false,
        error,
        // A 429 means the Store did not act, so even a POST may be sent again.
        retryable: error.retryable && (retryAnyFailure || response.status === 429),
        ...definedProps({ retryAfterMs }),
      };
    };
    return runWithRetries(attempt, { policy, environment, signal, what });
  };

  const submissionPath = (ref: RolloutRef) => {
    const app = assertApplicationId(ref.applicationId);
    const submission = assertSubmissionId(ref.submissionId);
    const flight = ref.flightId === undefined ? '' : `/flights/${assertFlightId(ref.flightId)}`;
    return `applications/${app}${flight}/submissions/${submission}`;
  };

  return {
    getApplication: async (applicationId, signal) =>
      call(
        {
          method: 'GET',
          path: `applications/${assertApplicationId(applicationId)}`,
          schema: applicationSchema,
          priority: 'discovery',
        },
        signal,
      ),

    async listApplications(signal) {
      const path = 'applications';
      const apps: Application[] = [];
      let page: { top: string; skip: string } | undefined = { top: String(applicationPageSize), skip: '0' };
      for (let count = 0; page !== undefined; count++) {
        if (count >= MAX_APPLICATION_PAGES) {
          throw createBadResponseError(
            `GET ${path}`,
            200,
            `more than ${MAX_APPLICATION_PAGES} pages of apps`,
          );
        }
        let list: z.output<typeof applicationListSchema>;
        try {
          list = await call(
            { method: 'GET', path, query: page, schema: applicationListSchema, priority: 'discovery' },
            signal,
          );
        } catch (error) {
          // "404: No apps were found" (an account without apps).
          if (isStoreError(error, STORE_ERROR_CODES.notFound) && count === 0) return apps;
          throw error;
        }
        apps.push(...list.value);
        page = readNextPage(list['@nextLink'] ?? undefined, page, `GET ${path}`);
      }
      return apps;
    },

    async listFlights(applicationId, signal) {
      const path = `applications/${assertApplicationId(applicationId)}/listflights`;
      const flights: Flight[] = [];
      let page: { top: string; skip: string } | undefined = { top: String(pageSize), skip: '0' };
      for (let count = 0; page !== undefined; count++) {
        if (count >= MAX_FLIGHT_PAGES) {
          throw createBadResponseError(`GET ${path}`, 200, `more than ${MAX_FLIGHT_PAGES} pages of flights`);
        }
        let list: z.output<typeof flightListSchema>;
        try {
          list = await call(
            { method: 'GET', path, query: page, schema: flightListSchema, priority: 'discovery' },
            signal,
          );
        } catch (error) {
          // "404: No package flights were found" (Microsoft's "Get package flights for an app").
          if (isStoreError(error, STORE_ERROR_CODES.notFound)) return flights;
          throw error;
        }
        flights.push(...list.value);
        page = readNextPage(list['@nextLink'], page, `GET ${path}`);
      }
      return flights;
    },

    getFlight: async (applicationId, flightId, signal) =>
      call(
        {
          method: 'GET',
          path: `applications/${assertApplicationId(applicationId)}/flights/${assertFlightId(flightId)}`,
          schema: flightSchema,
          priority: 'discovery',
        },
        signal,
      ),

    getSubmission: async (ref, signal) =>
      call(
        { method: 'GET', path: submissionPath(ref), schema: submissionSchema, priority: 'rollout' },
        signal,
      ),

    getPackageRollout: async (ref, signal) =>
      call(
        {
          method: 'GET',
          path: `${submissionPath(ref)}/packagerollout`,
          schema: packageRolloutSchema,
          priority: 'rollout',
        },
        signal,
      ),

    haltPackageRollout: async (ref, signal) =>
      call(
        {
          method: 'POST',
          path: `${submissionPath(ref)}/haltpackagerollout`,
          schema: packageRolloutSchema,
          priority: 'halt',
        },
        signal,
      ),

    getResource: async (request, signal) =>
      call(
        {
          method: 'GET',
          path: request.path,
          ...definedProps({ query: request.query }),
          schema: request.schema,
          priority: 'rollout',
        },
        signal,
      ),
  };
}

function parseBody<S extends z.ZodMiniType>(
  spec: CallSpec<S>,
  what: string,
  response: HttpResponse,
): z.output<S> {
  let json: unknown;
  try {
    json = JSON.parse(response.text);
  } catch {
    throw createBadResponseError(what, response.status, 'the body is not JSON');
  }
  const parsed = spec.schema.safeParse(json);
  if (!parsed.success)
    throw createBadResponseError(what, response.status, describeSchemaMismatch(parsed.error));
  return parsed.data;
}

/** `Retry-After` (seconds or HTTP date), else the "Try again in N seconds" of a 429's message. */
function findRetryAfter(response: HttpResponse, error: StoreApiError, nowMs: number): number | undefined {
  const header = parseRetryAfter(readHeader(response.headers, 'Retry-After'), nowMs);
  if (header !== undefined || response.status !== 429) return header;
  return parseRetryHintFromMessage(error.storeMessage);
}

/**
 * The next page from `@nextLink` (e.g. `applications/{app}/listflights/?skip=2&top=2`). Only its
 * `skip` and `top` are used: the path is ours, built from the validated ID.
 */
export function readNextPage(
  nextLink: string | undefined,
  current: { readonly top: string; readonly skip: string },
  what: string,
): { top: string; skip: string } | undefined {
  if (nextLink === undefined || nextLink === '') return undefined;
  const params = new URL(nextLink, 'http://next.invalid/').searchParams;
  const skip = params.get('skip');
  const top = params.get('top') ?? current.top;
  if (skip === null || !/^\d+$/.test(skip) || !/^\d+$/.test(top)) {
    throw createBadResponseError(what, 200, '@nextLink has no numeric skip and top');
  }
  if (Number(skip) <= Number(current.skip)) {
    throw createBadResponseError(what, 200, '@nextLink does not move forward');
  }
  return { top, skip };
}

function isStoreError(error: unknown, code: string): boolean {
  return error instanceof StoreApiError && error.code === code;
}

/** Errors from the exchange itself (undici, sockets), as opposed to our own errors thrown on the way. */
function isTransportFailure(error: unknown): boolean {
  return !(error instanceof WatchdogError);
}
