/** The keys of `T` whose type admits `undefined`. */
type MaybeUndefinedKeys<T> = { [K in keyof T]-?: undefined extends T[K] ? K : never }[keyof T];

/**
 * `T` with every property that may be `undefined` made optional instead, so the result fits an
 * optional property under `exactOptionalPropertyTypes`.
 */
export type DefinedProps<T> = {
  [K in Exclude<keyof T, MaybeUndefinedKeys<T>>]: T[K];
} & {
  [K in MaybeUndefinedKeys<T>]?: Exclude<T[K], undefined>;
};

/**
 * The given properties without those that are `undefined`: `{ ...definedProps({ name, flightId }) }`
 * instead of one conditional spread per property.
 *
 * @param props - the properties, some of which may be `undefined` (own enumerable string keys; an
 *   object literal at the call site)
 * @returns a new object with only the defined properties
 */
export function definedProps<T extends object>(props: T): DefinedProps<T>;
// The overload states what the filter below guarantees and the compiler cannot follow through
// `Object.entries`: every key kept has a defined value, every key dropped had `undefined`.
export function definedProps(props: object): object {
  return Object.fromEntries(Object.entries(props).filter(([, value]) => value !== undefined));
}
