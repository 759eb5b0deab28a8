/**
 * The combinators every codec of the library is built from (`struct`, `list`,
 * `tagged`, `oneOf`, numeric ranges, …): io-ts types that refuse unknown
 * fields, name what they expected, and keep their structure as data, so that
 * tests derive generators from the same description the decoder uses.
 */
import * as E from 'fp-ts/lib/Either.js';
import { pipe } from 'fp-ts/lib/function.js';
import * as t from 'io-ts';
import { showValue } from './json.js';

const has = (o: object, k: string): boolean => Object.prototype.hasOwnProperty.call(o, k);
const isObject = (u: unknown): u is Record<string, unknown> => typeof u === 'object' && u !== null && !Array.isArray(u);

/** A finite number within bounds, optionally an integer. */
export class NumberRangeType extends t.Type<number, number, unknown> {
  readonly _tag = 'NumberRangeType' as const;
  constructor(
    name: string,
    readonly min: number,
    readonly max: number,
    readonly minOpen: boolean,
    readonly maxOpen: boolean,
    readonly integer: boolean,
  ) {
    const is = (u: unknown): u is number =>
      typeof u === 'number' &&
      Number.isFinite(u) &&
      (integer ? Number.isSafeInteger(u) : true) &&
      (minOpen ? u > min : u >= min) &&
      (maxOpen ? u < max : u <= max);
    super(name, is, (u, c) => (is(u) ? t.success(u) : t.failure(u, c)), t.identity);
  }
}

/** A number in [min, max] (either end open), optionally an integer, named for messages ("an integer ≥ 1", "a number in [0, 1)"). */
export const range = (min: number, max: number, minOpen: boolean, maxOpen: boolean, integer: boolean): NumberRangeType => {
  const lo = `${minOpen ? '(' : '['}${min}`;
  const hi = `${max}${maxOpen ? ')' : ']'}`;
  const noun = integer ? 'an integer' : 'a number';
  const name =
    max === Infinity && min === -Infinity
      ? `a finite number`
      : max === Infinity
        ? `${noun} ${minOpen ? '>' : '≥'} ${min}`
        : `${noun} in ${lo}, ${hi}`;
  return new NumberRangeType(name, min, max, minOpen, maxOpen, integer);
};

/** Any finite number. */
export const FiniteNumber = range(-Infinity, Infinity, false, false, false);
/** A number > 0. */
export const PositiveNumber = range(0, Infinity, true, false, false);
/** A number ≥ 0. */
export const NonNegativeNumber = range(0, Infinity, false, false, false);
/** An integer ≥ 1. */
export const PositiveInt = range(1, Infinity, false, false, true);
/** An integer ≥ 0. */
export const NonNegativeInt = range(0, Infinity, false, false, true);
/** A number in [0, 1]: accuracies, fractions. */
export const Fraction = range(0, 1, false, false, false);
/** A number in [0, 1). */
export const HalfOpenFraction = range(0, 1, false, true, false);
/** A number in (0, 1): sparsity targets. */
export const OpenFraction = range(0, 1, true, true, false);
/** A parameter multiplier (width): a number ≥ 1. */
export const Multiplier = range(1, Infinity, false, false, false);
/** A stored network's width multiplier: bounded, so a corrupt index cannot ask for an absurd allocation. */
export const StoredMultiplier = range(1, 64, false, false, false);

const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/**
 * A number in a range that may also be written as a decimal string ("0.6280"), as the
 * reference's goal files are; it always decodes to a number.
 */
export class LenientNumberType extends t.Type<number, number, unknown> {
  readonly _tag = 'LenientNumberType' as const;
  constructor(readonly of: NumberRangeType) {
    super(
      `${of.name} (a number or a numeric string)`,
      of.is,
      (u, c) => (typeof u === 'string' && DECIMAL.test(u.trim()) ? of.validate(Number(u), c) : of.validate(u, c)),
      t.identity,
    );
  }
}

