/**
 * The public API: learners and runs as event streams, their operators, where
 * models are kept (stores), tasks from arrays, image folders and benchmarks,
 * the configuration and report codecs, and the pure algebra for those who
 * build on it.
 */
export { runEvents, learner, evaluateRun, finalReport, ofType, progress, sequence, overSeeds, goalsThenCpg } from './streams/run.js';
export type { RunEvent, Progress, Tagged, RunRequest, LearnerSetup, LearnRequest, EvalOptions } from './streams/run.js';
export type { EvalRow } from './cpg/evalRun.js';
export { openModel } from './cpg/predict.js';
export type { Model, ModelTask, Prediction, Ranked, PredictOptions, OpenOptions } from './cpg/predict.js';
export { withPreset, presets } from './cpg/presets.js';
export { decodeConfig, runConfigDefaults, RunConfig, RunReport, GoalFile } from './algebra/codecs.js';
export type { RunConfigInput } from './algebra/codecs.js';
export { describeError, exitCodeOf } from './algebra/errors.js';
export type { CpgError } from './algebra/errors.js';
export { checkTask, checkTaskFor, fitNormalisation, minValidation } from './algebra/task.js';
export type { Task, Split, InputShape, Normalisation, Augmentation } from './algebra/task.js';
export type { GoalChoice, TaskSource } from './algebra/manifest.js';
export { taskFromArrays } from './effects/sources/memory.js';
export type { ArraysTask, SplitInput } from './effects/sources/memory.js';
export { readImageFolder } from './effects/sources/folder.js';
export type { FolderOptions, FolderTask } from './effects/sources/folder.js';
export { benchmarkTasks } from './effects/sources/runTasks.js';
export { selectBackend, acquireBackend, backendUsers } from './effects/backend.js';
export type { BackendInfo, BackendLease, BackendRequest, BackendName } from './effects/backend.js';
export { memoryStore } from './effects/stores/memory.js';
export type { MemoryStore } from './effects/stores/memory.js';
export { fsStore } from './effects/stores/fs.js';
export type { Store, BlobRef } from './effects/store.js';
export { renderReportHtml } from './report/html.js';
export * as graph from './algebra/graph.js';
export * as architectures from './algebra/architectures.js';
export * as ownerMap from './algebra/ownerMap.js';
export * as pickMask from './algebra/pickMask.js';
export * as backbone from './algebra/backbone.js';
export * as lifecycle from './algebra/lifecycle.js';
export * as schedule from './algebra/schedule.js';
