/**
 * The two convolution gradients for the wasm backend, both written as one
 * forward convolution (XNNPACK) plus cheap re-layouts:
 *
 * - Conv2DBackpropFilter, which the wasm backend lacks: a correlation of the
 *   input with the output gradient over batch and space, with the smaller of
 *   the two as the filter (see below).
 * - Conv2DBackpropInput, whose stock version is a scalar loop: the output
 *   gradient (zero-dilated by the stride when it is > 1) convolved with the
 *   kernel flipped in both spatial axes and its channel axes swapped, padding
 *   `k − 1 − p` on each side. Paddings that would go negative (explicit pads
 *   wider than the kernel) keep the stock loop.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { swapFirstLast } from './layout.js';
import { dim, free, runStock, transpose, view, type Info } from './wasm-calls.js';

type Shape4 = [number, number, number, number];

const shape4 = (s: readonly number[]): Shape4 => [dim(s, 0), dim(s, 1), dim(s, 2), dim(s, 3)];

const assertNhwc = (kernel: string, dataFormat: unknown): void => {
  if (dataFormat === 'NCHW') throw new Error(`${kernel} on wasm supports NHWC only`);
};

/**
 * dL/dW = Σ x ⋆ dy as one forward convolution. The smaller of x and dy plays
 * the filter: the backend transposes and packs the filter on every call (it
 * changes every step), a large share of the cost when one operand is much
 * larger (e.g. 64 → 128 channels).
 */
export const conv2dBackpropFilter: tf.KernelFunc = ({ inputs, backend, attrs }) => {
  const b = backend as BackendWasm;
  const x = inputs['x'] as Info;
  const dy = inputs['dy'] as Info;
  const a = attrs as unknown as tf.Conv2DBackpropFilterAttrs;
  assertNhwc('Conv2DBackpropFilter', a.dataFormat);
  const info = tf.backend_util.computeConv2DInfo(shape4(x.shape), a.filterShape, a.strides, 1, a.pad, a.dimRoundingMode, false, 'channelsLast');
  // Few input channels (a first layer): the columns are cheap to build and one plain GEMM beats a
  // convolution whose filter is as large as the image.
  if (info.inChannels < IM2COL_BELOW_CHANNELS && info.dilationHeight === 1 && info.dilationWidth === 1) return filterGradIm2col(b, x, dy, info);
  const size = (t: Info) => t.shape.reduce((p, d) => p * d, 1);
  // x as filter makes Ci the GEMM's output width: below 8 (one SIMD tile) it wastes more than it saves.
  const viaX = size(x) < size(dy) && info.inChannels >= 8 ? filterGradXAsFilter(b, x, dy, info) : undefined;
  return viaX ?? filterGradDyAsFilter(b, x, dy, info);
};

/** Below this many input channels the filter gradient goes through im2col. */
export const IM2COL_BELOW_CHANNELS = 8;

/**
 * im2col: the input's windows as columns, [kh·kw·Ci, B·Ho·Wo] (one row per
 * kernel cell, zeros where a window reads padding), times dy as
 * [B·Ho·Wo, Co], which is dy's own layout: dW = cols · dy is [kh, kw, Ci, Co]
 * directly. One plain GEMM (XNNPACK, which repacks dy: most of its time) in
 * place of a convolution whose filter is as large as the image; LeNet's conv1
 * spends about 2 ms building the columns and 4.6 ms in the GEMM.
 */
const filterGradIm2col = (b: BackendWasm, x: Info, dy: Info, info: tf.backend_util.Conv2DInfo): Info => {
  const { batchSize: n, inHeight: h, inWidth: w, inChannels: ci, outHeight: ho, outWidth: wo, outChannels: co } = info;
  const { strideHeight: sh, strideWidth: sw, filterHeight: kh, filterWidth: kw } = info;
  const { top, left } = info.padInfo;
  const p = n * ho * wo;
  const cols = b.makeOutput([1, kh * kw * ci, p], 'float32');
  const xs = b.typedArrayFromHeap(x) as Float32Array;
  const cs = b.typedArrayFromHeap(cols) as Float32Array;
  cs.fill(0); // where a window reads padding; one fill beats many short ones
  const step = sw * ci;
  for (let ky = 0; ky < kh; ky++) {
    // Output rows and columns whose input row and column lie inside the image: [oy0, oy1), [ox0, ox1).
    const oy0 = Math.max(0, Math.ceil((top - ky) / sh));
    const oy1 = Math.min(ho, Math.floor((h - 1 + top - ky) / sh) + 1);
    for (let kx = 0; kx < kw; kx++) {
      const ox0 = Math.max(0, Math.ceil((left - kx) / sw));
      const ox1 = Math.min(wo, Math.floor((w - 1 + left - kx) / sw) + 1);
      for (let c = 0; c < ci; c++) {
        const base = ((ky * kw + kx) * ci + c) * p;
        for (let i = 0; i < n; i++) {
          for (let oy = oy0; oy < oy1; oy++) {
            const d = base + (i * ho + oy) * wo;
            let src = ((i * h + oy * sh + ky - top) * w + ox0 * sw + kx - left) * ci + c;
            for (let ox = ox0; ox < ox1; ox++, src += step) cs[d + ox] = xs[src]!;
          }
        }
      }
    }
  }
  const g = runStock('BatchMatMul', b, { a: cols, b: view(dy, [1, p, co]) }, { transposeA: false, transposeB: false });
  free(b, cols);
  const out = runStock('Reshape', b, { x: g }, { shape: [kh, kw, ci, co] });
  free(b, g);
  return out;
};

