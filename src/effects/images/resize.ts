/**
 * Decoded images to network inputs: area-averaging resize, alpha over black,
 * grey or RGB, values in [0, 1]. Pure and deterministic, no library, so
 * every platform computes the same inputs.
 */
import type { RawImage } from './decode.js';

/** One output position's sources along an axis: source indices and integer overlaps (in units of 1/outSize of a source pixel). */
interface Axis {
  readonly start: Int32Array; // first entry of output o in `src` / `weight`
  readonly src: Int32Array;
  readonly weight: Float64Array;
}

/**
 * Box-filter coverage along one axis: output pixel o spans source [o·n/m, (o+1)·n/m).
 * Scaled by m every bound is an integer, so the overlaps are exact integers
 * summing to n for each output (down-scaling averages areas, up-scaling takes
 * the one or two source pixels an output covers).
 */
const axis = (n: number, m: number): Axis => {
  const start = new Int32Array(m + 1);
  const src: number[] = [];
  const weight: number[] = [];
  for (let o = 0; o < m; o++) {
    start[o] = src.length;
    const lo = o * n;
    const hi = lo + n;
    for (let s = Math.floor(lo / m); s * m < hi; s++) {
      const overlap = Math.min(hi, (s + 1) * m) - Math.max(lo, s * m);
      if (overlap > 0) {
        src.push(s);
        weight.push(overlap);
      }
    }
  }
  start[m] = src.length;
  return { start, src: Int32Array.from(src), weight: Float64Array.from(weight) };
};

/**
 * The image as a network input of `shape` [H, W, C]: H·W·C values in [0, 1],
 * NHWC. Alpha is composited over black; C = 1 is luminance 0.299R + 0.587G +
 * 0.114B, C = 3 is RGB. Resized by area averaging: every sum is of integers
 * (exact in float64) and each value is one final division, so an integer
 * down-scale is the exact mean of its block, and grey images give the same
 * values for C = 1 as each channel of C = 3.
 */
export const toInput = (img: RawImage, shape: readonly [number, number, number]): Float32Array => {
  const [H, W, C] = shape;
  const { width: w, height: h, data } = img;
  const grey = C === 1;
  // Integer value of each source pixel and channel: R·A (C = 3) or (299R + 587G + 114B)·A (C = 1).
  const xs = axis(w, W);
  const ys = axis(h, H);
  // Horizontal pass: rows of the source, W columns of output.
  const rows = new Float64Array(h * W * C);
  for (let y = 0; y < h; y++) {
    for (let o = 0; o < W; o++) {
      const out = (y * W + o) * C;
      for (let k = xs.start[o]!; k < xs.start[o + 1]!; k++) {
        const p = (y * w + xs.src[k]!) * 4;
        const a = data[p + 3]!;
        const wt = xs.weight[k]!;
        if (grey) rows[out] = rows[out]! + wt * (299 * data[p]! + 587 * data[p + 1]! + 114 * data[p + 2]!) * a;
        else
          for (let c = 0; c < 3; c++) rows[out + c] = rows[out + c]! + wt * data[p + c]! * a;
      }
    }
  }
  // Vertical pass, then the one division: total weight w·h (per output), 255·255 for alpha, 1000 for the luminance weights.
  const scale = w * h * 65025 * (grey ? 1000 : 1);
  const result = new Float32Array(H * W * C);
  const acc = new Float64Array(W * C);
  for (let o = 0; o < H; o++) {
    acc.fill(0);
    for (let k = ys.start[o]!; k < ys.start[o + 1]!; k++) {
      const from = ys.src[k]! * W * C;
      const wt = ys.weight[k]!;
      for (let j = 0; j < W * C; j++) acc[j] = acc[j]! + wt * rows[from + j]!;
    }
    const base = o * W * C;
    for (let j = 0; j < W * C; j++) result[base + j] = acc[j]! / scale;
  }
  return result;
};

/** Whether every pixel has R = G = B (alpha aside): such an image loses nothing as one grey channel. */
export const isGrey = (img: RawImage): boolean => {
  const d = img.data;
  for (let p = 0; p < d.length; p += 4) if (d[p] !== d[p + 1] || d[p] !== d[p + 2]) return false;
  return true;
};
