/**
 * Store API responses (the zod schemas of `functions/commons/store/model.ts`, as the client uses them)
 * over arbitrary bodies and mutated real ones (the simulator's answers): every call resolves with a value
 * its schema accepts or rejects with a clear `WatchdogError`; nothing else escapes, no error shows the
 * token, and no ID taken from a response ever reaches a URL unchecked.
 *
 * The HTTP exchange is undici's `MockAgent`, in process: no socket, so 10,000 cases take seconds.
 */
import fc from 'fast-check';
import { MockAgent } from 'undici';
import { afterAll, describe, expect, it } from 'vitest';
import { redactTokens, safeError } from '../../functions/commons/domain/decide.ts';
import type { FlightSelection } from '../../functions/commons/domain/ports.ts';
import { WatchdogError } from '../../functions/commons/errors.ts';
import { definedProps } from '../../functions/commons/optional.ts';
import {
  applicationSchema,
  flightSchema,
  packageRolloutSchema,
  type RolloutRef,
  submissionSchema,
} from '../../functions/commons/store/model.ts';
import { createRolloutPort } from '../../functions/commons/store/rollouts.ts';
import { createStoreClient, type StoreClient } from '../../functions/commons/store/store-client.ts';
import { STORE_ERROR_CODES } from '../../functions/commons/store/store-errors.ts';
import { AccessToken } from '../../functions/commons/store/token-provider.ts';
import type { StoreRoute } from '../../tools/store-simulator/routes.ts';
import {
  SAMPLE_APP_ID,
  SAMPLE_FLIGHT_ID,
  SAMPLE_FLIGHT_SUBMISSION_ID,
  SAMPLE_PENDING_SUBMISSION_ID,
  SAMPLE_PUBLISHED_SUBMISSION_ID,
  SAMPLE_TENANT,
  sampleState,
} from '../../tools/store-simulator/sample-state.ts';
import { executeStoreRoute } from '../../tools/store-simulator/store-model.ts';
import { anyJson, asyncOutcomeOf, isClearError, mutatedFrom, NUM_RUNS } from './arbitraries.ts';

const ORIGIN = 'https://store.test';
const BASE_URL = `${ORIGIN}/v1.0/my/`;
/** Looks like an Azure AD access token (a JWT), so the redaction of echoed tokens can be checked. */
const TOKEN_VALUE = 'eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.eyJhdWQiOiJzdG9yZSJ9.c2lnbmF0dXJlLXRlc3Q';

const GUID = '[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}';
/** Every URL the client may build: validated IDs only, the documented routes only. */
const ALLOWED_PATH = new RegExp(
  `^/v1\\.0/my/applications/[0-9A-Z]{12}(/listflights|/flights/${GUID}|(/flights/${GUID})?/submissions/[0-9]{1,30}(/packagerollout|/haltpackagerollout)?)?$`,
);

interface Answer {
  readonly status: number;
  readonly body: string;
  readonly retryAfter?: string;
}

interface SeenRequest {
  readonly method: string;
  readonly path: string;
  readonly query: string;
}

// One in-process HTTP mock for the whole file; each case sets how it answers.
const agent = new MockAgent();
agent.disableNetConnect();
const seen: SeenRequest[] = [];
let respond: (request: SeenRequest) => Answer = () => ({ status: 500, body: '' });
agent
  .get(ORIGIN)
  .intercept({ path: () => true, method: () => true })
  .reply((options) => {
    const url = new URL(options.path, ORIGIN);
    const request = { method: options.method, path: url.pathname, query: url.search };
    seen.push(request);
    const answer = respond(request);
    return {
      statusCode: answer.status,
      data: answer.body,
      responseOptions: {
        headers: {
          'content-type': 'application/json',
          ...definedProps({ 'retry-after': answer.retryAfter }),
        },
      },
    };
  })
  .persist();
afterAll(async () => {
  await agent.close();
});

const token = new AccessToken(TOKEN_VALUE, SAMPLE_TENANT.tenantId);
const FAST = {
  retry: { maxAttempts: 2, baseDelayMs: 1, maxDelayMs: 1 },
  environment: { sleep: async () => {} },
};

function createClient(): StoreClient {
  return createStoreClient({
    baseUrl: BASE_URL,
    dispatcher: agent,
    tokenProvider: { getToken: async () => token, invalidate: () => {} },
    ...FAST,
  });
}

/** The simulator's own answer to a route, from a fresh sample state (the model is plain functions). */
function simulatorAnswer(route: StoreRoute, query = ''): unknown {
  return executeStoreRoute(sampleState(), SAMPLE_TENANT.tenantId, route, new URLSearchParams(query)).body;
}

