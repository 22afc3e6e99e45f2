/**
 * The Store simulator: a stateful stand-in for the Microsoft Store submission API and its Azure AD
 * token endpoint, on loopback, with fault injection. For tests, the local run and the benchmark.
 */
export { start } from './server.ts';
export type * from './types.ts';
