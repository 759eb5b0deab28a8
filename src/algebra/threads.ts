/**
 * The most threads the wasm backend runs on. tfjs-backend-wasm's threaded
 * SIMD build (4.22) starts a pool of 8 pthreads and its thread pool takes no
 * more: asked for 9, 12 or 999 it ran on 8 without a word. A request beyond
 * it is refused (a configuration field, a flag, a library option), and the
 * default (every core) stops there. A test reads the pool size out of the
 * build, so an upgrade that changes it fails there first.
 */
export const MAX_WASM_THREADS = 8;

/**
 * The threads of a run's recorded configuration: a run recorded before the
 * limit was refused may have asked for more, and ran on the most; it goes on
 * as it began.
 */
export const recordedThreads = (n: number | undefined): number | undefined => (n === undefined ? undefined : Math.min(n, MAX_WASM_THREADS));
