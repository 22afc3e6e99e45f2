/**
 * The Store side wired in one call, for the Lambda handler and the CLI: dispatcher, token provider,
 * tenant budget, client and `RolloutPort`. Build it once per process (module scope) so the token
 * cache and the keep-alive connections survive between warm invocations.
 */
import type { Dispatcher } from 'undici';
import type { RolloutPort } from '../domain/ports.ts';
import { DEFAULT_AZURE_AD_AUTHORITY, DEFAULT_STORE_BASE_URL } from '../endpoints.ts';
import type { AuthError } from '../errors.ts';
import type { RetryEnvironment, RetryPolicy } from '../http/retry.ts';
import { createDispatcher, type DispatcherOptions } from '../http/transport.ts';
import { definedProps } from '../optional.ts';
import type { RequestBudget } from './request-budget.ts';
import { createRolloutPort } from './rollouts.ts';
import { createStoreClient, type StoreClient } from './store-client.ts';
import { getTenantThrottle, type ThrottleOptions } from './throttle.ts';
import {
  type ClientAssertion,
  type ClientCredentials,
  createTokenProvider,
  type TokenProvider,
} from './token-provider.ts';

export interface StoreAccessOptions {
  /** @default `https://manage.devcenter.microsoft.com/v1.0/my/` */
  readonly baseUrl?: string;
  /** @default `https://login.microsoftonline.com` */
  readonly authority?: string;
  /** The current credentials (e.g. `CredentialsSource.get`). */
  readonly getCredentials: (signal: AbortSignal) => Promise<ClientCredentials>;
  /** Re-reads them after a rejection (e.g. `CredentialsSource.refresh`). */
  readonly refreshCredentials?: (
    signal: AbortSignal,
  ) => Promise<{ readonly credentials: ClientCredentials; readonly changed: boolean }>;
  readonly onCredentialsRejected?: (error: AuthError) => void;
  /**
   * For credentials that say `credential: "aws-federation"`: the function's AWS identity token (e.g.
   * `createClientAssertionSource` over STS). @default none: such credentials are a configuration error
   */
  readonly getClientAssertion?: (signal: AbortSignal) => Promise<ClientAssertion>;
  /** @default a new keep-alive dispatcher with `timeouts` */
  readonly dispatcher?: Dispatcher;
  readonly timeouts?: DispatcherOptions;
  /**
   * The process's own per-tenant throttle (`getTenantThrottle`), shared by the whole process; `false`
   * turns it off. With `sharedBudget`, it stays in front of it: it orders the process's requests and
   * keeps room for a discovery's follow-ups, the shared budget counts the stack's.
   * @default 20 requests per 60 s (see docs/storms.md)
   */
  readonly throttle?: ThrottleOptions | false;
  /**
   * The stack's per-tenant budget, shared by every function (`createDurableBudgets`): each request
   * takes a slot from it after the process's own throttle let it go. @default none (a local run, the CLI)
   */
  readonly sharedBudget?: (tenantId: string) => RequestBudget;
  readonly retry?: Partial<RetryPolicy>;
  readonly environment?: Partial<RetryEnvironment>;
}

export interface StoreAccess {
  readonly client: StoreClient;
  readonly rolloutPort: RolloutPort;
  readonly tokenProvider: TokenProvider;
  readonly dispatcher: Dispatcher;
}

/** Builds everything the halt path needs to talk to the Store. Every call takes a deadline signal. */
export function createStoreAccess(options: StoreAccessOptions): StoreAccess {
  const dispatcher = options.dispatcher ?? createDispatcher(options.timeouts);
  const shared = definedProps({ retry: options.retry, environment: options.environment });
  const tokenProvider = createTokenProvider({
    authority: options.authority ?? DEFAULT_AZURE_AD_AUTHORITY,
    dispatcher,
    getCredentials: options.getCredentials,
    ...definedProps({
      refreshCredentials: options.refreshCredentials,
      onCredentialsRejected: options.onCredentialsRejected,
      getClientAssertion: options.getClientAssertion,
    }),
    ...shared,
  });
  const budget = chainBudgets(options.throttle, options.sharedBudget);
  const client = createStoreClient({
    baseUrl: options.baseUrl ?? DEFAULT_STORE_BASE_URL,
    dispatcher,
    tokenProvider,
    ...definedProps({ throttle: budget }),
    ...shared,
  });
  return { client, rolloutPort: createRolloutPort(client, shared), tokenProvider, dispatcher };
}

/** The process's throttle, then the stack's budget: a request goes when both let it. */
function chainBudgets(
  throttle: ThrottleOptions | false | undefined,
  sharedBudget: ((tenantId: string) => RequestBudget) | undefined,
): ((tenantId: string) => RequestBudget) | undefined {
  const local = throttle === false ? undefined : (tenantId: string) => getTenantThrottle(tenantId, throttle);
  if (sharedBudget === undefined) return local;
  if (local === undefined) return sharedBudget;
  return (tenantId) => {
    const first = local(tenantId);
    const second = sharedBudget(tenantId);
    return {
      async acquire(signal, what, priority) {
        await first.acquire(signal, what, priority);
        await second.acquire(signal, what, priority);
      },
    };
  };
}
