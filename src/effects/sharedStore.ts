/**
 * The current task's view of the sharable tensors during a training session,
 * and how a gradient moves them (CPG-SPEC §2, §3.2).
 *
 * Per tensor: the task's OWN cells (zero elsewhere), the FROZEN cells of older
 * tasks, and while picking the real-valued pick mask M̂. The effective weight is
 *
 *     eff = own + frozen ⊙ [M̂ > threshold]
 *
 * The session takes the loss gradient with respect to `eff`; a store turns it
 * into the update: Nesterov SGD with hand-applied weight decay on the task's
 * own cells only, and Adam on M̂ with the straight-through gradient
 * `d eff ⊙ frozen` (zero wherever no older task owns the cell). Frozen cells
 * are never written: the session hands back only the task's own cells.
 *
 * Two stores compute exactly this: `host` keeps the arrays in JavaScript and
 * fuses each update into one loop (tfjs's wasm and cpu backends, where a dozen
 * element-wise kernels per tensor cost more than the matrix products of a
 * small net); `device` keeps them as tfjs tensors (GPU backends, where data
 * should not leave the device).
 *
 * Reading values back is asynchronous (`own`, `pickReal`): tfjs's webgpu
 * backend can only download a tensor with `await t.data()` (its synchronous
 * read needs an OffscreenCanvas, which Node lacks). The owner flags, which
 * only the session changes, are mirrored on the host in both stores.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { type Slice, makeArena } from './simd/arena.js';
import { shapeSize } from '../algebra/graph.js';

/** One sharable tensor as the session starts it. */
export interface SlotInit {
  readonly name: string;
  readonly shape: readonly number[];
  /** The task's cells: values where `ownFlag` is 1, zero elsewhere. */
  readonly own: Float32Array;
  readonly ownFlag: Uint8Array;
  /** Older tasks' cells the task may use (zero elsewhere), or undefined if none. */
  readonly frozen: Float32Array | undefined;
  /** Train a pick mask over `frozen` (its initial value, one for every cell or per cell), or use `frozen` as it is. */
  readonly pickInit: number | Float32Array | undefined;
}

/** Optimiser settings of a step. */
export interface UpdateSettings {
  readonly lr: number;
  readonly lrMask: number;
  readonly weightDecay: number;
  readonly momentum: number;
  /** Adam step count (1-based) for bias correction. */
  readonly adamStep: number;
}

export const ADAM = { beta1: 0.9, beta2: 0.999, eps: 1e-8 } as const;

/** The sharable tensors of a session. */
export interface SharedStore {
  readonly names: readonly string[];
  /** Effective weights as fresh tensors (the caller disposes them). */
  readonly effective: () => Map<string, tf.Tensor>;
  /**
   * Apply the gradient of the loss with respect to each effective weight.
   * The host store reads the gradients synchronously (wasm, cpu); the device
   * store never reads them.
   */
  readonly update: (grads: ReadonlyMap<string, tf.Tensor>, s: UpdateSettings) => void;
  /** Whether any tensor trains a pick mask. */
  readonly picking: boolean;
  /** The task's own cells now (values zero elsewhere); for compacting and export. Valid until the next update or release. */
  readonly own: (name: string) => Promise<Float32Array>;
  /** The task's own flags (1 on its cells), as they stand: kept on the host by both stores. */
  readonly flags: (name: string) => ArrayLike<number>;
  /** Release cells: value, momentum and own flag cleared at once. */
  readonly release: (name: string, cells: Int32Array) => void;
  /** The real-valued pick mask of a tensor, if it trains one. */
  readonly pickReal: (name: string) => Promise<Float32Array | undefined>;
  readonly dispose: () => void;
}


/**
 * A tensor's values without a copy where the backend allows it (wasm: a view
 * of its heap, valid until the next tfjs call), a copy elsewhere.
 */
const peek = (t: tf.Tensor): Float32Array => {
  if (tf.getBackend() === 'wasm') return (tf.backend() as unknown as BackendWasm).typedArrayFromHeap(t) as Float32Array;
  return t.dataSync() as Float32Array;
};

// ---------------------------------------------------------------------------
// host: arrays in JavaScript's memory, fused loops (SIMD where available)