const MAIN: RolloutRef = { applicationId: SAMPLE_APP_ID, submissionId: SAMPLE_PUBLISHED_SUBMISSION_ID };
const FLIGHT: RolloutRef = {
  applicationId: SAMPLE_APP_ID,
  flightId: SAMPLE_FLIGHT_ID,
  submissionId: SAMPLE_FLIGHT_SUBMISSION_ID,
};

interface Operation {
  readonly name: string;
  readonly seed: unknown;
  /** The schema the client parses this answer with. */
  readonly schema: { safeParse(value: unknown): { readonly success: boolean } };
  readonly call: (client: StoreClient, signal: AbortSignal) => Promise<unknown>;
}

const OPERATIONS: readonly Operation[] = [
  {
    name: 'getApplication',
    seed: simulatorAnswer({ op: 'get-app', applicationId: SAMPLE_APP_ID }),
    schema: applicationSchema,
    call: (client, signal) => client.getApplication(SAMPLE_APP_ID, signal),
  },
  {
    name: 'listFlights',
    seed: simulatorAnswer({ op: 'list-flights', applicationId: SAMPLE_APP_ID }, 'top=100&skip=0'),
    schema: flightSchema,
    call: (client, signal) => client.listFlights(SAMPLE_APP_ID, signal),
  },
  {
    name: 'getFlight',
    seed: simulatorAnswer({ op: 'get-flight', applicationId: SAMPLE_APP_ID, flightId: SAMPLE_FLIGHT_ID }),
    schema: flightSchema,
    call: (client, signal) => client.getFlight(SAMPLE_APP_ID, SAMPLE_FLIGHT_ID, signal),
  },
  {
    name: 'getSubmission',
    seed: simulatorAnswer({ op: 'get-submission', at: MAIN }),
    schema: submissionSchema,
    call: (client, signal) => client.getSubmission(MAIN, signal),
  },
  {
    name: 'getPackageRollout',
    seed: simulatorAnswer({ op: 'get-rollout', at: FLIGHT }),
    schema: packageRolloutSchema,
    call: (client, signal) => client.getPackageRollout(FLIGHT, signal),
  },
  {
    name: 'haltPackageRollout',
    seed: simulatorAnswer({ op: 'rollout-action', action: 'halt', at: MAIN }),
    schema: packageRolloutSchema,
    call: (client, signal) => client.haltPackageRollout(MAIN, signal),
  },
];

/** Error answers the simulator gives (404, 409), as seeds too. */
const ERROR_SEEDS = [
  simulatorAnswer({ op: 'get-app', applicationId: 'ZZZZZZZZZZZZ' }),
  simulatorAnswer({
    op: 'rollout-action',
    action: 'halt',
    at: { applicationId: SAMPLE_APP_ID, submissionId: SAMPLE_PENDING_SUBMISSION_ID },
  }),
  { statusCode: 429, message: 'Rate limit is exceeded. Try again in 1 seconds.' },
  { statusCode: 401, message: `APIM: Unauthorized. Access token ${TOKEN_VALUE} is invalid.` },
];

const STATUSES = [200, 200, 200, 200, 201, 204, 302, 400, 401, 403, 404, 409, 429, 500, 502, 503] as const;

function bodyFrom(seed: unknown): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 2, arbitrary: fc.constant(JSON.stringify(seed)) },
    { weight: 6, arbitrary: mutatedFrom(seed).map((value) => JSON.stringify(value) ?? '') },
    { weight: 1, arbitrary: fc.constantFrom(...ERROR_SEEDS).map((value) => JSON.stringify(value)) },
    { weight: 1, arbitrary: anyJson.map((value) => JSON.stringify(value) ?? '') },
    {
      weight: 1,
      arbitrary: fc.oneof(fc.string({ maxLength: 20 }), fc.constantFrom('', '<html>', 'null', '{')),
    },
  );
}

const answers = (seed: unknown): fc.Arbitrary<Answer> =>
  fc.record(
    {
      status: fc.constantFrom(...STATUSES),
      body: bodyFrom(seed),
      retryAfter: fc.constantFrom('0', '1', '-5', '99999', 'soon', 'Wed, 21 Oct 2015 07:28:00 GMT'),
    },
    { requiredKeys: ['status', 'body'] },
  );

const STORE_CODES: readonly string[] = [...Object.values(STORE_ERROR_CODES), 'DEADLINE_EXCEEDED'];

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

