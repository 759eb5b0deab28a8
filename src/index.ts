/**
 * The public API, browser-safe (`cpg`): learners as event streams and their
 * operators, opening a learned model, the memory store, tasks from arrays,
 * backend choice over an injected platform, the configuration and report
 * codecs, and the pure algebra for those who build on it. Nothing reachable
 * from here imports a Node built-in; Node's edges are in `cpg/node`
 * (node/index.ts), the IndexedDB store in `cpg/browser` (browser/index.ts).
 */
export { learner, finalReport, ofType, progress, sequence, storeReleased } from './streams/run.js';
export type { RunEvent, Progress, Tagged, LearnerSetup, LearnRequest } from './streams/run.js';
export type { EvalRow } from './cpg/evalRun.js';
export { builtInMethods, withMethod } from './cpg/methods/registry.js';
export type { MethodRegistry } from './cpg/methods/registry.js';
export type { LearningMethod } from './cpg/methods/method.js';
export { openModel } from './cpg/predict.js';
export type { Model, ModelTask, Prediction, Ranked, PredictOptions, OpenOptions } from './cpg/predict.js';
export { withPreset, presets } from './cpg/presets.js';
export { decodeConfig, runConfigDefaults, RunConfig, GoalFile } from './algebra/config.js';
export { RunReport } from './algebra/report.js';
export type { RunConfigInput } from './algebra/config.js';
export { describeError, exitCodeOf } from './algebra/errors.js';
export type { CpgError } from './algebra/errors.js';
export { checkTask, checkTaskFor, fitNormalisation, minValidation, taskNameProblem } from './algebra/task.js';
export type { Task, Split, InputShape, Normalisation, Augmentation } from './algebra/task.js';
export type { GoalChoice, TaskSource } from './algebra/manifest.js';
export { taskFromArrays, taskFromArraysAsync } from './effects/sources/memory.js';
export type { ArraysTask, SplitInput } from './effects/sources/memory.js';
export { selectBackend, acquireBackend, backendUsers } from './effects/backend.js';
export type { BackendAdapter, BackendInfo, BackendLease, BackendRequest, BackendName } from './effects/backend.js';
export { webPlatform } from './effects/platform.js';
export type { BackendPlatform } from './effects/platform.js';
export { memoryStore } from './effects/stores/memory.js';
export type { MemoryStore } from './effects/stores/memory.js';
export type { Store, StoreLock, BlobRef } from './effects/store.js';
export { renderReportHtml } from './report/html.js';
export * as graph from './algebra/graph.js';
export * as architectures from './algebra/architectures.js';
export * as ownerMap from './algebra/ownerMap.js';
export * as pickMask from './algebra/pickMask.js';
export * as backbone from './algebra/backbone.js';
export * as lifecycle from './algebra/lifecycle.js';
export * as schedule from './algebra/schedule.js';
