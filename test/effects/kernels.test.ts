/**
 * Our wasm training kernels and batch-norm op against the cpu backend: the
 * same computation runs on both backends in this process from the same data,
 * and results must agree to a relative error of 1e-5 (max |a − b| over
 * max(1, max |b|)).
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as E from 'fp-ts/lib/Either.js';
import fc from 'fast-check';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-layers'; // registers tfjs-core's gradients, as the trainer does
import { selectBackend, withBackend, type BackendName } from '../../src/node/backend.js';
import { batchNormTrain, batchNormInfer } from '../../src/effects/ops.js';
import { rngFor, type Rng } from '../../src/effects/random.js';

const TOL = 1e-5;
const RUNS = 20;
const fcParams = (seed: number) => ({ seed, numRuns: RUNS, endOnFailure: true });

/** max |a − b| / max(1, max |b|). */
const relErr = (a: Float32Array, b: Float32Array): number => {
  assert.equal(a.length, b.length, 'result sizes differ');
  let diff = 0;
  let scale = 1;
  for (let i = 0; i < a.length; i++) {
    diff = Math.max(diff, Math.abs(a[i]! - b[i]!));
    scale = Math.max(scale, Math.abs(b[i]!));
  }
  return Number.isNaN(diff) ? Infinity : diff / scale;
};

const data = (rng: Rng, n: number, shift = 0): Float32Array => Float32Array.from({ length: n }, () => rng.normal() + shift);
const size = (s: readonly number[]): number => s.reduce((p, d) => p * d, 1);

const unwrap = async <A>(te: () => Promise<E.Either<unknown, A>>): Promise<A> => {
  const r = await te();
  if (E.isLeft(r)) assert.fail(JSON.stringify(r.left));
  return r.right;
};

/** Runs f on a backend and copies its outputs out as plain arrays. */
const runOn = (name: BackendName, f: () => tf.Tensor[]): Promise<Float32Array[]> =>
  unwrap(withBackend(name, () => tf.tidy(f).map((t) => {
    const v = t.dataSync() as Float32Array;
    t.dispose();
    return Float32Array.from(v);
  })));

/** f on wasm and cpu, outputs compared pairwise. */
const agree = async (what: string, f: () => tf.Tensor[]): Promise<void> => {
  const ours = await runOn('wasm', f);
  const ref = await runOn('cpu', f);
  ours.forEach((o, i) => {
    const e = relErr(o, ref[i]!);
    assert.ok(e <= TOL, `${what}: output ${i} relative error ${e}`);
  });
};

before(async () => {
  const info = await unwrap(selectBackend({ prefer: 'wasm' }));
  assert.match(info.detail, /cpg training kernels/);
});

type Pad = 'same' | 'valid' | [[0, 0], [number, number], [number, number], [0, 0]];

const convCase = fc
  .record({
    seed: fc.integer({ min: 0, max: 1 << 30 }),
    n: fc.integer({ min: 1, max: 3 }),
    h: fc.integer({ min: 1, max: 9 }),
    w: fc.integer({ min: 1, max: 9 }),
    ci: fc.integer({ min: 1, max: 4 }),
    co: fc.integer({ min: 1, max: 4 }),
    kh: fc.integer({ min: 1, max: 4 }),
    kw: fc.integer({ min: 1, max: 4 }),
    stride: fc.integer({ min: 1, max: 2 }),
    pad: fc.oneof(
      fc.constant<Pad>('same'),
      fc.constant<Pad>('valid'),
      fc.tuple(fc.nat(4), fc.nat(4), fc.nat(4), fc.nat(4)).map(([t, b, l, r]): Pad => [[0, 0], [t, b], [l, r], [0, 0]]),
    ),
  })
  .filter((c) => {
    const ph = Array.isArray(c.pad) ? c.pad[1][0] + c.pad[1][1] : c.pad === 'same' ? c.kh : 0;
    const pw = Array.isArray(c.pad) ? c.pad[2][0] + c.pad[2][1] : c.pad === 'same' ? c.kw : 0;
    return c.h + ph >= c.kh && c.w + pw >= c.kw;
  });

