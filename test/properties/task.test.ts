/**
 * A task is checked once, where it enters: every refusal is a TaskError
 * naming the task and the field, and every valid task passes unchanged. The
 * same checks reach a learner: a refused task leaves the model as it was.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import * as E from 'fp-ts/lib/Either.js';
import { type CpgError } from '../../src/algebra/errors.js';
import { type Task, applyNormalisation, checkTask, checkTaskData, checkTaskFor, fitNormalisation, minValidation } from '../../src/algebra/task.js';
import { cifarCoarseNames } from '../../src/node/data/cifar.js';
import { fashionSlugs } from '../../src/node/data/fashion.js';
import { taskFromArrays, taskFromArraysAsync } from '../../src/effects/sources/memory.js';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu'; // the backend these tests run on (the library registers it where it chooses one)

const RUNS = { seed: 7, numRuns: 80 } as const;

/** A valid task: 2–4 classes, a small shape, every class in train and validation. */
const arbTask: fc.Arbitrary<Task> = fc
  .record({
    classes: fc.integer({ min: 2, max: 4 }),
    h: fc.integer({ min: 1, max: 3 }),
    w: fc.integer({ min: 1, max: 3 }),
    c: fc.constantFrom(1, 3),
    perClass: fc.integer({ min: 5, max: 8 }),
    seed: fc.integer(),
  })
  .map(({ classes, h, w, c, perClass, seed }) => {
    const pixels = h * w * c;
    let s = seed >>> 0;
    const next = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32) * 2 - 1;
    const split = (n: number) => {
      const count = n * classes;
      return { x: Float32Array.from({ length: count * pixels }, next), y: Int32Array.from({ length: count }, (_, i) => i % classes), count };
    };
    return {
      name: `task-${classes}-${seed}`,
      classNames: Array.from({ length: classes }, (_, i) => `class ${i}`),
      inputShape: [h, w, c] as const,
      train: split(perClass),
      val: split(Math.max(perClass, Math.ceil(minValidation / classes))),
      test: split(2),
      normalisation: null,
    };
  });

const refusal = (r: E.Either<CpgError, unknown>): Extract<CpgError, { tag: 'TaskError' }> => {
  assert.ok(E.isLeft(r), 'a bad task was accepted');
  assert.equal(r.left.tag, 'TaskError', JSON.stringify(r.left));
  return r.left as Extract<CpgError, { tag: 'TaskError' }>;
};

test('a valid task passes the checks unchanged', () => {
  fc.assert(fc.property(arbTask, (t) => assert.deepEqual(checkTask(t), E.right(t))), RUNS);
});

/** Each way a task can be wrong, and the field the refusal must name. */
const breakers: readonly { readonly what: string; readonly field: RegExp; readonly apply: (t: Task) => Task }[] = [
  { what: 'a label out of range', field: /^train\.y\[\d+\]$/, apply: (t) => ({ ...t, train: { ...t.train, y: Int32Array.from(t.train.y, (y, i) => (i === 1 ? t.classNames.length : y)) } }) },
  { what: 'a negative label', field: /^val\.y\[\d+\]$/, apply: (t) => ({ ...t, val: { ...t.val, y: Int32Array.from(t.val.y, (y, i) => (i === 0 ? -1 : y)) } }) },
  { what: 'a NaN input', field: /^train\.x$/, apply: (t) => ({ ...t, train: { ...t.train, x: Float32Array.from(t.train.x, (x, i) => (i === 2 ? Number.NaN : x)) } }) },
  { what: 'an infinite test input', field: /^test\.x$/, apply: (t) => ({ ...t, test: { ...t.test!, x: Float32Array.from(t.test!.x, (x, i) => (i === 0 ? Infinity : x)) } }) },
  { what: 'inputs of the wrong size', field: /^train\.x$/, apply: (t) => ({ ...t, train: { ...t.train, x: t.train.x.subarray(1) } }) },
  { what: 'fewer labels than inputs', field: /^val\.y$/, apply: (t) => ({ ...t, val: { ...t.val, y: t.val.y.subarray(1) } }) },
  { what: 'a class with no training input', field: /^train$/, apply: (t) => ({ ...t, train: { ...t.train, y: Int32Array.from(t.train.y, (y) => (y === 1 ? 0 : y)) } }) },
  { what: 'a class missing from validation', field: /^val$/, apply: (t) => ({ ...t, val: { ...t.val, y: Int32Array.from(t.val.y, (y) => (y === 1 ? 0 : y)) } }) },
  {
    what: 'too few validation inputs to test a goal',
    field: /^val$/,
    apply: (t) => {
      const pixels = t.inputShape[0] * t.inputShape[1] * t.inputShape[2];
      const n = t.classNames.length;
      return { ...t, val: { x: t.val.x.subarray(0, n * pixels), y: t.val.y.subarray(0, n), count: n } };
    },
  },
  { what: 'one class', field: /^classNames$/, apply: (t) => ({ ...t, classNames: [t.classNames[0]!] }) },
  { what: 'a class name twice', field: /^classNames\[1\]$/, apply: (t) => ({ ...t, classNames: [t.classNames[0]!, t.classNames[0]!, ...t.classNames.slice(2)] }) },
  { what: 'an empty name', field: /^name$/, apply: (t) => ({ ...t, name: '' }) },
  { what: 'a name with a newline', field: /^name$/, apply: (t) => ({ ...t, name: 'a\nb' }) },
  { what: 'a shape that is not [h, w, c]', field: /^inputShape$/, apply: (t) => ({ ...t, inputShape: [t.inputShape[0], t.inputShape[1], 0] as unknown as Task['inputShape'] }) },
  { what: 'a normalisation of the wrong channel count', field: /^normalisation\.mean$/, apply: (t) => ({ ...t, normalisation: { mean: [0, 0, 0, 0], std: [1, 1, 1, 1] } }) },
  { what: 'a zero std', field: /^normalisation\.std$/, apply: (t) => ({ ...t, normalisation: { mean: Array(t.inputShape[2]).fill(0), std: Array(t.inputShape[2]).fill(0) } }) },
  { what: 'an empty test split', field: /^test$/, apply: (t) => ({ ...t, test: { x: new Float32Array(0), y: new Int32Array(0), count: 0 } }) },
];

