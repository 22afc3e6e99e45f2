/**
 * A Lambda function with the project's defaults, used by every function of the stack: Node.js 24 on
 * arm64, one self-contained ES module (the options of `../bundling.ts`), its own log group with
 * retention, X-Ray tracing, explicit memory and timeout, and asynchronous invocations that retry a
 * bounded number of times and then land in an encrypted failure queue.
 */
import { fileURLToPath } from 'node:url';
import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import {
  type IGrantable,
  type IPrincipal,
  type PolicyStatement,
  Role,
  ServicePrincipal,
} from 'aws-cdk-lib/aws-iam';
import { Architecture, Runtime, Tracing } from 'aws-cdk-lib/aws-lambda';
import { SqsDestination } from 'aws-cdk-lib/aws-lambda-destinations';
import { type BundlingOptions, NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { BUNDLED_APPS } from '../../functions/commons/config/env.ts';
import type { WatchedApp } from '../../functions/commons/domain/watched-apps.ts';
import { createLambdaEsbuildOptions, type LambdaEsbuildOptions } from '../bundling.ts';

/** The repository root: handler entries and the lock file are resolved from here. */
export const PROJECT_ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** The CloudWatch namespace of the watchdog's own (EMF) metrics. */
export const METRICS_NAMESPACE = 'StoreRolloutWatchdog';

export interface WatchdogFunctionProps {
  /** Handler source, relative to the project root, exporting `handler`: e.g. `functions/halt-rollout/handler.ts`. */
  readonly entry: string;
  /** What the function does (shown in the Lambda console). */
  readonly description: string;
  /** `POWERTOOLS_SERVICE_NAME`: the `service` key of every log line and metric. */
  readonly serviceName: string;
  /** Further environment variables. @default none */
  readonly environment?: Readonly<Record<string, string>>;
  /** @default 256 (MB) */
  readonly memorySize?: number;
  /** @default Duration.seconds(60) */
  readonly timeout?: Duration;
  /** @default RetentionDays.ONE_YEAR (decisions to halt are worth keeping for a post-mortem) */
  readonly logRetention?: RetentionDays;
  /** How often Lambda retries a failed asynchronous invocation before the failure queue. @default 2 */
  readonly retryAttempts?: number;
  /** How long Lambda keeps trying an asynchronous event before the failure queue. @default Duration.hours(1) */
  readonly maxEventAge?: Duration;
  /**
   * The most execution environments the function may run at once (and the concurrency set aside for
   * it). Asynchronous events that find them all busy wait in Lambda's event queue and are retried
   * within `maxEventAge`; none is lost. @default none: the account's unreserved concurrency
   */
  readonly reservedConcurrentExecutions?: number;
  /**
   * The watched apps. They are built into the asset and `WATCHDOG_APPS` is `bundled` (contract v2), so
   * the list is not bounded by the 4 KB of the Lambda environment. @default none: no `WATCHDOG_APPS`
   */
  readonly watchedApps?: readonly WatchedApp[];
}

/** A Lambda function with the house defaults and a failure-destination queue; see the module comment. */
export class WatchdogFunction extends Construct implements IGrantable {
  readonly function: NodejsFunction;
  readonly role: Role;
  readonly logGroup: LogGroup;
  /** Where asynchronous invocations go once retries are spent (watch its depth). */
  readonly failureQueue: Queue;
  readonly grantPrincipal: IPrincipal;

  constructor(scope: Construct, id: string, props: WatchdogFunctionProps) {
    super(scope, id);

    this.logGroup = new LogGroup(this, 'LogGroup', {
      retention: props.logRetention ?? RetentionDays.ONE_YEAR,
      // Kept after `cdk destroy`: the record of what the watchdog halted outlives the stack.
      removalPolicy: RemovalPolicy.RETAIN,
    });

    // An own role instead of AWSLambdaBasicExecutionRole: it may write to this log group only.
    this.role = new Role(this, 'Role', {
      assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
      description: `Execution role of ${props.description}`,
    });
    this.grantPrincipal = this.role;
    this.logGroup.grantWrite(this.role);

    this.failureQueue = new Queue(this, 'FailureQueue', {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    Validations.of(this.failureQueue).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason:
        'This queue is itself the last stop: the failure destination of the function, watched by an alarm on its depth.',
    });
    Validations.of(this.failureQueue).acknowledge({
      id: 'Serverless-SQSRedrivePolicy',
      reason:
        'This queue is itself the last stop: the failure destination of the function, watched by an alarm on its depth.',
    });

    this.function = new NodejsFunction(this, 'Function', {
      entry: `${PROJECT_ROOT}${props.entry}`,
      handler: 'handler',
      projectRoot: PROJECT_ROOT,
      depsLockFilePath: `${PROJECT_ROOT}package-lock.json`,
      description: props.description,
      runtime: Runtime.NODEJS_24_X,
      architecture: Architecture.ARM_64,
      memorySize: props.memorySize ?? 256,
      timeout: props.timeout ?? Duration.seconds(60),
      role: this.role,
      logGroup: this.logGroup,
      tracing: Tracing.ACTIVE,
      environment: {
        NODE_OPTIONS: '--enable-source-maps',
        POWERTOOLS_SERVICE_NAME: props.serviceName,
        POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
        ...props.environment,
        ...(props.watchedApps === undefined ? {} : { WATCHDOG_APPS: BUNDLED_APPS }),
      },
      retryAttempts: props.retryAttempts ?? 2,
      maxEventAge: props.maxEventAge ?? Duration.hours(1),
      ...(props.reservedConcurrentExecutions === undefined
        ? {}
        : { reservedConcurrentExecutions: props.reservedConcurrentExecutions }),
      onFailure: new SqsDestination(this.failureQueue),
      bundling: toCdkBundling(
        createLambdaEsbuildOptions(props.watchedApps === undefined ? {} : { bundledApps: props.watchedApps }),
      ),
    });

    Validations.of(this.function).acknowledge({
      id: 'Serverless-LambdaDLQ',
      reason:
        'Failed asynchronous invocations go to an on-failure destination (the failure queue), which keeps the error with the event; a dead-letter queue would duplicate it.',
    });
    Validations.of(this.role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'X-Ray tracing: xray:PutTraceSegments and xray:PutTelemetryRecords have no resource-level permissions; AWS offers no narrower form.',
    });
  }

  /** Adds an environment variable (constructs that grant something set its variable in the same place). */
  addEnvironment(key: string, value: string): void {
    this.function.addEnvironment(key, value);
  }

  /** Adds a statement to the execution role's policy. */
  addToRolePolicy(statement: PolicyStatement): void {
    this.role.addToPrincipalPolicy(statement);
  }
}

/**
 * The same options in `NodejsFunction`'s terms (it runs esbuild locally with them), so what `cdk synth`
 * writes is what `createLambdaEsbuildOptions()` builds.
 */
function toCdkBundling(options: LambdaEsbuildOptions): BundlingOptions {
  return {
    format: OutputFormat.ESM,
    target: options.target,
    mainFields: options.mainFields,
    banner: options.banner.js,
    define: options.define,
    minify: options.minify,
    sourceMap: options.sourcemap,
    sourcesContent: options.sourcesContent,
    externalModules: options.external,
    inject: options.inject,
    bundleAwsSDK: true,
  };
}