/** A JSON primitive: string, boolean or null. */
export class PrimitiveType<A extends string | boolean | null> extends t.Type<A, A, unknown> {
  readonly _tag = 'PrimitiveType' as const;
  constructor(
    name: string,
    readonly kind: 'string' | 'nonEmptyString' | 'sha256' | 'boolean' | 'null',
    is: (u: unknown) => u is A,
  ) {
    super(name, is, (u, c) => (is(u) ? t.success(u) : t.failure(u, c)), t.identity);
  }
}

/** Any string. */
export const Text = new PrimitiveType<string>('a string', 'string', (u): u is string => typeof u === 'string');
/** A non-empty string. */
export const NonEmptyText = new PrimitiveType<string>(
  'a non-empty string',
  'nonEmptyString',
  (u): u is string => typeof u === 'string' && u.length > 0,
);
/** A sha256 hex digest (64 lowercase hex characters): a content-addressed blob's name. */
export const Sha256 = new PrimitiveType<string>(
  'a sha256 hex digest (64 lowercase hex characters)',
  'sha256',
  (u): u is string => typeof u === 'string' && /^[0-9a-f]{64}$/.test(u),
);
/** true or false. */
export const Bool = new PrimitiveType<boolean>('true or false', 'boolean', (u): u is boolean => typeof u === 'boolean');

/** One of a fixed set of strings. */
export class OneOfType<V extends string> extends t.Type<V, V, unknown> {
  readonly _tag = 'OneOfType' as const;
  constructor(readonly values: readonly V[]) {
    const is = (u: unknown): u is V => typeof u === 'string' && (values as readonly string[]).includes(u);
    super(`one of ${values.map((v) => `'${v}'`).join(', ')}`, is, (u, c) => (is(u) ? t.success(u) : t.failure(u, c)), t.identity);
  }
}

/** One of a fixed set of strings. */
export const oneOf = <V extends string>(...values: readonly [V, ...V[]]): OneOfType<V> => new OneOfType(values);

/** A value or null (JSON has no undefined). */
export class NullableType<C extends t.Mixed> extends t.Type<t.TypeOf<C> | null, t.OutputOf<C> | null, unknown> {
  readonly _tag = 'NullableType' as const;
  constructor(readonly of: C) {
    super(
      `${of.name} or null`,
      (u): u is t.TypeOf<C> | null => u === null || of.is(u),
      (u, c) => (u === null ? t.success(null) : of.validate(u, c)),
      (a) => (a === null ? null : (of.encode(a) as t.OutputOf<C>)),
    );
  }
}

/** A value or null. */
export const nullable = <C extends t.Mixed>(of: C): NullableType<C> => new NullableType(of);

/** Options of a list. */
export interface ListOptions {
  readonly minLength?: number;
  /** At most this many items (absent: no bound). */
  readonly maxLength?: number;
  /** Numbers only: each item greater than the one before. */
  readonly strictlyIncreasing?: boolean;
}

/** A JSON array of one kind of item. */
export class ListType<C extends t.Mixed> extends t.Type<ReadonlyArray<t.TypeOf<C>>, ReadonlyArray<t.OutputOf<C>>, unknown> {
  readonly _tag = 'ListType' as const;
  readonly minLength: number;
  readonly maxLength: number;
  readonly strictlyIncreasing: boolean;
  constructor(
    readonly of: C,
    options: ListOptions = {},
  ) {
    const minLength = options.minLength ?? 0;
    const maxLength = options.maxLength ?? Infinity;
    const increasing = options.strictlyIncreasing ?? false;
    const size =
      maxLength === minLength ? `a list of ${minLength}` : minLength > 0 ? 'a non-empty list of' : 'a list of';
    const name = `${size} ${of.name}${increasing ? ', strictly increasing' : ''}`;
    const ordered = (xs: readonly unknown[], i: number): boolean => {
      const prev = xs[i - 1];
      const x = xs[i];
      return !increasing || i === 0 || (typeof prev === 'number' && typeof x === 'number' && x > prev);
    };
    const is = (u: unknown): u is ReadonlyArray<t.TypeOf<C>> =>
      Array.isArray(u) && u.length >= minLength && u.length <= maxLength && u.every((x, i) => of.is(x) && ordered(u, i));
    const validate = (u: unknown, c: t.Context): t.Validation<ReadonlyArray<t.TypeOf<C>>> => {
      if (!Array.isArray(u)) return t.failure(u, c);
      if (u.length < minLength)
        return t.failure(u, c, `expected at least ${minLength} item${minLength === 1 ? '' : 's'}, got ${u.length}`);
      if (u.length > maxLength) return t.failure(u, c, `expected at most ${maxLength} item${maxLength === 1 ? '' : 's'}, got ${u.length}`);
      const errors: t.ValidationError[] = [];
      const out: t.TypeOf<C>[] = [];
      u.forEach((x: unknown, i) => {
        const ci = t.appendContext(c, String(i), of, x);
        const r = of.validate(x, ci);
        if (E.isLeft(r)) errors.push(...r.left);
        else if (!ordered(u, i)) errors.push({ value: x, context: ci, message: `must be greater than the item before it (${showValue(u[i - 1])}), got ${showValue(x)}` });
        else out.push(r.right);
      });
      return errors.length > 0 ? t.failures(errors) : t.success(out);
    };
    super(name, is, validate, (a) => a.map((x) => of.encode(x) as t.OutputOf<C>));
    this.minLength = minLength;
    this.maxLength = maxLength;
    this.strictlyIncreasing = increasing;
  }
}