for (const b of breakers)
  test(`refused, naming the task and the field: ${b.what}`, () => {
    fc.assert(
      fc.property(arbTask, (t) => {
        const e = refusal(checkTask(b.apply(t)));
        assert.match(e.field, b.field);
        assert.ok(e.task === b.apply(t).name || b.what.includes('name'));
        assert.ok(!e.message.includes('\n'), 'one line');
      }),
      RUNS,
    );
  });

test("a name that cannot be a folder name is refused, naming the character, on one line: '/', '\\', NUL, '.' and '..'", () => {
  const cases: readonly (readonly [string, RegExp])[] = [
    ['../evil', /holds '\/' at position 2/],
    ['wear\\a', /holds '\\' at position 4/],
    ['a\u0000b', /holds the control character U\+0000 at position 1/],
    ['.', /cannot be '\.'/],
    ['..', /cannot be '\.\.'/],
  ];
  fc.assert(
    fc.property(arbTask, fc.constantFrom(...cases), (t, [name, why]) => {
      const e = refusal(checkTask({ ...t, name }));
      assert.equal(e.field, 'name');
      assert.match(e.message, why);
      assert.ok(!/[\u0000-\u001f]/.test(`${e.task} ${e.message}`), 'one printable line');
    }),
    { ...RUNS, numRuns: 20 },
  );
  // Anywhere in a name: a separator is refused, and the message says where.
  fc.assert(
    fc.property(arbTask, fc.nat(), fc.constantFrom('/', '\\'), (t, at, sep) => {
      const i = at % (t.name.length + 1);
      const e = refusal(checkTask({ ...t, name: t.name.slice(0, i) + sep + t.name.slice(i) }));
      assert.ok(e.message.includes(`'${sep}' at position ${i}`), e.message);
    }),
    RUNS,
  );
});

test('the benchmark task names are valid; a name from before the rule passes the data checks a held task gets', () => {
  const names = [
    ...[0, 2, 4, 6, 8].map((d) => `digits-${d}-${d + 1}`),
    ...Array.from({ length: 10 }, (_, i) => `permuted-${i + 1}`),
    ...[0, 2, 4, 6, 8].map((c) => `${fashionSlugs[c]}-${fashionSlugs[c + 1]}`),
    ...cifarCoarseNames,
  ];
  assert.ok(names.includes('large_man-made_outdoor_things'));
  fc.assert(
    fc.property(arbTask, fc.constantFrom(...names), (t, name) => assert.deepEqual(checkTask({ ...t, name }), E.right({ ...t, name }))),
    RUNS,
  );
  fc.assert(
    fc.property(arbTask, fc.constantFrom('../evil', 'a\\b', '.', '..'), (t, name) => {
      assert.ok(E.isRight(checkTaskData({ ...t, name })));
      // Given again to a model that holds it, it is refused (if at all) for being held, not for its name.
      const held = checkTaskFor({ inputShape: t.inputShape, normalisation: null, names: [name] })({ ...t, name });
      assert.ok(E.isRight(held) || !/folder/.test(held.left.message), JSON.stringify(held));
    }),
    { ...RUNS, numRuns: 20 },
  );
  fc.assert(
    fc.property(arbTask, (t) => assert.match(refusal(checkTaskData({ ...t, name: 'a\nb' })).message, /control character U\+000A/)),
    { ...RUNS, numRuns: 5 },
  );
});

test('against a model: a name it holds, another input shape or another normalisation is refused by field', () => {
  fc.assert(
    fc.property(arbTask, (t) => {
      const facts = { inputShape: t.inputShape, normalisation: null, names: ['other'] };
      assert.deepEqual(checkTaskFor(facts)(t), E.right(t));
      assert.equal(refusal(checkTaskFor({ ...facts, names: [t.name] })(t)).field, 'name');
      assert.equal(refusal(checkTaskFor({ ...facts, inputShape: [t.inputShape[0] + 1, t.inputShape[1], t.inputShape[2]] })(t)).field, 'inputShape');
      const n = { mean: Array(t.inputShape[2]).fill(0.5), std: Array(t.inputShape[2]).fill(0.25) };
      assert.equal(refusal(checkTaskFor({ ...facts, normalisation: n })(t)).field, 'normalisation');
    }),
    RUNS,
  );
});

