/**
 * Class pools over each source's compact storage, and the normalisation
 * statistics each dataset is usually trained with.
 */
import { cifarStats } from '../../algebra/benchmarks.js';
import type { ClassPool } from './types.js';

export { cifarStats, fashionStats, mnistStats } from '../../algebra/benchmarks.js';

/**
 * Grey images stored as floats in [0, 1], one after another. With a
 * permutation, output pixel j is source pixel permutation[j].
 */
export const unitFloatPool = (
  data: Float32Array,
  pixels: number,
  stats: { readonly mean: number; readonly std: number },
  permutation?: Int32Array,
): ClassPool => {
  const { mean, std } = stats;
  return {
    count: Math.floor(data.length / pixels),
    pixels,
    write:
      permutation === undefined
        ? (i, out, offset) => {
            const base = i * pixels;
            for (let j = 0; j < pixels; j++) out[offset + j] = (data[base + j]! - mean) / std;
          }
        : (i, out, offset) => {
            const base = i * pixels;
            for (let j = 0; j < pixels; j++) out[offset + j] = (data[base + permutation[j]!]! - mean) / std;
          },
  };
};

/** Grey images stored as bytes 0..255, one after another. */
export const bytePool = (data: Uint8Array, pixels: number, stats: { readonly mean: number; readonly std: number }): ClassPool => {
  const scale = 1 / (255 * stats.std);
  const shift = stats.mean / stats.std;
  return {
    count: Math.floor(data.length / pixels),
    pixels,
    write: (i, out, offset) => {
      const base = i * pixels;
      for (let j = 0; j < pixels; j++) out[offset + j] = data[base + j]! * scale - shift;
    },
  };
};

/**
 * Colour images in CIFAR's planar layout (all R, then all G, then all B,
 * each row-major) at the given byte offsets of a buffer; written out as NHWC.
 */
export const planarPool = (bytes: Uint8Array, starts: Int32Array, side: number): ClassPool => {
  const plane = side * side;
  const scale = cifarStats.std.map((s) => 1 / (255 * s));
  const shift = cifarStats.mean.map((m, c) => m / cifarStats.std[c]!);
  return {
    count: starts.length,
    pixels: plane * 3,
    write: (i, out, offset) => {
      const base = starts[i]!;
      for (let c = 0; c < 3; c++) {
        const s = scale[c]!;
        const h = shift[c]!;
        const from = base + c * plane;
        for (let p = 0; p < plane; p++) out[offset + p * 3 + c] = bytes[from + p]! * s - h;
      }
    },
  };
};
