/**
 * Runs kept in a directory: a benchmark run started or resumed there as a
 * stream of events, its manifest, and its evaluation from the checkpoint, and
 * runs composed over seeds or goals. Node's, since the directory is a
 * `fsStore` and the data comes from the benchmark packages and image folders
 * on disk; each works on Node's backend platform.
 */
import { pipe } from 'fp-ts/lib/function.js';
import * as TE from 'fp-ts/lib/TaskEither.js';
import { EMPTY, type Observable, concatMap, connect, defer, filter, from, last, map, merge, of } from 'rxjs';
import type { BackendChoice } from '../algebra/backends.js';
import type { RunConfig } from '../algebra/config.js';
import type { RunReport } from '../algebra/report.js';
import { type CpgError, checkpointError, configError } from '../algebra/errors.js';
import type { RunManifest } from '../algebra/manifest.js';
import { recordedThreads } from '../algebra/threads.js';
import { type BackendInfo, acquireBackend } from '../effects/backend.js';
import { manifestName, readManifest } from '../effects/checkpoint.js';
import { envOf, type Env } from '../effects/env.js';
import { benchmarkTasks, loadRunTasks } from './sources/runTasks.js';
import { readGoalFile } from './goalFile.js';
import type { Store } from '../effects/store.js';
import { fsStore } from './stores/fs.js';
import type { RunEvent } from '../cpg/events.js';
import { type EvalRow, describeBackend, evaluateModel, tasksToEvaluate } from '../cpg/evalRun.js';
import { type Flow, chain, fail, fromTE, mapValue, pure, toTE } from '../cpg/flow.js';
import { type LearnRequest, learnerFlow } from '../cpg/learner.js';
import type { RunOptions } from '../cpg/context.js';
import { type RunTasks, newRun, resumeRun } from '../cpg/run.js';
import { type Tagged, sequence } from '../streams/run.js';
import { dataLoaded, eventsOn, locked, onBackend } from '../streams/work.js';
import { nodePlatform } from './platform.js';

/** Start a new benchmark run in `dir`, or resume the run there. */
export type RunRequest =
  | { readonly kind: 'new'; readonly dir: string; readonly config: RunConfig; readonly signal?: RunOptions['signal'] }
  | {
      readonly kind: 'resume';
      readonly dir: string;
      readonly backend?: BackendChoice;
      readonly threads?: number;
      readonly signal?: RunOptions['signal'];
    };

/** Where a run is kept, when not in its directory as usual (tests inject faults through a store). */
export interface StoreOption {
  readonly store?: Store;
}

/** The part of a run that continues a model learned over time: its pending task (if its data can be found), then the report. */
const resumeLearned = (env: Env, m: RunManifest, o: RunOptions): Flow<unknown> => {
  const k = m.finished.length + 1;
  const pending = m.tasks[k - 1];
  if (pending === undefined) return learnerFlow(env, m, EMPTY, o);
  const t0 = env.clock.seconds();
  return pipe(
    fromTE(loadRunTasks(m, new Set([k]))),
    chain((tasks) => dataLoaded(t0, env, { tasks })),
    chain(({ tasks }) => learnerFlow(env, m, of<LearnRequest>({ task: tasks[k - 1]!, ...(pending.source !== undefined ? { source: pending.source } : {}) }), o)),
  );
};

/** The refusal of a new run in a directory that holds one. */
const taken = (dir: string): CpgError => configError('out', `${dir} already holds a run: continue it with \`cpg resume ${dir}\`, or choose another --out`);

/** A new benchmark run's tasks, with their sources and the goal file's goals when the configuration names one. */
const newRunTasks = (config: RunConfig): Flow<RunTasks> =>
  pipe(
    fromTE(benchmarkTasks(config)),
    chain(({ bench, sources }) =>
      config.goals.kind === 'file'
        ? pipe(fromTE(readGoalFile(config.goals.path, bench.tasks.map((t) => t.name))), mapValue((goals): RunTasks => ({ tasks: bench.tasks, sources, goals })))
        : pure<RunTasks>({ tasks: bench.tasks, sources }),
    ),
  );

/** A new run on the backend: its data loaded and checked, then the run in the locked directory (which must still hold none). */
const newRunOn = (req: Extract<RunRequest, { kind: 'new' }>, store: Store, opts: RunOptions, backend: BackendInfo): Flow<unknown> => {
  const env = envOf(store, backend);
  const t0 = env.clock.seconds();
  return pipe(
    newRunTasks(req.config),
    chain((given) => dataLoaded(t0, env, given)),
    chain((given) => locked(store, (m, held) => (m !== null ? fail(taken(req.dir)) : newRun({ ...env, store: held }, req.config, given, opts)))),
  );
};

/** The run in a locked directory resumed on the backend: a benchmark run with every task planned, else a model learned over time. */
const resumeOn = (m: RunManifest, held: Store, opts: RunOptions, over: Partial<Pick<RunConfig, 'backend' | 'threads'>>, backend: BackendInfo): Flow<unknown> => {
  const env = envOf(held, backend);
  if (m.plannedTasks === undefined || m.tasks.length > m.plannedTasks) return resumeLearned(env, m, opts);
  const t0 = env.clock.seconds();
  const unfinished = new Set(m.tasks.map((_, i) => i + 1).filter((k) => k > m.finished.length));
  return pipe(
    fromTE(loadRunTasks(m, unfinished)),
    chain((tasks) => dataLoaded(t0, env, { tasks })),
    chain(({ tasks }) => resumeRun(env, m, tasks, opts, over)),
  );
};

