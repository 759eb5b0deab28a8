/**
 * MaxPoolGrad for the wasm backend. The stock kernel drops the gradient of
 * every window whose maximum is negative (harmless after a ReLU, wrong
 * otherwise). This one routes each output gradient to the first maximum of
 * its window in row-major order, exactly as the cpu backend does, with a loop
 * over the wasm heap.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { dim, type Info } from './wasm-calls.js';

/** dL/dx of max pooling: dy scattered to each window's arg-max. */
export const maxPoolGrad: tf.KernelFunc = ({ inputs, backend, attrs }) => {
  const b = backend as BackendWasm;
  const dy = inputs['dy'] as Info;
  const x = inputs['input'] as Info;
  const a = attrs as unknown as tf.MaxPoolGradAttrs;
  const s = x.shape;
  const info = tf.backend_util.computePool2DInfo([dim(s, 0), dim(s, 1), dim(s, 2), dim(s, 3)], a.filterSize, a.strides, 1, a.pad, a.dimRoundingMode);
  const { batchSize: n, inHeight: h, inWidth: w, inChannels: c, outHeight: ho, outWidth: wo } = info;
  const { strideHeight: sh, strideWidth: sw, filterHeight: fh, filterWidth: fw } = info;
  const { top, left } = info.padInfo;
  const out = b.makeOutput(x.shape.slice(), 'float32');
  // Views after the allocation: it may have grown (and replaced) the heap.
  const xs = b.typedArrayFromHeap(x) as Float32Array;
  const dys = b.typedArrayFromHeap(dy) as Float32Array;
  const dxs = b.typedArrayFromHeap(out) as Float32Array;
  dxs.fill(0);
  for (let i = 0; i < n; i++) {
    for (let oy = 0; oy < ho; oy++) {
      const y0 = Math.max(0, oy * sh - top);
      const y1 = Math.min(h, oy * sh - top + fh);
      for (let ox = 0; ox < wo; ox++) {
        const x0 = Math.max(0, ox * sw - left);
        const x1 = Math.min(w, ox * sw - left + fw);
        const d0 = ((i * ho + oy) * wo + ox) * c;
        // Channel outermost with the running max in registers: the window
        // (a few rows of c floats) stays in L1 across channels.
        for (let k = 0; k < c; k++) {
          let best = -Infinity;
          let at = -1;
          for (let y = y0; y < y1; y++) {
            for (let p = ((i * h + y) * w + x0) * c + k, e = ((i * h + y) * w + x1) * c; p < e; p += c) {
              const v = xs[p]!;
              if (v > best) {
                best = v;
                at = p;
              }
            }
          }
          if (at >= 0) dxs[at] = dxs[at]! + dys[d0 + k]!;
        }
      }
    }
  }
  return out;
};
