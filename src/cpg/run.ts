/**
 * A benchmark run: every task is known when it starts (the reference's
 * setting). Goals first (one individually trained network per task, unless a
 * goal file gives them), then every task with the chosen method, then the
 * report. A resumed run first proves that what it finished before is still
 * exactly there, and continues at the stage it was in.
 *
 * The data comes in from the edge (a benchmark loader, in the stream layer):
 * the method never imports a data source.
 */
import * as E from 'fp-ts/lib/Either.js';
import { pipe } from 'fp-ts/lib/function.js';
import { deviceOf } from '../effects/backend.js';
import type { GoalFile, RunConfig } from '../algebra/config.js';
import type { RunReport } from '../algebra/report.js';
import { type CpgError, checkpointError, configError, dataError } from '../algebra/errors.js';
import { type RunManifest, type TaskEntry, type TaskSource, modelShape } from '../algebra/manifest.js';
import type { SnapshotIndex } from '../algebra/snapshot.js';
import type { Task } from '../algebra/task.js';
import type { Env } from '../effects/env.js';
import { initNet } from '../effects/network.js';
import { checkBlobs, manifestName } from '../effects/checkpoint.js';
import { type RunCtx, type RunState, architectureFor, commit, load, save } from './context.js';
import { type Flow, chain, emit, fail, fold, fromEither, fromTE, mapValue, pure } from './flow.js';
import { trainIndividual } from './baselines.js';
import { type MethodRegistry, checkedMethod } from './methods/registry.js';
import { recheckFinished } from './finish.js';
import { freshManifest, markFinished, matchTask, taskEntryFor, writeReports } from './model.js';

/** How a caller stops a run: it ends at its next step with its last checkpoint valid (AbortSignal fits); and the methods it knows. */
export interface RunOptions {
  readonly signal?: { readonly aborted: boolean };
  /** The methods a configuration may name; default: CPG and its baselines. */
  readonly methods?: MethodRegistry;
}

const range = (from: number, to: number): number[] => Array.from({ length: Math.max(0, to - from + 1) }, (_, i) => from + i);

/** A run's context in this process. */
export const runCtxOf = (env: Env, config: RunConfig, m: Pick<RunManifest, 'inputShape' | 'elapsedSeconds'>, what: string, dataOf: (k: number) => Task | undefined, o: RunOptions, resumed: boolean) =>
  pipe(
    architectureFor(config.net, modelShape(m), what),
    E.mapLeft((why): CpgError => (resumed ? checkpointError(manifestName(env.store), `the run's config.net ${why}`) : configError('net', why))),
    E.bindTo('base'),
    E.bind('method', () => checkedMethod(o.methods)(config)),
    E.map(
      ({ base, method }): RunCtx => ({
        env,
        config,
        method,
        base,
        seed: config.seed,
        batchSize: config.batchSize,
        evalBatchSize: config.evalBatchSize,
        stopRequested: () => o.signal?.aborted === true,
        startedAt: env.clock.seconds(),
        elapsedBefore: m.elapsedSeconds,
        dataOf,
      }),
    ),
  );

/**
 * Everything after the first commit: prove finished tasks unchanged (when
 * resumed), goals, every task not yet finished, the report. A resumed run
 * writes nothing before its 'run-started' event (its task entries, when they
 * gain their data hashes, are committed after it): a checkpoint error before
 * that event is its checkpoint refused, with nothing changed (the command
 * line exits 2; see resumeExitCodeOf).
 */
