/**
 * The public API: runs as event streams, their operators, the configuration
 * and report codecs, and the pure algebra for those who build on it.
 */
export { runEvents, finalReport, ofType, progress, sequence, overSeeds, goalsThenCpg } from './streams/run.js';
export type { RunEvent, Progress, Tagged } from './streams/run.js';
export type { RunRequest } from './cpg/run.js';
export { evaluateRun } from './cpg/evalRun.js';
export { withPreset, presets } from './cpg/presets.js';
export { decodeConfig, runConfigDefaults, RunConfig, RunReport, GoalFile } from './algebra/codecs.js';
export { describeError } from './algebra/errors.js';
export type { CpgError } from './algebra/errors.js';
export { renderReportHtml } from './report/html.js';
export * as graph from './algebra/graph.js';
export * as architectures from './algebra/architectures.js';
export * as ownerMap from './algebra/ownerMap.js';
export * as pickMask from './algebra/pickMask.js';
export * as backbone from './algebra/backbone.js';
export * as lifecycle from './algebra/lifecycle.js';
export * as schedule from './algebra/schedule.js';
