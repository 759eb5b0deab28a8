/**
 * Mini-batches over a split: index lists, gathering, and the CIFAR training
 * augmentation. Plain typed arrays; the caller turns them into tensors.
 */
import type { Rng } from '../random.js';
import type { Split } from './types.js';

/**
 * The mini-batches of a split of `count` images as index arrays: shuffled
 * when an rng is given, in order otherwise; the last batch may be smaller.
 * A batch size below 1 is taken as 1.
 */
export const batchIndices = (count: number, batchSize: number, rng: Rng | undefined): readonly Int32Array[] => {
  const size = Math.max(1, Math.floor(batchSize));
  const n = Math.max(0, Math.floor(count));
  let order: Int32Array;
  if (rng === undefined) {
    order = new Int32Array(n);
    for (let i = 0; i < n; i++) order[i] = i;
  } else order = rng.permutation(n);
  const out: Int32Array[] = [];
  for (let start = 0; start < n; start += size) out.push(order.slice(start, Math.min(n, start + size)));
  return out;
};

/** The images and labels at `idx` (each in 0..count-1) of a split with `pixels` values per image. */
export const gather = (s: Split, idx: Int32Array, pixels: number): { x: Float32Array; y: Int32Array } => {
  const x = new Float32Array(idx.length * pixels);
  const y = new Int32Array(idx.length);
  idx.forEach((i, k) => {
    x.set(s.x.subarray(i * pixels, (i + 1) * pixels), k * pixels);
    y[k] = s.y[i]!;
  });
  return { x, y };
};

/** Padding of the random crop, in pixels. */
export const cropPadding = 4;

/**
 * Random crop with 4-pixel zero padding and horizontal flip, per image (CIFAR
 * training). `x` holds `count` NHWC images of `shape` [H, W, C]; a new array
 * is returned. The images are already normalised, so the padding (0) is the
 * dataset's mean colour. Per image the rng gives, in order: the vertical
 * shift, the horizontal shift (each uniform in -4..4) and the flip (p = ½).
 */
export const augmentBatch = (
  x: Float32Array,
  count: number,
  shape: readonly [number, number, number],
  rng: Rng,
): Float32Array => {
  const [h, w, c] = shape;
  const pixels = h * w * c;
  const out = new Float32Array(count * pixels);
  for (let n = 0; n < count; n++) {
    const dy = rng.int(2 * cropPadding + 1) - cropPadding;
    const dx = rng.int(2 * cropPadding + 1) - cropPadding;
    const flip = rng.next() < 0.5;
    const base = n * pixels;
    for (let r = 0; r < h; r++) {
      const sr = r + dy;
      if (sr < 0 || sr >= h) continue; // padding row: stays 0
      for (let col = 0; col < w; col++) {
        // Output column col shows the cropped column (mirrored when flipped).
        const sc = (flip ? w - 1 - col : col) + dx;
        if (sc < 0 || sc >= w) continue;
        const to = base + (r * w + col) * c;
        const from = base + (sr * w + sc) * c;
        for (let ch = 0; ch < c; ch++) out[to + ch] = x[from + ch]!;
      }
    }
  }
  return out;
};
