/**
 * Choosing the tensor backend at start-up: `tensorflow` (native TensorFlow,
 * where the platform loads it), else `webgpu` (tfjs's WebGPU backend, where
 * the platform offers it and finds a hardware adapter: Node with Dawn and a
 * GPU driver; never a software adapter unless named), else `webgl` (tfjs's
 * WebGL backend, where the platform is a browser with a WebGL context), else
 * `wasm` (shipped; with our
 * training kernels, threaded where the platform builds that), else `cpu`
 * (pure JS). The platform's setting (Node: `CPG_BACKEND`) names one when the
 * caller says 'auto'; a named backend that fails to load is an error that
 * says what to install, never a silent fallback.
 *
 * What the process offers comes in as a `BackendPlatform` (default:
 * `webPlatform()`); `cpg/node` passes Node's, so nothing here touches Node.
 */
import * as E from 'fp-ts/lib/Either.js';
import * as TE from 'fp-ts/lib/TaskEither.js';
import { pipe } from 'fp-ts/lib/function.js';
import * as tf from '@tensorflow/tfjs-core';
// The backends register themselves on import: cpu (pure JS) everywhere, webgl where tfjs sees a browser page.
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-webgl';
import * as tfwasm from '@tensorflow/tfjs-backend-wasm';
import { type BackendChoice, type BackendName, backendNames } from '../algebra/backends.js';
import { type CpgError, backendError, configError } from '../algebra/errors.js';
import { MAX_WASM_THREADS } from '../algebra/threads.js';
import { installWasmKernels, wasmKernelsInstalled } from './kernels/index.js';
import { type BackendPlatform, defaultThreads, webPlatform } from './platform.js';
import { littleEndian } from './store.js';

export type { BackendPlatform } from './platform.js';

// One vocabulary with the config and report codecs: the names are algebra/backends.ts's list.
export type { BackendName } from '../algebra/backends.js';

/** The GPU adapter a webgpu backend runs on, as WebGPU describes it. */
export interface BackendAdapter {
  /** The device's name (Dawn: `adapter.info.device`, e.g. 'NVIDIA GeForce RTX 4090', 'llvmpipe (LLVM 15.0.6, 256 bits)'). */
  readonly name: string;
  /** The driver's description (e.g. 'OpenGL ES 3.2 Mesa 22.3.6'). */
  readonly description: string;
  /** How it was reached (e.g. 'Dawn default backend (Vulkan)'). */
  readonly api: string;
  /** A CPU implementation (a fallback adapter, llvmpipe, lavapipe, SwiftShader), not a GPU. */
  readonly software: boolean;
}

/** What was loaded: the backend, its thread count and whether it runs wasm SIMD. */
export interface BackendInfo {
  readonly name: BackendName;
  readonly threads: number;
  readonly simd: boolean;
  readonly detail: string;
  /** webgpu: the adapter it runs on. */
  readonly adapter?: BackendAdapter;
}

/** The adapter in words, for reports ('llvmpipe (…), software'); undefined for backends without one. */
export const deviceOf = (i: BackendInfo): string | undefined =>
  i.adapter === undefined ? undefined : `${i.adapter.name}${i.adapter.description !== '' ? ` — ${i.adapter.description}` : ''}${i.adapter.software ? ' (software adapter)' : ''}`;

/** 'auto' tries tensorflow, webgpu (a hardware adapter only), webgl, wasm, cpu in that order (each where the platform has it); threads applies to wasm (default: all cores where the platform builds threaded wasm, else 1). */
export interface BackendRequest {
  readonly prefer: BackendChoice;
  readonly threads?: number;
  /** What the process offers [webPlatform()]; `cpg/node` gives Node's. */
  readonly platform?: BackendPlatform;
}

/** The reason in anything thrown or rejected, as text. */
export const messageOf = (e: unknown): string => (e instanceof Error ? e.message : typeof e === 'object' && e !== null && 'message' in e ? String((e as { message: unknown }).message) : String(e));

/**
 * Which backend to try: an explicit `prefer` wins; with 'auto', `CPG_BACKEND`
 * (if set) forces one. `forced` means: no fallback.
 */
