/**
 * io-ts codecs for every file the library reads or writes: the run configuration,
 * goal files, the task life-cycle state (checkpoints) and run reports. Nothing read
 * from disk is used before it is decoded here; a value that does not decode is a
 * DecodeError naming the file and the field path (`tasks[3].growths[0].valAcc`).
 *
 * The codecs are built from a few combinators (`struct`, `list`, `tagged`, `oneOf`,
 * numeric ranges, …) that keep their structure as data, so that tests can derive
 * generators from the same description the decoder uses.
 */
import * as E from 'fp-ts/lib/Either.js';
import { pipe } from 'fp-ts/lib/function.js';
import * as t from 'io-ts';
import type { CpgError } from './errors.js';
import type { CycleConfig, CycleState, Growth, Measured, Phase, PruneRecord, TaskContext } from './lifecycle.js';
import { MAX_WASM_THREADS } from './threads.js';

// ---------------------------------------------------------------------------
// Reading errors: field paths and messages

const has = (o: object, k: string): boolean => Object.prototype.hasOwnProperty.call(o, k);
const isObject = (u: unknown): u is Record<string, unknown> => typeof u === 'object' && u !== null && !Array.isArray(u);
const IDENT = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

/** A short rendering of an offending value for messages (never throws). */
export const showValue = (u: unknown): string => {
  if (u === undefined) return 'nothing';
  if (typeof u === 'number' || typeof u === 'boolean') return String(u);
  if (typeof u === 'bigint') return `${u}n`;
  if (typeof u === 'function' || typeof u === 'symbol') return `a ${typeof u}`;
  try {
    const s = JSON.stringify(u);
    if (s === undefined) return String(u);
    return s.length > 60 ? `${s.slice(0, 57)}…` : s;
  } catch {
    return Array.isArray(u) ? 'an array' : 'an object';
  }
};

/** The field path of a validation context: `a.b[3].c`, `goals["my task"]`, `(root)` for the whole value. */
export const fieldPath = (c: t.Context): string => {
  let out = '';
  for (let i = 1; i < c.length; i++) {
    const parent = c[i - 1];
    const entry = c[i];
    if (parent === undefined || entry === undefined) continue;
    // Unions and intersections add a context entry per member (key '0', '1', …): not a field.
    const tag = (parent.type as { readonly _tag?: unknown })._tag;
    if (tag === 'UnionType' || tag === 'IntersectionType') continue;
    if (Array.isArray(parent.actual)) out += `[${entry.key}]`;
    else if (IDENT.test(entry.key)) out += out === '' ? entry.key : `.${entry.key}`;
    else out += `[${JSON.stringify(entry.key)}]`;
  }
  return out === '' ? '(root)' : out;
};

const messageOf = (e: t.ValidationError): string => {
  if (e.message !== undefined) return e.message;
  const name = e.context[e.context.length - 1]?.type.name ?? 'a valid value';
  return e.value === undefined ? `missing (expected ${name})` : `expected ${name}, got ${showValue(e.value)}`;
};

const MAX_LISTED = 3;

/** Turn io-ts errors into one DecodeError: the first names the field; a few more go into the message. */
export const toDecodeError = (file: string | undefined, errors: t.Errors): CpgError => {
  const seen = new Set<string>();
  const items: { field: string; message: string }[] = [];
  for (const e of errors) {
    const item = { field: fieldPath(e.context), message: messageOf(e) };
    const key = `${item.field}\u0000${item.message}`;
    if (!seen.has(key)) {
      seen.add(key);
      items.push(item);
    }
  }
  const [first, ...rest] = items;
  if (first === undefined) return { tag: 'DecodeError', file, field: '(root)', message: 'invalid value' };
  const listed = rest.slice(0, MAX_LISTED).map((i) => `${i.field}: ${i.message}`);
  const more = rest.length > MAX_LISTED ? `; and ${rest.length - MAX_LISTED} more` : '';
  const also = listed.length > 0 ? ` (also ${listed.join('; ')}${more})` : '';
  return { tag: 'DecodeError', file, field: first.field, message: `${first.message}${also}` };
};

/** Decode an unknown value with a codec; a failure is a DecodeError naming the file and field. */
export const decodeWith =
  <A, O>(codec: t.Type<A, O, unknown>, file: string | undefined) =>
  (u: unknown): E.Either<CpgError, A> =>
    pipe(
      codec.decode(u),
      E.mapLeft((errors) => toDecodeError(file, errors)),
    );

