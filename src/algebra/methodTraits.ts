/**
 * What the pure parts of the library need to know of a method (a sweep's
 * goal jobs, a run's report): what its model holds and where its goals come
 * from. The method itself (src/cpg/methods) adds how it learns a task.
 */
import type { RunConfig } from './config.js';

export interface MethodTraits {
  /** The name a configuration gives (`--method`). */
  readonly name: string;
  /**
   * What the model holds: one shared network every task learns into, or a
   * network per task (the individual baseline: no shared model, so nothing to
   * learn into, evaluate, predict with or export).
   */
  readonly model: 'shared' | 'per-task';
  /** Whether a benchmark run trains one network per task first, for the tasks' goals (or, for the individual baseline, as the result). */
  readonly goalNetworks: (c: RunConfig) => boolean;
}

/** Methods' traits by name (undefined for a name the caller does not know). */
export type TraitsOf = (name: string) => MethodTraits | undefined;
