/**
 * tfjs's webgpu backend in Node, on Dawn from the `webgpu` package (its
 * dawn.node binaries ship inside it). Both packages are optional
 * dependencies: a missing one is a one-line BackendError.
 *
 * What it takes (measured; see the README's "GPU" section):
 *
 * - tfjs-backend-webgpu 4.22 looks for `navigator.gpu` once, when it is
 *   imported, so Dawn is set up first and the package imported after
 *   (dynamic imports, so that nobody else pays for either);
 * - Dawn's default backend (Vulkan on Linux) is tried first: it is what a
 *   machine with a GPU and its Vulkan driver has. When it gives no adapter,
 *   Dawn's OpenGL ES backend on EGL without a display
 *   (`EGL_PLATFORM=surfaceless`), which needs `featureLevel:
 *   'compatibility'`; tfjs asks for the adapter itself, so
 *   `navigator.gpu.requestAdapter` is wrapped to add that option. On a
 *   machine without a GPU that is Mesa's llvmpipe, a software adapter;
 * - tfjs 4.22 reads `adapter.info` (Dawn has it) before it would call the
 *   `requestAdapterInfo()` Dawn removed, so no shim is needed; one is added
 *   only for an adapter that has neither;
 * - `tf.setBackend('webgpu')` answers false when the device fails, while
 *   `tf.getBackend()` already says 'webgpu': the answer is checked.
 *
 * 'auto' never settles on a software adapter, and only looks for one at all
 * when a hardware Vulkan driver is installed (a file check; Dawn is not
 * loaded otherwise), so a machine without a GPU pays nothing.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createRequire } from 'node:module';
import * as E from 'fp-ts/lib/Either.js';
import * as tf from '@tensorflow/tfjs-core';
import { type CpgError, backendError } from '../algebra/errors.js';
import { type BackendAdapter, type BackendInfo, messageOf } from '../effects/backend.js';

const require = createRequire(import.meta.url);

const install = 'npm install webgpu@0.6.2 @tensorflow/tfjs-backend-webgpu@4.22.0';

const webgpuError = (message: string): CpgError => backendError('webgpu', message);

/** The few WebGPU shapes used here (the project's lib has no DOM types). */
interface GpuAdapterInfo {
  readonly vendor?: string;
  readonly architecture?: string;
  readonly device?: string;
  readonly description?: string;
  readonly isFallbackAdapter?: boolean;
}
interface GpuAdapter {
  readonly info?: GpuAdapterInfo;
  readonly isFallbackAdapter?: boolean;
  requestAdapterInfo?: () => Promise<GpuAdapterInfo>;
}
interface Gpu {
  requestAdapter(o?: Record<string, unknown>): Promise<GpuAdapter | null>;
}
interface DawnModule {
  create(options: string[]): Gpu;
  globals: object;
}

/** One way of asking Dawn for an adapter. */
interface Route {
  readonly api: string;
  /** Why the route cannot give an adapter here, known without loading anything (Vulkan without any driver). */
  readonly skip?: () => string | undefined;
  readonly options: string[];
  readonly featureLevel: 'compatibility' | undefined;
  readonly env: Readonly<Record<string, string>>;
}

const routes: readonly Route[] = [
  {
    api: 'Dawn default backend (Vulkan)',
    options: [],
    featureLevel: undefined,
    env: {},
    // Without a driver manifest the Vulkan loader finds nothing (and Dawn says so on stderr): not worth asking.
    skip: () => (vulkanDrivers().length === 0 ? 'no Vulkan driver is installed (no ICD manifest under /usr/share/vulkan/icd.d or /etc/vulkan/icd.d)' : undefined),
  },
  { api: 'Dawn OpenGL ES on EGL surfaceless', options: ['backend=opengles'], featureLevel: 'compatibility', env: { EGL_PLATFORM: 'surfaceless' } },
];

/** Names of CPU implementations of Vulkan, OpenGL or WebGPU. */
const softwareNames = /llvmpipe|lavapipe|softpipe|swiftshader|swrast|software|basic render/i;

/** Whether an adapter is a CPU (software) implementation: Dawn's fallback flag, or a known software driver's name. */
export const isSoftwareAdapter = (a: { readonly name: string; readonly description: string; readonly fallback: boolean }): boolean =>
  a.fallback || softwareNames.test(`${a.name} ${a.description}`);

const adapterOf = (a: GpuAdapter, api: string): BackendAdapter => {
  const info = a.info ?? {};
  const name = info.device !== undefined && info.device !== '' ? info.device : [info.vendor, info.architecture].filter((s) => s !== undefined && s !== '').join(' ') || 'unnamed adapter';
  const description = info.description ?? '';
  const fallback = info.isFallbackAdapter === true || a.isFallbackAdapter === true;
  return { name, description, api, software: isSoftwareAdapter({ name, description, fallback }) };
};

/**
 * The Vulkan drivers installed: the ICD manifests in the loader's
 * directories, or those VK_ICD_FILENAMES / VK_DRIVER_FILES name. Reads a few
 * directories; loads nothing.
 */
