/**
 * What-if builds: the handler bundled with a proposed change applied at bundle time (see
 * `bundleWithStackOptions`'s `rewrites`), to measure a suggestion before anyone makes it. The source
 * files are never changed. A what-if none of whose rewrites matches anything (the source already has the
 * change, or no longer has what it rewrites) is reported as not applicable rather than measured.
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
 * `import { z } from 'zod'` (or from `zod/mini`, or a local module re-exporting `z` with `export { z }`)
 * binds zod's namespace as one object, which esbuild cannot tree-shake: all of zod ships, with every
 * locale of zod's messages. Namespace imports (`import * as z`), and `export *` where a local module
 * re-exports zod, let esbuild keep only the schemas and checks in use. Whichever of these forms the
 * source has is rewritten.
 */
const ZOD_NAMESPACE: readonly SourceRewrite[] = [
  { from: /import (type )?\{ z \} from '(zod(?:\/mini)?)';/g, to: "import $1* as z from '$2';" },
  // `functions/commons/validation.ts`: configures zod/mini's messages and re-exports it.
  {
    from: /import \{ z \} from 'zod\/mini';([\s\S]*)export \{ z \};/g,
    to: "import * as z from 'zod/mini';$1export * from 'zod/mini';",
  },
  {
    from: /import (type )?\{ z \} from '((?:\.\.?\/)+)validation\.ts';/g,
    to: "import $1* as z from '$2validation.ts';",
  },
];

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
    change:
      "namespace imports of zod (`import * as z from 'zod'`, `'zod/mini'` or the local re-export; `export * from 'zod/mini'` in the module that re-exports it) instead of `import { z }`",
    rewrites: ZOD_NAMESPACE,
  },
  {
    name: '+ Node http instead of undici',
    slug: 'zod-namespace-node-http',
    change:
      "and the Store client's HTTP exchange on node:http keep-alive agents (tools/bench/what-if/node-http-agent.ts) instead of undici",
    rewrites: [...ZOD_NAMESPACE, NODE_HTTP],
  },
];
