/**
 * Calling the wasm backend's own kernels from inside our kernels: the stock
 * implementations (captured before ours replace any of them), a few shape
 * helpers, and freeing intermediates.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';

export type Info = tf.TensorInfo;

/**
 * Every stock wasm kernel, as the backend package registered them on import,
 * before any of ours replaced one (this module is evaluated right after that
 * package, and is never changed afterwards).
 */
const stock: ReadonlyMap<string, tf.KernelConfig> = new Map(tf.getKernelsForBackend('wasm').map((k) => [k.kernelName, k] as const));

/** The stock wasm kernel of that name. */
export const stockKernel = (name: string): tf.KernelConfig | undefined => stock.get(name);

/** Runs the stock wasm kernel `name` (one output). */
export const runStock = (name: string, backend: BackendWasm, inputs: tf.NamedTensorInfoMap, attrs: tf.NamedAttrMap = {}): Info => {
  const k = stockKernel(name);
  if (k === undefined) throw new Error(`wasm backend has no '${name}' kernel`);
  return k.kernelFunc({ inputs, backend, attrs }) as Info;
};

/** Frees intermediates made inside a kernel (the engine never saw them). */
export const free = (backend: BackendWasm, ...xs: Info[]): void => {
  for (const x of xs) backend.disposeData(x.dataId);
};

/** A transposed copy. */
export const transpose = (backend: BackendWasm, x: Info, perm: number[]): Info =>
  runStock('Transpose', backend, { x }, { perm });

/**
 * The same data under another shape, without a kernel call: for inputs to
 * other kernels only (never returned, never freed).
 */
export const view = (x: Info, shape: number[]): Info => ({ dataId: x.dataId, shape, dtype: x.dtype });

/** Shape as a mutable number[] (kernels want that type). */
export const dims = (x: Info): number[] => x.shape.slice();

/** Reads dimension i, which the caller knows exists. */
export const dim = (shape: readonly number[], i: number): number => {
  const d = shape[i < 0 ? shape.length + i : i];
  if (d === undefined) throw new Error(`shape [${shape.join(',')}] has no axis ${i}`);
  return d;
};