test('conv2d gradients (Conv2DBackpropInput, Conv2DBackpropFilter through im2col, Ci < 8) match cpu: strides 1/2, same/valid/explicit pads, odd/even kernels', async () => {
  await fc.assert(
    fc.asyncProperty(convCase, async (c) => {
      const rng = rngFor(c.seed, 'conv');
      const xs = [c.n, c.h, c.w, c.ci];
      const ws = [c.kh, c.kw, c.ci, c.co];
      const xv = data(rng, size(xs));
      const wv = data(rng, size(ws));
      const outShape = await runOn('cpu', () => [tf.conv2d(tf.tensor4d(xv, xs as never), tf.tensor4d(wv, ws as never), c.stride, c.pad)]);
      const rv = data(rng, outShape[0]!.length);
      await agree(JSON.stringify(c), () => {
        const x = tf.tensor4d(xv, xs as never);
        const w = tf.tensor4d(wv, ws as never);
        const loss = (a: tf.Tensor, b: tf.Tensor) => {
          const y = tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, c.stride, c.pad);
          return tf.sum(tf.mul(y, tf.tensor(rv, y.shape)));
        };
        const [dx, dw] = tf.grads(loss)([x, w]);
        return [tf.conv2d(x, w, c.stride, c.pad), dx!, dw!];
      });
    }),
    fcParams(1),
  );
});

test('the filter gradient for Ci ≥ 8 matches cpu on both paths: x as the filter (x smaller than dy) and dy as the filter; strides 1/2, same/valid', async () => {
  const rng = rngFor(9, 'filter-gradient-paths');
  for (const [h, ci, co, k, stride, pad] of [
    // x as the filter: more output than input channels.
    [5, 8, 16, 3, 1, 'same'],
    [6, 8, 40, 3, 2, 'same'],
    [7, 9, 64, 2, 2, 'valid'],
    [4, 8, 12, 4, 1, 'same'],
    // dy as the filter: the input at least as large as the output gradient.
    [6, 8, 4, 3, 1, 'same'],
    [7, 12, 8, 3, 2, 'valid'],
    [8, 16, 16, 5, 2, 'same'],
  ] as const) {
    const xv = data(rng, 2 * h * h * ci);
    const wv = data(rng, k * k * ci * co);
    await agree(JSON.stringify({ h, ci, co, k, stride, pad }), () => {
      const loss = (a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.sin(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, stride, pad)));
      return tf.grads(loss)([tf.tensor4d(xv, [2, h, h, ci]), tf.tensor4d(wv, [k, k, ci, co])]);
    });
  }
});

test("forward convolutions with 'same' padding and stride > kernel (stock wasm returns zeros) match cpu: plain, fused, depthwise", async () => {
  const rng = rngFor(7, 'same');
  const cases = [
    { h: 4, w: 4, k: 1, s: 2 },
    { h: 6, w: 6, k: 2, s: 3 },
    { h: 1, w: 2, k: 1, s: 2 },
    { h: 5, w: 3, k: 2, s: 3 },
  ];
  for (const c of cases) {
    const xv = data(rng, 2 * c.h * c.w * 3);
    const wv = data(rng, c.k * c.k * 3 * 2);
    const bv = data(rng, 2);
    await agree(JSON.stringify(c), () => {
      const x = tf.tensor4d(xv, [2, c.h, c.w, 3]);
      const w = tf.tensor4d(wv, [c.k, c.k, 3, 2]);
      const dw = tf.tensor4d(wv.subarray(0, c.k * c.k * 3), [c.k, c.k, 3, 1]);
      return [
        tf.conv2d(x, w, c.s, 'same'),
        tf.fused.conv2d({ x, filter: w, strides: c.s, pad: 'same', bias: tf.tensor1d(bv), activation: 'relu' }),
        tf.depthwiseConv2d(x, dw, c.s, 'same'),
      ];
    });
  }
});

