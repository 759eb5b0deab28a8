/**
 * Float32 arrays in one WebAssembly memory, with the SIMD loops of
 * update.wat running over them: the host store's arrays live here when the
 * engine runs wasm SIMD (every Node ≥ 16.4), so a training step's per-cell
 * work is four lanes at a time instead of one JavaScript number at a time.
 */
import { updateWasmBase64 } from './updateWasm.js';

// The few WebAssembly JS-API names used here (TypeScript's ES libs leave them to lib.dom).
declare namespace WebAssembly {
  class Module {
    constructor(bytes: Uint8Array);
  }
  class Memory {
    constructor(d: { initial: number });
    readonly buffer: ArrayBuffer;
  }
  class Instance {
    constructor(m: Module, imports: Record<string, Record<string, unknown>>);
    readonly exports: Record<string, unknown>;
  }
  function validate(bytes: Uint8Array): boolean;
}

/** An array in the arena: a view for JavaScript and a byte offset for the wasm loops. */
export interface Slice {
  readonly view: Float32Array;
  readonly ptr: number;
}

interface Exports {
  readonly update_sgd: (g: number, own: number, vel: number, flag: number, n: number, lr: number, mu: number, wd: number) => void;
  readonly update_pick: (
    g: number, own: number, vel: number, flag: number, frozen: number, m: number, v: number, real: number, n: number,
    lr: number, mu: number, wd: number, lm: number, b1: number, b2: number, c1inv: number, c2inv: number, eps: number,
  ) => void;
  readonly effective_pick: (eff: number, own: number, frozen: number, real: number, n: number, threshold: number) => void;
  readonly effective_sum: (eff: number, own: number, frozen: number, n: number) => void;
}

/** An arena of float32 arrays and the fused loops over them. */
export interface Arena {
  /** `n` floats (zeroed), padded to a multiple of 4 in memory. */
  readonly alloc: (n: number) => Slice;
  readonly kernels: Exports;
}

/** The compiled module (a few kilobytes, compiled once on import), or null where wasm SIMD is not available. */
const compiled: WebAssembly.Module | null = (() => {
  // atob exists in browsers and in Node ≥ 16: no Buffer, so the core stays browser-safe.
  const bytes = Uint8Array.from(atob(updateWasmBase64), (c) => c.charCodeAt(0));
  return WebAssembly.validate(bytes) ? new WebAssembly.Module(bytes) : null;
})();

const module = (): WebAssembly.Module | null => compiled;

/** Bytes the arrays of `sizes` need, each padded to 16 bytes. */
export const arenaBytes = (sizes: readonly number[]): number => sizes.reduce((a, n) => a + Math.ceil(n / 4) * 16, 0);

/** Largest arena we ask for: wasm memory is 32-bit, and a bigger network belongs on a GPU backend. */
const MAX_BYTES = 2 ** 31;

/**
 * An arena able to hold arrays of the given sizes, or undefined (no SIMD, or
 * too large) — the caller then keeps plain arrays and loops in JavaScript.
 */
export const makeArena = (sizes: readonly number[]): Arena | undefined => {
  const mod = module();
  const bytes = arenaBytes(sizes);
  if (mod === null || bytes > MAX_BYTES) return undefined;
  const memory = new WebAssembly.Memory({ initial: Math.max(1, Math.ceil(bytes / 65536)) });
  const instance = new WebAssembly.Instance(mod, { env: { memory } });
  let next = 0;
  return {
    alloc: (n) => {
      const ptr = next;
      next += Math.ceil(n / 4) * 16;
      if (next > memory.buffer.byteLength) throw new RangeError(`arena of ${memory.buffer.byteLength} bytes cannot hold ${n} more floats`);
      return { view: new Float32Array(memory.buffer, ptr, n), ptr };
    },
    kernels: instance.exports as unknown as Exports,
  };
};
