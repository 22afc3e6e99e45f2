/**
 * Builds the CDK app: reads the `watchdog` config from the context, adds the stack, and gates the
 * synth on the cdk-nag AwsSolutions and Serverless packs (any unacknowledged finding fails it).
 */
import { App, type AppProps, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { loadWatchdogConfig } from './config.ts';
import { STACK_NAME } from './stack-name.ts';
import { WatchdogStack } from './watchdog-stack.ts';

/** The stack's name (and the prefix of the watchdog's own alarm names). */
export { STACK_NAME };

/** Registers the cdk-nag packs on `scope` (an App or Stage): synth fails on any unacknowledged finding. */
export function addNagChecks(scope: IConstruct): void {
  Validations.of(scope).addPlugins(new AwsSolutionsChecks(scope), new ServerlessChecks(scope));
}

/** The app with the watchdog stack; throws a `ConfigurationError` naming the field on a bad config. */
export function createWatchdogApp(props: AppProps = {}): { app: App; stack: WatchdogStack } {
  const app = new App(props);
  const config = loadWatchdogConfig(app);
  const stack = new WatchdogStack(app, STACK_NAME, {
    config,
    description:
      'Store rollout watchdog: halts a Microsoft Store gradual rollout when a crash-rate alarm fires',
  });
  addNagChecks(app);
  return { app, stack };
}
