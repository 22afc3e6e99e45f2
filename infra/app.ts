/**
 * CDK entry point (`cdk.json`: `node infra/app.ts`; Node 24 runs the TypeScript directly). The CDK CLI
 * synthesizes the app when this process exits.
 */
import { createWatchdogApp } from './watchdog-app.ts';

createWatchdogApp();
