/**
 * Re-layouts for our wasm kernels that the stock Transpose does slowly: it
 * moves one element at a time with strided writes (~15 ns per element here),
 * which made the filter gradient's input transpose cost about as much as a
 * third of its convolution.
 */
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { dim, type Info } from './wasm-calls.js';

/**
 * Swaps the first and last axes: [A, …middle, C] → [C, …middle, A]. For each
 * middle position the A×C block (a few KB) is transposed in cache, writing
 * runs of A contiguous floats.
 */
export const swapFirstLast = (b: BackendWasm, x: Info): Info => {
  const s = x.shape;
  const a = dim(s, 0);
  const c = dim(s, -1);
  const mid = s.slice(1, -1);
  const m = mid.reduce((p, d) => p * d, 1);
  const out = b.makeOutput([c, ...mid, a], 'float32');
  const src = b.typedArrayFromHeap(x) as Float32Array;
  const dst = b.typedArrayFromHeap(out) as Float32Array;
  const ma = m * a;
  const mc = m * c;
  for (let j = 0; j < m; j++) {
    const dj = j * a;
    const sj = j * c;
    for (let k = 0; k < c; k++) {
      let si = sj + k;
      const d0 = k * ma + dj;
      for (let i = 0; i < a; i++, si += mc) dst[d0 + i] = src[si]!;
    }
  }
  return out;
};
