/**
 * What `npm run simulator` prints: its help, and, once it listens, the endpoints and the sample
 * credentials with a ready-to-paste `export` line that points the watchdog's CLI at it.
 */
import { SAMPLE_APP_ID, SAMPLE_PUBLISHED_SUBMISSION_ID, SAMPLE_TENANT } from './sample-state.ts';
import { STORE_RESOURCE } from './tokens.ts';

export const SIMULATOR_HELP = `Usage: npm run simulator -- [--port N] [--latency MS] [--throttle N]

Runs the Store simulator on this machine until Ctrl-C: a local, stateful stand-in for the Microsoft Store
submission API and its Azure AD token endpoint, with a sample app (Contoso Photos, ${SAMPLE_APP_ID})
whose rollout is live at 20%, a package flight, and made-up credentials. Nothing leaves the machine.

It prints an export line: paste it into another terminal, and the watchdog's CLI talks to the
simulator instead of the Store (the sample app is the one in cdk.json):

  npm run watchdog -- status
  npm run watchdog -- halt --app ${SAMPLE_APP_ID}          # a dry run
  npm run watchdog -- halt --app ${SAMPLE_APP_ID} --yes    # halts the simulated rollout

Options:
  --port N        listen on this port (default: a free one)
  --latency MS    delay every answer by MS milliseconds (default 0), like a far-away Store
  --throttle N    allow N Store requests a minute per tenant, then answer 429 (the real Store allows
                  about 20; default: no limit)
  -h, --help      show this help
`;

export interface RunningSimulatorText {
  readonly url: string;
  readonly storeBaseUrl: string;
  readonly authority: string;
  readonly latencyMs: number;
  /** Requests a minute per tenant, or undefined when off. */
  readonly throttle: number | undefined;
}

/** The `export` line that points the watchdog's CLI at the simulator with its sample credentials. */
export function exportLine(running: Pick<RunningSimulatorText, 'storeBaseUrl' | 'authority'>): string {
  return [
    'export',
    `STORE_API_BASE_URL=${running.storeBaseUrl}`,
    `AZURE_AD_AUTHORITY=${running.authority}`,
    `STORE_TENANT_ID=${SAMPLE_TENANT.tenantId}`,
    `STORE_CLIENT_ID=${SAMPLE_TENANT.clientId}`,
    `STORE_CLIENT_SECRET=${SAMPLE_TENANT.clientSecret}`,
  ].join(' ');
}

/** What the simulator prints once it listens. */
export function describeRunning(running: RunningSimulatorText): string {
  // These are the simulator's own made-up credentials, printed on purpose so a person can try it.
  const tokenUrl = `${running.authority}/${SAMPLE_TENANT.tenantId}/oauth2/token`;
  return [
    `Store simulator listening on ${running.url}`,
    `  Store API base:      ${running.storeBaseUrl}`,
    `  Azure AD authority:  ${running.authority}`,
    `  tenantId:     ${SAMPLE_TENANT.tenantId}`,
    `  clientId:     ${SAMPLE_TENANT.clientId}`,
    `  clientSecret: ${SAMPLE_TENANT.clientSecret}   (simulator only)`,
    `  latency: ${running.latencyMs} ms; throttle: ${running.throttle === undefined ? 'off' : `${running.throttle} per minute per tenant`}`,
    '',
    'Try the watchdog CLI against it: paste this line into another terminal (in this folder), then run',
    `npm run watchdog -- status, or npm run watchdog -- halt --app ${SAMPLE_APP_ID}:`,
    '',
    `  ${exportLine(running)}`,
    '',
    'Or poke it with curl. Get a token:',
    `  TOKEN=$(curl -s ${tokenUrl} -d grant_type=client_credentials -d client_id=${SAMPLE_TENANT.clientId} -d client_secret=${SAMPLE_TENANT.clientSecret} --data-urlencode resource=${STORE_RESOURCE} | sed -E 's/.*"access_token":"([^"]+)".*/\\1/')`,
    'Read the rollout of the last published submission of the sample app:',
    `  curl -s -H "Authorization: Bearer $TOKEN" ${running.storeBaseUrl}applications/${SAMPLE_APP_ID}/submissions/${SAMPLE_PUBLISHED_SUBMISSION_ID}/packagerollout`,
    '',
    'Ctrl-C to stop.',
    '',
  ].join('\n');
}
