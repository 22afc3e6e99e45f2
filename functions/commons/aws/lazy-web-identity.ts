/**
 * The function's web identity token source, loaded on first use: only a federated secret needs STS, so
 * a deployment that signs in with its key never evaluates the STS client (it stays out of the cold
 * start; the bundler keeps it in the same file, evaluated lazily).
 */
import type { ClientAssertion } from '../store/client-assertion.ts';

/** `getClientAssertion`, plus `close` to release the STS client if one was made. */
export interface LazyClientAssertionSource {
  (signal: AbortSignal): Promise<ClientAssertion>;
  close(): void;
}

/** STS's regional endpoint and the SDK's standard configuration, made on the first call. */
export function lazyClientAssertionSource(): LazyClientAssertionSource {
  let loaded:
    | Promise<{
        readonly assert: (signal: AbortSignal) => Promise<ClientAssertion>;
        readonly close: () => void;
      }>
    | undefined;
  const load = () =>
    import('./web-identity.ts').then(({ createClientAssertionSource, createStsClient }) => {
      const sts = createStsClient();
      return { assert: createClientAssertionSource(sts), close: () => sts.destroy() };
    });
  return Object.assign(
    async (signal: AbortSignal) => {
      loaded ??= load();
      return (await loaded).assert(signal);
    },
    {
      close: () => {
        loaded?.then((source) => source.close()).catch(() => {});
      },
    },
  );
}
