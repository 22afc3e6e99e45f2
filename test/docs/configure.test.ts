/**
 * docs/configure.md says it covers every field of cdk.json's `watchdog` block. This walks the config's
 * zod schema (the one `cdk synth` parses with) and fails on any field the page does not name, written as
 * its path in backticks: `dryRun`, `apps[].alarms[].description`, `chat.teams[].tenantId`.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import * as z from '../../functions/commons/validation.ts';
import { rateAlarmSpecSchema } from '../../infra/alarm-config.ts';
import { alarmSpecSchema, watchdogConfigSchema } from '../../infra/config.ts';

/**
 * Where the schema cannot be looked into (a transform that picks a schema by the value, as `alarms[]`
 * picks the threshold or the rate alarm by `kind`): the schemas it picks from, by path.
 */
const VARIANTS: ReadonlyMap<string, readonly z.ZodMiniType[]> = new Map([
  ['apps[].alarms[]', [alarmSpecSchema, rateAlarmSpecSchema]],
]);

interface Walk {
  readonly fields: string[];
  /** Paths of transforms the walk could not look into and has no variants for. */
  readonly opaque: string[];
}

/** Every field path of `schema`: objects' keys, `[]` for array elements; a record is one field. */
function fieldPaths(
  schema: z.core.$ZodType,
  variants: ReadonlyMap<string, readonly z.core.$ZodType[]> = VARIANTS,
): Walk {
  const walk: Walk = { fields: [], opaque: [] };
  const visit = (node: z.core.$ZodType, path: string): void => {
    if (node instanceof z.core.$ZodObject) {
      for (const [key, value] of Object.entries(node._zod.def.shape)) {
        const field = path === '' ? key : `${path}.${key}`;
        walk.fields.push(field);
        visit(value, field);
      }
    } else if (
      node instanceof z.core.$ZodDefault ||
      node instanceof z.core.$ZodOptional ||
      node instanceof z.core.$ZodNullable ||
      node instanceof z.core.$ZodPrefault ||
      node instanceof z.core.$ZodReadonly ||
      node instanceof z.core.$ZodCatch ||
      node instanceof z.core.$ZodNonOptional
    ) {
      visit(node._zod.def.innerType, path);
    } else if (node instanceof z.core.$ZodArray) {
      visit(node._zod.def.element, `${path}[]`);
    } else if (node instanceof z.core.$ZodUnion) {
      for (const option of node._zod.def.options) visit(option, path);
    } else if (node instanceof z.core.$ZodIntersection) {
      visit(node._zod.def.left, path);
      visit(node._zod.def.right, path);
    } else if (node instanceof z.core.$ZodPipe) {
      const chosen = variants.get(path);
      if (node._zod.def.out instanceof z.core.$ZodTransform && chosen === undefined) walk.opaque.push(path);
      for (const variant of chosen ?? []) visit(variant, path);
      visit(node._zod.def.in, path);
      visit(node._zod.def.out, path);
    }
  };
  visit(schema, '');
  return { fields: [...new Set(walk.fields)], opaque: walk.opaque };
}

/** The fields of `fields` the page does not name as `` `path` ``. */
function unmentioned(fields: readonly string[], page: string): string[] {
  return fields.filter((field) => !page.includes(`\`${field}\``));
}

const page = readFileSync(new URL('../../docs/configure.md', import.meta.url), 'utf8');

describe('docs/configure.md against the config schema', () => {
  it('walks objects, arrays, defaults, unions and a transform with known variants (so the check can fail)', () => {
    const inner = z.strictObject({ b: z.number(), c: z.optional(z.record(z.string(), z.string())) });
    const picked = z.pipe(
      z.unknown(),
      z.transform((value: unknown) => value),
    );
    const schema = z.strictObject({
      a: z._default(z.array(inner), []),
      d: z.union([z.literal(false), z.strictObject({ e: z.boolean() })]),
      f: z.optional(z.array(picked)),
      g: picked,
    });
    const walk = fieldPaths(schema, new Map([['f[]', [z.strictObject({ h: z.string() })]]]));
    expect(walk.fields).toEqual(['a', 'a[].b', 'a[].c', 'd', 'd.e', 'f', 'f[].h', 'g']);
    expect(walk.opaque).toEqual(['g']);
    expect(unmentioned(walk.fields, 'Set `a` and `a[].b`; `d.e` too, and `f[].h` and `g`.')).toEqual([
      'a[].c',
      'd',
      'f',
    ]);
  });

  it('sees into every part of the watchdog config (no transform it cannot look into)', () => {
    const walk = fieldPaths(watchdogConfigSchema);
    expect(walk.opaque).toEqual([]);
    // The parts users asked about are among the fields walked, so a missing one below is a real finding.
    expect(walk.fields).toEqual(
      expect.arrayContaining([
        'dryRun',
        'storeHealth.ratioThreshold',
        'apps[].storeHealth.action',
        'chat.teams[].tenantId',
        'pagerDuty.routingKeySecret',
        'apps[].notifyAlarmNames',
        'apps[].alarms[].description',
        'apps[].alarms[].sessions.metricName',
        'apps[].composites[].allOf',
      ]),
    );
  });

  it('names every field of the config', () => {
    expect(unmentioned(fieldPaths(watchdogConfigSchema).fields, page)).toEqual([]);
  });
});