const NUMBER = /-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?/y;
const HEX4 = /[0-9a-fA-F]{4}/y;
/** A run of string characters that need no look: not a quote, a backslash or a control character. */
const PLAIN = /[^"\\\u0000-\u001f]*/y;

/** A key given twice in one JSON object: JSON.parse keeps the last one without a word. */
export interface JsonDuplicateKey {
  /** The key, unescaped. */
  readonly key: string;
  /** The field path of the second one (`axes.seed`, `["my task"]`), as DecodeErrors name fields. */
  readonly path: string;
  /** Character offsets of the first and of the second. */
  readonly firstAt: number;
  readonly at: number;
}

type JsonScan = { readonly syntaxAt: number } | { readonly duplicate: JsonDuplicateKey } | { readonly tooDeep: true } | null;

const pathOf = (keys: readonly (string | number)[]): string =>
  keys.reduce<string>((path, key) => (typeof key === 'number' ? `${path}[${key}]` : IDENT.test(key) ? (path === '' ? key : `${path}.${key}`) : `${path}[${JSON.stringify(key)}]`), '');

/**
 * One pass over JSON text: where it first goes wrong (a syntax error), or,
 * with `duplicates`, the first key given twice in one object; null when
 * neither. The engine's own message does not always say where, and
 * JSON.parse never says that a key came twice.
 */
const scanJson = (text: string, duplicates: boolean): JsonScan => {
  let i = 0;
  let dup: JsonDuplicateKey | undefined;
  // Where the scan is (keys and indices), for naming a repeated key.
  const at: (string | number)[] = [];
  const ws = (): void => {
    while (i < text.length && (text[i] === ' ' || text[i] === '\t' || text[i] === '\n' || text[i] === '\r')) i++;
  };
  const str = (): boolean => {
    i++; // the opening quote
    for (;;) {
      PLAIN.lastIndex = i;
      PLAIN.test(text);
      i = PLAIN.lastIndex;
      const ch = text[i];
      if (ch === undefined || ch.charCodeAt(0) < 0x20) return false;
      if (ch === '"') {
        i++;
        return true;
      }
      if (ch === '\\') {
        const esc = text[i + 1];
        if (esc !== undefined && '"\\/bfnrt'.includes(esc)) i += 2;
        else if (esc === 'u') {
          HEX4.lastIndex = i + 2;
          if (!HEX4.test(text)) return false;
          i += 6;
        } else return false;
      } else i++;
    }
  };
  const word = (w: string): boolean => {
    for (const c of w) {
      if (text[i] !== c) return false;
      i++;
    }
    return true;
  };
  const value = (): boolean => {
    ws();
    const ch = text[i];
    if (ch === '{' || ch === '[') {
      const close = ch === '{' ? '}' : ']';
      // Keys as JSON.parse sees them (escapes undone), with where each first came.
      const seen = ch === '{' && duplicates ? new Map<string, number>() : undefined;
      i++;
      ws();
      if (text[i] === close) {
        i++;
        return true;
      }
      for (let index = 0; ; index++) {
        let here: string | number = index;
        if (ch === '{') {
          ws();
          const start = i;
          if (text[i] !== '"' || !str()) return false;
          if (seen !== undefined) {
            const raw = text.slice(start + 1, i - 1);
            const key = raw.includes('\\') ? (JSON.parse(text.slice(start, i)) as string) : raw;
            const first = seen.get(key);
            if (first !== undefined) {
              dup = { key, path: pathOf([...at, key]), firstAt: first, at: start };
              return false;
            }
            seen.set(key, start);
            here = key;
          }
          ws();
          if (text[i] !== ':') return false;
          i++;
        }
        if (duplicates) at.push(here);
        if (!value()) return false;
        if (duplicates) at.pop();
        ws();
        if (text[i] === ',') i++;
        else if (text[i] === close) {
          i++;
          return true;
        } else return false;
      }
    }
    if (ch === '"') return str();
    if (ch === 't') return word('true');
    if (ch === 'f') return word('false');
    if (ch === 'n') return word('null');
    NUMBER.lastIndex = i;
    if (!NUMBER.test(text)) return false;
    i = NUMBER.lastIndex;
    return true;
  };
  try {
    const ok = value();
    if (dup !== undefined) return { duplicate: dup };
    ws();
    return ok && i === text.length ? null : { syntaxAt: i };
  } catch {
    return { tooDeep: true }; // nested too deep to scan
  }
};

/**
 * Where JSON text first goes wrong (a character offset), or null if it is valid JSON.
 * The engine's own message does not always say where; this scanner does.
 */
export const jsonSyntaxErrorAt = (text: string): number | null => {
  const r = scanJson(text, false);
  return r !== null && 'syntaxAt' in r ? r.syntaxAt : null; // too deep to scan: the engine's message stands alone
};

/** The first key given twice in one object of valid JSON text, or null (also for text that is not valid JSON). */
export const jsonDuplicateKey = (text: string): JsonDuplicateKey | null => {
  const r = scanJson(text, true);
  return r !== null && 'duplicate' in r ? r.duplicate : null;
};

/** "line 3, column 5" of a character offset. */
const lineColumn = (text: string, at: number): { readonly line: number; readonly column: number } => {
  const lines = text.slice(0, at).split('\n');
  return { line: lines.length, column: (lines[lines.length - 1]?.length ?? 0) + 1 };
};

/**
 * Parse JSON text; never throws. A syntax error says where it is (line and
 * column). A key given twice in one object is refused, naming it and both
 * places: JSON.parse would keep the last one silently, and a file that says
 * two things about one field says neither. (The scan takes about twice
 * JSON.parse's time, ~12 ms a megabyte on a 2-core machine; a run's
 * run.json is tens of kilobytes: under a millisecond.)
 */
export const parseJson =
  (file: string | undefined) =>
  (text: string): E.Either<CpgError, unknown> => {
    let u: unknown;
    try {
      u = JSON.parse(text) as unknown;
    } catch (e) {
      // V8 quotes the text around the fault: keep the message on one line, without control characters.
      const msg = (e instanceof Error ? e.message : String(e)).replace(/[\s\u0000-\u001f\u007f-\u009f]+/g, ' ');
      const at = typeof text === 'string' ? jsonSyntaxErrorAt(text) : null;
      let where = '';
      if (at !== null) {
        const { line, column } = lineColumn(text, at);
        where = ` at line ${line}, column ${column}`;
      }
      return E.left({ tag: 'DecodeError', file, field: '(root)', message: `not valid JSON${where}: ${msg}` });
    }
    const scan = scanJson(text, true);
    if (scan !== null && 'tooDeep' in scan) return E.left({ tag: 'DecodeError', file, field: '(root)', message: 'nested too deep to check for keys given twice' });
    if (scan === null || !('duplicate' in scan)) return E.right(u);
    const d = scan.duplicate;
    const [first, second] = [lineColumn(text, d.firstAt), lineColumn(text, d.at)];
    const where = first.line === second.line ? `line ${first.line}, columns ${first.column} and ${second.column}` : `lines ${first.line} and ${second.line}`;
    return E.left({ tag: 'DecodeError', file, field: d.path, message: `the key ${JSON.stringify(d.key)} is given twice in one object (${where}); JSON would silently keep the last` });
  };

// ---------------------------------------------------------------------------
// Combinators that keep their structure (for messages and for generators)

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

const range = (min: number, max: number, minOpen: boolean, maxOpen: boolean, integer: boolean): NumberRangeType => {
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

// ---------------------------------------------------------------------------
// The task life cycle (checkpointed)

/** Codec of lifecycle's TaskContext. */
export const TaskContextCodec = struct(
  'a task context',
  {
    task: PositiveInt,
    tasksTotal: PositiveInt,
    goal: Fraction,
    valSize: PositiveInt,
    multiplier: Multiplier,
  },
  {
    reserve: OpenFraction,
    budget: struct('a task budget', { share: NonNegativeNumber, needed: NonNegativeNumber, free: NonNegativeNumber, size: NonNegativeNumber }),
    startMultiplier: Multiplier,
  },
);

/** When a compacting target is recorded: the reference's training-accuracy threshold, or also when validation meets the goal. */
export const RecordRule = oneOf('reference', 'goal');

/** How the compacting targets are searched: the reference's sweep, or the highest first and then a bisection. */
export const CompactSearch = oneOf('reference', 'bisect');

/** Codec of lifecycle's CycleConfig. */
export const CycleConfigCodec = struct(
  'a life-cycle configuration',
  {
    growStep: PositiveNumber,
    maxMultiplier: Multiplier,
    trainAccThreshold: Fraction,
    allowedLoss: Fraction,
    sparsities: list(OpenFraction, { strictlyIncreasing: true }),
    retrainPick: Bool,
    prune: Bool,
  },
  { recordRule: RecordRule, search: CompactSearch },
);

/** Codec of lifecycle's Phase. */
export const PhaseCodec = tagged('a life-cycle phase', 'tag', {
  train: struct('a train phase', { multiplier: Multiplier }),
  prune: struct('a prune phase', { from: HalfOpenFraction, to: OpenFraction }),
  retrainPick: struct('a retrain-pick phase', { chosen: HalfOpenFraction }),
  done: struct('a done phase', { chosen: HalfOpenFraction, keptRetrain: Bool, reason: Text }),
});

/** Codec of lifecycle's Measured. */
export const MeasuredCodec = tagged('a measurement', 'tag', {
  trained: struct('a training measurement', { trainAcc: Fraction, valAcc: Fraction, ownsAny: Bool }, { owned: NonNegativeNumber }),
  pruned: struct('a pruning measurement', { trainAcc: Fraction, valAcc: Fraction }),
  retrained: struct('a retraining measurement', { valAcc: Fraction }),
});

/** Codec of one point of the compacting sweep. */
export const PruneRecordCodec = struct('a prune record', { sparsity: OpenFraction, valAcc: Fraction }, { forced: Bool });

/** Codec of one growth. */
export const GrowthCodec = struct('a growth', {
  from: Multiplier,
  to: Multiplier,
  trainAcc: Fraction,
  valAcc: Fraction,
  goal: Fraction,
  shortfallSamples: nullable(PositiveInt),
  trainAccFailed: Bool,
});

/** Codec of lifecycle's CycleState (as stored in checkpoints). */
export const CycleStateCodec = struct(
  'a life-cycle state',
  {
    ctx: TaskContextCodec,
    config: CycleConfigCodec,
    phase: PhaseCodec,
    multiplier: Multiplier,
    unprunedValAcc: nullable(Fraction),
    record: list(PruneRecordCodec),
    goalMissedAtMax: Bool,
    pruneCap: nullable(Fraction),
    growths: list(GrowthCodec),
    chosenValAcc: nullable(Fraction),
    retrainedValAcc: nullable(Fraction),
  },
  { floor: OpenFraction, claimed: NonNegativeInt, missed: list(OpenFraction) },
);

// The codecs must describe exactly lifecycle's types (checked at compile time).
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
/** Compile-time proof that the life-cycle codecs match lifecycle.ts (always true). */
export const lifecycleCodecsMatch: [
  Same<t.TypeOf<typeof TaskContextCodec>, TaskContext>,
  Same<t.TypeOf<typeof CycleConfigCodec>, CycleConfig>,
  Same<t.TypeOf<typeof PhaseCodec>, Phase>,
  Same<t.TypeOf<typeof MeasuredCodec>, Measured>,
  Same<t.TypeOf<typeof PruneRecordCodec>, PruneRecord>,
  Same<t.TypeOf<typeof GrowthCodec>, Growth>,
  Same<t.TypeOf<typeof CycleStateCodec>, CycleState>,
] = [true, true, true, true, true, true, true];

// ---------------------------------------------------------------------------
// The run configuration

/** The benchmarks the library ships. */
export const BenchmarkName = oneOf('split-mnist', 'permuted-mnist', 'split-fmnist', 'cifar100');
export type BenchmarkName = t.TypeOf<typeof BenchmarkName>;
/** What a run learns: a shipped benchmark, or 'custom' — tasks given to `cpg learn` or to a learner. */
export const Benchmark = oneOf('split-mnist', 'permuted-mnist', 'split-fmnist', 'cifar100', 'custom');
export type Benchmark = t.TypeOf<typeof Benchmark>;
/** CPG and its baselines. */
export const Method = oneOf('cpg', 'packnet', 'finetune', 'individual');
export type Method = t.TypeOf<typeof Method>;
/** The shipped architectures. */
export const Net = oneOf('mlp', 'lenet', 'vgg-small', 'vgg16', 'resnet18');
export type Net = t.TypeOf<typeof Net>;
/** The backend a run actually used: native TensorFlow (Node), tfjs's WebGPU (Node: Dawn), tfjs's WebGL (a browser), wasm or the pure-JS cpu. */
export const BackendName = oneOf('tensorflow', 'webgpu', 'webgl', 'wasm', 'cpu');
export type BackendName = t.TypeOf<typeof BackendName>;
/** A backend request ('auto': the first that loads). */
export const BackendChoice = oneOf('auto', ...BackendName.values);
export type BackendChoice = t.TypeOf<typeof BackendChoice>;

/** A learning-rate step: multiply by `factor` from fraction `at` of the epochs on. */
export const Milestone = struct('a milestone', { at: Fraction, factor: NonNegativeNumber });
export type Milestone = t.TypeOf<typeof Milestone>;

/** Where accuracy goals come from: individually trained models, or a goal file. */
export const GoalsSource = tagged('a goals source', 'kind', {
  individual: struct('individual goals', {}),
  file: struct('goals from a file', { path: NonEmptyText }),
});
export type GoalsSource = t.TypeOf<typeof GoalsSource>;

const runConfigFields = {
  benchmark: Benchmark,
  method: Method,
  net: Net,
  seed: NonNegativeInt,
  backend: BackendChoice,
  batchSize: PositiveInt,
  lr: PositiveNumber,
  lrMask: NonNegativeNumber,
  weightDecay: NonNegativeNumber,
  momentum: HalfOpenFraction,
  trainEpochs: PositiveInt,
  lrMilestones: list(Milestone),
  maskLrMilestones: list(Milestone),
  pruneEpochs: PositiveInt,
  pruneLr: PositiveNumber,
  pruneRampEpochs: NonNegativeInt,
  pruneFrequency: PositiveInt,
  sparsities: list(OpenFraction, { minLength: 1, strictlyIncreasing: true }),
  retrainEpochs: PositiveInt,
  retrainLr: PositiveNumber,
  retrainMaskLr: NonNegativeNumber,
  retrainPatience: PositiveInt,
  growStep: PositiveNumber,
  maxMultiplier: Multiplier,
  trainAccThreshold: Fraction,
  allowedLoss: Fraction,
  maskInit: FiniteNumber,
  maskThreshold: FiniteNumber,
  goals: GoalsSource,
  individualEpochs: PositiveInt,
  packnetSparsity: HalfOpenFraction,
  valFraction: OpenFraction,
  testFraction: OpenFraction,
  evalBatchSize: PositiveInt,
  probeSize: PositiveInt,
};

const runConfigOptionalFields = {
  /** Absent: all of the benchmark's tasks. */
  tasks: PositiveInt,
  dataPath: NonEmptyText,
  threads: PositiveInt,
  /** Cap on training images per task (quick runs). */
  limitPerTask: PositiveInt,
  /**
   * Open-ended streams (the count of tasks to come is unknown): how many tasks
   * the model is expected to hold; the reference's compacting cap then counts
   * the tasks left to that number.
   */
  expectedTasks: PositiveInt,
  /**
   * Open-ended streams: the share of its claim a task that misses its goal at
   * the maximum width must free for the tasks to come (its compacting cap).
   * Absent, with expectedTasks absent too: 0.9, the reference's cap with nine or more tasks still to come.
   */
  reserve: OpenFraction,
  /** When a compacting target is recorded. Absent (a run from before the rule was chosen): 'reference'. */
  recordRule: RecordRule,
  /**
   * 'share': a task keeps at most its share of the room (free weights plus the
   * growth still allowed), so that the tasks after it find room; 'none': the
   * reference's rules alone. Absent (a run from before budgets): 'none'.
   */
  capacityBudget: oneOf('share', 'none'),
  /**
   * How a CPG task claims free weights under the budget: 'all' of them (the
   * reference, CPG-SPEC §3.1), or 'share': when its share is under what the
   * sweep's last target leaves of all of them, only as many as that target
   * compacts to the share, drawn at random and started from the initialiser
   * scaled for their density (algebra/claim.ts). Absent, and by default: 'all'.
   */
  claim: oneOf('all', 'share'),
  /**
   * How the compacting sweep searches its targets (lifecycle.ts, CompactSearch):
   * 'reference', every target in turn (the faithful mode), or 'bisect' (a new
   * run's default). Absent (a run from before the option): 'reference', so a
   * resumed run never changes its search half-way.
   */
  compactSearch: CompactSearch,
  /**
   * Where the pick mask's retraining after compacting starts (CPG-SPEC §3.7):
   * 'reset', every cell at maskInit (the reference), or 'learned' (a new run's
   * default), the pick the task learned while training. Absent (a run from
   * before the option): 'reset'.
   */
  retrainPickFrom: oneOf('reset', 'learned'),
  /**
   * The goal test's tolerance in validation images: a task meets its goal
   * within max(allowedLoss, min(0.01, allowedLossImages / its validation
   * images)), so a tolerance meant to forgive one image does so on every
   * validation size of at least 100 images, and never forgives more than a
   * point on a smaller one (lifecycle.ts, goalTolerance).
   * Absent: 0 (the tolerance is allowedLoss alone).
   */
  allowedLossImages: NonNegativeInt,
  /**
   * The individual baseline only: train task k's network alone (a goal
   * network as a job of its own, so a sweep trains a run's goal networks in
   * parallel). Absent: every task's.
   */
  onlyTask: PositiveInt,
};

const increasingMilestones = (field: string, ms: readonly Milestone[]): FieldProblem[] =>
  ms.flatMap((m, i) => {
    const prev = ms[i - 1];
    return prev !== undefined && m.at <= prev.at
      ? [{ path: [field, i, 'at'], message: `milestones must be in increasing order, got ${m.at} after ${prev.at}` }]
      : [];
  });

/** A complete run configuration (what a run uses and a checkpoint stores). */
export const RunConfig = checked(struct('a run configuration', runConfigFields, runConfigOptionalFields), (c) => [
  ...(c.valFraction + c.testFraction >= 1
    ? [{ path: ['testFraction'], message: `valFraction + testFraction must be < 1, got ${c.valFraction} + ${c.testFraction}` }]
    : []),
  ...(c.pruneRampEpochs > c.pruneEpochs
    ? [{ path: ['pruneRampEpochs'], message: `must be ≤ pruneEpochs (${c.pruneEpochs}), got ${c.pruneRampEpochs}` }]
    : []),
  ...increasingMilestones('lrMilestones', c.lrMilestones),
  ...increasingMilestones('maskLrMilestones', c.maskLrMilestones),
  ...(c.onlyTask !== undefined && c.method !== 'individual'
    ? [{ path: ['onlyTask'], message: `is for the individual baseline (one task's network alone), not method '${c.method}'` }]
    : []),
  ...(c.onlyTask !== undefined && c.tasks !== undefined && c.onlyTask > c.tasks
    ? [{ path: ['onlyTask'], message: `must be ≤ tasks (${c.tasks}), got ${c.onlyTask}` }]
    : []),
]);
export type RunConfig = t.TypeOf<typeof RunConfig>;

/** wasm threads a user may ask for (a stored configuration from before the limit may hold more: it ran on the most). */
export const WasmThreads = new NumberRangeType(`an integer in [1, ${MAX_WASM_THREADS}] (the most the wasm backend runs on)`, 1, MAX_WASM_THREADS, false, false, true);

/**
 * The widest network a user may allow: a checkpoint's index stores widths up
 * to StoredMultiplier's bound, so a wider one would be written and then
 * refused when read back.
 */
export const MaxMultiplier = new NumberRangeType(`a number in [1, ${StoredMultiplier.max}] (the widest a checkpoint stores)`, 1, StoredMultiplier.max, false, false, false);

/** A run configuration as written by a user: every field optional, unknown fields rejected; only a shipped benchmark is named. */
export const RunConfigInput = struct('a run configuration', {}, { ...runConfigFields, benchmark: BenchmarkName, ...runConfigOptionalFields, threads: WasmThreads, maxMultiplier: MaxMultiplier });
export type RunConfigInput = t.TypeOf<typeof RunConfigInput>;

/** The reference defaults (CPG-SPEC, CIFAR-100 / VGG16-BN) of every defaulted field; individualEpochs defaults to trainEpochs. */
export const runConfigDefaults: Omit<RunConfig, keyof typeof runConfigOptionalFields | 'individualEpochs'> = {
  benchmark: 'split-mnist',
  method: 'cpg',
  net: 'mlp',
  seed: 1,
  backend: 'auto',
  batchSize: 32,
  lr: 1e-2,
  lrMask: 5e-4,
  weightDecay: 4e-5,
  momentum: 0.9,
  trainEpochs: 100,
  lrMilestones: [
    { at: 0.5, factor: 0.1 },
    { at: 0.8, factor: 0.1 },
  ],
  maskLrMilestones: [
    { at: 0.5, factor: 0.2 },
    { at: 0.7, factor: 0 },
  ],
  pruneEpochs: 20,
  pruneLr: 1e-3,
  pruneRampEpochs: 4,
  pruneFrequency: 10,
  sparsities: [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95],
  retrainEpochs: 30,
  retrainLr: 1e-3,
  retrainMaskLr: 1e-4,
  retrainPatience: 5,
  growStep: 0.5,
  maxMultiplier: 1.5,
  trainAccThreshold: 0.95,
  allowedLoss: 0,
  maskInit: 0.01,
  maskThreshold: 0.005,
  goals: { kind: 'individual' },
  packnetSparsity: 0.75,
  valFraction: 0.1,
  testFraction: 0.2,
  evalBatchSize: 256,
  probeSize: 32,
};

/** Defaults of a new run for fields that an older run lacks (and then reads as the reference's rules). */
export const newRunDefaults: {
  readonly recordRule: t.TypeOf<typeof RecordRule>;
  readonly capacityBudget: 'share' | 'none';
  readonly claim: 'all' | 'share';
  readonly compactSearch: t.TypeOf<typeof CompactSearch>;
  readonly retrainPickFrom: 'reset' | 'learned';
  readonly allowedLossImages: number;
} = {
  recordRule: 'reference',
  capacityBudget: 'share',
  // Measured: partial claims help a long stream on a short budget and hurt it on the default one (BENCHMARKS.md).
  claim: 'all',
  // Measured on the three MNIST-family benchmarks, 3 seeds (BENCHMARKS.md, "The compacting search"):
  // 0.23–0.62× the sweep's time, at least PackNet's accuracy, within seed noise of the sweep's.
  compactSearch: 'bisect',
  // Measured (BENCHMARKS.md, "Where pick retraining starts"): from the learned pick it beats the compacted
  // model on validation where the reference's restart from maskInit almost never does.
  retrainPickFrom: 'learned',
  // The reference's: the tolerance is allowedLoss alone (the MNIST family's preset forgives one image).
  allowedLossImages: 0,
};

/** Decode a user's configuration and fill in the reference defaults; checks ranges and cross-field rules. */
export const decodeConfig =
  (file: string | undefined) =>
  (u: unknown): E.Either<CpgError, RunConfig> =>
    pipe(
      decodeWith(RunConfigInput, file)(u),
      E.chain((input) =>
        decodeWith(RunConfig, file)({
          ...runConfigDefaults,
          ...newRunDefaults,
          ...input,
          individualEpochs: input.individualEpochs ?? input.trainEpochs ?? runConfigDefaults.trainEpochs,
        }),
      ),
    );

// ---------------------------------------------------------------------------
// Inputs

/** [height, width, channels] of a model's input. */
export const InputShapeCodec = list(range(1, 4096, false, false, true), { minLength: 3, maxLength: 3 });

/** Per-channel mean and standard deviation applied to pixels in [0, 1]. */
export const NormalisationCodec = checked(
  struct('a normalisation', { mean: list(FiniteNumber, { minLength: 1 }), std: list(PositiveNumber, { minLength: 1 }) }),
  (n) => (n.mean.length !== n.std.length ? [{ path: ['std'], message: `has ${n.std.length} channel(s), mean has ${n.mean.length}` }] : []),
);

// ---------------------------------------------------------------------------
// Goal files

/** A goal file: task name → accuracy goal in [0, 1] (also as "0.6280", as the reference writes them); at least one task. */
export const GoalFile = record(new LenientNumberType(Fraction), 1);
export type GoalFile = t.TypeOf<typeof GoalFile>;

// ---------------------------------------------------------------------------
// Run reports

/** One task's line in a report. */
/** What a task's budget was and did: fractions of the network at the width the task started at. */
export const BudgetOutcome = struct(
  'a task budget outcome',
  {
    /** The most the task could keep. */
    share: Fraction,
    /** Free when it started: less than the share means the model had run out of room. */
    freeAtStart: Fraction,
    /** The least sparsity its own weights had to reach (0: the share did not limit it). */
    floor: HalfOpenFraction,
    /** Whether the budget changed the choice: the rules alone would have kept less sparsity. */
    bound: Bool,
    /**
     * Whether the model ran out of room for it (a warning was emitted): it started with fewer free
     * weights than it needed at the widest the network may grow, or its share bound its compacting
     * and it ended under its goal.
     */
    ranOut: Bool,
  },
  {
    /** The width the network grew to before training, because its free weights did not cover the share. */
    grewFirstTo: Multiplier,
    /** What the task claimed to train (under the 'share' claim rule it may be less than was free). */
    claimed: Fraction,
    /**
     * What bound its budget (budget.ts, BudgetConstraint): the open stream's 'reserve', the equal share
     * among the tasks still 'planned', or the maximum 'width' (too few free weights even there).
     */
    constraint: oneOf('reserve', 'planned', 'width'),
    /** An open-ended stream: the share of the room kept for the tasks to come. */
    reserve: OpenFraction,
    /** A planned count: this task and the tasks planned after it. */
    plannedTasks: PositiveInt,
    /** Its share as a fraction of the room (free weights plus the growth still allowed). */
    shareOfRoom: Fraction,
    /** What it needed free to start. */
    needed: Fraction,
    /** The width it started at (what its fractions are of), the width it learned at, and the widest the network could grow. */
    startWidth: Multiplier,
    width: Multiplier,
    maxWidth: Multiplier,
    /** The sparsity targets the configuration requested. */
    requestedSparsities: list(OpenFraction),
    /** The sparsity the budget imposed beyond the last requested target (its floor); absent where it did not. */
    imposedSparsity: OpenFraction,
  },
);
export type BudgetOutcome = t.TypeOf<typeof BudgetOutcome>;

export const TaskReport = struct('a task report', {
  name: Text,
  /** Test accuracy. */
  accuracy: Fraction,
  valAccuracy: Fraction,
  goal: nullable(Fraction),
  widthMultiplier: Multiplier,
  sparsity: Fraction,
  /** The share of the network (its sharable weights, at the final width) the task owns. */
  ownedFraction: Fraction,
  /** Picked: the share of the older tasks' weights (within its width) that the task's pick mask reuses. */
  pickedFraction: Fraction,
  growths: list(GrowthCodec),
  pruneCurve: list(PruneRecordCodec),
  retrainKept: Bool,
  note: nullable(Text),
}, {
  /** What `accuracy` was measured on: the test split, or validation for a task given without one. */
  accuracyOn: oneOf('test', 'validation'),
  /** How far below its goal the task's validation accuracy may be and still meet it. */
  allowedLoss: Fraction,
  /** The task's budget, under the 'share' capacity policy. */
  budget: BudgetOutcome,
  /** CPG: the validation images its goal was tested on. */
  validationImages: PositiveInt,
  /**
   * CPG, a task with a goal: its validation set is too small to test the goal at the precision it is
   * judged at (one image is worth more than its allowed loss, or than one point where that is finer).
   */
  validationTooSmall: Bool,
});
export type TaskReport = t.TypeOf<typeof TaskReport>;

/**
 * How one sharable tensor is shared out: per task (in task order) the share of
 * the layer it owns and the share of the layer its picked weights make up, and
 * what is free. "Picked" as reports show it (pickedFraction, report.html) is a
 * share of the older tasks' weights: perTask[k].picked / Σ perTask[j].owned
 * over j < k.
 */
export const LayerCapacity = struct('a layer capacity', {
  name: Text,
  size: NonNegativeInt,
  /** owned: weights the task owns ÷ the layer's size; picked: older tasks' weights it picked ÷ the layer's size. */
  perTask: list(struct('a task share', { owned: Fraction, picked: Fraction })),
  free: Fraction,
});
export type LayerCapacity = t.TypeOf<typeof LayerCapacity>;

/** The report of a finished (or stopped) run. */
export const RunReport = struct('a run report', {
  method: Method,
  benchmark: Benchmark,
  net: Net,
  backend: BackendName,
  seed: NonNegativeInt,
  tasks: list(TaskReport),
  /** Row i: after learning task i; column j: accuracy on task j (null before it is learned). */
  accuracyMatrix: list(list(nullable(Fraction))),
  averageAccuracy: Fraction,
  forgetting: FiniteNumber,
  backwardTransfer: FiniteNumber,
  maxLogitDrift: NonNegativeNumber,
  modelSize: struct('a model size', {
    parameters: NonNegativeInt,
    relativeToOneNetwork: NonNegativeNumber,
    checkpointBytes: NonNegativeInt,
  }),
  capacity: list(LayerCapacity),
  timing: struct('a timing', {
    totalSeconds: NonNegativeNumber,
    perTask: list(struct('a task timing', { name: Text, seconds: NonNegativeNumber })),
  }),
  createdAt: Text,
}, {
  /** Threads of the backend that finished the run (wasm: its pool; tensorflow: the cores). */
  threads: PositiveInt,
  /** Whether that backend ran wasm SIMD code. */
  simd: Bool,
  /** How the compacting cap of a task that misses its goal at the maximum width was set, in words. */
  capacityPolicy: Text,
  /** The GPU adapter the backend ran on (webgpu), in words: its name, driver, and whether it is a software adapter. */
  device: Text,
});
export type RunReport = t.TypeOf<typeof RunReport>;

/** "wasm (2 threads, SIMD)": the backend a report was made on, with its threads when known. */
export const backendLabel = (r: Pick<RunReport, 'backend' | 'threads' | 'simd' | 'device'>): string => {
  if (r.device !== undefined) return `${r.backend} (${r.device})`;
  const parts = [
    ...(r.threads !== undefined ? [`${r.threads} thread${r.threads === 1 ? '' : 's'}`] : []),
    ...(r.simd === true ? ['SIMD'] : []),
  ];
  return parts.length === 0 ? r.backend : `${r.backend} (${parts.join(', ')})`;
};

