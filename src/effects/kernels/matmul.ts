/**
 * BatchMatMul with transpose flags for the wasm backend. The stock kernel
 * leaves XNNPACK for a naive loop whenever a flag is set (every backward
 * matmul); here the transposes are made explicit and the plain XNNPACK product
 * runs. Of the two ways to get there,
 *   C = op(A)·op(B)                      (materialise op(A), op(B))
 *   C = (op(B)ᵀ · op(A)ᵀ)ᵀ               (materialise those, then Cᵀ)
 * it picks the one that moves fewer elements, counting that XNNPACK repacks
 * the right operand on every call.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { dim, free, transpose, type Info } from './wasm-calls.js';

/** Swaps the last two axes. */
const swapLast = (b: BackendWasm, x: Info): Info => {
  const r = x.shape.length;
  const perm = Array.from({ length: r }, (_, i) => i);
  perm[r - 2] = r - 1;
  perm[r - 1] = r - 2;
  return transpose(b, x, perm);
};

const batchOf = (s: readonly number[]): number => s.slice(0, -2).reduce((p, d) => p * d, 1);

/** A BatchMatMul that never hands transpose flags to the stock kernel. */
export const batchMatMul = (stock: tf.KernelFunc): tf.KernelFunc => (args) => {
  const { transposeA, transposeB } = args.attrs as unknown as tf.BatchMatMulAttrs;
  if (!transposeA && !transposeB) return stock(args);
  const b = args.backend as BackendWasm;
  const A = args.inputs['a'] as Info;
  const B = args.inputs['b'] as Info;
  const m = transposeA ? dim(A.shape, -1) : dim(A.shape, -2);
  const k = transposeA ? dim(A.shape, -2) : dim(A.shape, -1);
  const n = transposeB ? dim(B.shape, -2) : dim(B.shape, -1);
  const ba = batchOf(A.shape);
  const bb = batchOf(B.shape);
  const bo = Math.max(ba, bb);
  const plain = { transposeA: false, transposeB: false };
  // Elements moved: transposes made + right operand packed (+ result transposed).
  const direct = (transposeA ? ba * m * k : 0) + (transposeB ? bb * k * n : 0) + bb * k * n;
  const flipped = (transposeB ? 0 : bb * k * n) + (transposeA ? 0 : ba * m * k) + ba * k * m + bo * m * n;
  if (direct <= flipped) {
    const a2 = transposeA ? swapLast(b, A) : A;
    const b2 = transposeB ? swapLast(b, B) : B;
    const out = stock({ ...args, inputs: { a: a2, b: b2 }, attrs: plain }) as Info;
    if (a2 !== A) free(b, a2);
    if (b2 !== B) free(b, b2);
    return out;
  }
  // Cᵀ = op(B)ᵀ · op(A)ᵀ, where op(B)ᵀ is B itself when transposeB, else Bᵀ.
  const left = transposeB ? B : swapLast(b, B);
  const right = transposeA ? A : swapLast(b, A);
  const ct = stock({ ...args, inputs: { a: left, b: right }, attrs: plain }) as Info;
  if (left !== B) free(b, left);
  if (right !== A) free(b, right);
  const out = swapLast(b, ct);
  free(b, ct);
  return out;
};
