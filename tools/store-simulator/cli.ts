/**
 * `npm run simulator`: runs the Store simulator with the sample state until Ctrl-C, and prints how to
 * point the watchdog's CLI at it (see `cli-text.ts` and `--help`).
 */
import { parseArgs } from 'node:util';
import { definedProps } from '../../functions/commons/optional.ts';
import { describeRunning, SIMULATOR_HELP } from './cli-text.ts';
import { start } from './index.ts';
import { sampleState } from './sample-state.ts';

function readCount(name: string, raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  if (!/^[0-9]+$/.test(raw)) {
    process.stderr.write(`--${name} must be a non-negative integer, got ${JSON.stringify(raw)}\n`);
    process.exit(2);
  }
  return Number(raw);
}

function readArgs() {
  try {
    return parseArgs({
      options: {
        port: { type: 'string' },
        latency: { type: 'string' },
        throttle: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }).values;
  } catch (error) {
    process.stderr.write(
      `error: ${error instanceof Error ? error.message : String(error)}\n\n${SIMULATOR_HELP}`,
    );
    process.exit(2);
  }
}

const values = readArgs();
if (values.help === true) {
  process.stdout.write(SIMULATOR_HELP);
  process.exit(0);
}

const port = readCount('port', values.port);
const latency = readCount('latency', values.latency);
const throttle = readCount('throttle', values.throttle);

const simulator = await start({
  state: sampleState(),
  ...definedProps({ port }),
  ...(throttle === undefined ? {} : { throttle: { limit: throttle, windowMs: 60_000 } }),
});
if (latency !== undefined) simulator.control.setLatency(latency);

process.stdout.write(
  describeRunning({
    url: simulator.url,
    storeBaseUrl: simulator.storeBaseUrl,
    authority: simulator.authority,
    latencyMs: latency ?? 0,
    throttle,
  }),
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