const toEnd = (ctx: RunCtx, s0: RunState, count: number, resumed: boolean, entries: readonly TaskEntry[] = s0.manifest.tasks): Flow<RunReport> => {
  const c = ctx.config;
  const names = s0.manifest.tasks.map((t) => t.name);
  const dataAt = (k: number): Flow<Task> => {
    const d = ctx.dataOf(k);
    return d === undefined ? fail(dataError(undefined, `the data of task ${k} ('${names[k - 1] ?? '?'}') is not available`)) : pure(d);
  };
  const started = emit({
    type: 'run-started',
    method: c.method,
    benchmark: c.benchmark,
    net: c.net,
    backend: ctx.env.backend.name,
    threads: ctx.env.backend.threads,
    ...(deviceOf(ctx.env.backend) !== undefined ? { device: deviceOf(ctx.env.backend)! } : {}),
    tasks: names,
    planned: count,
    dir: ctx.env.store.location,
    resumed,
  });
  // A resumed run first proves that what it finished before is still exactly there.
  const rechecked = (s: RunState): Flow<RunState> =>
    resumed && s.manifest.state !== null && s.manifest.finished.length > 0
      ? pipe(
          load(ctx, s.manifest.state),
          chain(({ state }) => recheckFinished(ctx, s, state, s.manifest.finished.length, ctx.method.everyWeight)),
          mapValue((r) => r.state),
        )
      : pure(s);
  // Goals: from individually trained networks (CPG's default), a file, or the checkpoint.
  const wantsIndividual = ctx.method.goalNetworks(c);
  const goals = (s: RunState): Flow<RunState> => {
    if (!wantsIndividual)
      return s.manifest.goals !== null
        ? pipe(
            emit({ type: 'goals-ready', goals: s.manifest.goals, source: c.goals.kind === 'file' ? 'file' : 'checkpoint' }),
            mapValue(() => s),
          )
        : pure(s);
    // A goal network alone (onlyTask): that task's, once.
    const todo =
      c.onlyTask !== undefined
        ? s.manifest.individual.length === 0 ? [c.onlyTask] : []
        : range(s.manifest.individual.length + 1, count);
    return pipe(
      todo.length > 0 ? emit({ type: 'goals-started', tasks: c.onlyTask !== undefined ? 1 : count }) : pure(undefined),
      chain(() => fold(todo, s, (st, k) => pipe(dataAt(k), chain((d) => trainIndividual(ctx, st, d, k, count)), mapValue((r) => r.state)))),
      chain((st) => {
        if (st.manifest.goals !== null) return pipe(emit({ type: 'goals-ready', goals: st.manifest.goals, source: 'checkpoint' }), mapValue(() => st));
        const g = Object.fromEntries(st.manifest.individual.map((r) => [r.name, r.valAccuracy]));
        return pipe(
          commit(ctx, st, { ...st.manifest, goals: g }),
          chain((st2) => pipe(emit({ type: 'goals-ready', goals: g, source: 'individual' }), mapValue(() => st2))),
        );
      }),
    );
  };
  const learnAll = (s: RunState): Flow<RunState> =>
    ctx.method.model === 'per-task'
      ? pure(s)
      : fold(range(s.manifest.finished.length + 1, count), s, (st, k) =>
          pipe(
            dataAt(k),
            chain((d) =>
              pipe(
                emit({ type: 'task-started', task: k, name: d.name, of: count, purpose: 'learn' }),
                chain(() => ctx.method.learnTask(ctx, st, d, k, st.manifest.goals?.[d.name] ?? null)),
              ),
            ),
          ),
        );
  const upgraded: Flow<RunState> = entries.some((e, i) => e !== s0.manifest.tasks[i]) ? commit(ctx, s0, { ...s0.manifest, tasks: [...entries] }) : pure(s0);
  return pipe(
    started,
    chain(() => upgraded),
    chain(rechecked),
    chain(goals),
    chain(learnAll),
    chain((s) => markFinished(ctx, s)),
    chain((s) => writeReports(ctx, s)),
    chain((report) => pipe(emit({ type: 'run-finished', report, dir: ctx.env.store.location }), mapValue(() => report))),
  );
};

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
        chain((entries) =>
          pipe(
            ctx.method.model === 'per-task' ? pure<SnapshotIndex | null>(null) : pipe(fromEither(initNet(ctx.base, config.seed)), chain((net) => save(ctx, net, undefined))),
            chain((state) => {
              const m: RunManifest = {
                ...freshManifest({
                  config,
                  backend: env.backend.name,
                  device: deviceOf(env.backend),
                  inputShape: first.inputShape,
                  normalisation: first.normalisation,
                  tasks: entries,
                  planned: true,
                  goals: given.goals ?? null,
                  createdAt: env.clock.isoNow(),
                }),
                state,
              };
              return commit(ctx, { manifest: m, maxLogitDrift: 0 }, m);
            }),
          ),
        ),
        chain((s) => toEnd(ctx, s, given.tasks.length, false)),
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
    // The whole checkpoint is checked before anything is written (see toEnd's 'run-started').
    chain((ctx) => mapValue(() => ctx)(fromTE(checkBlobs(env.store, m)))),
    chain((ctx) =>
      pipe(
        // Every task whose data is here must be the data it was learned from; entries from before hashes get theirs.
        fold(m.tasks, [] as TaskEntry[], (acc, entry, i) => {
          const d = data[i];
          return d === undefined ? pure([...acc, entry]) : pipe(matchTask(ctx, entry, i + 1, d), mapValue((e) => [...acc, e]));
        }),
        chain((entries) => toEnd(ctx, { manifest: m, maxLogitDrift: 0 }, count, true, entries)),
      ),
    ),
  );
};
