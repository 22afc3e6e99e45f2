/**
 * The Azure AD token response, through the real token provider, over arbitrary bodies and mutated real
 * ones (the simulator's success and error answers): it yields an access token or rejects with a clear
 * `WatchdogError`; no error ever shows the client secret (even when the response carries it) or the
 * access token, and the token never shows its value when logged.
 */
import { inspect } from 'node:util';
import fc from 'fast-check';
import { MockAgent } from 'undici';
import { afterAll, describe, expect, it } from 'vitest';
import { WatchdogError } from '../../functions/commons/errors.ts';
import { definedProps } from '../../functions/commons/optional.ts';
import {
  AccessToken,
  AUTH_ERROR_CODES,
  type ClientCredentials,
  createTokenProvider,
} from '../../functions/commons/store/token-provider.ts';
import { SAMPLE_TENANT, sampleState } from '../../tools/store-simulator/sample-state.ts';
import { checkTokenRequest, renderToken } from '../../tools/store-simulator/tokens.ts';
import {
  anyJson,
  asyncOutcomeOf,
  isClearError,
  type Mutation,
  mutate,
  mutationArbitrary,
  NUM_RUNS,
  secretLike,
} from './arbitraries.ts';

const AUTHORITY = 'https://login.test';
const TOKEN_PATH = `/${SAMPLE_TENANT.tenantId}/oauth2/token`;
const ACCESS_TOKEN = 'eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.eyJhdWQiOiJ0b2tlbi10ZXN0In0.c2lnbmVkLXRva2Vu';

interface Answer {
  readonly status: number;
  readonly body: string;
  readonly retryAfter?: string;
}