/**
 * dy as the filter: x as [Ci, H, W, B] (batch becomes channels) convolved
 * with dy as [Ho, Wo, B, Co], dilation = the forward stride, padding = the
 * forward padding; the result [Ci, kh', kw', Co] is cut to the kernel size
 * and transposed to [kh, kw, Ci, Co].
 */
const filterGradDyAsFilter = (b: BackendWasm, x: Info, dy: Info, info: tf.backend_util.Conv2DInfo): Info => {
  const { top, bottom, left, right } = info.padInfo;
  const xT = swapFirstLast(b, x); // [Ci, H, W, B]
  const dyT = transpose(b, dy, [1, 2, 0, 3]); // [Ho, Wo, B, Co]
  const g = runStock('Conv2D', b, { x: xT, filter: dyT }, {
    strides: [1, 1],
    pad: [[0, 0], [top, bottom], [left, right], [0, 0]],
    dataFormat: 'NHWC',
    dilations: [info.strideHeight, info.strideWidth],
  }); // [Ci, kh', kw', Co] with kh' >= kh: rows past kh meet input no window reads
  free(b, xT, dyT);
  let cut = g;
  if (dim(g.shape, 1) !== info.filterHeight || dim(g.shape, 2) !== info.filterWidth) {
    cut = runStock('Slice', b, { x: g }, { begin: [0, 0, 0, 0], size: [info.inChannels, info.filterHeight, info.filterWidth, info.outChannels] });
    free(b, g);
  }
  const out = transpose(b, cut, [1, 2, 0, 3]);
  free(b, cut);
  return out;
};

/**
 * x as the filter: with dy zero-dilated by the stride (Hd = (Ho−1)·s+1),
 * dW[ky] = Σ_t x[t]·dy_d[t − ky + pt], which is a stride-1 convolution of
 * dy_d as [Co, Hd, Wd, B] (padding kh−1−pt above, H+pt−Hd below) with x as
 * [H, W, B, Ci], giving [Co, kh, kw, Ci] in reversed spatial order. Undefined
 * where a padding would be negative (explicit pads wider than the kernel).
 */
const filterGradXAsFilter = (b: BackendWasm, x: Info, dy: Info, info: tf.backend_util.Conv2DInfo): Info | undefined => {
  const { strideHeight: sh, strideWidth: sw, filterHeight: kh, filterWidth: kw, inHeight: h, inWidth: w } = info;
  const hd = (info.outHeight - 1) * sh + 1;
  const wd = (info.outWidth - 1) * sw + 1;
  const pad = [kh - 1 - info.padInfo.top, h + info.padInfo.top - hd, kw - 1 - info.padInfo.left, w + info.padInfo.left - wd] as const;
  if (pad.some((p) => p < 0)) return undefined;
  const src = dilatedChannelsFirst(b, dy, sh, sw); // [Co, Hd, Wd, B]
  const f = transpose(b, x, [1, 2, 0, 3]); // [H, W, B, Ci]
  const g = runStock('Conv2D', b, { x: src, filter: f }, {
    strides: [1, 1],
    pad: [[0, 0], [pad[0], pad[1]], [pad[2], pad[3]], [0, 0]],
    dataFormat: 'NHWC',
    dilations: [1, 1],
  }); // [Co, kh, kw, Ci]
  free(b, src, f);
  const [co, , , ci] = shape4(g.shape);
  const out = b.makeOutput([kh, kw, ci, co], 'float32');
  const gs = b.typedArrayFromHeap(g) as Float32Array;
  const os = b.typedArrayFromHeap(out) as Float32Array;
  for (let o = 0; o < co; o++) {
    for (let y = 0; y < kh; y++) {
      for (let xx = 0; xx < kw; xx++) {
        const s0 = ((o * kh + (kh - 1 - y)) * kw + (kw - 1 - xx)) * ci;
        const d0 = (y * kw + xx) * ci * co + o;
        for (let i = 0; i < ci; i++) os[d0 + i * co] = gs[s0 + i]!;
      }
    }
  }
  free(b, g);
  return out;
};

