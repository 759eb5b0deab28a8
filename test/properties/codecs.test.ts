import { test } from 'node:test';
import { MethodNameType } from '../../src/algebra/config.js';
import assert from 'node:assert/strict';
import * as E from 'fp-ts/lib/Either.js';
import * as t from 'io-ts';
import fc from 'fast-check';
import {
  CheckedType,
  LenientNumberType,
  ListType,
  NullableType,
  NumberRangeType,
  OneOfType,
  PrimitiveType,
  RecordType,
  StructType,
  TaggedType,
} from '../../src/algebra/shape.js';
import { CycleStateCodec, MeasuredCodec, PhaseCodec } from '../../src/algebra/cycleState.js';
import { GoalFile, RunConfig, RunConfigInput, decodeConfig, runConfigDefaults } from '../../src/algebra/config.js';
import { RunReport } from '../../src/algebra/report.js';
import { jsonDuplicateKey, jsonSyntaxErrorAt, decodeWith, parseJson } from '../../src/algebra/json.js';
import type { RunReport as RunReportT } from '../../src/algebra/report.js';
import { RunManifest } from '../../src/algebra/manifest.js';
import { SnapshotIndex } from '../../src/algebra/snapshot.js';
import type { CpgError } from '../../src/algebra/errors.js';

// ---------------------------------------------------------------------------
// Generators derived from the codecs themselves (one description for both)

const noNegZero = (x: number): number => (x === 0 ? 0 : x);
const INT_SPAN = 1000;

const arbNumber = (c: NumberRangeType): fc.Arbitrary<number> => {
  if (c.integer) {
    const min = Number.isFinite(c.min) ? c.min + (c.minOpen ? 1 : 0) : -INT_SPAN;
    const max = Number.isFinite(c.max) ? c.max - (c.maxOpen ? 1 : 0) : min + INT_SPAN;
    return fc.integer({ min, max });
  }
  const min = Number.isFinite(c.min) ? c.min : -1e6;
  const max = Number.isFinite(c.max) ? c.max : min + 1e6;
  const edges = [c.minOpen ? [] : [min], c.maxOpen ? [] : [max]].flat();
  const inner = fc.double({ min, max, noNaN: true, minExcluded: c.minOpen, maxExcluded: c.maxOpen }).map(noNegZero);
  return edges.length > 0 ? fc.oneof(inner, fc.constantFrom(...edges)) : inner;
};

/** A generator of valid values for any codec built from shape.ts's combinators. */
const arbitraryOf = (c: t.Mixed): fc.Arbitrary<unknown> => {
  if (c instanceof NumberRangeType) return arbNumber(c);
  if (c instanceof LenientNumberType) return arbNumber(c.of);
  if (c instanceof PrimitiveType) {
    switch (c.kind) {
      case 'string':
        return fc.string();
      case 'nonEmptyString':
        return fc.string({ minLength: 1 });
      case 'sha256':
        return fc.string({ unit: fc.constantFrom(...'0123456789abcdef'), minLength: 64, maxLength: 64 });
      case 'boolean':
        return fc.boolean();
      case 'null':
        return fc.constant(null);
    }
  }
  if (c instanceof OneOfType) return fc.constantFrom(...(c.values as string[]));
  // A built-in method, or a name a caller could register.
  if (c instanceof MethodNameType) return fc.oneof(fc.constantFrom(...c.values), fc.stringMatching(/^[a-z][a-z0-9-]{0,39}$/));
  if (c instanceof NullableType) return fc.option(arbitraryOf(c.of), { nil: null });
  if (c instanceof ListType) {
    if (c.strictlyIncreasing)
      return fc
        .uniqueArray(arbitraryOf(c.of) as fc.Arbitrary<number>, { minLength: c.minLength, maxLength: 6 })
        .map((xs) => [...xs].sort((a, b) => a - b));
    return fc.array(arbitraryOf(c.of), { minLength: c.minLength, maxLength: Math.min(c.maxLength, Math.max(4, c.minLength)) });
  }
  if (c instanceof StructType) {
    const req = c.required as Record<string, t.Mixed>;
    const opt = c.optional as Record<string, t.Mixed>;
    const fields = Object.fromEntries([...Object.entries(req), ...Object.entries(opt)].map(([k, f]) => [k, arbitraryOf(f)]));
    return fc.record(fields, { requiredKeys: Object.keys(req) });
  }
  if (c instanceof TaggedType) {
    const members = Object.entries(c.members as Record<string, t.Mixed>);
    return fc.oneof(...members.map(([tag, m]) => arbitraryOf(m).map((o) => ({ [c.key]: tag, ...(o as object) }))));
  }
  if (c instanceof RecordType) return fc.dictionary(fc.string({ maxLength: 12 }), arbitraryOf(c.of), { minKeys: c.minEntries, maxKeys: 5 });
  if (c instanceof CheckedType) return arbitraryOf(c.base).filter((v) => c.is(v));
  throw new Error(`no generator for codec ${c.name}`);
};