export const vulkanDrivers = (env: NodeJS.ProcessEnv = process.env): string[] => {
  const named = [env['VK_ICD_FILENAMES'], env['VK_DRIVER_FILES']].flatMap((v) => (v === undefined || v === '' ? [] : v.split(path.delimiter)));
  if (named.length > 0) return named;
  const dirs = ['/usr/share/vulkan/icd.d', '/usr/local/share/vulkan/icd.d', '/etc/vulkan/icd.d', ...(env['XDG_DATA_DIRS'] ?? '').split(':').filter((d) => d !== '').map((d) => path.join(d, 'vulkan', 'icd.d'))];
  return [...new Set(dirs)].flatMap((d) => {
    try {
      return fs.readdirSync(d).filter((f) => f.endsWith('.json')).map((f) => path.join(d, f));
    } catch {
      return [];
    }
  });
};

const entriesOf = (dir: string): readonly string[] => {
  try {
    return fs.readdirSync(dir);
  } catch {
    return [];
  }
};

/**
 * GPU device nodes a driver could open: DRM render nodes, NVIDIA's, WSL's
 * /dev/dxg. Mesa installs Intel's and AMD's Vulkan manifests whatever the
 * hardware, so a manifest alone does not mean a GPU; a CPU-only machine or
 * container has none of these nodes.
 */
export const gpuDevices = (list: (dir: string) => readonly string[] = entriesOf): string[] => [
  ...list('/dev/dri').filter((f) => f.startsWith('renderD')).map((f) => `/dev/dri/${f}`),
  ...list('/dev').filter((f) => /^nvidia\d+$/.test(f) || f === 'dxg').map((f) => `/dev/${f}`),
];

/** The first Vulkan driver for real hardware (not lavapipe or SwiftShader), if one is installed. */
export const hardwareVulkanDriver = (env: NodeJS.ProcessEnv = process.env): string | undefined =>
  vulkanDrivers(env).find((f) => !/lvp|lavapipe|swiftshader|softpipe/i.test(path.basename(f)));

/**
 * What was done with webgpu in this process, kept with tfjs's engine (as the
 * backend holder in effects/backend.ts is): the loaded backend's info, since
 * tfjs keeps the backend and a second request reuses it; and whether it was
 * released, after which tfjs cannot register it again.
 */
interface WebgpuState {
  loaded: BackendInfo | undefined;
  released: boolean;
}
const states = new WeakMap<object, WebgpuState>();
const stateOf = (): WebgpuState => {
  const engine = tf.engine();
  const found = states.get(engine);
  if (found !== undefined) return found;
  const made: WebgpuState = { loaded: undefined, released: false };
  states.set(engine, made);
  return made;
};

const firstLine = (m: string): string => m.split('\n')[0] ?? m;

const importDawn = async (): Promise<E.Either<CpgError, DawnModule>> => {
  try {
    require.resolve('@tensorflow/tfjs-backend-webgpu');
  } catch {
    return E.left(webgpuError(`@tensorflow/tfjs-backend-webgpu is not installed: ${install}, or choose another backend (wasm)`));
  }
  try {
    // A variable specifier: the package is optional, never a compile-time dependency.
    const spec: string = 'webgpu';
    const m = (await import(spec)) as DawnModule;
    return E.right(m);
  } catch (e) {
    const m = messageOf(e);
    return E.left(
      webgpuError(
        /Cannot find (package|module) 'webgpu'/.test(m)
          ? `the webgpu package (Dawn) is not installed: ${install}, or choose another backend (wasm)`
          : `the webgpu package (Dawn) did not load: ${firstLine(m)}`,
      ),
    );
  }
};

/** The first route that gives an adapter (in 'auto', a hardware one), with what each refused. */
const findAdapter = async (dawn: DawnModule, auto: boolean): Promise<E.Either<string, { gpu: Gpu; route: Route; found: GpuAdapter; adapter: BackendAdapter }>> => {
  const refused: string[] = [];
  for (const route of routes) {
    const skipped = route.skip?.();
    if (skipped !== undefined) {
      refused.push(`${route.api}: ${skipped}`);
      continue;
    }
    for (const [k, v] of Object.entries(route.env)) if (process.env[k] === undefined) process.env[k] = v;
    // Dropped (unreferenced) when the route gives nothing: a held instance would keep the process alive.
    const gpu: Gpu = dawn.create(route.options);
    const asked = { powerPreference: 'high-performance', ...(route.featureLevel !== undefined ? { featureLevel: route.featureLevel } : {}) };
    let why = 'no adapter';
    const a = await gpu.requestAdapter(asked).catch((e: unknown) => {
      why = firstLine(messageOf(e));
      return null;
    });
    if (a === null) {
      refused.push(`${route.api}: ${why}`);
      continue;
    }
    const adapter = adapterOf(a, route.api);
    if (auto && adapter.software) {
      refused.push(`${route.api}: ${adapter.name} is a software adapter`);
      continue;
    }
    return E.right({ gpu, route, found: a, adapter });
  }
  return E.left(refused.join('; '));
};

