/**
 * Seeded randomness. Every random choice in a run (initialisation, splits,
 * permutations, shuffles, augmentation) comes from a stream derived from the
 * run seed and a label, so a stage restarted after a crash draws exactly the
 * numbers the uninterrupted run drew.
 */

/** 32-bit FNV-1a of a string: turns labels into seed material. */
const fnv1a = (s: string): number => {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
};

/** A deterministic generator (sfc32): uniform floats, ints, normals, permutations. */
export interface Rng {
  /** Uniform in [0, 1). */
  readonly next: () => number;
  /** Uniform integer in [0, n). */
  readonly int: (n: number) => number;
  /** Standard normal (Box-Muller). */
  readonly normal: () => number;
  /** A uniformly random permutation of 0..n-1 (Fisher-Yates). */
  readonly permutation: (n: number) => Int32Array;
  /** In-place Fisher-Yates shuffle. */
  readonly shuffle: <T extends { length: number; [i: number]: unknown }>(xs: T) => T;
}

const sfc32 = (a0: number, b0: number, c0: number, d0: number): (() => number) => {
  let a = a0 >>> 0;
  let b = b0 >>> 0;
  let c = c0 >>> 0;
  let d = d0 >>> 0;
  return () => {
    const t = (((a + b) >>> 0) + d) >>> 0;
    d = (d + 1) >>> 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) >>> 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) >>> 0;
    return t / 4294967296;
  };
};

/** The generator for (seed, label); the same pair always gives the same stream. */
export const rngFor = (seed: number, label: string): Rng => {
  const s = `${seed}|${label}`;
  const raw = sfc32(fnv1a(s), fnv1a(`a${s}`), fnv1a(`b${s}`), fnv1a(`c${s}`));
  for (let i = 0; i < 15; i++) raw(); // warm up: sfc32 mixes poorly in its first draws
  let spare: number | undefined;
  const int = (n: number) => Math.floor(raw() * n);
  const rng: Rng = {
    next: raw,
    int,
    normal: () => {
      if (spare !== undefined) {
        const v = spare;
        spare = undefined;
        return v;
      }
      let u = raw();
      while (u <= Number.MIN_VALUE) u = raw();
      const v = raw();
      const r = Math.sqrt(-2 * Math.log(u));
      spare = r * Math.sin(2 * Math.PI * v);
      return r * Math.cos(2 * Math.PI * v);
    },
    permutation: (n) => {
      const p = new Int32Array(n);
      for (let i = 0; i < n; i++) p[i] = i;
      return rng.shuffle(p);
    },
    shuffle: (xs) => {
      for (let i = xs.length - 1; i > 0; i--) {
        const j = int(i + 1);
        const t = xs[i];
        xs[i] = xs[j];
        xs[j] = t;
      }
      return xs;
    },
  };
  return rng;
};