/** Rebuild plain objects (a decoded record has no prototype; a generated one has). */
const plain = (u: unknown): unknown =>
  Array.isArray(u)
    ? u.map(plain)
    : typeof u === 'object' && u !== null
      ? Object.fromEntries(Object.entries(u).map(([k, v]) => [k, plain(v)]))
      : u;

const codecs: readonly [string, t.Mixed][] = [
  ['RunConfig', RunConfig],
  ['RunConfigInput', RunConfigInput],
  ['GoalFile', GoalFile],
  ['RunReport', RunReport],
  ['CycleStateCodec', CycleStateCodec],
  ['PhaseCodec', PhaseCodec],
  ['MeasuredCodec', MeasuredCodec],
  ['SnapshotIndex', SnapshotIndex],
  ['RunManifest', RunManifest],
];

const RUNS = { seed: 42, numRuns: 60 } as const;

const decodeError = (r: E.Either<CpgError, unknown>): Extract<CpgError, { tag: 'DecodeError' }> => {
  assert.ok(E.isLeft(r), 'a corrupted value was accepted');
  assert.equal(r.left.tag, 'DecodeError');
  return r.left as Extract<CpgError, { tag: 'DecodeError' }>;
};

// ---------------------------------------------------------------------------
// Walking a value alongside its codec: leaves and objects, with their paths

type Key = string | number;
const IDENT = /^[A-Za-z_$][A-Za-z0-9_$]*$/;
/** The field-path format the decoder promises: a.b[3].c, ["odd key"], (root). */
const pathText = (path: readonly Key[]): string =>
  path.length === 0
    ? '(root)'
    : path
        .map((k, i) => (typeof k === 'number' ? `[${k}]` : IDENT.test(k) ? (i === 0 ? k : `.${k}`) : `[${JSON.stringify(k)}]`))
        .join('');

interface Leaf {
  readonly path: readonly Key[];
  readonly bad: readonly unknown[];
}

/** Values a leaf codec must refuse. */
const badFor = (c: t.Mixed): unknown[] => {
  if (c instanceof NumberRangeType || c instanceof LenientNumberType) {
    const r = c instanceof LenientNumberType ? c.of : c;
    return [
      'x',
      true,
      null,
      {},
      [],
      ...(c instanceof LenientNumberType ? [] : ['0.5']),
      ...(Number.isFinite(r.min) ? [r.min - 1, ...(r.minOpen ? [r.min] : [])] : []),
      ...(Number.isFinite(r.max) ? [r.max + 1, ...(r.maxOpen ? [r.max] : [])] : []),
      ...(r.integer ? [r.min + 0.5] : []),
    ];
  }
  if (c instanceof PrimitiveType)
    return c.kind === 'boolean'
      ? ['true', 0, null, {}]
      : [42, true, null, {}, [], ...(c.kind === 'nonEmptyString' ? [''] : []), ...(c.kind === 'sha256' ? ['', 'A'.repeat(64), 'a'.repeat(63), 'g'.repeat(64)] : [])];
  if (c instanceof OneOfType) return ['no-such-choice', 3, null, {}];
  if (c instanceof NullableType) return badFor(c.of).filter((v) => v !== null);
  return [];
};

