/**
 * Loads tfjs's threaded SIMD wasm build in Node, which tfjs itself refuses to
 * do (its WASM_HAS_MULTITHREAD_SUPPORT flag is false under Node):
 *
 * - Emscripten's pthread workers get their script as a file path (Node's
 *   worker_threads refuse the `blob:` URLs tfjs hands them);
 * - the thread count is set explicitly: tfjs caps it at
 *   `emscripten_num_logical_cores() / 2` (one thread on a 2-core machine), so
 *   that import answers `2 × threads` for this module instance only;
 * - the workers are unref'd once the pool is up, so they never keep Node alive.
 *
 * The backend object is tfjs's own `BackendWasm`; only the module under it
 * differs from the single-threaded build.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createRequire } from 'node:module';
import { BackendWasm } from '@tensorflow/tfjs-backend-wasm';

const require = createRequire(import.meta.url);

/** The one WebAssembly call made here (the ES2022 lib without DOM has no WebAssembly types). */
interface WasmApi {
  instantiate(bytes: Uint8Array, imports: object): Promise<{ instance: unknown; module: unknown }>;
}
const webAssembly = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

/** Where the wasm package keeps its Emscripten outputs. */
const wasmOutDir = (): string =>
  path.join(path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'wasm-out');

/** The parts of an Emscripten pthread module this file touches. */
interface PthreadModule {
  readonly cwrap: (name: string, ret: string | null, args: string[]) => (...a: number[]) => number;
  readonly PThread: {
    readonly runningWorkers: { unref(): void }[];
    readonly unusedWorkers: { unref(): void }[];
  };
  tfjs?: unknown;
}

/**
 * Writes Emscripten's worker script next to the OS temp files, once per
 * content (the name carries a hash of it, so concurrent processes agree).
 * tfjs ships it as a JS string whose `\n` escapes must stay escapes.
 */
const workerScriptPath = (outDir: string): string => {
  const { wasmWorkerContents } = require(path.join(outDir, 'tfjs-backend-wasm-threaded-simd.worker.js')) as {
    wasmWorkerContents: string;
  };
  const text = wasmWorkerContents.replace(/\n/g, '\\n');
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193) >>> 0;
  // .cjs: the script uses require/__filename, whatever the nearest package.json says.
  const file = path.join(os.tmpdir(), `cpg-tfjs-wasm-worker-${h.toString(16)}.cjs`);
  if (!fs.existsSync(file)) {
    const tmp = `${file}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, text);
    fs.renameSync(tmp, file);
  }
  return file;
};

/**
 * Builds a `BackendWasm` on the threaded SIMD module with exactly `threads`
 * XNNPACK threads (the caller must have called `setThreadsCount(threads)`).
 * Rejects, rather than hangs, if the module does not come up in `timeoutMs`.
 */
export const createThreadedWasmBackend = async (threads: number, timeoutMs = 30_000): Promise<BackendWasm> => {
  const outDir = wasmOutDir();
  const mainScript = path.join(outDir, 'tfjs-backend-wasm-threaded-simd.js');
  const binary = path.join(outDir, 'tfjs-backend-wasm-threaded-simd.wasm');
  const workerScript = workerScriptPath(outDir);
  const factory = require(mainScript) as (cfg: object) => Promise<PthreadModule>;
  let rejectLoad: (e: unknown) => void = () => undefined;
  let timer: NodeJS.Timeout | undefined;
  const failed = new Promise<never>((_, reject) => {
    rejectLoad = reject;
    timer = setTimeout(() => reject(new Error(`threaded wasm did not start within ${timeoutMs} ms`)), timeoutMs);
    timer.unref();
  });
  const config = {
    locateFile: (p: string, prefix: string) =>
      p.endsWith('.worker.js') ? workerScript : p.endsWith('.wasm') ? binary : prefix + p,
    // The workers importScripts() this: a path, not a Blob.
    mainScriptUrlOrBlob: mainScript,
    instantiateWasm: (
      info: { env: Record<string, unknown> },
      receive: (instance: unknown, module: unknown) => void,
    ) => {
      // Read by a C++ static initialiser that halves it: this lifts the cap.
      info.env['emscripten_num_logical_cores'] = () => 2 * threads;
      webAssembly.instantiate(fs.readFileSync(binary), info).then(
        (r) => receive(r.instance, r.module),
        (e: unknown) => rejectLoad(e),
      );
      return {};
    },
    onAbort: (what: unknown) => rejectLoad(what),
  };
  try {
    const module = await Promise.race([factory(config), failed]);
    const voidType = null;
    module.tfjs = {
      init: module.cwrap('init', voidType, []),
      initWithThreadsCount: module.cwrap('init_with_threads_count', voidType, ['number']),
      getThreadsCount: module.cwrap('get_threads_count', 'number', []),
      registerTensor: module.cwrap('register_tensor', voidType, ['number', 'number', 'number']),
      disposeData: module.cwrap('dispose_data', voidType, ['number']),
      dispose: module.cwrap('dispose', voidType, []),
    };
    // The constructor creates the XNNPACK thread pool (threads − 1 pthreads).
    const backend = new BackendWasm(module as unknown as ConstructorParameters<typeof BackendWasm>[0]);
    for (const w of [...module.PThread.runningWorkers, ...module.PThread.unusedWorkers]) w.unref();
    return backend;
  } finally {
    if (timer !== undefined) clearTimeout(timer);
  }
};
