/**
 * The self-check of a federated deployment (no key in the secret) against the stand-ins: the STS
 * stand-in issues the function's web identity token and the simulator's v2 endpoint checks it against
 * the application's federated credentials. The check names the mode, proves the whole exchange, and
 * gives a fix for each way it fails.
 */
import { afterEach, expect, it } from 'vitest';
import type { CheckResult } from '../../../functions/self-check/checks.ts';
import { SAMPLE_TENANT } from '../../../tools/store-simulator/sample-state.ts';
import { describeWithMoto, MOTO_SKIP_REASON } from '../../support/aws.ts';
import {
  checksOf,
  FUNCTION_ROLE_ARN,
  type SelfCheckHarness,
  type SelfCheckHarnessOptions,
  type SelfCheckInvocation,
  startSelfCheck,
} from './self-check-harness.ts';

const harnesses: SelfCheckHarness[] = [];
async function selfCheck(options: SelfCheckHarnessOptions): Promise<SelfCheckHarness> {
  const harness = await startSelfCheck(options);
  harnesses.push(harness);
  return harness;
}
afterEach(async () => {
  await Promise.all(harnesses.splice(0).map((harness) => harness.close()));
});

function tokenCheck(invocation: SelfCheckInvocation): CheckResult | undefined {
  return checksOf(invocation).find((check) => check.check === 'token');
}

describeWithMoto(`self-check of federated credentials${MOTO_SKIP_REASON}`, () => {
  it('says it is federated and proves the whole exchange: STS token, Entra ID exchange, Store reads', async () => {
    const harness = await selfCheck({ federation: {} });

    const invocation = await harness.invoke();

    expect(invocation.error).toBeUndefined();
    const checks = checksOf(invocation);
    expect(checks.map((check) => `${check.check} ${check.status}`)).toEqual([
      'credentials PASS',
      'token PASS',
      'app PASS',
      'alarm PASS',
    ]);
    expect(checks[0]?.reason).toContain('federated: no key');
    expect(checks[1]?.reason).toBe(
      'AWS STS issued a web identity token, and Azure AD accepted it for a Store API token',
    );
    const kinds = harness.simulator.control.requests.map((request) => `${request.kind} ${request.path}`);
    expect(kinds.slice(0, 2)).toEqual(['sts /', `token /${SAMPLE_TENANT.tenantId}/oauth2/v2.0/token`]);
  });

  it('says so when the secret holds a key', async () => {
    const harness = await selfCheck({});

    const invocation = await harness.invoke();

    expect(checksOf(invocation)[0]?.reason).toContain('it signs in with the key in the secret');
  });

  it.each([
    [
      'federation switched off in the account',
      { enabled: false },
      'FEDERATION_DISABLED',
      /outbound identity federation is switched off/,
      /aws iam enable-outbound-web-identity-federation/,
    ],
    [
      'no matching federated credential in Entra ID',
      { trust: null },
      'AUTH_REJECTED',
      /AADSTS70021/,
      /az ad app federated-credential create --id 00000000-0000-4000-8000-0000000000c1 --parameters '\{"name":"store-watchdog","issuer":"http:\/\/127\.0\.0\.1:\d+\/outbound-federation","subject":"arn:aws:iam::123456789012:role\/Watchdog-FunctionRole-0123456789AB","audiences":\["api:\/\/AzureADTokenExchange"\]\}'/,
    ],
    [
      'a federated credential for another role',
      { trust: { subject: 'arn:aws:iam::123456789012:role/SomeoneElse' } },
      'AUTH_REJECTED',
      /AADSTS700213/,
      /another subject than the one presented/,
    ],
    [
      'a wrong audience on the federated credential',
      { trust: { audiences: ['api://AzureADTokenExchangeTypo'] } },
      'AUTH_REJECTED',
      /AADSTS700212/,
      /must have the audience api:\/\/AzureADTokenExchange/,
    ],
  ])('fails the token check on %s, with a fix line', async (_name, federation, code, reason, fix) => {
    const harness = await selfCheck({ federation });

    const invocation = await harness.invoke();

    expect(invocation.error?.name).toBe('SelfCheckFailedError');
    const token = tokenCheck(invocation);
    expect(token).toMatchObject({ status: 'FAIL', code });
    expect(token?.reason).toMatch(reason);
    expect(token?.reason).not.toContain('Fix:');
    expect(token?.fix).toMatch(fix);
    if (code === 'AUTH_REJECTED') {
      expect(token?.reason).toContain(`subject ${FUNCTION_ROLE_ARN}`);
    }
    expect(
      checksOf(invocation)
        .filter((check) => check.check === 'app')
        .map((check) => check.status),
    ).toEqual(['SKIP']);
  });

  it('fails on clock skew (the assertion outside its valid time), with a fix line', async () => {
    const harness = await selfCheck({ federation: {} });
    harness.simulator.control.skewEntraClock(-60_000);

    const token = tokenCheck(await harness.invoke());

    expect(token).toMatchObject({ status: 'FAIL', code: 'AUTH_REJECTED' });
    expect(token?.reason).toContain('AADSTS700024');
    expect(token?.fix).toMatch(/a clock is wrong/);
  });
});