const isLeafCodec = (c: t.Mixed): boolean => badFor(c).length > 0;

const leaves = (c: t.Mixed, v: unknown, path: Key[] = []): Leaf[] => {
  if (c instanceof CheckedType) return leaves(c.base, v, path);
  if (c instanceof NullableType && v !== null && !isLeafCodec(c.of)) return leaves(c.of, v, path);
  if (isLeafCodec(c)) return [{ path, bad: badFor(c) }];
  if (c instanceof ListType) return (v as unknown[]).flatMap((x, i) => leaves(c.of, x, [...path, i]));
  if (c instanceof RecordType) return Object.entries(v as object).flatMap(([k, x]) => leaves(c.of, x, [...path, k]));
  if (c instanceof TaggedType) {
    const o = v as Record<string, unknown>;
    const member = (c.members as Record<string, t.Mixed>)[o[c.key] as string]!;
    return [{ path: [...path, c.key], bad: ['no-such-choice', 3, null] }, ...leaves(member, v, path)];
  }
  if (c instanceof StructType) {
    const o = v as Record<string, unknown>;
    const fields = { ...(c.required as Record<string, t.Mixed>), ...(c.optional as Record<string, t.Mixed>) };
    return Object.entries(fields).flatMap(([k, f]) => (k in o ? leaves(f, o[k], [...path, k]) : []));
  }
  return [];
};

interface ObjectNode {
  readonly path: readonly Key[];
  readonly required: readonly string[];
}
/** Every closed object in a value, with its required fields (a tagged union's tag included). */
const objects = (c: t.Mixed, v: unknown, path: Key[] = []): ObjectNode[] => {
  if (c instanceof CheckedType) return objects(c.base, v, path);
  if (c instanceof NullableType) return v === null ? [] : objects(c.of, v, path);
  if (c instanceof ListType) return (v as unknown[]).flatMap((x, i) => objects(c.of, x, [...path, i]));
  if (c instanceof RecordType) return Object.entries(v as object).flatMap(([k, x]) => objects(c.of, x, [...path, k]));
  if (c instanceof TaggedType) {
    const o = v as Record<string, unknown>;
    const member = (c.members as Record<string, t.Mixed>)[o[c.key] as string]!;
    return objects(member, v, path).map((n) => (n.path === path ? { path, required: [c.key, ...n.required] } : n));
  }
  if (c instanceof StructType) {
    const o = v as Record<string, unknown>;
    const fields = { ...(c.required as Record<string, t.Mixed>), ...(c.optional as Record<string, t.Mixed>) };
    const inner = Object.entries(fields).flatMap(([k, f]) => (k in o ? objects(f, o[k], [...path, k]) : []));
    return [{ path, required: Object.keys(c.required as object) }, ...inner];
  }
  return [];
};

const edit = (root: unknown, path: readonly Key[], f: (parent: Record<Key, unknown>, key: Key) => void): unknown => {
  const copy = JSON.parse(JSON.stringify(root)) as unknown;
  if (path.length === 0) throw new Error('cannot edit the root');
  let node = copy as Record<Key, unknown>;
  for (const k of path.slice(0, -1)) node = node[k] as Record<Key, unknown>;
  f(node, path[path.length - 1]!);
  return copy;
};
const at = (root: unknown, path: readonly Key[]): unknown =>
  path.reduce<unknown>((node, k) => (node as Record<Key, unknown>)[k], root);