test('fitted normalisation gives mean 0 and std 1 per channel; applying it is (x − mean) / std', () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 3 }), fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: 6, maxLength: 60 }), (c, xs) => {
      const x = Float32Array.from(xs.slice(0, Math.floor(xs.length / c) * c));
      const n = fitNormalisation(x, c);
      if (E.isLeft(n)) return; // a constant channel is refused, which is right
      const y = applyNormalisation(x, n.right);
      for (let k = 0; k < c; k++) {
        const v = Array.from(y).filter((_, i) => i % c === k);
        const mean = v.reduce((a, b) => a + b, 0) / v.length;
        const sd = Math.sqrt(v.reduce((a, b) => a + (b - mean) ** 2, 0) / v.length);
        assert.ok(Math.abs(mean) < 1e-4, `mean ${mean}`);
        assert.ok(Math.abs(sd - 1) < 1e-3, `sd ${sd}`);
      }
    }),
    RUNS,
  );
  assert.ok(E.isLeft(fitNormalisation(Float32Array.from([0.5, 0.5, 0.5]), 1)), 'a constant channel cannot be normalised');
});

test('taskFromArrays takes plain arrays and tensors, and names a bad field', () => {
  const x = Array.from({ length: 20 }, (_, i) => (i % 7) / 7);
  const y = Array.from({ length: 20 }, (_, i) => i % 2);
  const t = taskFromArrays({ name: 'arrays', classNames: ['a', 'b'], inputShape: [1, 1, 1], train: { x, y }, val: { x: tf.tensor2d(x, [20, 1]), y: tf.tensor1d(y, 'int32') }, normalise: 'fit' });
  assert.ok(E.isRight(t), JSON.stringify(E.isLeft(t) ? t.left : ''));
  assert.equal(t.right.train.count, 20);
  assert.equal(t.right.test, undefined);
  assert.ok(t.right.normalisation !== null);
  const fractional = taskFromArrays({ name: 'arrays', classNames: ['a', 'b'], inputShape: [1, 1, 1], train: { x, y: y.map((v) => v + 0.5) }, val: { x, y } });
  assert.equal(refusal(fractional).field, 'train.y[0]');
  const short = taskFromArrays({ name: 'arrays', classNames: ['a', 'b'], inputShape: [1, 1, 2], train: { x, y }, val: { x, y } });
  assert.equal(refusal(short).field, 'train.x');
});

test('taskFromArraysAsync gives the task taskFromArrays gives, and the same refusals; a tensor that cannot be read synchronously is refused by name', async () => {
  const x = Array.from({ length: 20 }, (_, i) => (i % 7) / 7);
  const y = Array.from({ length: 20 }, (_, i) => i % 2);
  const tensors = () => ({ x: tf.tensor2d(x, [20, 1]), y: tf.tensor1d(y, 'int32') });
  const input = { name: 'arrays', classNames: ['a', 'b'], inputShape: [1, 1, 1] as const, train: tensors(), val: { x, y }, test: tensors(), normalise: 'fit' as const };
  const sync = taskFromArrays(input);
  const async_ = await taskFromArraysAsync(input)();
  assert.ok(E.isRight(sync) && E.isRight(async_));
  assert.deepEqual(async_.right, sync.right);
  // The same refusals, field by field.
  const rows = { ...input, train: { x: tf.tensor2d(x.slice(0, 10), [10, 1]), y: tf.tensor1d(y, 'int32') } };
  assert.deepEqual(refusal(await taskFromArraysAsync(rows)()), refusal(taskFromArrays(rows)));
  assert.equal(refusal(taskFromArrays(rows)).field, 'train.x');
  const fractional = { ...input, val: { x, y: tf.tensor1d(y.map((v) => v + 0.5)) } };
  assert.deepEqual(refusal(await taskFromArraysAsync(fractional)()), refusal(taskFromArrays(fractional)));
  assert.equal(refusal(taskFromArrays(fractional)).field, 'val.y[0]');
  // A tensor whose synchronous read fails (as a GPU backend's can): one line naming the field and the async twin.
  const unreadable = tf.tensor2d(x, [20, 1]);
  Object.defineProperty(unreadable, 'dataSync', { value: () => { throw new Error('OffscreenCanvas is not defined'); } });
  const r = refusal(taskFromArrays({ ...input, train: { x: unreadable, y } }));
  assert.equal(r.field, 'train.x');
  assert.match(r.message, /cannot read synchronously \(OffscreenCanvas is not defined\): use taskFromArraysAsync/);
  assert.ok(E.isRight(await taskFromArraysAsync({ ...input, train: { x: unreadable, y } })()), 'the async twin reads it with data()');
});