/** A list of one kind of item. */
export const list = <C extends t.Mixed>(of: C, options: ListOptions = {}): ListType<C> => new ListType(of, options);

/** Field codecs of an object. */
export type Props = { readonly [k: string]: t.Mixed };
type Flat<T> = { [K in keyof T]: T[K] };
/** The decoded type of a struct. */
export type StructOf<R extends Props, O extends Props> = Flat<
  { readonly [K in keyof R]: t.TypeOf<R[K]> } & { readonly [K in keyof O]?: t.TypeOf<O[K]> }
>;
/** The encoded type of a struct. */
export type StructOutputOf<R extends Props, O extends Props> = Flat<
  { readonly [K in keyof R]: t.OutputOf<R[K]> } & { readonly [K in keyof O]?: t.OutputOf<O[K]> }
>;

/** Edit distance (insertions, deletions, substitutions), for "did you mean" hints. */
const editDistance = (a: string, b: string): number => {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++)
      row.push(Math.min((prev[j] ?? 0) + 1, (row[j - 1] ?? 0) + 1, (prev[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1)));
    prev = row;
  }
  return prev[b.length] ?? 0;
};

const unknownFieldMessage = (k: string, known: readonly string[]): string => {
  const lower = k.toLowerCase();
  const near = known
    .map((f) => ({ f, d: editDistance(lower, f.toLowerCase()) }))
    .filter(({ f, d }) => d <= Math.max(1, Math.floor(f.length / 3)))
    .sort((x, y) => x.d - y.d)[0];
  return near !== undefined
    ? `unknown field (did you mean '${near.f}'?)`
    : `unknown field (known fields: ${known.length > 0 ? known.join(', ') : 'none'})`;
};

/**
 * A JSON object with required and optional fields and no others: an unknown field is
 * an error naming it (a typo in a config must not pass silently).
 */