/** A valid encoded value of a codec, with its leaves and objects. */
const arbSample = (c: t.Mixed) =>
  arbitraryOf(c).map((v) => {
    const encoded = JSON.parse(JSON.stringify(c.encode(v))) as unknown;
    return { v, encoded, leaves: leaves(c, v), objects: objects(c, v) };
  });

// ---------------------------------------------------------------------------
// Properties

for (const [name, codec] of codecs) {
  test(`${name}: decode ∘ encode = id on generated values, through JSON text`, () => {
    fc.assert(
      fc.property(arbitraryOf(codec), (v) => {
        assert.ok(codec.is(v), 'the generator made an invalid value');
        const text = JSON.stringify(codec.encode(v));
        const back = decodeWith(codec, 'x.json')(JSON.parse(text));
        assert.ok(E.isRight(back), JSON.stringify(E.isLeft(back) ? back.left : null));
        assert.deepEqual(plain(back.right), plain(v));
      }),
      RUNS,
    );
  });

  test(`${name}: a leaf of the wrong type or out of range is a DecodeError naming its field`, () => {
    fc.assert(
      fc.property(arbSample(codec), fc.nat(), fc.nat(), (s, li, bi) => {
        fc.pre(s.leaves.length > 0);
        const leaf = s.leaves[li % s.leaves.length]!;
        const bad = leaf.bad[bi % leaf.bad.length];
        const corrupted = leaf.path.length === 0 ? bad : edit(s.encoded, leaf.path, (p, k) => (p[k] = bad));
        const e = decodeError(decodeWith(codec, 'run/x.json')(corrupted));
        assert.equal(e.file, 'run/x.json');
        assert.equal(e.field, pathText(leaf.path), `${e.field}: ${e.message}`);
        assert.ok(e.message.length > 0);
      }),
      RUNS,
    );
  });

  // A goal file is an open name → goal object: no closed objects to corrupt.
  if (!(codec instanceof RecordType)) test(`${name}: a missing required field or an unknown field is a DecodeError naming it`, () => {
    fc.assert(
      fc.property(arbSample(codec), fc.nat(), fc.nat(), fc.boolean(), (s, oi, ki, drop) => {
        fc.pre(s.objects.length > 0);
        const node = s.objects[oi % s.objects.length]!;
        if (drop && node.required.length > 0) {
          const key = node.required[ki % node.required.length]!;
          const corrupted = node.path.length === 0
            ? (() => { const c = JSON.parse(JSON.stringify(s.encoded)) as Record<string, unknown>; delete c[key]; return c; })()
            : edit(s.encoded, [...node.path, key], (p, k) => delete p[k]);
          const e = decodeError(decodeWith(codec, undefined)(corrupted));
          assert.equal(e.field, pathText([...node.path, key]));
          assert.match(e.message, /missing/);
        } else {
          const target = at(s.encoded, node.path) as Record<string, unknown>;
          const extra = 'lrr' in target ? 'zz_typo' : 'lrr';
          const corrupted = node.path.length === 0
            ? { ...target, [extra]: 1 }
            : edit(s.encoded, node.path, (p, k) => (p[k] = { ...(p[k] as object), [extra]: 1 }));
          const e = decodeError(decodeWith(codec, undefined)(corrupted));
          assert.equal(e.field, pathText([...node.path, extra]));
          assert.match(e.message, /unknown field/);
        }
      }),
      RUNS,
    );
  });

  test(`${name}: arbitrary JSON and arbitrary values never throw; what decodes is valid`, () => {
    fc.assert(
      fc.property(fc.oneof(fc.jsonValue(), fc.anything()), (u) => {
        const r = decodeWith(codec, 'x.json')(u);
        if (E.isRight(r)) assert.ok(codec.is(r.right));
        else assert.ok(r.left.tag === 'DecodeError' && r.left.field.length > 0 && r.left.message.length > 0);
      }),
      { seed: 42, numRuns: 200 },
    );
  });
}

