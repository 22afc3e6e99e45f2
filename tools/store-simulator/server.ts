/**
 * The HTTP layer of the Store simulator: a node:http server on loopback serving the Azure AD token
 * endpoints, the Store API and, for federated credentials, an AWS STS stand-in with its issuer's
 * discovery document and JWKS. It records every request and applies the injected faults, in the order
 * README.md gives ("Order of checks for every request"); what the calls do is decided in
 * `store-model.ts`, `tokens.ts` and `federation.ts`.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { BadInputError } from '../../functions/commons/errors.ts';
import { definedProps } from '../../functions/commons/optional.ts';
import type { PackageRollout } from '../../functions/commons/store/model.ts';
import { executeAnalytics, matchAnalyticsRoute } from './analytics-model.ts';
import { type FaultAction, FaultQueue, GatheringQueue, type RequestFacts } from './faults.ts';
import {
  answerSts,
  createIssuerKeys,
  ISSUER_PATH,
  renderDiscovery,
  renderJwks,
  type StsStandIn,
} from './federation.ts';
import { matchStoreRoute, matchTokenPath, STORE_PATH_PREFIX } from './routes.ts';
import { executeStoreRoute, findSubmission } from './store-model.ts';
import { SlidingWindowThrottle } from './throttle.ts';
import {
  checkTokenRequest,
  checkV2TokenRequest,
  renderToken,
  renderV2Token,
  TokenRegistry,
} from './tokens.ts';
import type {
  RecordedRequest,
  RequestKind,
  RunningSimulator,
  SimulatorClock,
  SimulatorControl,
  SimulatorOptions,
  SimulatorState,
  ThrottleSettings,
} from './types.ts';

const DEFAULT_TOKEN_LIFETIME_SECONDS = 3599;
/** Larger bodies are refused; nothing in this API sends more than a token form. */
const MAX_BODY_BYTES = 64 * 1024;

/** APIM's answer to a missing, unknown or expired token (the API gateway's own answer). */
export const UNAUTHORIZED_BODY = {
  statusCode: 401,
  message: 'APIM: Unauthorized. Access token is missing or invalid.',
} as const;

/** A 503 Store clients have seen on a halt that had in fact taken effect. */
export const SERVICE_ERROR_503_BODY = {
  code: 'ServiceError',
  message:
    'InvalidOperation: This operation cannot be completed at this time. Retry your operation using exponential backoff.',
} as const;

/** The 429 body, as Store clients have seen it ("Try again in N seconds"). */
export function renderRateLimitBody(seconds: number): { statusCode: 429; message: string } {
  return { statusCode: 429, message: `Rate limit is exceeded. Try again in ${seconds} seconds.` };
}

interface Reply {
  readonly status: number;
  readonly body: unknown;
  readonly headers?: Readonly<Record<string, string>>;
  /** Sent as is (the STS stand-in's XML) instead of `body` as JSON. */
  readonly raw?: { readonly contentType: string; readonly text: string };
}

/** The subject of a caller the STS stand-in does not know. */
const DEFAULT_SUBJECT = 'arn:aws:iam::123456789012:role/store-watchdog-local';

const REAL_CLOCK: SimulatorClock = {
  now: () => performance.now(),
  sleep: async (ms, signal) => {
    await sleep(ms, undefined, { signal });
  },
};

