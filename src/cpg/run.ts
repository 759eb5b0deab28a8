/**
 * A planned run (a benchmark run: every task is known when it starts, the
 * reference's setting), opened for the learner: a new one gets its first
 * manifest, with every task's entry and the initial network; a resumed one
 * has its checkpoint checked whole and the data given matched to its entries,
 * before anything is written. The learner (learner.ts, its planned course)
 * then learns it: goals first, every task with the chosen method, the report.
 *
 * The data comes in from the edge (a benchmark loader, in the stream layer):
 * the method never imports a data source.
 */
import { pipe } from 'fp-ts/lib/function.js';
import type { GoalFile, RunConfig } from '../algebra/config.js';
import type { RunReport } from '../algebra/report.js';
import { configError } from '../algebra/errors.js';
import type { RunManifest, TaskEntry, TaskSource } from '../algebra/manifest.js';
import type { Task } from '../algebra/task.js';
import type { Env } from '../effects/env.js';
import { checkBlobs } from '../effects/checkpoint.js';
import { type RunOptions, runCtxOf } from './context.js';
import { type Flow, chain, fail, fold, fromEither, fromTE, mapValue, pure } from './flow.js';
import { plannedFlow } from './learner.js';
import { createModel, matchTask, taskEntryFor } from './model.js';

/** The tasks of a new benchmark run, as the run sees them. */
export interface RunTasks {
  /** Every task, in order. */
  readonly tasks: readonly Task[];
  /** Where each came from (stored, so a resumed run finds the data again). */
  readonly sources: readonly TaskSource[];
  /** Goals read from a goal file, when the configuration names one. */
  readonly goals?: GoalFile;
}

/** A new benchmark run in an empty store: the first manifest (with every task's facts and the initial network), then to the end. */
export const newRun = (env: Env, config: RunConfig, given: RunTasks, o: RunOptions = {}): Flow<RunReport> => {
  const first = given.tasks[0];
  if (first === undefined) return fail(configError('tasks', 'a run needs at least one task'));
  const dataOf = (k: number) => given.tasks[k - 1];
  return pipe(
    fromEither(runCtxOf(env, config, { inputShape: first.inputShape, elapsedSeconds: 0 }, config.benchmark, dataOf, o, false)),
    chain((ctx) =>
      pipe(
        fold(given.tasks, [] as TaskEntry[], (acc, t, i) => pipe(taskEntryFor(ctx, t, given.sources[i] ?? { kind: 'memory' }), mapValue((e) => [...acc, e]))),
        chain((entries) => createModel(ctx, { first, tasks: entries, planned: true, goals: given.goals ?? null })),
        chain((s) => plannedFlow({ ctx, state: s, count: given.tasks.length, resumed: false, entries: s.manifest.tasks })),
      ),
    ),
  );
};

/**
 * Resume the run whose manifest is `m` with the data of its tasks (`data`,
 * task k at k − 1; a finished task whose data is missing is checked by its
 * probe alone). The configuration may change only where it does not change
 * results: the backend and its threads.
 */
export const resumeRun = (env: Env, m: RunManifest, data: readonly (Task | undefined)[], o: RunOptions = {}, over: Partial<Pick<RunConfig, 'backend' | 'threads'>> = {}): Flow<RunReport> => {
  const config: RunConfig = { ...m.config, ...(over.backend !== undefined ? { backend: over.backend } : {}), ...(over.threads !== undefined ? { threads: over.threads } : {}) };
  const count = m.plannedTasks ?? m.tasks.length;
  return pipe(
    fromEither(runCtxOf(env, config, m, config.benchmark, (k) => data[k - 1], o, true)),
    // The whole checkpoint is checked before anything is written: a checkpoint error before 'run-started' is the checkpoint refused, nothing changed (the command line exits 2; see resumeExitCodeOf).
    chain((ctx) => mapValue(() => ctx)(fromTE(checkBlobs(env.store, m)))),
    chain((ctx) =>
      pipe(
        // Every task whose data is here must be the data it was learned from; entries from before hashes get theirs.
        fold(m.tasks, [] as TaskEntry[], (acc, entry, i) => {
          const d = data[i];
          return d === undefined ? pure([...acc, entry]) : pipe(matchTask(ctx, entry, i + 1, d), mapValue((e) => [...acc, e]));
        }),
        chain((entries) => plannedFlow({ ctx, state: { manifest: m, maxLogitDrift: 0 }, count, resumed: true, entries })),
      ),
    ),
  );
};