describe('Store responses, property-based', () => {
  it('each call resolves with what its schema accepts or rejects with a clear WatchdogError, for arbitrary and mutated bodies', async () => {
    const client = createClient();
    const cases = fc
      .constantFrom(...OPERATIONS)
      .chain((operation) => answers(operation.seed).map((answer) => ({ operation, answer })));
    await fc.assert(
      fc.asyncProperty(cases, async ({ operation, answer }) => {
        seen.length = 0;
        respond = () => answer;

        const outcome = await asyncOutcomeOf(() => operation.call(client, new AbortController().signal));

        if (outcome.ok) {
          const values = Array.isArray(outcome.value) ? outcome.value : [outcome.value];
          for (const value of values) expect(operation.schema.safeParse(value).success).toBe(true);
        } else {
          expect(isClearError(outcome.error, WatchdogError)).toBe(true);
          expect(STORE_CODES).toContain(outcome.error instanceof WatchdogError ? outcome.error.code : '');
          // What reaches results, logs and notifications never shows the token, even if the Store echoed it.
          expect(safeError(outcome.error).message).not.toContain(TOKEN_VALUE);
          if (!answer.body.includes(TOKEN_VALUE)) expect(messageOf(outcome.error)).not.toContain(TOKEN_VALUE);
        }
        // The documented answer, unchanged, is always accepted.
        if (answer.status === 200 && answer.body === JSON.stringify(operation.seed))
          expect(outcome.ok).toBe(true);
        for (const request of seen) expect(request.path).toMatch(ALLOWED_PATH);
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it('the rollout port never rejects a lookup, and never puts an ID from a response into a URL unchecked', async () => {
    const port = createRolloutPort(createClient(), FAST);
    const seeds = {
      app: simulatorAnswer({ op: 'get-app', applicationId: SAMPLE_APP_ID }),
      flights: simulatorAnswer({ op: 'list-flights', applicationId: SAMPLE_APP_ID }, 'top=100&skip=0'),
      flight: simulatorAnswer({ op: 'get-flight', applicationId: SAMPLE_APP_ID, flightId: SAMPLE_FLIGHT_ID }),
      submission: simulatorAnswer({
        op: 'get-submission',
        at: { applicationId: SAMPLE_APP_ID, submissionId: SAMPLE_PENDING_SUBMISSION_ID },
      }),
      rollout: simulatorAnswer({ op: 'get-rollout', at: MAIN }),
      halt: simulatorAnswer({ op: 'rollout-action', action: 'halt', at: MAIN }),
    };
    const okOrMutated = (seed: unknown): fc.Arbitrary<Answer> =>
      fc.oneof(
        { weight: 3, arbitrary: fc.constant({ status: 200, body: JSON.stringify(seed) }) },
        {
          weight: 2,
          arbitrary: mutatedFrom(seed).map((value) => ({ status: 200, body: JSON.stringify(value) ?? '' })),
        },
        { weight: 1, arbitrary: answers(seed) },
      );
    const cases = fc.record({
      app: okOrMutated(seeds.app),
      flights: okOrMutated(seeds.flights),
      flight: okOrMutated(seeds.flight),
      submission: okOrMutated(seeds.submission),
      // In progress (the sample's live rollout) or already stopped (what a halt leaves).
      rollout: fc.oneof(okOrMutated(seeds.rollout), okOrMutated(seeds.halt)),
      halt: okOrMutated(seeds.halt),
      selection: fc.constantFrom<FlightSelection>(undefined, 'all', [SAMPLE_FLIGHT_ID]),
    });
    await fc.assert(
      fc.asyncProperty(cases, async (script) => {
        seen.length = 0;
        respond = ({ method, path }) => {
          if (method === 'POST') return script.halt;
          if (path.endsWith('/packagerollout')) return script.rollout;
          if (path.includes('/submissions/')) return script.submission;
          if (path.endsWith('/listflights')) return script.flights;
          if (path.includes('/flights/')) return script.flight;
          return script.app;
        };
        const signal = new AbortController().signal;

        const found = await asyncOutcomeOf(() =>
          port.findLiveRollouts({ applicationId: SAMPLE_APP_ID, flights: script.selection }, signal),
        );

        expect(found.ok).toBe(true);
        const lookups = found.ok ? found.value : [];
        expect(lookups.length).toBeGreaterThan(0);
        for (const lookup of lookups) {
          expect(['in-progress', 'stopped', 'none', 'failed']).toContain(lookup.state);
          if (lookup.state === 'failed') expect(safeError(lookup.error).message).toMatch(/\S/);
          if (lookup.state !== 'in-progress') continue;
          const halted = await asyncOutcomeOf(() => port.haltRollout(lookup, signal));
          if (halted.ok)
            expect(['halted', 'already-halted', 'no-active-rollout']).toContain(halted.value.result);
          else expect(isClearError(halted.error, WatchdogError)).toBe(true);
        }
        for (const request of seen) {
          expect(request.path).toMatch(ALLOWED_PATH);
          expect(request.query).toMatch(/^(\?top=\d+&skip=\d+)?$/);
        }
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it('masks a token the Store echoes before it reaches a result', () => {
    expect(redactTokens(`Access token ${TOKEN_VALUE} is invalid`)).not.toContain(TOKEN_VALUE);
  });
});