test('truncated or mangled JSON text is a DecodeError for the file, never a throw', () => {
  fc.assert(
    fc.property(arbitraryOf(RunReport), fc.nat(), (v, cut) => {
      const text = JSON.stringify(RunReport.encode(v as RunReportT), null, 2);
      assert.ok(E.isRight(parseJson('report.json')(text)));
      const truncated = text.slice(0, cut % text.length);
      const e = decodeError(parseJson('report.json')(truncated));
      assert.equal(e.file, 'report.json');
      assert.match(e.message, /not valid JSON/);
    }),
    RUNS,
  );
  const e = decodeError(parseJson('c.json')('{\n  "lr": 0.1,\n  "seed": }'));
  assert.match(e.message, /^not valid JSON at line 3, column 11: /);
});

test('the JSON syntax scanner agrees with JSON.parse, and points into the text', () => {
  const jsonText = fc.jsonValue().chain((v) => fc.constantFrom(JSON.stringify(v), JSON.stringify(v, null, 2)));
  const mangled = fc
    .tuple(jsonText, fc.nat(), fc.nat(), fc.constantFrom('', ',', '}', ']', '"', ':', '\\', ' ', '0', '-', '.', 'e', 'tru', '\u0001'))
    .map(([txt, at, len, ins]) => {
      const i = at % (txt.length + 1);
      return txt.slice(0, i) + ins + txt.slice(i + (len % 3));
    });
  fc.assert(
    fc.property(fc.oneof(jsonText, mangled, fc.string()), (text) => {
      let valid = true;
      try {
        JSON.parse(text);
      } catch {
        valid = false;
      }
      const at = jsonSyntaxErrorAt(text);
      assert.equal(at === null, valid, `scanner ${at === null ? 'accepts' : `refuses at ${at}`}, JSON.parse ${valid ? 'accepts' : 'refuses'}`);
      if (at !== null) assert.ok(at >= 0 && at <= text.length);
      const r = parseJson(undefined)(text);
      // Valid JSON that repeats a key is refused too (see the next tests).
      assert.equal(E.isRight(r), valid && jsonDuplicateKey(text) === null);
    }),
    { seed: 42, numRuns: 1000 },
  );
  const tricky = ['[1,]', '{"a":1,}', '{,}', '[,1]', '01', '1.', '-', '.5', '1e', '+1', '"\\x"', '"\\u12G4"', '"\t"', '{"a" 1}',
    '[1 2]', 'nul', 'truee', ' ', '', '{"a":1}}', '\ufeff1', '-0', '1E+2', '"\\u00e9"', ' [ ] '];
  for (const text of tricky) {
    let valid = true;
    try {
      JSON.parse(text);
    } catch {
      valid = false;
    }
    assert.equal(jsonSyntaxErrorAt(text) === null, valid, JSON.stringify(text));
  }
});

test('JSON without a repeated key parses exactly as JSON.parse does', () => {
  // JSON.stringify never repeats a key: any JSON value, compact or indented, with odd keys ("__proto__", "", escapes).
  const oddKeys = fc.constantFrom('__proto__', '', 'a', 'A', '\u0000', '"', '\\', 'é', '😀', 'constructor');
  const value = fc.oneof(fc.jsonValue(), fc.dictionary(fc.oneof(fc.string(), oddKeys), fc.jsonValue({ maxDepth: 2 })));
  fc.assert(
    fc.property(value, fc.constantFrom(undefined, 1, '\t'), (v, indent) => {
      const text = JSON.stringify(v, null, indent);
      const r = parseJson('f.json')(text);
      assert.ok(E.isRight(r), JSON.stringify(E.isLeft(r) ? r.left : null));
      assert.deepEqual(r.right, JSON.parse(text));
    }),
    { seed: 42, numRuns: 500 },
  );
  // Keys that differ only until their escapes are undone are one key; keys that differ are not.
  assert.ok(E.isRight(parseJson(undefined)('{"a": 1, "b": 2, "A": 3, "a ": 4, "\\u0062b": 5}')));
});

