/**
 * Runs the Store simulator with the sample state until Ctrl-C:
 *
 *   node tools/store-simulator/cli.ts [--port N] [--latency MS] [--throttle N]
 *
 * `--throttle N` allows N Store calls per minute per tenant (the real service allows about 20).
 */
import { parseArgs } from 'node:util';
import { start } from './index.ts';
import { SAMPLE_APP_ID, SAMPLE_PUBLISHED_SUBMISSION_ID, SAMPLE_TENANT, sampleState } from './sample-state.ts';
import { STORE_RESOURCE } from './tokens.ts';

function readCount(name: string, raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  if (!/^[0-9]+$/.test(raw)) {
    process.stderr.write(`--${name} must be a non-negative integer, got ${JSON.stringify(raw)}\n`);
    process.exit(2);
  }
  return Number(raw);
}

const { values } = parseArgs({
  options: {
    port: { type: 'string' },
    latency: { type: 'string' },
    throttle: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  },
});

if (values.help === true) {
  process.stdout.write('Usage: node tools/store-simulator/cli.ts [--port N] [--latency MS] [--throttle N]\n');
  process.exit(0);
}

const port = readCount('port', values.port);
const latency = readCount('latency', values.latency);
const throttle = readCount('throttle', values.throttle);

const simulator = await start({
  state: sampleState(),
  ...(port === undefined ? {} : { port }),
  ...(throttle === undefined ? {} : { throttle: { limit: throttle, windowMs: 60_000 } }),
});
if (latency !== undefined) simulator.control.setLatency(latency);

// These are the simulator's own made-up credentials, printed on purpose so a person can try it.
const tokenUrl = `${simulator.authority}/${SAMPLE_TENANT.tenantId}/oauth2/token`;
process.stdout.write(
  [
    `Store simulator listening on ${simulator.url}`,
    `  Store API base (STORE_API_BASE_URL): ${simulator.storeBaseUrl}`,
    `  Azure AD authority:                  ${simulator.authority}`,
    `  tenantId:     ${SAMPLE_TENANT.tenantId}`,
    `  clientId:     ${SAMPLE_TENANT.clientId}`,
    `  clientSecret: ${SAMPLE_TENANT.clientSecret}   (simulator only)`,
    `  latency: ${latency ?? 0} ms; throttle: ${throttle === undefined ? 'off' : `${throttle} per minute per tenant`}`,
    '',
    'Get a token:',
    `  TOKEN=$(curl -s ${tokenUrl} -d grant_type=client_credentials -d client_id=${SAMPLE_TENANT.clientId} -d client_secret=${SAMPLE_TENANT.clientSecret} --data-urlencode resource=${STORE_RESOURCE} | sed -E 's/.*"access_token":"([^"]+)".*/\\1/')`,
    'Read the rollout of the last published submission of the sample app:',
    `  curl -s -H "Authorization: Bearer $TOKEN" ${simulator.storeBaseUrl}applications/${SAMPLE_APP_ID}/submissions/${SAMPLE_PUBLISHED_SUBMISSION_ID}/packagerollout`,
    '',
    'Ctrl-C to stop.',
    '',
  ].join('\n'),
);

let stopping = false;
function stop(): void {
  if (stopping) return;
  stopping = true;
  simulator.close().then(
    () => process.exit(0),
    () => process.exit(1),
  );
}
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