test('matMul with transpose flags matches cpu (2-D and batched, with broadcast batch)', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.record({
        seed: fc.integer({ min: 0, max: 1 << 30 }),
        m: fc.integer({ min: 1, max: 12 }),
        k: fc.integer({ min: 1, max: 12 }),
        n: fc.integer({ min: 1, max: 12 }),
        ta: fc.boolean(),
        tb: fc.boolean(),
        batch: fc.constantFrom<[number, number] | null>(null, [1, 1], [3, 3], [1, 3], [3, 1]),
      }),
      async (c) => {
        const rng = rngFor(c.seed, 'matmul');
        const pre = (b: number | undefined) => (b === undefined ? [] : [b]);
        const as = [...pre(c.batch?.[0]), ...(c.ta ? [c.k, c.m] : [c.m, c.k])];
        const bs = [...pre(c.batch?.[1]), ...(c.tb ? [c.n, c.k] : [c.k, c.n])];
        const av = data(rng, size(as));
        const bv = data(rng, size(bs));
        await agree(JSON.stringify(c), () => [tf.matMul(tf.tensor(av, as), tf.tensor(bv, bs), c.ta, c.tb)]);
      },
    ),
    fcParams(2),
  );
});

test('dense-layer gradients (both transposed products) match cpu', async () => {
  const rng = rngFor(3, 'dense');
  const xv = data(rng, 5 * 7);
  const wv = data(rng, 7 * 4);
  const rv = data(rng, 5 * 4);
  await agree('dense', () => {
    const [dx, dw] = tf.grads((x: tf.Tensor, w: tf.Tensor) => tf.sum(tf.mul(tf.matMul(x as tf.Tensor2D, w as tf.Tensor2D), tf.tensor(rv, [5, 4]))))([
      tf.tensor(xv, [5, 7]),
      tf.tensor(wv, [7, 4]),
    ]);
    return [dx!, dw!];
  });
});

test('maxPool gradient matches cpu, including windows whose maximum is negative', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc
        .record({
          seed: fc.integer({ min: 0, max: 1 << 30 }),
          n: fc.integer({ min: 1, max: 3 }),
          h: fc.integer({ min: 1, max: 9 }),
          w: fc.integer({ min: 1, max: 9 }),
          c: fc.integer({ min: 1, max: 5 }),
          size: fc.integer({ min: 1, max: 3 }),
          stride: fc.integer({ min: 1, max: 3 }),
          pad: fc.constantFrom<'same' | 'valid'>('same', 'valid'),
          shift: fc.constantFrom(-4, 0), // -4: almost every window is all-negative
        })
        .filter((c) => c.pad === 'same' || (c.h >= c.size && c.w >= c.size)),
      async (c) => {
        const rng = rngFor(c.seed, 'pool');
        const xs = [c.n, c.h, c.w, c.c];
        const xv = data(rng, size(xs), c.shift);
        const outShape = await runOn('cpu', () => [tf.maxPool(tf.tensor4d(xv, xs as never), c.size, c.stride, c.pad)]);
        const rv = data(rng, outShape[0]!.length);
        await agree(JSON.stringify(c), () => {
          const x = tf.tensor4d(xv, xs as never);
          const dx = tf.grad((x: tf.Tensor) => {
            const y = tf.maxPool(x as tf.Tensor4D, c.size, c.stride, c.pad);
            return tf.sum(tf.mul(y, tf.tensor(rv, y.shape)));
          })(x);
          return [tf.maxPool(x, c.size, c.stride, c.pad), dx];
        });
      },
    ),
    fcParams(4),
  );
});