/** The events of one run (new or resumed) in its directory; completes after 'run-finished' (or 'stopped'). */
export const runEvents = (req: RunRequest, o: StoreOption = {}): Observable<RunEvent> =>
  defer(() => {
    const store = o.store ?? fsStore(req.dir);
    const opts: RunOptions = req.signal !== undefined ? { signal: req.signal } : {};
    if (req.kind === 'new')
      // The configuration, data and goals are checked before the run directory is locked.
      return eventsOn(
        store,
        pipe(
          fromTE(readManifest(store)),
          chain((m) => (m !== null ? fail<null>(taken(req.dir)) : pure(null))),
          chain(() => onBackend(req.config.backend, req.config.threads, nodePlatform(), (backend) => newRunOn(req, store, opts, backend))),
        ),
      );
    const over = { ...(req.backend !== undefined ? { backend: req.backend } : {}), ...(req.threads !== undefined ? { threads: req.threads } : {}) };
    return eventsOn(
      store,
      locked(store, (m, held) =>
        m === null
          ? fail(checkpointError(manifestName(store), `no run here: ${req.dir} has no run.json (start one with \`cpg run --out ${req.dir}\`)`))
          : onBackend(req.backend ?? m.config.backend, req.threads ?? recordedThreads(m.config.threads), nodePlatform(), (backend) => resumeOn(m, held, opts, over, backend)),
      ),
    );
  });

/** The manifest of the run in `dir`, checked (null when the directory holds no run). */
export const readRun = (dir: string): TE.TaskEither<CpgError, RunManifest | null> => readManifest(fsStore(dir));

/** What `cpg eval` asks. */
export interface EvalOptions {
  readonly task?: string;
  /** The largest logit drift accepted on a backend other than the one that recorded a task [1e-4]. */
  readonly tolerance?: number;
  readonly backend?: BackendChoice;
  readonly threads?: number;
}

/** The rows of `cpg eval` on a backend, with the backend in words. */
const evaluatedOn = (store: Store, m: RunManifest, which: readonly number[], o: EvalOptions, backend: BackendInfo): TE.TaskEither<CpgError, { readonly backend: string; readonly rows: readonly EvalRow[] }> =>
  pipe(
    loadRunTasks(m, new Set()),
    TE.chain((data) => toTE(evaluateModel(envOf(store, backend), m, which, data, o.tolerance))),
    TE.map((rows) => ({ backend: describeBackend({ backend: backend.name, threads: backend.threads, simd: backend.simd }), rows })),
  );

/** Evaluate the finished tasks of the run in `dir` (or just one), from its checkpoint; writes nothing. */
export const evaluateRun = (dir: string, o: EvalOptions, so: StoreOption = {}): TE.TaskEither<CpgError, { readonly backend: string; readonly rows: readonly EvalRow[] }> => {
  const store = so.store ?? fsStore(dir);
  return pipe(
    readManifest(store),
    TE.chain((m) =>
      m === null
        ? TE.left<CpgError, RunManifest>(checkpointError(manifestName(store), `no run here: ${dir} has no run.json (start one with \`cpg run --out ${dir}\`)`))
        : TE.right(m),
    ),
    TE.bindTo('m'),
    TE.bind('which', ({ m }) => TE.fromEither(tasksToEvaluate(m, dir, o.task))),
    TE.chain(({ m, which }) =>
      TE.bracket(
        acquireBackend({ prefer: o.backend ?? m.config.backend, platform: nodePlatform(), ...(o.threads !== undefined ? { threads: o.threads } : m.config.threads !== undefined ? { threads: recordedThreads(m.config.threads)! } : {}) }),
        ({ info: backend }) => evaluatedOn(store, m, which, o, backend),
        (lease) => lease.release,
      ),
    ),
  );
};

/** The same configuration over several seeds, each in its own directory. */
export const overSeeds = (config: RunConfig, seeds: readonly number[], dirOf: (seed: number) => string): Observable<Tagged> =>
  sequence(seeds.map((seed) => ({ label: `seed ${seed}`, events: defer(() => runEvents({ kind: 'new', dir: dirOf(seed), config: { ...config, seed } })) })));

/**
 * Goals first, then CPG: an `individual` run in `goalsDir` whose validation
 * accuracies become the goal file of a CPG run in `cpgDir`.
 */
export const goalsThenCpg = (
  config: RunConfig,
  goalsDir: string,
  cpgDir: string,
  writeGoals: (report: RunReport) => Promise<string>,
): Observable<Tagged> =>
  runEvents({ kind: 'new', dir: goalsDir, config: { ...config, method: 'individual' } }).pipe(
    connect((goals) =>
      merge(
        goals.pipe(map((event): Tagged => ({ run: 'goals', event }))),
        // Once the goal networks' run has finished (not when it stopped), their accuracies are the CPG run's goals.
        goals.pipe(
          filter((e): e is Extract<RunEvent, { type: 'run-finished' }> => e.type === 'run-finished'),
          last(undefined, null),
          concatMap((e) => (e === null ? EMPTY : from(writeGoals(e.report)))),
          concatMap((path) => runEvents({ kind: 'new', dir: cpgDir, config: { ...config, method: 'cpg', goals: { kind: 'file', path } } })),
          map((event): Tagged => ({ run: 'cpg', event })),
        ),
      ),
    ),
  );