interface HostSlot {
  readonly name: string;
  readonly shape: number[];
  readonly n: number;
  readonly own: Slice;
  readonly velocity: Slice;
  /** 1 on the task's cells, 0 elsewhere (float, so the update multiplies instead of branching). */
  readonly flag: Slice;
  readonly frozen: Slice | undefined;
  readonly mask: { readonly real: Slice; readonly m: Slice; readonly v: Slice } | undefined;
  readonly eff: Slice;
}

/**
 * A tensor holding a copy of `values`. wasm copies into its heap; the cpu
 * backend would keep a reference to the array itself, which the next update
 * overwrites, so it gets a copy of its own.
 */
const tensorOf = (values: Float32Array, shape: number[]): tf.Tensor =>
  tf.tensor(tf.getBackend() === 'wasm' ? values : values.slice(), shape);

/** Plain arrays when no arena is available (ptr unused). */
const plainSlice = (n: number): Slice => ({ view: new Float32Array(n), ptr: -1 });

/**
 * Sharable tensors kept in JavaScript's memory (wasm, cpu backends). With wasm
 * SIMD (an arena) every per-cell loop runs four lanes at a time; otherwise the
 * same arithmetic runs as branch-free JavaScript loops.
 */
export const hostStore = (slots: readonly SlotInit[], threshold: number, useSimd = true): SharedStore => {
  const sizes = slots.flatMap((s) => {
    const n = shapeSize(s.shape);
    return [n, n, n, n, ...(s.frozen !== undefined ? [n] : []), ...(s.frozen !== undefined && s.pickInit !== undefined ? [n, n, n] : [])];
  });
  const maxN = Math.max(0, ...slots.map((s) => shapeSize(s.shape)));
  const arena = useSimd ? makeArena([...sizes, maxN]) : undefined;
  const alloc = (n: number): Slice => (arena === undefined ? plainSlice(n) : arena.alloc(n));
  const byName = new Map<string, HostSlot>();
  for (const s of slots) {
    const n = shapeSize(s.shape);
    const own = alloc(n);
    own.view.set(s.own);
    const flag = alloc(n);
    for (let i = 0; i < n; i++) flag.view[i] = s.ownFlag[i]!;
    let frozen: Slice | undefined;
    if (s.frozen !== undefined) {
      frozen = alloc(n);
      frozen.view.set(s.frozen);
    }
    let mask: HostSlot['mask'];
    if (frozen !== undefined && s.pickInit !== undefined) {
      mask = { real: alloc(n), m: alloc(n), v: alloc(n) };
      if (typeof s.pickInit === 'number') mask.real.view.fill(s.pickInit);
      else mask.real.view.set(s.pickInit);
    }
    byName.set(s.name, { name: s.name, shape: [...s.shape], n, own, velocity: alloc(n), flag, frozen, mask, eff: alloc(n) });
  }
  const gradient = arena?.alloc(maxN);
  // Bit-exact: own and frozen never overlap, so each sum is one of its terms.
  const effectiveOf = (h: HostSlot): Float32Array => {
    const { own, frozen, mask, eff, n } = h;
    if (frozen === undefined) return own.view;
    if (arena !== undefined) {
      if (mask === undefined) arena.kernels.effective_sum(eff.ptr, own.ptr, frozen.ptr, paddedCount(n));
      else arena.kernels.effective_pick(eff.ptr, own.ptr, frozen.ptr, mask.real.ptr, paddedCount(n), threshold);
      return eff.view;
    }
    const e = eff.view;
    const o = own.view;
    const f = frozen.view;
    if (mask === undefined) for (let i = 0; i < n; i++) e[i] = o[i]! + f[i]!;
    else {
      const real = mask.real.view;
      // Branch-free: the pick pattern is random.
      for (let i = 0; i < n; i++) e[i] = o[i]! + f[i]! * +(real[i]! > threshold);
    }
    return e;
  };
  return {
    names: [...byName.keys()],
    picking: [...byName.values()].some((h) => h.mask !== undefined),
    effective: () => new Map([...byName.values()].map((h) => [h.name, tensorOf(effectiveOf(h), h.shape)] as const)),
    update: (grads, st) => {
      const mu = st.momentum;
      const wd = st.weightDecay;
      const lr = st.lr;
      const c1 = 1 - ADAM.beta1 ** st.adamStep;
      const c2 = 1 - ADAM.beta2 ** st.adamStep;
      for (const h of byName.values()) {
        const picking = h.mask !== undefined && h.frozen !== undefined && st.lrMask > 0;
        if (arena !== undefined && gradient !== undefined) {
          gradient.view.set(peek(grads.get(h.name)!).subarray(0, h.n));
          const k = arena.kernels;
          const n = paddedCount(h.n);
          if (picking)
            k.update_pick(gradient.ptr, h.own.ptr, h.velocity.ptr, h.flag.ptr, h.frozen!.ptr, h.mask!.m.ptr, h.mask!.v.ptr, h.mask!.real.ptr, n,
              lr, mu, wd, st.lrMask, ADAM.beta1, ADAM.beta2, 1 / c1, 1 / c2, ADAM.eps);
          else k.update_sgd(gradient.ptr, h.own.ptr, h.velocity.ptr, h.flag.ptr, n, lr, mu, wd);
          continue;
        }
        const g = peek(grads.get(h.name)!);
        const own = h.own.view;
        const velocity = h.velocity.view;
        const flag = h.flag.view;
        // Branch-free, as the wasm loops: off the task's cells flag = 0 keeps value and momentum
        // at exactly 0; where no older weight lies frozen = 0 keeps Adam's moments at 0.
        for (let i = 0; i < h.n; i++) {
          const gi = flag[i]! * (g[i]! + wd * own[i]!); // weight decay by hand, own cells only
          const vel = mu * velocity[i]! + gi;
          velocity[i] = vel;
          own[i] = own[i]! - lr * (gi + mu * vel); // Nesterov, as PyTorch
        }
        if (picking) {
          const frozen = h.frozen!.view;
          const real = h.mask!.real.view;
          const m = h.mask!.m.view;
          const v = h.mask!.v.view;
          const lm = st.lrMask;
          for (let i = 0; i < h.n; i++) {
            const gm = g[i]! * frozen[i]!; // straight-through: d eff / d M̂ = frozen
            const mi = ADAM.beta1 * m[i]! + (1 - ADAM.beta1) * gm;
            const vi = ADAM.beta2 * v[i]! + (1 - ADAM.beta2) * gm * gm;
            m[i] = mi;
            v[i] = vi;
            real[i] = real[i]! - (lm * (mi / c1)) / (Math.sqrt(vi / c2) + ADAM.eps);
          }
        }
      }
    },
    own: (name) => Promise.resolve(byName.get(name)!.own.view),
    flags: (name) => byName.get(name)!.flag.view,
    release: (name, cells) => {
      const h = byName.get(name)!;
      for (let k = 0; k < cells.length; k++) {
        const i = cells[k]!;
        h.own.view[i] = 0;
        h.velocity.view[i] = 0;
        h.flag.view[i] = 0;
      }
    },
    pickReal: (name) => Promise.resolve(byName.get(name)?.mask?.real.view),
    dispose: () => byName.clear(),
  };
};