test('maxPool gradient goes to the first of tied maxima, as on cpu', async () => {
  const xv = Float32Array.from([-1, -1, -1, -1, -2, -1, -3, -1, -1, -1, -2, -2, -5, -1, -1, -1]);
  await agree('ties', () => [tf.grad((x: tf.Tensor) => tf.sum(tf.maxPool(x as tf.Tensor4D, 2, 2, 'valid')))(tf.tensor4d(xv, [1, 4, 4, 1]))]);
  const [dx] = await runOn('wasm', () => [tf.grad((x: tf.Tensor) => tf.sum(tf.maxPool(x as tf.Tensor4D, 2, 2, 'valid')))(tf.tensor4d(xv, [1, 4, 4, 1]))]);
  assert.deepEqual(Array.from(dx!), [1, 0, 1, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1, 0]);
});

test('sum and mean over leading axes (our loop) and over other axes (stock) match cpu', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.record({
        seed: fc.integer({ min: 0, max: 1 << 30 }),
        shape: fc.array(fc.integer({ min: 1, max: 6 }), { minLength: 1, maxLength: 4 }),
        lead: fc.nat(4),
        other: fc.boolean(),
        keepDims: fc.boolean(),
      }),
      async (c) => {
        const r = c.shape.length;
        const axes = c.other && r > 1 ? [r - 1] : Array.from({ length: Math.min(c.lead, r) }, (_, i) => i);
        const xv = data(rngFor(c.seed, 'reduce'), size(c.shape), 3);
        await agree(JSON.stringify({ ...c, axes }), () => {
          const x = tf.tensor(xv, c.shape);
          return [tf.sum(x, axes, c.keepDims), tf.mean(x, axes, c.keepDims)];
        });
      },
    ),
    fcParams(8),
  );
});

test('clone shares data on wasm yet behaves as a copy: disposing or re-assigning the source leaves it intact', async () => {
  const [kept] = await runOn('wasm', () => {
    const v = tf.variable(tf.tensor1d([1, 2, 3]));
    const c = v.clone();
    v.assign(tf.tensor1d([7, 8, 9]));
    v.dispose();
    return [c];
  });
  assert.deepEqual(Array.from(kept!), [1, 2, 3]);
});

/** The plain formula, differentiated by tfjs. */
const plainBatchNorm = (x: tf.Tensor, g: tf.Tensor, b: tf.Tensor, eps: number): tf.Tensor => {
  const axes = Array.from({ length: x.rank - 1 }, (_, i) => i);
  const mean = tf.mean(x, axes);
  const variance = tf.mean(tf.square(tf.sub(x, mean)), axes);
  return tf.add(tf.mul(g, tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, eps)))), b);
};