/** Sets `navigator.gpu` (Node 20 has no navigator; later Node versions have one without gpu). */
const installNavigator = (gpu: Gpu): void => {
  const g = globalThis as { navigator?: object };
  if (g.navigator === undefined) Object.defineProperty(globalThis, 'navigator', { value: { gpu }, configurable: true, writable: true });
  else Object.defineProperty(g.navigator, 'gpu', { value: gpu, configurable: true, writable: true });
};

/**
 * tfjs asks for the adapter itself: its first request gets the adapter found
 * already (Dawn would otherwise set one up twice), later ones the route's
 * options; an adapter with no info gets an empty one.
 */
const wrapRequests = (gpu: Gpu, route: Route, found: GpuAdapter): void => {
  const original = gpu.requestAdapter.bind(gpu);
  let first: GpuAdapter | undefined = found;
  gpu.requestAdapter = async (o?: Record<string, unknown>) => {
    const a = first ?? (await original({ ...(o ?? {}), ...(route.featureLevel !== undefined ? { featureLevel: route.featureLevel } : {}) }));
    first = undefined;
    if (a !== null && !('info' in a) && typeof a.requestAdapterInfo !== 'function') a.requestAdapterInfo = async () => ({ vendor: '', architecture: '' });
    return a;
  };
};

const infoOf = (adapter: BackendAdapter): BackendInfo => ({
  name: 'webgpu',
  threads: 1,
  simd: false,
  detail: `tfjs-backend-webgpu on ${adapter.api}: ${adapter.name}${adapter.description !== '' ? ` (${adapter.description})` : ''}${adapter.software ? ' — a software adapter (the CPU), not a GPU' : ''}`,
  adapter,
});

/**
 * Loads and sets tfjs's webgpu backend on Dawn. `auto`: only on a hardware
 * adapter, and only when a hardware Vulkan driver is installed.
 */
export const loadWebgpu = async (auto: boolean): Promise<E.Either<CpgError, BackendInfo>> => {
  const st = stateOf();
  const loaded = st.loaded;
  if (loaded !== undefined) {
    if (auto && loaded.adapter?.software === true) return E.left(webgpuError(`only a software adapter is here (${loaded.adapter.name}); auto does not choose it`));
    return (await tf.setBackend('webgpu').catch(() => false)) ? E.right(loaded) : E.left(webgpuError('the webgpu backend loaded before no longer initialises'));
  }
  if (st.released) return E.left(webgpuError('webgpu was released in this process and cannot load again: start a new process'));
  if (auto) {
    const driver = hardwareVulkanDriver();
    if (driver === undefined) return E.left(webgpuError('no hardware Vulkan driver is installed (no GPU ICD under /usr/share/vulkan/icd.d); auto does not try webgpu on a CPU: ask for it with --backend webgpu'));
    // Without a device node Dawn would only find a software adapter, after seconds of probing and warnings on stderr.
    if (gpuDevices().length === 0) return E.left(webgpuError(`a Vulkan driver is installed (${path.basename(driver)}) but no GPU device (/dev/dri/renderD*, /dev/nvidia*): auto does not try webgpu on a CPU: ask for it with --backend webgpu`));
  }
  const dawn = await importDawn();
  if (E.isLeft(dawn)) return dawn;
  const found = await findAdapter(dawn.right, auto);
  if (E.isLeft(found))
    return E.left(webgpuError(`Dawn found no ${auto ? 'hardware ' : ''}adapter (${found.left}): install the GPU's Vulkan driver, or choose another backend (wasm)`));
  const { gpu, route, adapter } = found.right;
  Object.assign(globalThis, dawn.right.globals);
  wrapRequests(gpu, route, found.right.found);
  installNavigator(gpu);
  try {
    const spec: string = '@tensorflow/tfjs-backend-webgpu';
    await import(spec);
  } catch (e) {
    return E.left(webgpuError(`@tensorflow/tfjs-backend-webgpu did not load: ${firstLine(messageOf(e))}`));
  }
  if (tf.findBackendFactory('webgpu') === null)
    return E.left(webgpuError('tfjs-backend-webgpu did not register (it was imported before navigator.gpu was set): load webgpu through cpg only'));
  const ok = await tf.setBackend('webgpu').catch(() => false);
  if (!ok || tf.getBackend() !== 'webgpu') return E.left(webgpuError(`the webgpu device did not initialise on ${adapter.name} (${adapter.api}): choose another backend (wasm)`));
  const info = infoOf(adapter);
  st.loaded = info;
  return E.right(info);
};

/**
 * Lets go of Dawn so the process can exit at once: removes tfjs's webgpu
 * backend (its device and buffers) and `navigator.gpu`, for the rest of the
 * process (tfjs registers the backend only when its package is imported).
 */
export const releaseWebgpu = (): void => {
  const st = stateOf();
  if (st.loaded === undefined) return;
  st.released = true;
  if (tf.findBackend('webgpu') !== null) tf.removeBackend('webgpu');
  const nav = (globalThis as { navigator?: { gpu?: unknown } }).navigator;
  if (nav !== undefined) delete nav.gpu;
  st.loaded = undefined;
};