export const resolvePreference = (
  prefer: BackendChoice,
  env: string | undefined,
): E.Either<CpgError, { readonly name: BackendChoice; readonly forced: boolean }> => {
  if (prefer !== 'auto') return E.right({ name: prefer, forced: true });
  if (env === undefined || env === '' || env === 'auto') return E.right({ name: 'auto', forced: false });
  const named = backendNames.find((n) => n === env);
  return named !== undefined
    ? E.right({ name: named, forced: true })
    : E.left(configError('CPG_BACKEND', `'${env}' is not one of auto, ${backendNames.join(', ')}`));
};

// ---- tensorflow (native bindings, where the platform has them) -------------

const loadTensorflow = (platform: BackendPlatform): Promise<E.Either<CpgError, BackendInfo>> =>
  platform.native !== undefined
    ? platform.native()
    : Promise.resolve(
        E.left(
          backendError(
            'tensorflow',
            `native TensorFlow runs only in Node (the ${platform.name} platform has none): import cpg/node there, or choose another backend (wasm, cpu)`,
          ),
        ),
      );

// ---- webgpu (Node: Dawn; a hardware adapter unless named) -------------------

const loadWebgpu = (platform: BackendPlatform, auto: boolean): Promise<E.Either<CpgError, BackendInfo>> =>
  platform.webgpu !== undefined
    ? platform.webgpu(auto)
    : Promise.resolve(
        E.left(
          backendError(
            'webgpu',
            `webgpu is wired for Node (Dawn, the webgpu package) and the ${platform.name} platform has none: import cpg/node there, or choose another backend (${platform.webgl === true ? 'webgl, ' : ''}wasm, cpu)`,
          ),
        ),
      );

// ---- webgl (a browser's GPU, or its software WebGL) -------------------------