/** Starts a simulator on 127.0.0.1 with a deep copy of `options.state`. */
export async function start(options: SimulatorOptions): Promise<RunningSimulator> {
  const state: SimulatorState = structuredClone(options.state);
  const lifetimeSeconds = options.tokenLifetimeSeconds ?? DEFAULT_TOKEN_LIFETIME_SECONDS;
  const analyticsNow = options.now ?? Date.now;
  const tokens = new TokenRegistry();
  const clock = options.clock ?? REAL_CLOCK;
  const throttle = new SlidingWindowThrottle(options.throttle ?? null, clock.now);
  const faults = new FaultQueue();
  const gatherings = new GatheringQueue();
  const requests: RecordedRequest[] = [];
  /** Grows with every request received (`requests` may be cleared), for gatherings' arrival order. */
  let arrivals = 0;
  const shutdown = new AbortController();
  let latencyMs = 0;
  let haltsThen503 = 0;
  let effectiveHalts = 0;
  let entraSkewMs = 0;
  /** The STS stand-in's clock; Entra ID's is it plus `entraSkewMs`. */
  const federationNow = options.federation?.now ?? Date.now;
  /** Set once listening: the issuer is the simulator's own URL. */
  let sts: StsStandIn | undefined;
  const issuerKeys = createIssuerKeys();

  function send(res: ServerResponse, record: RecordedRequest, reply: Reply): void {
    if (res.headersSent || res.destroyed) return;
    const body = reply.raw?.text ?? JSON.stringify(reply.body);
    record.status = reply.status;
    record.endedAt = clock.now();
    res.writeHead(reply.status, {
      'Content-Type': reply.raw?.contentType ?? 'application/json; charset=utf-8',
      'Content-Length': Buffer.byteLength(body),
      'MS-CorrelationId': randomUUID(),
      ...reply.headers,
    });
    res.end(body);
  }

  function applyFault(
    fault: FaultAction,
    req: IncomingMessage,
    res: ServerResponse,
    record: RecordedRequest,
  ): void {
    switch (fault.type) {
      case 'hang':
        return; // never answer; close() destroys the socket
      case 'reset':
        record.endedAt = clock.now();
        req.socket.resetAndDestroy();
        return;
      case 'fail':
        send(res, record, {
          status: fault.status,
          body: fault.body ?? renderInjectedFailureBody(fault.status, fault.retryAfter),
          ...(fault.retryAfter === undefined ? {} : { headers: { 'Retry-After': fault.retryAfter } }),
        });
        return;
    }
  }

  /** The request's form, or an empty one when the body is not form-encoded (Azure AD then misses `grant_type`). */
  function readForm(req: IncomingMessage, rawBody: string): URLSearchParams {
    const isForm = (req.headers['content-type'] ?? '')
      .toLowerCase()
      .startsWith('application/x-www-form-urlencoded');
    return new URLSearchParams(isForm ? rawBody : '');
  }

  async function answerToken(
    token: { readonly tenantSegment: string; readonly version: 1 | 2 },
    req: IncomingMessage,
    rawBody: string,
  ): Promise<Reply> {
    const form = readForm(req, rawBody);
    if (token.version === 1) {
      const checked = checkTokenRequest(state, token.tenantSegment, form);
      if ('status' in checked) return checked;
      const { token: issued, expiresAtMs } = tokens.issue(checked.tenant.tenantId, lifetimeSeconds);
      return renderToken(issued, lifetimeSeconds, expiresAtMs, Date.now());
    }
    const checked = await checkV2TokenRequest(state, token.tenantSegment, form, {
      now: () => federationNow() + entraSkewMs,
      fetchJson: readJson,
    });
    if ('status' in checked) return checked;
    return renderV2Token(tokens.issue(checked.tenant.tenantId, lifetimeSeconds).token, lifetimeSeconds);
  }

  function answerOidc(path: string): Reply {
    if (sts === undefined) return notFound();
    if (path === `${ISSUER_PATH}/.well-known/openid-configuration`) {
      return { status: 200, body: renderDiscovery(sts.issuer) };
    }
    if (path === `${ISSUER_PATH}/.well-known/jwks.json`) return { status: 200, body: renderJwks(issuerKeys) };
    return notFound();
  }

  function answerStsRequest(req: IncomingMessage, rawBody: string): Reply {
    if (sts === undefined) return notFound();
    const reply = answerSts(sts, readForm(req, rawBody), req.headers.authorization);
    return { status: reply.status, body: undefined, raw: { contentType: 'text/xml', text: reply.xml } };
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const method = req.method ?? 'GET';
    const tokenPath = matchTokenPath(url.pathname);
    const facts: RequestFacts = {
      kind: kindOf(tokenPath !== undefined, method, url.pathname),
      method,
      path: url.pathname,
    };
    const record: RecordedRequest = {
      kind: facts.kind,
      method,
      path: url.pathname,
      query: url.search,
      status: undefined,
      startedAt: clock.now(),
      endedAt: undefined,
    };
    requests.push(record);
    arrivals += 1;
    const arrival = arrivals;

    const rawBody = await readBody(req);
    if (latencyMs > 0) await clock.sleep(latencyMs, shutdown.signal);
    await gatherings.join(facts, arrival);
    if (shutdown.signal.aborted) return;
    if (rawBody === undefined) {
      send(res, record, {
        status: 413,
        body: { code: 'RequestTooLarge', message: 'The request body is too large.' },
      });
      return;
    }

    const bearer = readBearerToken(req.headers.authorization);
    if (facts.kind === 'store') {
      const throttledTenant = bearer === undefined ? undefined : tokens.findTenant(bearer);
      if (throttledTenant !== undefined) {
        const verdict = throttle.admit(throttledTenant);
        if (!verdict.admitted) {
          send(res, record, {
            status: 429,
            body: renderRateLimitBody(verdict.retryAfterSeconds),
            headers: { 'Retry-After': String(verdict.retryAfterSeconds) },
          });
          return;
        }
      }
    }

    const fault = faults.take(facts);
    if (fault !== undefined) {
      applyFault(fault, req, res, record);
      return;
    }

    if (tokenPath !== undefined) {
      send(res, record, method === 'POST' ? await answerToken(tokenPath, req, rawBody) : notFound());
      return;
    }
    if (facts.kind === 'sts') {
      send(res, record, answerStsRequest(req, rawBody));
      return;
    }
    if (facts.kind === 'oidc') {
      send(res, record, answerOidc(url.pathname));
      return;
    }
    if (!url.pathname.startsWith(STORE_PATH_PREFIX)) {
      send(res, record, notFound());
      return;
    }
    const tenantId = bearer === undefined ? undefined : tokens.validate(bearer);
    if (tenantId === undefined) {
      send(res, record, { status: 401, body: UNAUTHORIZED_BODY });
      return;
    }
    const analytics = matchAnalyticsRoute(method, url.pathname);
    if (analytics !== undefined) {
      send(res, record, executeAnalytics(state, tenantId, analytics, url.searchParams, analyticsNow()));
      return;
    }
    const route = matchStoreRoute(method, url.pathname);
    if (route === undefined) {
      send(res, record, notFound());
      return;
    }
    const reply = executeStoreRoute(state, tenantId, route, url.searchParams);
    if (reply.haltTookEffect === true) {
      effectiveHalts += 1;
      if (haltsThen503 > 0) {
        haltsThen503 -= 1;
        send(res, record, { status: 503, body: SERVICE_ERROR_503_BODY });
        return;
      }
    }
    send(res, record, reply);
  }

  const server = createServer({ keepAlive: true }, (req, res) => {
    handle(req, res).catch((error: unknown) => {
      // After close() the latency sleep is aborted and sockets are gone: nothing to answer.
      if (shutdown.signal.aborted) return;
      if (!res.headersSent && !res.destroyed) {
        res.writeHead(500, {
          'Content-Type': 'application/json; charset=utf-8',
          'MS-CorrelationId': randomUUID(),
        });
        res.end(JSON.stringify({ code: 'SimulatorError', message: describe(error) }));
      }
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  const port = isAddressInfo(address) ? address.port : 0;
  const url = `http://127.0.0.1:${port}`;
  sts = {
    issuer: `${url}${ISSUER_PATH}`,
    keys: issuerKeys,
    enabled: options.federation?.enabled ?? true,
    principals: options.federation?.principals ?? {},
    defaultSubject: options.federation?.defaultSubject ?? DEFAULT_SUBJECT,
    now: federationNow,
    issued: [],
  };
  const federation = sts;

  const control: SimulatorControl = {
    get requests(): readonly RecordedRequest[] {
      return [...requests];
    },
    clearRequests(): void {
      requests.length = 0;
    },
    setLatency(ms: number): void {
      if (!Number.isFinite(ms) || ms < 0)
        throw new RangeError(`latency must be a non-negative number, got ${ms}`);
      latencyMs = ms;
    },
    failNext({ status, count, match, retryAfter, body }): void {
      faults.add(
        {
          type: 'fail',
          status,
          ...definedProps({ retryAfter, body }),
        },
        match,
        count,
      );
    },
    hangNext({ count, match }): void {
      faults.add({ type: 'hang' }, match, count);
    },
    resetNext({ count, match }): void {
      faults.add({ type: 'reset' }, match, count);
    },
    gatherNext({ count, match }): void {
      gatherings.add(match ?? {}, count);
    },
    get heldRequests(): number {
      return gatherings.held;
    },
    haltAppliesThen503(settings): void {
      const count = settings?.count ?? 1;
      if (!Number.isInteger(count) || count < 1)
        throw new RangeError(`count must be a positive integer, got ${count}`);
      haltsThen503 += count;
    },
    clearFaults(): void {
      faults.clear();
      gatherings.releaseAll();
      haltsThen503 = 0;
    },
    addFederatedCredential(clientId, credential): void {
      const index = state.tenants.findIndex((tenant) => tenant.clientId === clientId);
      const tenant = state.tenants[index];
      if (tenant === undefined) {
        throw new BadInputError('SIMULATOR_NO_SUCH_CLIENT', `No application ${clientId} in any tenant`);
      }
      state.tenants[index] = {
        ...tenant,
        federatedCredentials: [...(tenant.federatedCredentials ?? []), structuredClone(credential)],
      };
    },
    issuedAssertions(): readonly string[] {
      return [...federation.issued];
    },
    setOutboundFederation(enabled: boolean): void {
      federation.enabled = enabled;
    },
    skewEntraClock(ms: number): void {
      if (!Number.isFinite(ms)) throw new RangeError(`skew must be a finite number, got ${ms}`);
      entraSkewMs = ms;
    },
    expireAllTokens(): void {
      tokens.expireAll();
    },
    issuedTokens(): readonly string[] {
      return tokens.list();
    },
    setThrottle(settings: ThrottleSettings | null): void {
      throttle.configure(settings);
    },
    rollout(applicationId: string, submissionId: string, flightId?: string): PackageRollout {
      const submission = findSubmission(state, applicationId, submissionId, flightId);
      if (submission === undefined) {
        const where = flightId === undefined ? applicationId : `${applicationId}/flights/${flightId}`;
        throw new BadInputError('SIMULATOR_NO_SUCH_SUBMISSION', `No submission ${submissionId} in ${where}`);
      }
      return { ...submission.rollout };
    },
    snapshot(): SimulatorState {
      return structuredClone(state);
    },
    get effectiveHalts(): number {
      return effectiveHalts;
    },
    startCrashSpike({ applicationId, packageVersion, crashDevicesPerHour, hoursAgo }): void {
      const app = state.apps.find((candidate) => candidate.id === applicationId);
      if (app === undefined) throw new BadInputError('SIMULATOR_NO_SUCH_APP', `No app ${applicationId}`);
      if (!Number.isFinite(crashDevicesPerHour) || crashDevicesPerHour < 0)
        throw new RangeError(`crashDevicesPerHour must be a non-negative number, got ${crashDevicesPerHour}`);
      const hourMs = 3_600_000;
      const fromMs = (Math.floor(analyticsNow() / hourMs) - (hoursAgo ?? 6)) * hourMs;
      app.health ??= [];
      let version = app.health.find((candidate) => candidate.packageVersion === packageVersion);
      if (version === undefined) {
        version = { packageVersion, crashDevicesPerHour: 0 };
        app.health.push(version);
      }
      version.spike = { fromMs, crashDevicesPerHour };
    },
  };

  let closing: Promise<void> | undefined;
  return {
    url,
    storeBaseUrl: `${url}${STORE_PATH_PREFIX}`,
    authority: url,
    stsEndpoint: url,
    federationIssuer: federation.issuer,
    control,
    close(): Promise<void> {
      closing ??= new Promise<void>((resolve) => {
        shutdown.abort();
        gatherings.releaseAll();
        server.close(() => resolve());
        // Hanging requests and idle keep-alive sockets would otherwise hold close() open.
        server.closeAllConnections();
      });
      return closing;
    },
  };
}

/** What kind of request this is, from its path (the STS stand-in answers `POST /`). */
function kindOf(isToken: boolean, method: string, path: string): RequestKind {
  if (isToken) return 'token';
  if (method === 'POST' && path === '/') return 'sts';
  if (path.startsWith(`${ISSUER_PATH}/`)) return 'oidc';
  return 'store';
}

/** GETs a JSON document (the issuer's discovery and JWKS, on this very server); `undefined` on failure. */
async function readJson(url: string): Promise<unknown> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(5_000) });
    return response.ok ? await response.json() : undefined;
  } catch {
    return undefined;
  }
}

function notFound(): Reply {
  return {
    status: 404,
    body: { code: 'ResourceNotFound', message: 'The requested resource was not found.' },
  };
}

function renderInjectedFailureBody(status: number, retryAfter: string | undefined): unknown {
  if (status === 401) return UNAUTHORIZED_BODY;
  if (status === 429) return renderRateLimitBody(Number(retryAfter ?? '1') || 1);
  if (status === 503) return SERVICE_ERROR_503_BODY;
  return { code: 'ServiceError', message: `Injected failure (HTTP ${status}).` };
}

function readBearerToken(header: string | undefined): string | undefined {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
  return match?.[1];
}

/** The whole body as text, or `undefined` when it is larger than `MAX_BODY_BYTES`. */
async function readBody(req: IncomingMessage): Promise<string | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    if (!Buffer.isBuffer(chunk)) continue;
    size += chunk.length;
    if (size <= MAX_BODY_BYTES) chunks.push(chunk);
  }
  return size > MAX_BODY_BYTES ? undefined : Buffer.concat(chunks).toString('utf8');
}

function isAddressInfo(address: string | AddressInfo | null): address is AddressInfo {
  return typeof address === 'object' && address !== null;
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
