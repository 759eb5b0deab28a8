/**
 * `cpg/node`: everything of `cpg`, with its backend-claiming entry points on
 * Node's platform (tfjs-node-gpu when installed, webgpu on Dawn, threaded
 * wasm on every core, CPG_BACKEND), plus Node's edges: the run-directory store, image folders,
 * the shipped benchmarks, and runs kept in a directory. The CLI is built on
 * this.
 */
export * from '../index.js';
// These names shadow the core's (an explicit export wins over `export *`): the same functions on Node's platform.
export { learner, openModel } from './defaults.js';
export { selectBackend, acquireBackend, backendUsers, shutdownBackend, coreCount, nodePlatform, releaseWebgpu } from './backend.js';
export { runEvents, evaluateRun, readRun, overSeeds, goalsThenCpg } from './runs.js';
export type { RunRequest, StoreOption, EvalOptions } from './runs.js';
export { readImageFolder } from './sources/folder.js';
export type { FolderOptions, FolderTask } from './sources/folder.js';
export { benchmarkTasks } from './sources/runTasks.js';
export { fsStore } from './stores/fs.js';
export type { FsStoreOptions } from './stores/fs.js';