export class StructType<R extends Props, O extends Props> extends t.Type<StructOf<R, O>, StructOutputOf<R, O>, unknown> {
  readonly _tag = 'StructType' as const;
  constructor(
    name: string,
    readonly required: R,
    readonly optional: O,
  ) {
    const known = [...Object.keys(required), ...Object.keys(optional)];
    const isKnown = (k: string): boolean => has(required, k) || has(optional, k);
    const is = (u: unknown): u is StructOf<R, O> =>
      isObject(u) &&
      Object.keys(u).every(isKnown) &&
      Object.entries(required).every(([k, codec]) => has(u, k) && codec.is(u[k])) &&
      Object.entries(optional).every(([k, codec]) => !has(u, k) || codec.is(u[k]));
    const validate = (u: unknown, c: t.Context): t.Validation<StructOf<R, O>> => {
      if (!isObject(u)) return t.failure(u, c);
      const errors: t.ValidationError[] = [];
      const out: Record<string, unknown> = {};
      for (const k of Object.keys(u)) {
        if (!isKnown(k))
          errors.push({
            value: u[k],
            context: t.appendContext(c, k, t.never, u[k]),
            message: unknownFieldMessage(k, known),
          });
      }
      const field = (k: string, codec: t.Mixed): void => {
        const v = has(u, k) ? u[k] : undefined;
        const r = codec.validate(v, t.appendContext(c, k, codec, v));
        if (E.isLeft(r)) errors.push(...r.left);
        else out[k] = r.right;
      };
      for (const [k, codec] of Object.entries(required)) field(k, codec);
      for (const [k, codec] of Object.entries(optional)) if (has(u, k)) field(k, codec);
      return errors.length > 0 ? t.failures(errors) : t.success(out as StructOf<R, O>);
    };
    const encode = (a: StructOf<R, O>): StructOutputOf<R, O> => {
      const src = a as Record<string, unknown>;
      const out: Record<string, unknown> = {};
      for (const [k, codec] of [...Object.entries(required), ...Object.entries(optional)])
        if (has(src, k) && src[k] !== undefined) out[k] = codec.encode(src[k]);
      return out as StructOutputOf<R, O>;
    };
    super(name, is, validate, encode);
  }
}

/** No fields. */
export type NoFields = Record<never, t.Mixed>;

/** A closed JSON object: required fields, then optional ones. */
export function struct<R extends Props>(name: string, required: R): StructType<R, NoFields>;
export function struct<R extends Props, O extends Props>(name: string, required: R, optional: O): StructType<R, O>;
export function struct<R extends Props, O extends Props>(name: string, required: R, optional?: O): StructType<R, O | NoFields> {
  return new StructType<R, O | NoFields>(name, required, optional ?? {});
}

type AnyStruct = StructType<any, any>;
/** The decoded type of a tagged union. */
export type TaggedOf<K extends string, M extends Record<string, AnyStruct>> = {
  [V in keyof M & string]: Flat<{ readonly [P in K]: V } & t.TypeOf<M[V]>>;
}[keyof M & string];
type TaggedOutputOf<K extends string, M extends Record<string, AnyStruct>> = {
  [V in keyof M & string]: Flat<{ readonly [P in K]: V } & t.OutputOf<M[V]>>;
}[keyof M & string];

/** A discriminated union of closed objects: the `key` field says which member to expect. */
export class TaggedType<K extends string, M extends Record<string, AnyStruct>> extends t.Type<
  TaggedOf<K, M>,
  TaggedOutputOf<K, M>,
  unknown
> {
  readonly _tag = 'TaggedType' as const;
  constructor(
    name: string,
    readonly key: K,
    readonly members: M,
  ) {
    const tags = new OneOfType(Object.keys(members));
    const split = (u: Record<string, unknown>): Record<string, unknown> => {
      const { [key]: _tag, ...rest } = u;
      return rest;
    };
    const memberOf = (u: unknown): AnyStruct | undefined => {
      if (!isObject(u)) return undefined;
      const v = u[key];
      return typeof v === 'string' && has(members, v) ? members[v] : undefined;
    };
    const is = (u: unknown): u is TaggedOf<K, M> => {
      const m = memberOf(u);
      return m !== undefined && isObject(u) && m.is(split(u));
    };
    const validate = (u: unknown, c: t.Context): t.Validation<TaggedOf<K, M>> => {
      if (!isObject(u)) return t.failure(u, c);
      const m = memberOf(u);
      if (m === undefined) return t.failure(u[key], t.appendContext(c, key, tags, u[key]));
      return pipe(
        m.validate(split(u), c),
        E.map((a) => ({ [key]: u[key], ...(a as object) }) as TaggedOf<K, M>),
      );
    };
    const encode = (a: TaggedOf<K, M>): TaggedOutputOf<K, M> => {
      const src = a as unknown as Record<string, unknown>;
      const m = memberOf(src);
      return { [key]: src[key], ...(m === undefined ? {} : (m.encode(split(src)) as object)) } as TaggedOutputOf<K, M>;
    };
    super(name, is, validate, encode);
  }
}