const agent = new MockAgent();
agent.disableNetConnect();
const seen: { method: string; path: string }[] = [];
let answer: Answer = { status: 500, body: '' };
agent
  .get(AUTHORITY)
  .intercept({ path: () => true, method: () => true })
  .reply((options) => {
    seen.push({ method: options.method, path: new URL(options.path, AUTHORITY).pathname });
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

/** The simulator's success body (v1: lifetimes as strings of digits). */
const SUCCESS = renderToken(ACCESS_TOKEN, 3599, Date.now() + 3_599_000, Date.now()).body;

/** The simulator's Azure AD error bodies: unknown tenant, wrong secret, unknown client, missing resource. */
function errorBodies(): unknown[] {
  const state = sampleState();
  const form = (fields: Record<string, string>) =>
    new URLSearchParams({
      grant_type: 'client_credentials',
      client_id: SAMPLE_TENANT.clientId,
      client_secret: SAMPLE_TENANT.clientSecret,
      ...fields,
    });
  return [
    checkTokenRequest(state, 'nobody.example.com', form({})),
    checkTokenRequest(state, SAMPLE_TENANT.tenantId, form({ client_secret: 'wrong-secret-value' })),
    checkTokenRequest(state, SAMPLE_TENANT.tenantId, form({ client_id: 'someone-else' })),
    checkTokenRequest(state, SAMPLE_TENANT.tenantId, form({})),
  ].flatMap((reply) => ('body' in reply ? [reply.body] : []));
}
const ERRORS = errorBodies();

/** Puts `secret` somewhere in a JSON document: into a string (as a description might) or as a value. */
function plant(document: unknown, at: number, secret: string, mutations: readonly Mutation[]): unknown {
  return mutate(document, [...mutations, { op: 'inject', at, value: null, text: ` ${secret} ` }]);
}

const STATUSES = [200, 200, 200, 200, 201, 400, 401, 403, 404, 429, 500, 503] as const;

const cases = fc
  .record({
    secret: secretLike,
    status: fc.constantFrom(...STATUSES),
    kind: fc.constantFrom('success', 'error', 'planted', 'arbitrary'),
    seed: fc.constantFrom(SUCCESS, ...ERRORS),
    mutations: fc.array(mutationArbitrary, { maxLength: 3 }),
    at: fc.nat(),
    arbitrary: fc.oneof(
      anyJson.map((value) => JSON.stringify(value) ?? ''),
      fc.string({ maxLength: 20 }),
    ),
    retryAfter: fc.option(fc.constantFrom('0', '1', '99999', 'later'), { nil: undefined }),
  })
  .map(({ secret, status, kind, seed, mutations, at, arbitrary, retryAfter }) => {
    const body =
      kind === 'success'
        ? JSON.stringify(mutate(SUCCESS, mutations))
        : kind === 'error'
          ? JSON.stringify(mutate(seed, mutations))
          : kind === 'planted'
            ? JSON.stringify(plant(seed, at, secret, mutations))
            : arbitrary;
    return {
      secret,
      answer: { status, body: body ?? '', ...definedProps({ retryAfter }) },
    };
  });

const AUTH_CODES: readonly string[] = [...Object.values(AUTH_ERROR_CODES), 'DEADLINE_EXCEEDED'];

describe('token response, property-based', () => {
  it.each([
    ['error', { error: `invalid_client ${SAMPLE_TENANT.clientSecret}`, error_description: 'AADSTS7000215' }],
    [
      'error_description',
      { error: 'invalid_client', error_description: `AADSTS7000215: ${SAMPLE_TENANT.clientSecret}` },
    ],
  ])('keeps the client secret out of the error when Azure AD echoes it in %s', async (_field, body) => {
    answer = { status: 401, body: JSON.stringify(body) };
    const provider = createTokenProvider({
      authority: AUTHORITY,
      dispatcher: agent,
      getCredentials: async () => SAMPLE_TENANT,
    });

    const outcome = await asyncOutcomeOf(() => provider.getToken(new AbortController().signal));

    expect(outcome.ok ? undefined : outcome.error).toBeInstanceOf(WatchdogError);
    const message = outcome.ok ? '' : outcome.error instanceof Error ? outcome.error.message : '';
    expect(message).toContain('invalid_client');
    expect(message).not.toContain(SAMPLE_TENANT.clientSecret);
  });

  it('yields a token or a clear WatchdogError, never showing the client secret or the token', async () => {
    await fc.assert(
      fc.asyncProperty(cases, async ({ secret, answer: given }) => {
        seen.length = 0;
        answer = given;
        const credentials: ClientCredentials = { ...SAMPLE_TENANT, clientSecret: secret };
        const provider = createTokenProvider({
          authority: AUTHORITY,
          dispatcher: agent,
          getCredentials: async () => credentials,
          refreshCredentials: async () => ({ credentials, changed: false }),
          retry: { maxAttempts: 2, baseDelayMs: 1, maxDelayMs: 1 },
          environment: { sleep: async () => {} },
        });

        const outcome = await asyncOutcomeOf(() => provider.getToken(new AbortController().signal));

        if (outcome.ok) {
          expect(outcome.value).toBeInstanceOf(AccessToken);
          expect(outcome.value.value.length).toBeGreaterThan(0);
          expect(outcome.value.tenantId).toBe(SAMPLE_TENANT.tenantId);
          if (outcome.value.value === ACCESS_TOKEN) {
            expect(JSON.stringify(outcome.value)).not.toContain(ACCESS_TOKEN);
            expect(inspect(outcome.value)).not.toContain(ACCESS_TOKEN);
          }
        } else {
          expect(isClearError(outcome.error, WatchdogError)).toBe(true);
          expect(AUTH_CODES).toContain(outcome.error instanceof WatchdogError ? outcome.error.code : '');
          const message = outcome.error instanceof Error ? outcome.error.message : '';
          expect(message).not.toContain(secret);
          expect(message).not.toContain(ACCESS_TOKEN);
        }
        // The unchanged success answer always gives the token.
        if (given.status === 200 && given.body === JSON.stringify(SUCCESS)) expect(outcome.ok).toBe(true);
        for (const request of seen) expect(request).toEqual({ method: 'POST', path: TOKEN_PATH });
      }),
      { numRuns: NUM_RUNS },
    );
  });
});
