/**
 * What-if builds: the handler bundled with a proposed change applied at bundle time (see
 * `bundleWithStackOptions`'s `rewrites`), to measure a suggestion before anyone makes it. The source
 * files are never changed. A what-if whose rewrite matches nothing (the source already changed) is
 * reported as not applicable rather than measured.
 */
import { fileURLToPath } from 'node:url';
import type { SourceRewrite } from '../bundles.ts';

export interface WhatIf {
  readonly name: string;
  /** Folder name under `bench-results/bundles/what-if/`. */
  readonly slug: string;
  readonly change: string;
  readonly rewrites: readonly SourceRewrite[];
}

/**
 * `import { z } from 'zod'` binds zod's whole `z` object, which esbuild cannot tree-shake (all of zod's
 * classic API ships); a namespace import can be (zod's own advice for bundle size).
 */
const ZOD_NAMESPACE: SourceRewrite = { from: /import \{ z \} from 'zod';/g, to: "import * as z from 'zod';" };

const NODE_HTTP_AGENT_FILE = fileURLToPath(new URL('./node-http-agent.ts', import.meta.url));

/**
 * The Store client's undici `Agent` (however it is imported: from the package or from
 * `undici/lib/dispatcher/agent.js`) replaced by `node-http-agent.ts`. Type-only imports of undici stay
 * (esbuild drops them).
 */
const NODE_HTTP: SourceRewrite = {
  from: /import (?:\{ Agent, type Dispatcher \}|Agent) from 'undici(?:\/lib\/dispatcher\/agent\.js)?';/g,
  to: `import { Agent } from ${JSON.stringify(NODE_HTTP_AGENT_FILE)};`,
};

export const WHAT_IFS: readonly WhatIf[] = [
  {
    name: 'zod namespace import',
    slug: 'zod-namespace',
    change: "`import * as z from 'zod'` instead of `import { z } from 'zod'` in functions/commons",
    rewrites: [ZOD_NAMESPACE],
  },
  {
    name: '+ Node http instead of undici',
    slug: 'zod-namespace-node-http',
    change:
      "and the Store client's HTTP exchange on node:http keep-alive agents (tools/bench/what-if/node-http-agent.ts) instead of undici",
    rewrites: [ZOD_NAMESPACE, NODE_HTTP],
  },
];
