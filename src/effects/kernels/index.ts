/**
 * Our kernels for tfjs's wasm backend, for training:
 * - what it lacks: Conv2DBackpropFilter;
 * - what it gets wrong: MaxPoolGrad (drops negative windows), forward
 *   convolutions with 'same' padding and stride > kernel (zeros);
 * - what it runs slowly: Conv2DBackpropInput (scalar loop), BatchMatMul with
 *   transpose flags (naive loop), Sum/Mean over leading axes (transpose
 *   first), Identity (copies);
 * - what it has no kernel for: batch-norm statistics and parameter gradients
 *   in one pass (CpgBatchNorm*, used by ops.ts).
 * Install them before the wasm backend is first set; installing twice is a
 * no-op, and `uninstallWasmKernels` restores tfjs's own (for comparisons).
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';
import { conv2dBackpropFilter, conv2dBackpropInput } from './conv.js';
import { batchMatMul } from './matmul.js';
import { maxPoolGrad } from './pool.js';
import { explicitSamePadding } from './same-padding.js';
import { batchNormGradSums, batchNormStats, batchNormKernelNames } from './batchnorm.js';
import { sharedIdentity } from './identity.js';
import { reduceLeadingAxes } from './reduce.js';
import { stockKernel } from './wasm-calls.js';

/** How each of our kernels is built from the stock one it replaces (absent: none). */
const builders = {
  Conv2DBackpropFilter: () => conv2dBackpropFilter,
  Conv2DBackpropInput: (stock: tf.KernelFunc) => conv2dBackpropInput(stock),
  BatchMatMul: (stock: tf.KernelFunc) => batchMatMul(stock),
  MaxPoolGrad: () => maxPoolGrad,
  Conv2D: (stock: tf.KernelFunc) => explicitSamePadding(stock, false),
  FusedConv2D: (stock: tf.KernelFunc) => explicitSamePadding(stock, false),
  DepthwiseConv2dNative: (stock: tf.KernelFunc) => explicitSamePadding(stock, true),
  FusedDepthwiseConv2D: (stock: tf.KernelFunc) => explicitSamePadding(stock, true),
  Sum: (stock: tf.KernelFunc) => reduceLeadingAxes(stock, false),
  Mean: (stock: tf.KernelFunc) => reduceLeadingAxes(stock, true),
  Identity: (stock: tf.KernelFunc) => sharedIdentity(stock),
  CpgBatchNormStats: () => batchNormStats,
  CpgBatchNormGradSums: () => batchNormGradSums,
} as const;

export { batchNormKernelNames };

type OurKernel = keyof typeof builders;

/** The kernel names we register for the wasm backend. */
export const wasmKernelNames = Object.keys(builders) as readonly OurKernel[];

const unsupported = (name: string): tf.KernelFunc => () => {
  throw new Error(`wasm backend has no '${name}' kernel`);
};

/** Our config for one kernel: reuses the stock setup (which binds the C++ entry points ours call). */
const ourKernel = (name: OurKernel): tf.KernelConfig => {
  const stock = stockKernel(name);
  return {
    kernelName: name,
    backendName: 'wasm',
    kernelFunc: builders[name](stock?.kernelFunc ?? unsupported(name)),
    ...(stock?.setupFunc !== undefined ? { setupFunc: stock.setupFunc } : {}),
    ...(stock?.disposeFunc !== undefined ? { disposeFunc: stock.disposeFunc } : {}),
  };
};

/**
 * Whether our kernels are the registered ones: read off tfjs's kernel registry
 * (CpgBatchNormStats exists only while ours are installed), not kept beside it.
 */
export const wasmKernelsInstalled = (): boolean => tf.getKernel('CpgBatchNormStats', 'wasm') !== undefined;

/** Replaces the wasm kernels named in `wasmKernelNames` with ours (idempotent). */
export const installWasmKernels = (): void => {
  if (wasmKernelsInstalled()) return;
  for (const name of wasmKernelNames) {
    const config = ourKernel(name);
    if (tf.getKernel(name, 'wasm') !== undefined) tf.unregisterKernel(name, 'wasm');
    tf.registerKernel(config);
  }
};

/** Puts tfjs's own wasm kernels back (for Conv2DBackpropFilter and our Cpg* kernels: none). */
export const uninstallWasmKernels = (): void => {
  if (!wasmKernelsInstalled()) return;
  for (const name of wasmKernelNames) {
    if (tf.getKernel(name, 'wasm') !== undefined) tf.unregisterKernel(name, 'wasm');
    const stock = stockKernel(name);
    if (stock !== undefined) tf.registerKernel(stock);
  }
};
