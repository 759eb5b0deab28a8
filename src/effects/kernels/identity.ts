/**
 * Identity for the wasm backend by sharing, as the cpu backend does: the
 * output takes another reference to the input's data instead of a copy.
 * tfjs tensors are immutable (variables re-point on assign), so nothing can
 * tell the difference, except that clone() — and every tensor a custom
 * gradient saves — stops costing a full copy.
 */
import type * as tf from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import type { Info } from './wasm-calls.js';

/** Identity that shares its input's data (strings keep the stock copy). */
export const sharedIdentity = (stock: tf.KernelFunc): tf.KernelFunc => (args) => {
  const x = args.inputs['x'] as Info;
  if (x.dtype === 'string') return stock(args);
  (args.backend as BackendWasm).incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape.slice(), dtype: x.dtype };
};
