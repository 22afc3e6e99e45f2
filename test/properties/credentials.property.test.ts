/**
 * `parseStoreCredentials` (the secret's `SecretString`) over arbitrary strings and mutated real secrets:
 * it returns credentials or rejects with a clear `ConfigurationError`, never echoes the client secret
 * (whichever field it ends up in), and the credentials it returns never show the secret when logged.
 */
import { inspect } from 'node:util';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AzureAdCredentials, parseStoreCredentials } from '../../functions/commons/aws/credentials.ts';
import { ConfigurationError } from '../../functions/commons/errors.ts';
import { SAMPLE_TENANT } from '../../tools/store-simulator/sample-state.ts';
import { anyJson, isClearError, mutatedFrom, NUM_RUNS, outcomeOf, secretLike } from './arbitraries.ts';

const SECRET_ID = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:store-credentials-AbCdEf';

/** A secret value as stored, with `secret` as its client secret, then maybe mutated or replaced. */
function secretStrings(secret: string): fc.Arbitrary<string | undefined> {
  const valid = { tenantId: SAMPLE_TENANT.tenantId, clientId: SAMPLE_TENANT.clientId, clientSecret: secret };
  return fc.oneof(
    { weight: 1, arbitrary: fc.constant(JSON.stringify(valid)) },
    { weight: 6, arbitrary: mutatedFrom(valid).map((value) => JSON.stringify(value) ?? '') },
    // The secret pasted in the wrong field, or on its own, or as the tenant.
    {
      weight: 2,
      arbitrary: fc
        .constantFrom('tenantId', 'clientId', 'clientSecret', 'secret', 'password')
        .map((field) =>
          JSON.stringify({ tenantId: 'contoso.onmicrosoft.com', clientId: 'x', [field]: secret }),
        ),
    },
    {
      weight: 1,
      arbitrary: fc.constantFrom(secret, `${secret} `, `{"clientSecret": "${secret}"`, `"${secret}"`),
    },
    { weight: 2, arbitrary: anyJson.map((value) => JSON.stringify(value) ?? '') },
    { weight: 1, arbitrary: fc.string() },
    { weight: 1, arbitrary: fc.constantFrom(undefined, '', '   ', 'null', '[]', '{}') },
  );
}

describe('parseStoreCredentials, property-based', () => {
  it('returns credentials or a clear ConfigurationError, and never echoes the client secret', () => {
    const cases = secretLike.chain((secret) => secretStrings(secret).map((value) => ({ secret, value })));
    fc.assert(
      fc.property(cases, ({ secret, value }) => {
        const outcome = outcomeOf(() => parseStoreCredentials(value, SECRET_ID));
        if (outcome.ok) {
          const credentials = outcome.value;
          expect(credentials).toBeInstanceOf(AzureAdCredentials);
          expect(credentials.clientId.length).toBeGreaterThan(0);
          // Either a key or federation, never both, never neither.
          expect(credentials.clientSecret === undefined).toBe(credentials.credential === 'aws-federation');
          expect(credentials.clientSecret?.length ?? 1).toBeGreaterThan(0);
          // Logged or serialized, the credentials show everything but the secret.
          if (credentials.clientSecret === secret) {
            expect(JSON.stringify(credentials)).not.toContain(secret);
            expect(inspect(credentials, { depth: 5 })).not.toContain(secret);
            expect(String(credentials)).not.toContain(secret);
          }
        } else {
          expect(isClearError(outcome.error, ConfigurationError)).toBe(true);
          expect(outcome.error instanceof ConfigurationError ? outcome.error.code : '').toMatch(
            /^SECRET_(EMPTY|MALFORMED)$/,
          );
          const message = outcome.error instanceof Error ? outcome.error.message : '';
          expect(message).toContain(SECRET_ID);
          expect(message).not.toContain(secret);
        }
      }),
      { numRuns: NUM_RUNS },
    );
  });
});