const loadWebgl = async (platform: BackendPlatform): Promise<E.Either<CpgError, BackendInfo>> => {
  // tfjs registers webgl only where it sees a browser; Node's platform never offers it.
  const others = `choose another backend (${platform.native !== undefined ? 'tensorflow, ' : ''}wasm, cpu)`;
  if (platform.webgl !== true) return E.left(backendError('webgl', `webgl runs only in a browser page, not on the ${platform.name} platform: ${others}`));
  if (tf.findBackendFactory('webgl') === null) return E.left(backendError('webgl', `webgl runs only in a browser page, and tfjs found no page here: ${others}`));
  // Without this tfjs refuses a software WebGL (SwiftShader, headless Chromium) and the page would silently run elsewhere.
  tf.env().set('SOFTWARE_WEBGL_ENABLED', true);
  const ok = await tf.setBackend('webgl').catch(() => false);
  if (!ok || tf.getBackend() !== 'webgl')
    return E.left(backendError('webgl', 'the WebGL context did not initialise (no WebGL 2 or WebGL 1 in this page, or the GPU is blocked): choose wasm or cpu'));
  const version = tf.env().getNumber('WEBGL_VERSION');
  const float32 = tf.env().getBool('WEBGL_RENDER_FLOAT32_ENABLED');
  return E.right({ name: 'webgl', threads: 1, simd: false, detail: `tfjs-backend-webgl on WebGL ${version}${float32 ? '' : ', float16 textures (less precise)'}` });
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

const loadWasm = async (threads: number, platform: BackendPlatform): Promise<E.Either<CpgError, BackendInfo>> => {
  if (stockWasmFactory === null) return E.left(backendError('wasm', 'the wasm backend did not register: reinstall @tensorflow/tfjs-backend-wasm@4.22.0'));
  installWasmKernels();
  let threadedFailure = '';
  if (threads > 1 && platform.threadedWasm === undefined) threadedFailure = `threaded build failed (the ${platform.name} platform has no threaded wasm build); `;
  else if (threads > 1 && platform.threadedWasm !== undefined) {
    // Built here rather than inside tfjs's factory call: a failure is ours to report, without tfjs's console warnings.
    tfwasm.setThreadsCount(threads);
    const built = await platform.threadedWasm(threads).then(
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

const selectWasm = async (threads: number | undefined, platform: BackendPlatform): Promise<E.Either<CpgError, BackendInfo>> => {
  // Reuse the live instance unless a different thread count is asked for:
  // re-creating it loses every tensor that lives on it.
  const live = liveWasm();
  if (live !== undefined && (threads === undefined || threads === live.wasm.tfjs.getThreadsCount())) return setWasm('');
  return loadWasm(threads ?? defaultThreads(platform), platform);
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

const load = (name: BackendName, threads: number | undefined, platform: BackendPlatform, auto = false): Promise<E.Either<CpgError, BackendInfo>> =>
  name === 'tensorflow'
    ? loadTensorflow(platform)
    : name === 'webgpu'
      ? loadWebgpu(platform, auto)
      : name === 'webgl'
        ? loadWebgl(platform)
        : name === 'wasm'
          ? selectWasm(threads, platform)
          : loadCpu();

const choose = async (p: { readonly name: BackendChoice }, threads: number | undefined, platform: BackendPlatform): Promise<E.Either<CpgError, BackendInfo>> => {
  if (p.name !== 'auto') return load(p.name, threads, platform);
  let last: E.Either<CpgError, BackendInfo> = E.left(backendError('auto', 'no backend loaded'));
  for (const name of backendNames) {
    // webgpu in 'auto' only where the platform has it (no error to report otherwise), and only on a hardware adapter.
    if (name === 'webgpu' && platform.webgpu === undefined) continue;
    last = await load(name, threads, platform, true);
    if (E.isRight(last)) return last;
  }
  return last;
};

// ---- one backend per process, shared ---------------------------------------

/**
 * Who uses the backend. tfjs has one engine per process, and a backend switch
 * strands every tensor of the old one, so the backend is kept with the engine
 * and shared by every learner in the process: requests are decided one after
 * another (concurrent learners wait for the same initialisation), and while
 * any lease is held only a request the live backend satisfies is granted.
 */
interface Holder {
  /** The last decision: the next one waits for it. */
  queue: Promise<unknown>;
  users: number;
  live: { readonly info: BackendInfo; readonly threadsAsked: number | undefined } | undefined;
}

const holders = new WeakMap<object, Holder>();

const holderOf = (): Holder => {
  const engine = tf.engine();
  const found = holders.get(engine);
  if (found !== undefined) return found;
  const made: Holder = { queue: Promise.resolve(), users: 0, live: undefined };
  holders.set(engine, made);
  return made;
};

/** A claim on the process's backend; tensors made under it stay valid until it is released. */
export interface BackendLease {
  readonly info: BackendInfo;
  /** Gives the claim up (once; later calls do nothing). */
  readonly release: TE.TaskEither<never, void>;
}

const leaseOf = (h: Holder, info: BackendInfo): BackendLease => {
  h.users += 1;
  let released = false;
  return {
    info,
    release: TE.fromIO(() => {
      if (!released) {
        released = true;
        h.users -= 1;
      }
    }),
  };
};

const describeLive = (i: BackendInfo): string => (i.name === 'wasm' ? `wasm with ${i.threads} thread${i.threads === 1 ? '' : 's'}` : i.name);

const decide = async (
  h: Holder,
  p: { readonly name: BackendChoice },
  threads: number | undefined,
  platform: BackendPlatform,
): Promise<E.Either<CpgError, BackendLease>> => {
  const live = h.live;
  if (h.users > 0 && live !== undefined) {
    const sameName = p.name === 'auto' || p.name === live.info.name;
    const sameThreads = threads === undefined || live.info.name !== 'wasm' || threads === live.info.threads || threads === live.threadsAsked;
    if (sameName && sameThreads) return E.right(leaseOf(h, live.info));
    const n = threads ?? defaultThreads(platform);
    const asked = p.name === 'auto' || p.name === 'wasm' ? `wasm with ${n} thread${n === 1 ? '' : 's'}` : p.name;
    return E.left(
      backendError(
        p.name,
        `this process already runs ${describeLive(live.info)} for ${h.users} other learner${h.users === 1 ? '' : 's'}, and tfjs has one engine per process: ` +
          `${asked} cannot start beside it; ask for ${describeLive(live.info)} (or auto with no thread count), or start it after the others end`,
      ),
    );
  }
  const chosen = await choose(p, threads, platform);
  if (E.isLeft(chosen)) return chosen;
  h.live = { info: chosen.right, threadsAsked: threads };
  return E.right(leaseOf(h, chosen.right));
};

const checkedPreference = (o: BackendRequest, platform: BackendPlatform): E.Either<CpgError, { readonly name: BackendChoice; readonly forced: boolean }> =>
  pipe(
    littleEndian()
      ? resolvePreference(o.prefer, platform.setting)
      : E.left<CpgError, never>(backendError(o.prefer, 'cpg stores tensors little-endian and this machine is big-endian: not supported')),
    E.chain((p) =>
      o.threads !== undefined && (!Number.isInteger(o.threads) || o.threads < 1)
        ? E.left<CpgError, typeof p>(configError('threads', `${o.threads} is not a positive integer`))
        : o.threads !== undefined && o.threads > MAX_WASM_THREADS
          ? E.left<CpgError, typeof p>(configError('threads', `expected 1..${MAX_WASM_THREADS} (the most the wasm backend runs on), got ${o.threads}`))
          : E.right(p),
    ),
  );

/**
 * Claims the process's backend for as long as tensors live on it: loads and
 * sets it when nobody holds one, else shares the live one when it satisfies
 * the request ('auto', or the same name and thread count), else refuses with
 * a BackendError naming what runs. Release the lease when done.
 */
export const acquireBackend = (o: BackendRequest): TE.TaskEither<CpgError, BackendLease> => {
  const platform = o.platform ?? webPlatform();
  return pipe(
    TE.fromEither(checkedPreference(o, platform)),
    TE.chain((p) => () => {
      const h = holderOf();
      // After the one before, however it ended: a decision that threw must not block every later one.
      const next = () => decide(h, p, o.threads, platform);
      const decision = h.queue.then(next, next);
      h.queue = decision;
      return decision;
    }),
  );
};

/**
 * Loads and sets the backend, holding nothing. Idempotent: asking again for
 * what is loaded returns the same info without re-initialising (for wasm, a
 * different `threads` re-creates it, dropping the tensors that live on it —
 * refused while a learner holds it).
 */
export const selectBackend = (o: BackendRequest): TE.TaskEither<CpgError, BackendInfo> =>
  pipe(
    acquireBackend(o),
    TE.chainFirstTaskK((lease) => async () => void (await lease.release())),
    TE.map((lease) => lease.info),
  );

/** How many leases on the process's backend are held (for tests and hosts). */
export const backendUsers = (): number => holderOf().users;

/**
 * Runs f with the named backend set (loading it if needed; wasm keeps its
 * current thread count) under a lease, then — when nobody else holds the
 * backend — sets the previous one again. For tests and comparisons; f may be
 * async.
 */
export const withBackend = <A>(name: BackendName, f: () => A | Promise<A>, platform?: BackendPlatform): TE.TaskEither<CpgError, A> =>
  pipe(
    TE.rightIO(() => tf.getBackend() as string | undefined),
    TE.chain((previous) =>
      pipe(
        acquireBackend({ prefer: name, ...(platform !== undefined ? { platform } : {}) }),
        TE.chain((lease) =>
          TE.tryCatch(
            async () => {
              try {
                return await f();
              } finally {
                await lease.release();
                const h = holderOf();
                if (h.users === 0 && previous !== undefined && previous !== name) {
                  h.live = undefined;
                  await tf.setBackend(previous);
                }
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
export const shutdownBackend = (): TE.TaskEither<CpgError, void> => {
  const h = holderOf();
  if (h.users > 0) return TE.left(backendError('wasm', `${h.users} learner${h.users === 1 ? '' : 's'} still use the backend: stop them before shutting it down`));
  return TE.tryCatch(
    async () => {
      h.live = undefined;
      if (liveWasm() !== undefined && stockWasmFactory !== null) registerWasmFactory(stockWasmFactory);
    },
    (e): CpgError => backendError('wasm', messageOf(e)),
  );
};
