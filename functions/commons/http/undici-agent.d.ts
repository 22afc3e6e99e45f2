/**
 * Types for undici's `Agent` imported from its own module (see `transport.ts` for why). undici ships no
 * declaration beside its `lib/` files; that module's `module.exports` is the class its index exports.
 */
declare module 'undici/lib/dispatcher/agent.js' {
  import { Agent } from 'undici';
  export default Agent;
}
