import { describe, expect, expectTypeOf, it } from 'vitest';
import { definedProps } from '../../../functions/commons/optional.ts';

interface Target {
  readonly id: string;
  readonly name?: string;
  readonly count?: number;
}

describe('definedProps', () => {
  it('drops the undefined properties and keeps every defined one, falsy ones included', () => {
    const name: string | undefined = undefined;
    const result = definedProps({ id: 'a', name, count: 0, empty: '', none: null, off: false });

    expect(result).toStrictEqual({ id: 'a', count: 0, empty: '', none: null, off: false });
    expect(Object.hasOwn(result, 'name')).toBe(false);
  });

  it('returns a new object and leaves its argument alone', () => {
    const props = { id: 'a', name: undefined };
    const result = definedProps(props);

    expect(result).not.toBe(props);
    expect(props).toStrictEqual({ id: 'a', name: undefined });
  });

  it('types a maybe-undefined property as optional and keeps the others required', () => {
    const pick = (name: string | undefined, count: number | undefined) =>
      definedProps({ id: 'a', name, count });

    expectTypeOf(pick).returns.toEqualTypeOf<{ id: string } & { name?: string; count?: number }>();
    // With exactOptionalPropertyTypes, `{ name: string | undefined }` is not assignable to `Target`; the
    // helper's result is.
    expectTypeOf(pick).returns.toExtend<Target>();
    expectTypeOf<{ id: string; name: string | undefined }>().not.toExtend<Target>();
  });
});