/** Cells the SIMD loops run over: padded to whole lanes (the padding is zero and stays zero). */
const paddedCount = (n: number): number => Math.ceil(n / 4) * 4;

// ---------------------------------------------------------------------------
// device: tfjs tensors and ops

interface DeviceSlot {
  readonly name: string;
  readonly shape: number[];
  /** The own flags on the host: only release changes them, so the device copy is never read back. */
  readonly hostFlag: Float32Array;
  own: tf.Tensor;
  velocity: tf.Tensor;
  flag: tf.Tensor;
  readonly frozen: tf.Tensor | undefined;
  readonly mask: { real: tf.Tensor; m: tf.Tensor; v: tf.Tensor } | undefined;
}

/** Sharable tensors kept on the backend's device (tensorflow: CUDA or CPU; webgl; webgpu). */
export const deviceStore = (slots: readonly SlotInit[], threshold: number): SharedStore => {
  const byName = new Map<string, DeviceSlot>();
  for (const s of slots) {
    const shape = [...s.shape];
    const frozen = s.frozen === undefined ? undefined : tf.tensor(s.frozen, shape);
    const hostFlag = Float32Array.from(s.ownFlag);
    byName.set(s.name, {
      name: s.name,
      shape,
      hostFlag,
      own: tf.tensor(s.own, shape),
      velocity: tf.zeros(shape),
      flag: tf.tensor(hostFlag, shape),
      frozen,
      mask: frozen !== undefined && s.pickInit !== undefined ? { real: typeof s.pickInit === 'number' ? tf.fill(shape, s.pickInit) : tf.tensor(s.pickInit, shape), m: tf.zeros(shape), v: tf.zeros(shape) } : undefined,
    });
  }
  const replace = <K extends 'own' | 'velocity' | 'flag'>(d: DeviceSlot, k: K, t: tf.Tensor) => {
    d[k].dispose();
    d[k] = tf.keep(t);
  };
  const setMask = (d: DeviceSlot, k: 'real' | 'm' | 'v', t: tf.Tensor) => {
    d.mask![k].dispose();
    d.mask![k] = tf.keep(t);
  };
  return {
    names: [...byName.keys()],
    picking: [...byName.values()].some((d) => d.mask !== undefined),
    effective: () =>
      new Map(
        [...byName.values()].map((d) => [
          d.name,
          tf.tidy(() =>
            d.frozen === undefined
              ? tf.clone(d.own)
              : d.mask === undefined
                ? tf.add(d.own, d.frozen)
                : tf.add(d.own, tf.mul(d.frozen, tf.cast(tf.greater(d.mask.real, threshold), 'float32'))),
          ),
        ] as const),
      ),
    update: (grads, st) => {
      const mu = st.momentum;
      for (const d of byName.values()) {
        const g0 = grads.get(d.name)!;
        tf.tidy(() => {
          const g = tf.mul(tf.add(g0, tf.mul(d.own, st.weightDecay)), d.flag);
          const v = tf.add(tf.mul(d.velocity, mu), g);
          replace(d, 'own', tf.sub(d.own, tf.mul(tf.add(g, tf.mul(v, mu)), st.lr)));
          replace(d, 'velocity', v);
          if (d.mask !== undefined && d.frozen !== undefined && st.lrMask > 0) {
            const gm = tf.mul(g0, d.frozen);
            const m = tf.add(tf.mul(d.mask.m, ADAM.beta1), tf.mul(gm, 1 - ADAM.beta1));
            const vv = tf.add(tf.mul(d.mask.v, ADAM.beta2), tf.mul(tf.square(gm), 1 - ADAM.beta2));
            const mHat = tf.div(m, 1 - ADAM.beta1 ** st.adamStep);
            const vHat = tf.div(vv, 1 - ADAM.beta2 ** st.adamStep);
            setMask(d, 'real', tf.sub(d.mask.real, tf.mul(tf.div(mHat, tf.add(tf.sqrt(vHat), ADAM.eps)), st.lrMask)));
            setMask(d, 'm', m);
            setMask(d, 'v', vv);
          }
        });
      }
    },
    own: async (name) => (await byName.get(name)!.own.data()) as Float32Array,
    flags: (name) => byName.get(name)!.hostFlag,
    release: (name, cells) => {
      const d = byName.get(name)!;
      for (let k = 0; k < cells.length; k++) d.hostFlag[cells[k]!] = 0;
      // On the device, without reading anything back: where the new flag is 0 the value and momentum become exactly 0 (not -0).
      const flag = tf.tensor(d.hostFlag, d.shape);
      const keep = tf.tidy(() => tf.cast(flag, 'bool'));
      replace(d, 'own', tf.tidy(() => tf.where(keep, d.own, tf.zerosLike(d.own))));
      replace(d, 'velocity', tf.tidy(() => tf.where(keep, d.velocity, tf.zerosLike(d.velocity))));
      replace(d, 'flag', flag);
      keep.dispose();
    },
    pickReal: async (name) => {
      const m = byName.get(name)?.mask;
      return m === undefined ? undefined : ((await m.real.data()) as Float32Array);
    },
    dispose: () => {
      for (const d of byName.values()) {
        tf.dispose([d.own, d.velocity, d.flag]);
        d.frozen?.dispose();
        if (d.mask !== undefined) tf.dispose([d.mask.real, d.mask.m, d.mask.v]);
      }
      byName.clear();
    },
  };
};