/** A discriminated union of closed objects (members given without the tag field). */
export const tagged = <K extends string, M extends Record<string, AnyStruct>>(name: string, key: K, members: M): TaggedType<K, M> =>
  new TaggedType(name, key, members);

/** A JSON object mapping arbitrary names to one kind of value. */
export class RecordType<C extends t.Mixed> extends t.Type<
  Readonly<Record<string, t.TypeOf<C>>>,
  Readonly<Record<string, t.OutputOf<C>>>,
  unknown
> {
  readonly _tag = 'RecordType' as const;
  constructor(
    readonly of: C,
    readonly minEntries: number,
  ) {
    const is = (u: unknown): u is Readonly<Record<string, t.TypeOf<C>>> =>
      isObject(u) && Object.keys(u).length >= minEntries && Object.values(u).every((v) => of.is(v));
    const validate = (u: unknown, c: t.Context): t.Validation<Readonly<Record<string, t.TypeOf<C>>>> => {
      if (!isObject(u)) return t.failure(u, c);
      if (Object.keys(u).length < minEntries) return t.failure(u, c, `expected at least ${minEntries} entr${minEntries === 1 ? 'y' : 'ies'}, got none`);
      const errors: t.ValidationError[] = [];
      // A null-prototype object: names like "__proto__" or "constructor" are plain keys.
      const out = Object.create(null) as Record<string, t.TypeOf<C>>;
      for (const [k, v] of Object.entries(u)) {
        const r = of.validate(v, t.appendContext(c, k, of, v));
        if (E.isLeft(r)) errors.push(...r.left);
        else out[k] = r.right;
      }
      return errors.length > 0 ? t.failures(errors) : t.success(out);
    };
    const encode = (a: Readonly<Record<string, t.TypeOf<C>>>): Readonly<Record<string, t.OutputOf<C>>> => {
      const out = Object.create(null) as Record<string, t.OutputOf<C>>;
      for (const [k, v] of Object.entries(a)) out[k] = of.encode(v) as t.OutputOf<C>;
      return out;
    };
    super(`an object of ${of.name}${minEntries > 0 ? ' (not empty)' : ''}`, is, validate, encode);
  }
}

/** A name → value object. */
export const record = <C extends t.Mixed>(of: C, minEntries = 0): RecordType<C> => new RecordType(of, minEntries);

/** A problem found by a cross-field check: where and what. */
export interface FieldProblem {
  readonly path: readonly (string | number)[];
  readonly message: string;
}

/** A codec plus checks that look at several fields at once (reported at the field they name). */
export class CheckedType<C extends t.Mixed> extends t.Type<t.TypeOf<C>, t.OutputOf<C>, unknown> {
  readonly _tag = 'CheckedType' as const;
  constructor(
    readonly base: C,
    readonly checks: (a: t.TypeOf<C>) => readonly FieldProblem[],
  ) {
    const at = (a: unknown, path: readonly (string | number)[], c: t.Context): t.Context => {
      let ctx = c;
      let v: unknown = a;
      for (const k of path) {
        v = typeof v === 'object' && v !== null ? (v as Record<string, unknown>)[String(k)] : undefined;
        ctx = t.appendContext(ctx, String(k), t.unknown, v);
      }
      return ctx;
    };
    const validate = (u: unknown, c: t.Context): t.Validation<t.TypeOf<C>> => {
      const r = base.validate(u, c);
      if (E.isLeft(r)) return r;
      const problems = checks(r.right);
      if (problems.length === 0) return r;
      return t.failures(
        problems.map((p) => {
          const ctx = at(r.right, p.path, c);
          return { value: ctx[ctx.length - 1]?.actual, context: ctx, message: p.message };
        }),
      );
    };
    super(base.name, (u): u is t.TypeOf<C> => base.is(u) && checks(u).length === 0, validate, (a) => base.encode(a) as t.OutputOf<C>);
  }
}

/** Add cross-field checks to a codec. */
export const checked = <C extends t.Mixed>(base: C, checks: (a: t.TypeOf<C>) => readonly FieldProblem[]): CheckedType<C> =>
  new CheckedType(base, checks);