/** dy [B, Ho, Wo, Co] as [Co, Hd, Wd, B], with (stride − 1) zeros between pixels. */
const dilatedChannelsFirst = (b: BackendWasm, dy: Info, sh: number, sw: number): Info => {
  if (sh === 1 && sw === 1) return swapFirstLast(b, dy);
  const [n, ho, wo, c] = shape4(dy.shape);
  const hd = (ho - 1) * sh + 1;
  const wd = (wo - 1) * sw + 1;
  const out = b.makeOutput([c, hd, wd, n], 'float32');
  const src = b.typedArrayFromHeap(dy) as Float32Array;
  const dst = b.typedArrayFromHeap(out) as Float32Array;
  dst.fill(0);
  for (let i = 0; i < n; i++) {
    for (let y = 0; y < ho; y++) {
      for (let xx = 0; xx < wo; xx++) {
        const s0 = ((i * ho + y) * wo + xx) * c;
        const d0 = (y * sh * wd + xx * sw) * n + i;
        for (let k = 0; k < c; k++) dst[d0 + k * hd * wd * n] = src[s0 + k]!;
      }
    }
  }
  return out;
};

/** The kernel flipped in both spatial axes with in/out channels swapped: [kh, kw, Co, Ci]. */
const flippedFilter = (b: BackendWasm, filter: Info): Info => {
  const [kh, kw, ci, co] = shape4(filter.shape);
  const out = b.makeOutput([kh, kw, co, ci], 'float32');
  const src = b.typedArrayFromHeap(filter) as Float32Array;
  const dst = b.typedArrayFromHeap(out) as Float32Array;
  for (let y = 0; y < kh; y++) {
    for (let x = 0; x < kw; x++) {
      const s0 = ((kh - 1 - y) * kw + (kw - 1 - x)) * ci * co;
      const d0 = (y * kw + x) * co * ci;
      for (let i = 0; i < ci; i++) {
        const si = s0 + i * co;
        for (let o = 0; o < co; o++) dst[d0 + o * ci + i] = src[si + o]!;
      }
    }
  }
  return out;
};

/** dy with (stride − 1) zeros between neighbouring pixels: [B, (Ho−1)·sh+1, (Wo−1)·sw+1, Co]. */
const zeroDilated = (b: BackendWasm, dy: Info, sh: number, sw: number): Info => {
  const [n, ho, wo, c] = shape4(dy.shape);
  const hd = (ho - 1) * sh + 1;
  const wd = (wo - 1) * sw + 1;
  const out = b.makeOutput([n, hd, wd, c], 'float32');
  const src = b.typedArrayFromHeap(dy) as Float32Array;
  const dst = b.typedArrayFromHeap(out) as Float32Array;
  dst.fill(0);
  for (let i = 0; i < n; i++) {
    for (let y = 0; y < ho; y++) {
      for (let x = 0; x < wo; x++) {
        const s = ((i * ho + y) * wo + x) * c;
        dst.set(src.subarray(s, s + c), ((i * hd + y * sh) * wd + x * sw) * c);
      }
    }
  }
  return out;
};

/** dL/dx as a stride-1 forward convolution of the (dilated) output gradient. */
export const conv2dBackpropInput = (stock: tf.KernelFunc): tf.KernelFunc => (args) => {
  const b = args.backend as BackendWasm;
  const dy = args.inputs['dy'] as Info;
  const filter = args.inputs['filter'] as Info;
  const a = args.attrs as unknown as tf.Conv2DBackpropInputAttrs;
  assertNhwc('Conv2DBackpropInput', a.dataFormat);
  const info = tf.backend_util.computeConv2DInfo(a.inputShape, shape4(filter.shape), a.strides, 1, a.pad, a.dimRoundingMode, false, 'channelsLast');
  const { strideHeight: sh, strideWidth: sw, filterHeight: kh, filterWidth: kw, inHeight: h, inWidth: w } = info;
  const hd = (info.outHeight - 1) * sh + 1;
  const wd = (info.outWidth - 1) * sw + 1;
  const top = kh - 1 - info.padInfo.top;
  const left = kw - 1 - info.padInfo.left;
  const bottom = h + info.padInfo.top - hd;
  const right = w + info.padInfo.left - wd;
  if (top < 0 || left < 0 || bottom < 0 || right < 0) return stock(args);
  const f = flippedFilter(b, filter);
  const src = sh === 1 && sw === 1 ? dy : zeroDilated(b, dy, sh, sw);
  const out = runStock('Conv2D', b, { x: src, filter: f }, {
    strides: [1, 1],
    pad: [[0, 0], [top, bottom], [left, right], [0, 0]],
    dataFormat: 'NHWC',
    dilations: [1, 1],
  });
  free(b, f);
  if (src !== dy) free(b, src);
  return out;
};
