/**
 * Choosing the tensor backend at start-up: `tensorflow` (tfjs-node-gpu, else
 * tfjs-node, when installed), else `wasm` (shipped; threaded SIMD build with
 * our training kernels), else `cpu` (pure JS). `CPG_BACKEND` names one when
 * the caller says 'auto'; a named backend that fails to load is an error that
 * says what to install, never a silent fallback.
 */
import * as os from 'node:os';
import * as E from 'fp-ts/lib/Either.js';
import * as TE from 'fp-ts/lib/TaskEither.js';
import { pipe } from 'fp-ts/lib/function.js';
import * as tf from '@tensorflow/tfjs';
import * as tfwasm from '@tensorflow/tfjs-backend-wasm';
import type { CpgError } from '../algebra/errors.js';
import { installWasmKernels, wasmKernelsInstalled } from './kernels/index.js';
import { littleEndian } from './store.js';
import { createThreadedWasmBackend } from './kernels/wasm-threads.js';

export type BackendName = 'tensorflow' | 'wasm' | 'cpu';

/** What was loaded: the backend, its thread count and whether it runs wasm SIMD. */
export interface BackendInfo {
  readonly name: BackendName;
  readonly threads: number;
  readonly simd: boolean;
  readonly detail: string;
}

/** 'auto' tries tensorflow, wasm, cpu in that order; threads applies to wasm (default: all cores). */
export interface BackendRequest {
  readonly prefer: 'auto' | BackendName;
  readonly threads?: number;
}

const backendNames: readonly BackendName[] = ['tensorflow', 'wasm', 'cpu'];

const backendError = (backend: string, message: string): CpgError => ({ tag: 'BackendError', backend, message });

const messageOf = (e: unknown): string => (e instanceof Error ? e.message : typeof e === 'object' && e !== null && 'message' in e ? String((e as { message: unknown }).message) : String(e));

/** The number of cores Node may use. */
export const coreCount = (): number => (typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length);

/**
 * Which backend to try: an explicit `prefer` wins; with 'auto', `CPG_BACKEND`
 * (if set) forces one. `forced` means: no fallback.
 */
export const resolvePreference = (
  prefer: 'auto' | BackendName,
  env: string | undefined,
): E.Either<CpgError, { readonly name: BackendName | 'auto'; readonly forced: boolean }> => {
  if (prefer !== 'auto') return E.right({ name: prefer, forced: true });
  if (env === undefined || env === '' || env === 'auto') return E.right({ name: 'auto', forced: false });
  const named = backendNames.find((n) => n === env);
  return named !== undefined
    ? E.right({ name: named, forced: true })
    : E.left({ tag: 'ConfigError', field: 'CPG_BACKEND', message: `'${env}' is not one of auto, ${backendNames.join(', ')}` });
};

// ---- tensorflow (native bindings, optional) -------------------------------

const nativePackages = ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node'] as const;

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

// ---- wasm -------------------------------------------------------------------

/** tfjs's own wasm factory (single-threaded SIMD build), captured before we replace it. */
const stockWasmFactory = tf.findBackendFactory('wasm');
const wasmPriority = 2;

const registerWasmFactory = (factory: () => Promise<tf.KernelBackend> | tf.KernelBackend): void => {
  if (tf.findBackendFactory('wasm') !== null) tf.removeBackend('wasm');
  tf.registerBackend('wasm', factory, wasmPriority);
};

/** The live wasm backend, if tfjs has one: what runs is read off it, never remembered beside it. */
const liveWasm = (): tfwasm.BackendWasm | undefined => tf.engine().registry['wasm'] as tfwasm.BackendWasm | undefined;