test('a JSON object with a key given twice is refused, naming the key, its path and both places', () => {
  const segment = fc.oneof(fc.string({ maxLength: 6 }), fc.nat(2));
  const entry = fc.tuple(fc.string({ maxLength: 6 }), fc.jsonValue({ maxDepth: 2 }));
  fc.assert(
    fc.property(
      fc.array(segment, { maxLength: 3 }),
      fc.oneof(fc.string({ maxLength: 8 }), fc.constantFrom('seed', '__proto__', '', 'é', '😀')),
      fc.array(entry, { maxLength: 3 }),
      fc.jsonValue({ maxDepth: 2 }),
      fc.jsonValue({ maxDepth: 2 }),
      fc.nat(),
      fc.boolean(),
      (path, key, others, first, second, at, escape) => {
        // The object that repeats `key`: other keys, then key, maybe more, then key again (its second spelling all \u escapes).
        const rest = others.filter(([k]) => k !== key).filter(([k], i, xs) => xs.findIndex(([j]) => j === k) === i);
        const cut = at % (rest.length + 1);
        const pair = ([k, v]: readonly [string, unknown]) => `${JSON.stringify(k)}: ${JSON.stringify(v)}`;
        const spelled = escape ? `"${[...key].flatMap((c) => [...Array(c.length).keys()].map((i) => `\\u${c.charCodeAt(i).toString(16).padStart(4, '0')}`)).join('')}"` : JSON.stringify(key);
        const body = [...rest.slice(0, cut).map(pair), pair([key, first]), ...rest.slice(cut).map(pair), `${spelled}:${JSON.stringify(second)}`];
        let text = `{${body.join(',\n  ')}}`;
        // Nested along `path`: an object key or an array index at each level.
        for (const s of [...path].reverse()) text = typeof s === 'number' ? `[${'null, '.repeat(s)}${text}]` : `{"other": 0, ${JSON.stringify(s)}: ${text}}`.replace(`{"other": 0, "other": `, '{"other": ');
        const r = parseJson('grid.json')(text);
        const e = decodeError(r);
        assert.equal(e.file, 'grid.json');
        assert.equal(e.field, pathText([...path, key]), text);
        assert.ok(e.message.includes(`the key ${JSON.stringify(key)} is given twice`), e.message);
        assert.match(e.message, /\((line \d+, columns \d+ and \d+|lines \d+ and \d+)\)/);
        assert.equal(e.message.split('\n').length, 1, 'one line');
      },
    ),
    { seed: 42, numRuns: 500 },
  );
  const e = decodeError(parseJson('c.json')('{\n  "trainEpochs": 3,\n  "lr": 0.1,\n  "trainEpochs": 4\n}'));
  assert.equal(e.field, 'trainEpochs');
  assert.equal(e.message, 'the key "trainEpochs" is given twice in one object (lines 2 and 4); JSON would silently keep the last');
  const nested = '{"a": {"b": 1}, "c": [{"d": 1, "d": 2}]}';
  assert.deepEqual(jsonDuplicateKey(nested), { key: 'd', path: 'c[0].d', firstAt: nested.indexOf('"d"'), at: nested.lastIndexOf('"d"') });
  // The same key in two objects is no repeat.
  assert.equal(jsonDuplicateKey('[{"a": 1}, {"a": 2}, {"b": {"a": 3}, "a": 4}]'), null);
});

