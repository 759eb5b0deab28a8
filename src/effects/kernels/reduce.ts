/**
 * Sum and Mean over leading axes for the wasm backend. The stock kernels
 * transpose the reduced axes innermost first (a full strided copy); every
 * bias gradient is such a sum (dy over batch and space), and so are
 * per-channel statistics. Here the input is read once, in memory order, into
 * float64 accumulators. Other axis sets keep the stock kernel.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import type { Info } from './wasm-calls.js';

/** Sum (or Mean) that handles axes [0, …, k−1] (k < rank) itself. */
export const reduceLeadingAxes = (stock: tf.KernelFunc, mean: boolean): tf.KernelFunc => (args) => {
  const x = args.inputs['x'] as Info;
  const attrs = args.attrs ?? {};
  const rank = x.shape.length;
  if (x.dtype !== 'float32' || rank < 2) return stock(args);
  const axes = [...new Set(tf.util.parseAxisParam(attrs['axis'] as number | number[], x.shape.slice()))].sort((p, q) => p - q);
  const k = axes.length;
  if (k === 0 || k >= rank || axes.some((a, i) => a !== i)) return stock(args);
  const b = args.backend as BackendWasm;
  const kept = x.shape.slice(k);
  const inner = kept.reduce((p, d) => p * d, 1);
  const outShape = attrs['keepDims'] === true ? [...axes.map(() => 1), ...kept] : kept;
  const out = b.makeOutput(outShape, 'float32');
  const xs = b.typedArrayFromHeap(x) as Float32Array;
  const os = b.typedArrayFromHeap(out) as Float32Array;
  const acc = new Float64Array(inner);
  const rows = xs.length / inner;
  // Blocks of rows (~16 KB) with a register accumulator per column: V8 runs
  // this ~4× faster than accumulating into the array element by element.
  const step = Math.max(1, Math.floor(4096 / inner));
  for (let r0 = 0; r0 < rows; r0 += step) {
    const end = Math.min(rows, r0 + step) * inner;
    for (let j = 0; j < inner; j++) {
      let s = 0;
      for (let o = r0 * inner + j; o < end; o += inner) s += xs[o]!;
      acc[j] = acc[j]! + s;
    }
  }
  const scale = mean ? 1 / rows : 1;
  for (let j = 0; j < inner; j++) os[j] = acc[j]! * scale;
  return out;
};
