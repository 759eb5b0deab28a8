/**
 * The backend functions on the Node platform: what `cpg/node` (and the CLI)
 * export under the core's names, so a Node caller gets tfjs-node-gpu, threaded
 * wasm on every core and CPG_BACKEND without passing a platform. A request
 * that names its own platform keeps it.
 */
import type * as TE from 'fp-ts/lib/TaskEither.js';
import type { CpgError } from '../algebra/errors.js';
import * as core from '../effects/backend.js';
import { nodePlatform } from './platform.js';

export type { BackendAdapter, BackendInfo, BackendLease, BackendName, BackendPlatform, BackendRequest } from '../effects/backend.js';
export { backendUsers, deviceOf, resolvePreference, shutdownBackend } from '../effects/backend.js';
export { coreCount, nodePlatform } from './platform.js';
export { gpuDevices, hardwareVulkanDriver, isSoftwareAdapter, releaseWebgpu } from './webgpu.js';

const onNode = (o: core.BackendRequest): core.BackendRequest => (o.platform !== undefined ? o : { ...o, platform: nodePlatform() });

/** `acquireBackend` of the core, on Node's platform unless the request names one. */
export const acquireBackend = (o: core.BackendRequest): TE.TaskEither<CpgError, core.BackendLease> => core.acquireBackend(onNode(o));

/** `selectBackend` of the core, on Node's platform unless the request names one. */
export const selectBackend = (o: core.BackendRequest): TE.TaskEither<CpgError, core.BackendInfo> => core.selectBackend(onNode(o));

/** `withBackend` of the core, on Node's platform. */
export const withBackend = <A>(name: core.BackendName, f: () => A | Promise<A>): TE.TaskEither<CpgError, A> => core.withBackend(name, f, nodePlatform());
