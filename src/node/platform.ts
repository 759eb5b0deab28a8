/**
 * Node as a backend platform: its cores, the CPG_BACKEND setting, tfjs's
 * threaded wasm build (which tfjs itself refuses under Node), native
 * TensorFlow (tfjs-node-gpu, else tfjs-node) when installed, and tfjs's
 * webgpu on Dawn (the optional `webgpu` package; see webgpu.ts). What `cpg/node`
 * passes to every backend choice, so Node keeps its defaults.
 */
import * as os from 'node:os';
import * as E from 'fp-ts/lib/Either.js';
import * as tf from '@tensorflow/tfjs-core';
import { type CpgError, backendError } from '../algebra/errors.js';
import { type BackendInfo, messageOf } from '../effects/backend.js';
import type { BackendPlatform } from '../effects/platform.js';
import { createThreadedWasmBackend } from './wasmThreads.js';
import { loadWebgpu } from './webgpu.js';

/** The number of cores Node may use. */
export const coreCount = (): number => (typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length);

const nativePackages = ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node'] as const;

/** Loads and sets native TensorFlow: the first of tfjs-node-gpu, tfjs-node that is installed and initialises. */
const loadTensorflow = async (): Promise<E.Either<CpgError, BackendInfo>> => {
  const failures: string[] = [];
  for (const pkg of nativePackages) {
    try {
      // A variable specifier: neither package is a compile-time dependency.
      const spec: string = pkg;
      await import(spec);
      if (await tf.setBackend('tensorflow')) {
        return E.right({ name: 'tensorflow', threads: coreCount(), simd: false, detail: `${pkg} (native TensorFlow)` });
      }
      failures.push(`${pkg} loaded but its backend did not initialise`);
    } catch (e) {
      const m = messageOf(e);
      failures.push(/Cannot find (package|module)/.test(m) ? `${pkg} is not installed` : `${pkg}: ${m.split('\n')[0] ?? m}`);
    }
  }
  return E.left(
    backendError(
      'tensorflow',
      `${failures.join('; ')}. Install @tensorflow/tfjs-node-gpu@4.22.0 (CUDA) or @tensorflow/tfjs-node@4.22.0 (CPU), ` +
        `or choose another backend (CPG_BACKEND=wasm).`,
    ),
  );
};

/** This Node process as a platform; CPG_BACKEND is read now, so set it before asking. */
export const nodePlatform = (): BackendPlatform => ({
  name: 'node',
  cores: coreCount(),
  setting: process.env['CPG_BACKEND'],
  native: loadTensorflow,
  webgpu: loadWebgpu,
  threadedWasm: (threads) => createThreadedWasmBackend(threads),
});
