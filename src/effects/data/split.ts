/**
 * Seeded, stratified splits: each class is shuffled on its own stream and
 * cut into test / validation / train, so a class's split does not depend on
 * which other classes (or how many tasks) are loaded.
 */
import type { Rng } from '../random.js';
import type { ClassPool, Split } from './types.js';

/** Indices into one class pool for each split. */
export interface ClassSplit {
  readonly train: Int32Array;
  readonly val: Int32Array;
  readonly test: Int32Array;
}

/** How many of a class's `count` images go to test, validation and training (see splitClass). */
export const splitCounts = (count: number, valFraction: number, testFraction: number): { readonly test: number; readonly val: number; readonly train: number } => {
  let test = Math.round(count * testFraction);
  let val = Math.round(count * valFraction);
  const over = test + val - Math.max(0, count - 1);
  if (over > 0) {
    const fromVal = Math.min(val, over);
    val -= fromVal;
    test -= Math.min(test, over - fromVal);
  }
  return { test, val, train: count - test - val };
};

/**
 * Cuts a class of `count` images: round(count·test) for test, round(count·val)
 * for validation, the rest for training — but training keeps at least one
 * image of a non-empty class (validation gives way first, then test).
 */
export const splitClass = (count: number, valFraction: number, testFraction: number, rng: Rng): ClassSplit => {
  const { test: nTest, val: nVal } = splitCounts(count, valFraction, testFraction);
  const order = rng.permutation(count);
  return {
    test: order.slice(0, nTest),
    val: order.slice(nTest, nTest + nVal),
    train: order.slice(nTest + nVal),
  };
};

/**
 * How many training images each class keeps under a per-task cap: in
 * proportion to the classes' sizes, rounded by largest remainder (ties to the
 * earlier class), so the total is exactly min(limit, sum).
 */
export const allocateLimit = (sizes: readonly number[], limit: number | undefined): number[] => {
  const total = sizes.reduce((a, b) => a + b, 0);
  if (limit === undefined || limit >= total) return [...sizes];
  const exact = sizes.map((s) => (s * limit) / total);
  const out = exact.map(Math.floor);
  let left = limit - out.reduce((a, b) => a + b, 0);
  const byRemainder = exact.map((e, i) => ({ i, r: e - Math.floor(e) })).sort((a, b) => b.r - a.r || a.i - b.i);
  for (const { i } of byRemainder) {
    if (left === 0) break;
    if (out[i]! < sizes[i]!) {
      out[i] = out[i]! + 1;
      left--;
    }
  }
  return out;
};

/** One class's contribution to a split: images `indices` of `pool`, labelled `label`. */
export interface SplitPart {
  readonly pool: ClassPool;
  readonly label: number;
  readonly indices: Int32Array;
}

/**
 * Materialises a split: normalised NHWC images and labels. With an rng the
 * classes are interleaved in a seeded order (so any prefix is roughly
 * balanced); without, they follow one another.
 */
export const assembleSplit = (parts: readonly SplitPart[], pixels: number, rng: Rng | undefined): Split => {
  const count = parts.reduce((a, p) => a + p.indices.length, 0);
  const partOf = new Int32Array(count);
  const indexOf = new Int32Array(count);
  let k = 0;
  parts.forEach((p, pi) => {
    for (const i of p.indices) {
      partOf[k] = pi;
      indexOf[k] = i;
      k++;
    }
  });
  const order = rng === undefined ? null : rng.permutation(count);
  const x = new Float32Array(count * pixels);
  const y = new Int32Array(count);
  for (let n = 0; n < count; n++) {
    const src = order === null ? n : order[n]!;
    const part = parts[partOf[src]!]!;
    part.pool.write(indexOf[src]!, x, n * pixels);
    y[n] = part.label;
  }
  return { x, y, count };
};