/** What a live wasm backend is: its threads (XNNPACK's pool), SIMD, and which build and kernels. */
const wasmInfo = async (b: tfwasm.BackendWasm, note = ''): Promise<BackendInfo> => {
  const threads = b.wasm.tfjs.getThreadsCount();
  const threaded = (b.wasm as unknown as { PThread?: unknown }).PThread !== undefined;
  const kernels = wasmKernelsInstalled() ? 'with cpg training kernels' : 'stock kernels';
  return {
    name: 'wasm',
    threads,
    simd: (await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT')) === true,
    detail: `${note}tfjs-backend-wasm ${threaded ? `threaded SIMD build, ${threads} threads` : 'single-threaded build'}, ${kernels}`,
  };
};

const setWasm = async (note: string): Promise<E.Either<CpgError, BackendInfo>> => {
  const ok = await tf.setBackend('wasm');
  const live = liveWasm();
  return ok && live !== undefined
    ? E.right(await wasmInfo(live, note))
    : E.left(backendError('wasm', `${note}the wasm module did not load: reinstall @tensorflow/tfjs-backend-wasm@4.22.0`));
};

const loadWasm = async (threads: number): Promise<E.Either<CpgError, BackendInfo>> => {
  if (stockWasmFactory === null) return E.left(backendError('wasm', 'the wasm backend did not register: reinstall @tensorflow/tfjs-backend-wasm@4.22.0'));
  installWasmKernels();
  let threadedFailure = '';
  if (threads > 1) {
    // Built here rather than inside tfjs's factory call: a failure is ours to report, without tfjs's console warnings.
    tfwasm.setThreadsCount(threads);
    const built = await createThreadedWasmBackend(threads).then(
      (b) => E.right<string, tfwasm.BackendWasm>(b),
      (e: unknown) => E.left<string, tfwasm.BackendWasm>(messageOf(e)),
    );
    if (E.isRight(built)) {
      registerWasmFactory(() => built.right);
      const r = await setWasm('');
      if (E.isRight(r)) return r;
      threadedFailure = `threaded build failed (${r.left.message}); `;
    } else threadedFailure = `threaded build failed (${built.left}); `;
  }
  tfwasm.setThreadsCount(1);
  registerWasmFactory(stockWasmFactory);
  return setWasm(threadedFailure);
};

const selectWasm = async (threads: number | undefined): Promise<E.Either<CpgError, BackendInfo>> => {
  // Reuse the live instance unless a different thread count is asked for:
  // re-creating it loses every tensor that lives on it.
  const live = liveWasm();
  if (live !== undefined && (threads === undefined || threads === live.wasm.tfjs.getThreadsCount())) return setWasm('');
  return loadWasm(threads ?? coreCount());
};

// ---- cpu --------------------------------------------------------------------

const loadCpu = async (): Promise<E.Either<CpgError, BackendInfo>> => {
  if (!(await tf.setBackend('cpu'))) return E.left(backendError('cpu', 'the cpu backend did not initialise: reinstall @tensorflow/tfjs@4.22.0'));
  // The cpu backend greets its first tensor with a banner urging tfjs-node;
  // the choice was made here on purpose (and `detail` says how to do better).
  const cpu = tf.findBackend('cpu') as { firstUse?: boolean } | null;
  if (cpu !== null && cpu.firstUse === true) cpu.firstUse = false;
  return E.right({ name: 'cpu', threads: 1, simd: false, detail: 'tfjs pure-JS cpu backend (slow; wasm or tfjs-node are faster)' });
};

const load = (name: BackendName, threads: number | undefined): Promise<E.Either<CpgError, BackendInfo>> =>
  name === 'tensorflow' ? loadTensorflow() : name === 'wasm' ? selectWasm(threads) : loadCpu();

/**
 * Loads and sets the backend. Idempotent: asking again for what is loaded
 * returns the same info without re-initialising (for wasm, a different
 * `threads` re-creates it, dropping the tensors that live on it).
 */
export const selectBackend = (o: BackendRequest): TE.TaskEither<CpgError, BackendInfo> =>
  pipe(
    littleEndian()
      ? TE.fromEither(resolvePreference(o.prefer, process.env['CPG_BACKEND']))
      : TE.left<CpgError, never>(backendError(o.prefer, 'cpg stores tensors little-endian and this machine is big-endian: not supported')),
    TE.chainEitherK((p) =>
      o.threads !== undefined && (!Number.isInteger(o.threads) || o.threads < 1)
        ? E.left<CpgError, typeof p>({ tag: 'ConfigError', field: 'threads', message: `${o.threads} is not a positive integer` })
        : E.right(p),
    ),
    TE.chain((p) => async () => {
      if (p.name !== 'auto') return load(p.name, o.threads);
      let last: E.Either<CpgError, BackendInfo> = E.left(backendError('auto', 'no backend loaded'));
      for (const name of backendNames) {
        last = await load(name, o.threads);
        if (E.isRight(last)) return last;
      }
      return last;
    }),
  );

/**
 * Runs f with the named backend set (loading it if needed; wasm keeps its
 * current thread count), then sets the previous backend again. For tests and
 * comparisons; f may be async.
 */
export const withBackend = <A>(name: BackendName, f: () => A | Promise<A>): TE.TaskEither<CpgError, A> =>
  pipe(
    TE.rightIO(() => tf.getBackend() as string | undefined),
    TE.chain((previous) =>
      pipe(
        selectBackend({ prefer: name }),
        TE.chain(() =>
          TE.tryCatch(
            async () => {
              try {
                return await f();
              } finally {
                if (previous !== undefined && previous !== name) await tf.setBackend(previous);
              }
            },
            (e): CpgError => backendError(name, messageOf(e)),
          ),
        ),
      ),
    ),
  );

/**
 * Disposes the wasm backend (terminating its threads) and forgets the choice;
 * a later selectBackend loads afresh. Not needed for a clean exit (the
 * threads never keep Node alive); for tests and long-lived hosts.
 */
export const shutdownBackend = (): TE.TaskEither<CpgError, void> =>
  TE.tryCatch(
    async () => {
      if (liveWasm() !== undefined && stockWasmFactory !== null) registerWasmFactory(stockWasmFactory);
    },
    (e): CpgError => backendError('wasm', messageOf(e)),
  );
