/**
 * Small readers over a synthesized template, for assertions about intent (statements, grants) that
 * `Template.hasResourceProperties` cannot express on its own.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type App, NestedStack, type Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
import { createWatchdogApp } from '../../infra/watchdog-app.ts';
import type { WatchdogStack } from '../../infra/watchdog-stack.ts';

/** The CDK context shipped in cdk.json. */
export const CDK_CONTEXT: Record<string, unknown> = JSON.parse(
  readFileSync(new URL('../../cdk.json', import.meta.url), 'utf8'),
).context;

/**
 * CDK context that leaves every function's code unbundled (`aws:cdk:bundling-stacks` naming no stack):
 * the template is the same but for each asset's hash, and synth skips esbuild. For tests that read the
 * template only; the tests of the asset itself bundle.
 */
export const NO_BUNDLING: Readonly<Record<string, unknown>> = { 'aws:cdk:bundling-stacks': [] };

/**
 * The app synthesized with cdk.json's context and this `watchdog` config. The functions' code is not
 * bundled (see `NO_BUNDLING`): callers read the template, not the assets.
 */
export function synthesizeWatchdog(watchdog: unknown): {
  readonly app: App;
  readonly stack: WatchdogStack;
  readonly template: Template;
} {
  const { app, stack } = createWatchdogApp({ context: { ...CDK_CONTEXT, ...NO_BUNDLING, watchdog } });
  const assembly = app.synth();
  return { app, stack, template: Template.fromJSON(assembly.getStackByName(stack.stackName).template) };
}

/** Every unacknowledged AwsSolutions or Serverless finding, as `rule at path: what`. */
export function nagFindings(app: App): string[] {
  return [new AwsSolutionsChecks(), new ServerlessChecks()].flatMap((pack) =>
    pack
      .validateScope(app)
      .violations.map(
        (v) =>
          `${v.ruleName} at ${v.violatingResources.map((r) => r.constructPath).join(', ')}: ${v.description}`,
      ),
  );
}

/** One IAM statement, as written in a template. */
export interface TemplateStatement {
  readonly Effect?: unknown;
  readonly Action?: unknown;
  readonly Resource?: unknown;
  readonly Principal?: unknown;
  readonly Condition?: unknown;
  readonly Sid?: unknown;
}

/** Every statement of every `AWS::IAM::Policy` in the template (identity-based grants). */
export function identityStatements(template: Template): TemplateStatement[] {
  return Object.values(template.findResources('AWS::IAM::Policy')).flatMap((resource) =>
    statementsOf(resource.Properties?.PolicyDocument),
  );
}

/** The statements of a policy document value (`{ Statement: [...] }`). */
export function statementsOf(document: unknown): TemplateStatement[] {
  if (typeof document !== 'object' || document === null || !('Statement' in document)) return [];
  const statements = document.Statement;
  return Array.isArray(statements) ? statements.filter(isStatement) : [];
}

/** A statement's actions as a list (`Action` may be a string or a list). */
export function actionsOf(statement: TemplateStatement): string[] {
  const actions = statement.Action;
  if (typeof actions === 'string') return [actions];
  return Array.isArray(actions) ? actions.filter((a): a is string => typeof a === 'string') : [];
}

/** A statement's resources as a list (`Resource` may be one value or a list). */
export function resourcesOf(statement: TemplateStatement): unknown[] {
  const resources = statement.Resource;
  if (resources === undefined) return [];
  return Array.isArray(resources) ? resources : [resources];
}

/** The identity statements that allow `action`. */
export function statementsAllowing(template: Template, action: string): TemplateStatement[] {
  return identityStatements(template).filter(
    (statement) => statement.Effect === 'Allow' && actionsOf(statement).includes(action),
  );
}

/** The single resource of type `type`'s properties; fails when there is not exactly one. */
export function onlyResourceProperties(template: Template, type: string): Record<string, unknown> {
  const resources = Object.values(template.findResources(type));
  if (resources.length !== 1) throw new Error(`expected exactly one ${type}, found ${resources.length}`);
  const properties: unknown = resources[0]?.Properties;
  if (typeof properties !== 'object' || properties === null) throw new Error(`${type} has no Properties`);
  return { ...properties };
}

function isStatement(value: unknown): value is TemplateStatement {
  return typeof value === 'object' && value !== null;
}

/**
 * `value` with every `{ "Ref": P }` of a nested stack's parameter P replaced by what the main stack
 * passes to it (`parameters`), so that a nested template reads as the main stack's references.
 */
export function resolveParameters(value: unknown, parameters: Readonly<Record<string, unknown>>): unknown {
  if (Array.isArray(value)) return value.map((item) => resolveParameters(item, parameters));
  if (typeof value !== 'object' || value === null) return value;
  const entries = Object.entries(value);
  const [first] = entries;
  if (
    entries.length === 1 &&
    first?.[0] === 'Ref' &&
    typeof first[1] === 'string' &&
    first[1] in parameters
  ) {
    return parameters[first[1]];
  }
  return Object.fromEntries(entries.map(([key, item]) => [key, resolveParameters(item, parameters)]));
}

/**
 * One template holding the main stack's resources and every nested stack's (their logical IDs prefixed
 * with the nested stack's path, their parameters replaced by what the main stack passes), so that an
 * assertion about "an alarm of the stack" holds wherever the alarm lives. Reads the nested templates
 * from the cloud assembly the stack was synthesized into.
 */
export function templateWithNested(stack: Stack, parent: Template, assemblyDirectory: string): Template {
  const main = parent.toJSON();
  const resources: Record<string, unknown> = { ...main.Resources };
  for (const nested of stack.node.findAll().filter(NestedStack.isNestedStack)) {
    const body = JSON.parse(readFileSync(join(assemblyDirectory, nested.templateFile), 'utf8'));
    const resource = nested.nestedStackResource;
    const parameters: Record<string, unknown> =
      resource === undefined
        ? {}
        : (main.Resources?.[stack.getLogicalId(resource)]?.Properties?.Parameters ?? {});
    for (const [id, value] of Object.entries(body.Resources ?? {})) {
      resources[`${nested.node.id}${id}`] = resolveParameters(value, parameters);
    }
  }
  return Template.fromJSON({ ...main, Resources: resources });
}
