/**
 * What the process offers the tensor backends, as data the caller gives:
 * backend selection reads nothing of the platform itself, so the core stays
 * browser-safe. `cpg/node` gives Node's (its cores, CPG_BACKEND, the threaded
 * wasm build, tfjs-node-gpu, webgpu on Dawn); anywhere else `webPlatform` is
 * the default.
 */
import type * as E from 'fp-ts/lib/Either.js';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import type { CpgError } from '../algebra/errors.js';
import { MAX_WASM_THREADS } from '../algebra/threads.js';
import type { BackendInfo } from './backend.js';

export interface BackendPlatform {
  /** Names the platform in messages ('node', 'web'). */
  readonly name: string;
  /** Cores the process may use: wasm's default thread count where the platform builds threaded wasm. */
  readonly cores: number;
  /** The backend the user chose outside the program (Node: CPG_BACKEND), read when a caller asks for 'auto'. */
  readonly setting: string | undefined;
  /** Loads and sets native TensorFlow (tfjs-node-gpu, tfjs-node); absent where there is none. */
  readonly native?: () => Promise<E.Either<CpgError, BackendInfo>>;
  /**
   * Loads and sets tfjs's webgpu backend (Node: Dawn from the `webgpu`
   * package); absent where the platform has none. `auto`: the caller did not
   * name webgpu, so only a hardware adapter is taken, and only where looking
   * for one is cheap.
   */
  readonly webgpu?: (auto: boolean) => Promise<E.Either<CpgError, BackendInfo>>;
  /** Whether the platform may have WebGL (a browser page): 'auto' then tries tfjs's webgl backend before wasm. */
  readonly webgl?: boolean;
  /** Builds tfjs's threaded wasm backend with exactly `threads` threads (rejects on failure); absent where it cannot. */
  readonly threadedWasm?: (threads: number) => Promise<BackendWasm>;
}

/**
 * A browser's (or any JS runtime's): its core count where it tells one,
 * WebGL where tfjs registered it (a page), single-threaded wasm, no native
 * TensorFlow.
 */
export const webPlatform = (): BackendPlatform => {
  const cores = (globalThis as { navigator?: { hardwareConcurrency?: unknown } }).navigator?.hardwareConcurrency;
  return { name: 'web', cores: typeof cores === 'number' && Number.isInteger(cores) && cores > 0 ? cores : 1, setting: undefined, webgl: true };
};

/** wasm's thread count when none is asked for: every core (at most MAX_WASM_THREADS) where the platform builds threaded wasm, else one. */
export const defaultThreads = (p: BackendPlatform): number => (p.threadedWasm !== undefined ? Math.min(p.cores, MAX_WASM_THREADS) : 1);
