/**
 * CDK entry point (`cdk.json`: `node infra/app.ts`; Node 24 runs the TypeScript directly). The app is
 * built and synthesized here, explicitly (not when the process exits), so that a bad `watchdog` config
 * stops everything: its one-line message naming the fields on stderr, exit status 1, no stack trace and
 * no half-built stack synthesized after it.
 */
import { ConfigurationError } from '../functions/commons/errors.ts';
import { createWatchdogApp } from './watchdog-app.ts';

try {
  const { app } = createWatchdogApp({ autoSynth: false });
  app.synth();
} catch (error) {
  if (!(error instanceof ConfigurationError)) throw error;
  console.error(error.message);
  process.exitCode = 1;
}