test('batchNormTrain: y, mean, biased variance and gradients to x, gamma, beta match autodiff of the plain formula', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.record({
        seed: fc.integer({ min: 0, max: 1 << 30 }),
        shape: fc.oneof(
          fc.tuple(fc.integer({ min: 2, max: 6 }), fc.integer({ min: 1, max: 5 })).map((t) => [...t]),
          fc.tuple(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 5 })).map((t) => [...t]),
        ),
        eps: fc.constantFrom(1e-5, 1e-3),
        shift: fc.constantFrom(1.5, -40), // -40: |mean| ≫ std, where naive one-pass sums lose digits
      }),
      async (c) => {
        const rng = rngFor(c.seed, 'bn');
        const ch = c.shape[c.shape.length - 1]!;
        const xv = data(rng, size(c.shape), c.shift);
        const gv = data(rng, ch, 1);
        const bv = data(rng, ch);
        const rv = data(rng, size(c.shape));
        const inputs = () => [tf.tensor(xv, c.shape), tf.tensor1d(gv), tf.tensor1d(bv)] as const;
        const withGrads = (bn: (x: tf.Tensor, g: tf.Tensor1D, b: tf.Tensor1D) => tf.Tensor) => () => {
          const [x, g, b] = inputs();
          const r = tf.tensor(rv, c.shape);
          const grads = tf.grads((xx: tf.Tensor, gg: tf.Tensor, bb: tf.Tensor) => tf.sum(tf.mul(bn(xx, gg as tf.Tensor1D, bb as tf.Tensor1D), r)))([x, g, b]);
          return [bn(x, g, b), ...grads];
        };
        const ours = withGrads((x, g, b) => batchNormTrain(x, g, b, c.eps).y);
        const plain = withGrads((x, g, b) => plainBatchNorm(x, g, b, c.eps));
        const ref = await runOn('cpu', plain);
        for (const name of ['wasm', 'cpu'] as const) {
          const got = await runOn(name, ours);
          got.forEach((o, i) => assert.ok(relErr(o, ref[i]!) <= TOL, `${name} ${JSON.stringify(c)} output ${i}: ${relErr(o, ref[i]!)}`));
        }
        const stats = await runOn('wasm', () => {
          const [x, g, b] = inputs();
          const r = batchNormTrain(x, g, b, c.eps);
          return [r.mean, r.variance];
        });
        const refStats = await runOn('cpu', () => {
          const [x] = inputs();
          const axes = c.shape.slice(0, -1).map((_, i) => i);
          const m = tf.moments(x, axes);
          return [m.mean, m.variance];
        });
        stats.forEach((s, i) => assert.ok(relErr(s, refStats[i]!) <= TOL, `stat ${i}`));
      },
    ),
    fcParams(5),
  );
});

test('batchNormTrain reports the elements per channel; batchNormInfer normalises with the running statistics', async () => {
  const x = tf.tensor4d(Float32Array.from({ length: 2 * 3 * 3 * 2 }, (_, i) => i / 7), [2, 3, 3, 2]);
  const r = batchNormTrain(x, tf.ones([2]) as tf.Tensor1D, tf.zeros([2]) as tf.Tensor1D, 1e-5);
  assert.equal(r.count, 18);
  const [y] = await runOn('wasm', () => [batchNormInfer(tf.reshape(tf.tensor1d([1, 2, 3]), [1, 3]), tf.tensor1d([2, 2, 2]), tf.tensor1d([1, 0, -1]), tf.tensor1d([1, 1, 1]), tf.tensor1d([4, 4, 4]), 0)]);
  assert.deepEqual(Array.from(y!), [1, 1, 1]);
  tf.dispose([x, r.y, r.mean, r.variance]);
});

test('the kernels free their intermediates: wasm holds the same tensors before and after a training step', async () => {
  await unwrap(withBackend('wasm', () => {
    const rng = rngFor(6, 'leak');
    const x = tf.tensor4d(data(rng, 2 * 6 * 6 * 3), [2, 6, 6, 3]);
    const w = tf.variable(tf.tensor4d(data(rng, 3 * 3 * 3 * 4), [3, 3, 3, 4]));
    const d = tf.variable(tf.tensor2d(data(rng, 36 * 2), [36, 2]));
    const g = tf.variable(tf.ones([4]) as tf.Tensor1D);
    const bt = tf.variable(tf.zeros([4]) as tf.Tensor1D);
    const step = () => {
      const { grads, value } = tf.variableGrads(() => {
        const h = tf.conv2d(x, w, 2, 'same');
        const n = batchNormTrain(h, g, bt, 1e-5);
        tf.dispose([n.mean, n.variance]);
        const p = tf.maxPool(tf.relu(n.y) as tf.Tensor4D, 2, 1, 'same');
        return tf.sum(tf.matMul(tf.reshape(p, [2, 36]), d));
      });
      tf.dispose([value, ...Object.values(grads)]);
    };
    step();
    const backend = tf.engine().backend;
    const before = [tf.memory().numTensors, backend.numDataIds()];
    for (let i = 0; i < 3; i++) step();
    assert.deepEqual([tf.memory().numTensors, backend.numDataIds()], before);
    tf.dispose([x, w, d, g, bt]);
  }));
});
