/**
 * The reductions of batch norm for the wasm backend, as loops over the wasm
 * heap (statistics over every leading axis, channels last). tfjs reduces over
 * leading axes by transposing first; these read the input once, in memory
 * order, in blocks of rows small enough for L1 with per-channel accumulators
 * in registers (plain channel-inner loops run ~4× slower in V8). The
 * elementwise parts stay tfjs ops: wasm SIMD beats JS there. Used by ops.ts
 * where the current backend has them.
 *
 * - CpgBatchNormStats    {x}                 → [mean, variance (biased), 1/sqrt(variance + eps)]
 * - CpgBatchNormGradSums {dy, x, mean, inv}  → [dgamma = Σ dy·(x − mean)·inv, dbeta = Σ dy]
 */
import type * as tf from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { dim, type Info } from './wasm-calls.js';

export const batchNormKernelNames = ['CpgBatchNormStats', 'CpgBatchNormGradSums'] as const;

const heap = (b: BackendWasm, x: Info): Float32Array => b.typedArrayFromHeap(x) as Float32Array;

/** Rows per block: about 16 KB of floats. */
const blockRows = (channels: number): number => Math.max(1, Math.floor(4096 / channels));

/** One pass; sums shifted by the first row, so the variance keeps its digits when |mean| ≫ std. */
export const batchNormStats: tf.KernelFunc = ({ inputs, backend, attrs }) => {
  const b = backend as BackendWasm;
  const x = inputs['x'] as Info;
  const eps = (attrs?.['eps'] as number | undefined) ?? 0;
  const c = dim(x.shape, -1);
  const mean = b.makeOutput([c], 'float32');
  const variance = b.makeOutput([c], 'float32');
  const inv = b.makeOutput([c], 'float32');
  const xs = heap(b, x);
  const rows = xs.length / c;
  const s1 = new Float64Array(c);
  const s2 = new Float64Array(c);
  const shift = Float64Array.from(rows > 0 ? xs.subarray(0, c) : new Float32Array(c));
  const step = blockRows(c);
  for (let r0 = 0; r0 < rows; r0 += step) {
    const end = Math.min(rows, r0 + step) * c;
    for (let k = 0; k < c; k++) {
      const sk = shift[k]!;
      let p = 0;
      let q = 0;
      for (let o = r0 * c + k; o < end; o += c) {
        const d = xs[o]! - sk;
        p += d;
        q += d * d;
      }
      s1[k] = s1[k]! + p;
      s2[k] = s2[k]! + q;
    }
  }
  const m = heap(b, mean);
  const v = heap(b, variance);
  const r = heap(b, inv);
  for (let k = 0; k < c; k++) {
    const d = s1[k]! / rows;
    const vk = Math.max(0, s2[k]! / rows - d * d);
    m[k] = shift[k]! + d;
    v[k] = vk;
    r[k] = 1 / Math.sqrt(vk + eps);
  }
  return [mean, variance, inv];
};

/** The two parameter gradients of batch norm, in one pass over dy and x. */
export const batchNormGradSums: tf.KernelFunc = ({ inputs, backend }) => {
  const b = backend as BackendWasm;
  const x = inputs['x'] as Info;
  const c = dim(x.shape, -1);
  const dgamma = b.makeOutput([c], 'float32');
  const dbeta = b.makeOutput([c], 'float32');
  const dys = heap(b, inputs['dy'] as Info);
  const xs = heap(b, x);
  const m = heap(b, inputs['mean'] as Info);
  const r = heap(b, inputs['inv'] as Info);
  const rows = xs.length / c;
  const sb = new Float64Array(c);
  const sg = new Float64Array(c);
  const step = blockRows(c);
  for (let r0 = 0; r0 < rows; r0 += step) {
    const end = Math.min(rows, r0 + step) * c;
    for (let k = 0; k < c; k++) {
      const mk = m[k]!;
      let p = 0;
      let q = 0;
      for (let o = r0 * c + k; o < end; o += c) {
        const d = dys[o]!;
        p += d;
        q += d * (xs[o]! - mk);
      }
      sb[k] = sb[k]! + p;
      sg[k] = sg[k]! + q;
    }
  }
  const dg = heap(b, dgamma);
  const db = heap(b, dbeta);
  for (let k = 0; k < c; k++) {
    dg[k] = sg[k]! * r[k]!;
    db[k] = sb[k]!;
  }
  return [dgamma, dbeta];
};
