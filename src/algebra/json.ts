/**
 * Reading JSON text and decoding it: a parse that says where the text went
 * wrong and refuses a key given twice, and `decodeWith`, which runs a codec
 * and turns its failures into one DecodeError naming the file and the field
 * path (`tasks[3].growths[0].valAcc`). Nothing read from disk is used before
 * it has passed both.
 */
import * as E from 'fp-ts/lib/Either.js';
import { pipe } from 'fp-ts/lib/function.js';
import type * as t from 'io-ts';
import { type CpgError, decodeError } from './errors.js';

// ---------------------------------------------------------------------------
// Reading errors: field paths and messages

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
  if (first === undefined) return decodeError(file, '(root)', 'invalid value');
  const listed = rest.slice(0, MAX_LISTED).map((i) => `${i.field}: ${i.message}`);
  const more = rest.length > MAX_LISTED ? `; and ${rest.length - MAX_LISTED} more` : '';
  const also = listed.length > 0 ? ` (also ${listed.join('; ')}${more})` : '';
  return decodeError(file, first.field, `${first.message}${also}`);
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
      return E.left(decodeError(file, '(root)', `not valid JSON${where}: ${msg}`));
    }
    const scan = scanJson(text, true);
    if (scan !== null && 'tooDeep' in scan) return E.left(decodeError(file, '(root)', 'nested too deep to check for keys given twice'));
    if (scan === null || !('duplicate' in scan)) return E.right(u);
    const d = scan.duplicate;
    const [first, second] = [lineColumn(text, d.firstAt), lineColumn(text, d.at)];
    const where = first.line === second.line ? `line ${first.line}, columns ${first.column} and ${second.column}` : `lines ${first.line} and ${second.line}`;
    return E.left(decodeError(file, d.path, `the key ${JSON.stringify(d.key)} is given twice in one object (${where}); JSON would silently keep the last`));
  };
