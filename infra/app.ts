/**
 * CDK entry point (`cdk.json`: `node infra/app.ts`; Node 24 runs the TypeScript directly). The CDK CLI
 * synthesizes the app when this process exits. A bad `watchdog` config is reported as one line naming
 * the fields, without a stack trace.
 */
import { ConfigurationError } from '../functions/commons/errors.ts';
import { createWatchdogApp } from './watchdog-app.ts';

try {
  createWatchdogApp();
} catch (error) {
  if (!(error instanceof ConfigurationError)) throw error;
  console.error(error.message);
  process.exitCode = 1;
}