test('decodeConfig keeps what the user wrote and fills every other field with the reference default', () => {
  fc.assert(
    fc.property(arbitraryOf(RunConfigInput), (input) => {
      const r = decodeConfig('cfg.json')(input);
      const given = input as Record<string, unknown>;
      if (E.isLeft(r)) {
        // Only a cross-field rule may refuse a value whose fields are each valid.
        assert.ok(['testFraction', 'pruneRampEpochs', 'onlyTask'].includes(r.left.tag === 'DecodeError' ? r.left.field : '') ||
          /Milestones\[\d+\]\.at$/.test(r.left.tag === 'DecodeError' ? r.left.field : ''), JSON.stringify(r.left));
        return;
      }
      const out = plain(r.right) as Record<string, unknown>;
      for (const [k, d] of Object.entries(runConfigDefaults)) assert.deepEqual(out[k], plain(k in given ? given[k] : d), k);
      for (const k of ['tasks', 'dataPath', 'threads', 'limitPerTask']) assert.deepEqual(out[k], given[k], k);
      assert.equal(out['individualEpochs'], given['individualEpochs'] ?? out['trainEpochs']);
    }),
    RUNS,
  );
  const d = decodeConfig(undefined)({});
  assert.ok(E.isRight(d));
  assert.equal(d.right.individualEpochs, runConfigDefaults.trainEpochs);
  assert.ok(RunConfig.is(d.right));
});

test('config errors read well: the field path and what was expected', () => {
  const err = (u: unknown): { field: string; message: string } => {
    const e = decodeError(decodeConfig('cfg.json')(u));
    return { field: e.field, message: e.message };
  };
  assert.deepEqual(err({ lr: 'x' }), { field: 'lr', message: 'expected a number > 0, got "x"' });
  assert.equal(err({ lrr: 0.1 }).field, 'lrr');
  assert.match(err({ lrr: 0.1 }).message, /unknown field/);
  assert.equal(err({ maxMultipler: 2 }).message, "unknown field (did you mean 'maxMultiplier'?)");
  assert.deepEqual(err({ sparsities: [0.1, 0.3, 0.2] }).field, 'sparsities[2]');
  assert.match(err({ sparsities: [] }).message, /at least 1/);
  assert.equal(err({ sparsities: [0.1, 1] }).field, 'sparsities[1]');
  assert.equal(err({ valFraction: 0.5, testFraction: 0.5 }).field, 'testFraction');
  assert.equal(err({ maxMultiplier: 0.5 }).field, 'maxMultiplier');
  assert.equal(err({ growStep: 0 }).field, 'growStep');
  assert.equal(err({ goals: { kind: 'nope' } }).field, 'goals.kind');
  assert.equal(err({ goals: { kind: 'file' } }).field, 'goals.path');
  assert.equal(err({ lrMilestones: [{ at: 0.8, factor: 0.1 }, { at: 0.5, factor: 0.1 }] }).field, 'lrMilestones[1].at');
  assert.equal(err({ seed: 1.5 }).field, 'seed');
  assert.equal(err({ benchmark: 'mnist' }).message, "expected one of 'split-mnist', 'permuted-mnist', 'split-fmnist', 'cifar100', got \"mnist\"");
  assert.equal(err([]).field, '(root)');
  assert.equal(err({ backend: 'cuda' }).message, "expected one of 'auto', 'tensorflow', 'webgpu', 'webgl', 'wasm', 'cpu', got \"cuda\"");
  const webgl = decodeConfig(undefined)({ backend: 'webgl' });
  assert.ok(E.isRight(webgl) && webgl.right.backend === 'webgl' && RunReport.required.backend.is('webgl'));
});

test('goal files: reference-style numeric strings are read as numbers; odd task names are quoted in paths', () => {
  const ref = { aquatic_mammals: '0.6280', 'large_man-made_outdoor_things': '0.8800' };
  const r = decodeWith(GoalFile, 'goals.json')(ref);
  assert.ok(E.isRight(r));
  assert.deepEqual(plain(r.right), { aquatic_mammals: 0.628, 'large_man-made_outdoor_things': 0.88 });
  const e = decodeError(decodeWith(GoalFile, 'goals.json')({ 'large_man-made_outdoor_things': '1.2' }));
  assert.equal(e.field, '["large_man-made_outdoor_things"]');
  assert.match(decodeError(decodeWith(GoalFile, 'goals.json')({})).message, /at least 1/);
});
