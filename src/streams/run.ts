/**
 * Runs and learners as RxJS streams of typed events, and operators that
 * compose them.
 *
 * Subscribing starts the work; unsubscribing stops it at the next training
 * step (checkpoints are only ever replaced atomically at stage boundaries, so
 * the last one stays valid). A stop asked for through `signal` ends the same
 * way, and then the stream emits 'stopped' and completes — after the store's
 * lock is released. An error arrives as the stream's error: a CpgError value,
 * never an exception object; an unexpected one is an InternalError.
 */
import { pipe } from 'fp-ts/lib/function.js';
import * as TE from 'fp-ts/lib/TaskEither.js';
import {
  EMPTY,
  Observable,
  type ObservableInput,
  type OperatorFunction,
  type Subscriber,
  catchError,
  concat,
  finalize,
  defer,
  filter,
  from,
  last,
  map,
  mergeMap,
  of,
  scan,
  tap,
  throwError,
} from 'rxjs';
import type { BackendChoice, RunConfig, RunReport } from '../algebra/codecs.js';
import { type CpgError, internalError, isCpgError } from '../algebra/errors.js';
import type { GoalChoice, RunManifest } from '../algebra/manifest.js';
import type { Task } from '../algebra/task.js';
import { type BackendInfo, acquireBackend } from '../effects/backend.js';
import { manifestName, readManifest } from '../effects/checkpoint.js';
import { envOf, type Env } from '../effects/env.js';
import { benchmarkTasks, loadRunTasks } from '../effects/sources/runTasks.js';
import { readGoalFile } from '../effects/goalFile.js';
import type { Store } from '../effects/store.js';
import { fsStore } from '../effects/stores/fs.js';
import type { RunEvent } from '../cpg/events.js';
import { type EvalRow, describeBackend, evaluateModel, tasksToEvaluate } from '../cpg/evalRun.js';
import { type Flow, chain, emit, eventsOf, fail, fromTE, mapValue, pure, toTE, using } from '../cpg/flow.js';
import { type LearnRequest, learnerFlow } from '../cpg/learner.js';
import { type RunOptions, newRun, resumeRun } from '../cpg/run.js';

export type { RunEvent } from '../cpg/events.js';
export type { LearnRequest } from '../cpg/learner.js';

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

/** Work on a store under its lock, given the store's manifest. */
const locked = <A>(store: Store, body: (m: RunManifest | null) => Flow<A>): Flow<A> =>
  using(store.lock, (lock) => lock.release, () => pipe(fromTE(readManifest(store)), chain(body)));

/**
 * Work on the process's backend, holding a claim on it throughout: concurrent
 * learners share one initialisation, and none can switch it under another.
 */
const onBackend = <A>(prefer: BackendChoice, threads: number | undefined, body: (b: BackendInfo) => Flow<A>): Flow<A> =>
  using(acquireBackend({ prefer, ...(threads !== undefined ? { threads } : {}) }), (lease) => lease.release, (lease) => body(lease.info));

/**
 * The events of work on a store: a stop asked for becomes a last 'stopped'
 * event; an exception that escaped becomes an InternalError.
 */
const eventsOn = (store: Store, work: Flow<unknown>): Observable<RunEvent> =>
  eventsOf(work).pipe(
    catchError((e: unknown) =>
      isCpgError(e) && e.tag === 'Cancelled'
        ? of<RunEvent>({ type: 'stopped', dir: store.location, message: e.message })
        : throwError(() => (isCpgError(e) ? e : internalError(e))),
    ),
  );

const dataLoaded = <A extends { readonly tasks: readonly (Task | undefined)[] }>(t0: number, env: Env, x: A): Flow<A> =>
  pipe(
    emit({
      type: 'data-loaded',
      seconds: env.clock.seconds() - t0,
      trainImages: x.tasks.reduce((a, t) => a + (t?.train.count ?? 0), 0),
      tasks: x.tasks.filter((t) => t !== undefined).length,
    }),
    mapValue(() => x),
  );

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

/** The events of one run (new or resumed) in its directory; completes after 'run-finished' (or 'stopped'). */
export const runEvents = (req: RunRequest, o: StoreOption = {}): Observable<RunEvent> =>
  defer(() => {
    const store = o.store ?? fsStore(req.dir);
    const opts: RunOptions = req.signal !== undefined ? { signal: req.signal } : {};
    if (req.kind === 'new') {
      const taken = (dir: string): CpgError => ({ tag: 'ConfigError', field: 'out', message: `${dir} already holds a run: continue it with \`cpg resume ${dir}\`, or choose another --out` });
      // The configuration, data and goals are checked before the run directory is locked.
      return eventsOn(
        store,
        pipe(
          fromTE(readManifest(store)),
          chain((m) => (m !== null ? fail<null>(taken(req.dir)) : pure(null))),
          chain(() =>
            onBackend(req.config.backend, req.config.threads, (backend) => {
              const env = envOf(store, backend);
              const t0 = env.clock.seconds();
              return pipe(
                fromTE(benchmarkTasks(req.config)),
                chain(({ bench, sources }) =>
                  req.config.goals.kind === 'file'
                    ? pipe(fromTE(readGoalFile(req.config.goals.path, bench.tasks.map((t) => t.name))), mapValue((goals) => ({ bench, sources, goals })))
                    : pure({ bench, sources }),
                ),
                chain(({ bench, ...rest }) => dataLoaded(t0, env, { tasks: bench.tasks, ...rest })),
                chain((given) => locked(store, (m) => (m !== null ? fail(taken(req.dir)) : newRun(env, req.config, given, opts)))),
              );
            }),
          ),
        ),
      );
    }
    return eventsOn(
      store,
      locked(store, (m) => {
        if (m === null)
          return fail({ tag: 'CheckpointError', file: manifestName(store), message: `no run here: ${req.dir} has no run.json (start one with \`cpg run --out ${req.dir}\`)` });
        return onBackend(req.backend ?? m.config.backend, req.threads ?? m.config.threads, (backend) => {
          const env = envOf(store, backend);
          const over = { ...(req.backend !== undefined ? { backend: req.backend } : {}), ...(req.threads !== undefined ? { threads: req.threads } : {}) };
          // A benchmark run with every task planned; else a model learned over time.
          if (m.plannedTasks === undefined || m.tasks.length > m.plannedTasks) return resumeLearned(env, m, opts);
          const t0 = env.clock.seconds();
          const unfinished = new Set(m.tasks.map((_, i) => i + 1).filter((k) => k > m.finished.length));
          return pipe(
            fromTE(loadRunTasks(m, unfinished)),
            chain((tasks) => dataLoaded(t0, env, { tasks })),
            chain(({ tasks }) => resumeRun(env, m, tasks, opts, over)),
          );
        });
      }),
    );
  });

/** How a learner is set up: where the model is kept, and how new tasks are learned. */
export interface LearnerSetup {
  /** Where the model is kept: `memoryStore()`, or `fsStore(dir)` for a run directory. */
  readonly store: Store;
  /**
   * The configuration of a new model (decode one with `decodeConfig`); for a
   * model the store holds already, of the tasks learned now (same net and
   * method). Absent for an existing model: its own.
   */
  readonly config?: RunConfig;
  /** Where a task's goal comes from when its request does not say: default an individually trained network. */
  readonly goal?: GoalChoice;
  /** Default: the configuration's backend. */
  readonly backend?: BackendChoice;
  readonly threads?: number;
  /** Asked to stop: the learner stops at the next step, emits 'stopped' and completes. */
  readonly signal?: RunOptions['signal'];
}

/**
 * Subscribes to `source` at once and keeps what arrives until `later` is
 * subscribed to (once): tasks that come while the learner starts up wait,
 * however hot their stream is.
 */
const subscribedNow = <T>(source: Observable<T>): { readonly later: Observable<T>; readonly stop: () => void } => {
  const pending: T[] = [];
  let ended: { readonly error?: unknown } | undefined;
  let consumer: Subscriber<T> | undefined;
  const sub = source.subscribe({
    next: (v) => (consumer !== undefined ? consumer.next(v) : void pending.push(v)),
    error: (e: unknown) => (consumer !== undefined ? consumer.error(e) : void (ended = { error: e })),
    complete: () => (consumer !== undefined ? consumer.complete() : void (ended = {})),
  });
  const later = new Observable<T>((s) => {
    consumer = s;
    for (const v of pending.splice(0)) s.next(v);
    if (ended !== undefined) {
      if ('error' in ended) s.error(ended.error);
      else s.complete();
    }
    return () => {
      consumer = undefined;
      sub.unsubscribe();
    };
  });
  return { later, stop: () => sub.unsubscribe() };
};

/**
 * A learner: learns the tasks of a stream (an Observable, an async iterable
 * or an array of Tasks or LearnRequests) into the model in `setup.store`, one
 * after another as they arrive; a task that comes while another is learned
 * (or while the learner starts) waits its turn. Emits the run's events;
 * completes after 'run-finished', once the stream of tasks has completed.
 */
export const learner =
  (setup: LearnerSetup) =>
  (tasks: ObservableInput<Task | LearnRequest>): Observable<RunEvent> =>
    defer(() => {
      const arriving = subscribedNow(from(tasks));
      return eventsOn(
        setup.store,
        locked(setup.store, (m) =>
          onBackend(setup.backend ?? setup.config?.backend ?? m?.config.backend ?? 'auto', setup.threads ?? setup.config?.threads ?? m?.config.threads, (backend) =>
            learnerFlow(envOf(setup.store, backend), m, arriving.later, {
              ...(setup.config !== undefined ? { config: setup.config } : {}),
              ...(setup.goal !== undefined ? { goal: setup.goal } : {}),
              ...(setup.signal !== undefined ? { signal: setup.signal } : {}),
            }),
          ),
        ),
      ).pipe(finalize(arriving.stop));
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

/** Evaluate the finished tasks of the run in `dir` (or just one), from its checkpoint; writes nothing. */
export const evaluateRun = (dir: string, o: EvalOptions, so: StoreOption = {}): TE.TaskEither<CpgError, { readonly backend: string; readonly rows: readonly EvalRow[] }> => {
  const store = so.store ?? fsStore(dir);
  return pipe(
    readManifest(store),
    TE.chain((m) =>
      m === null
        ? TE.left<CpgError, RunManifest>({ tag: 'CheckpointError', file: manifestName(store), message: `no run here: ${dir} has no run.json (start one with \`cpg run --out ${dir}\`)` })
        : TE.right(m),
    ),
    TE.chain((m) =>
      pipe(
        TE.fromEither(tasksToEvaluate(m, dir, o.task)),
        TE.chain((which) =>
          TE.bracket(
            acquireBackend({ prefer: o.backend ?? m.config.backend, ...(o.threads !== undefined ? { threads: o.threads } : m.config.threads !== undefined ? { threads: m.config.threads } : {}) }),
            ({ info: backend }) =>
              pipe(
                loadRunTasks(m, new Set()),
                TE.chain((data) => toTE(evaluateModel(envOf(store, backend), m, which, data, o.tolerance))),
                TE.map((rows) => ({ backend: describeBackend({ backend: backend.name, threads: backend.threads, simd: backend.simd }), rows })),
              ),
            (lease) => lease.release,
          ),
        ),
      ),
    ),
  );
};

/** The report of the run, once it finishes. */
export const finalReport = (): OperatorFunction<RunEvent, RunReport> => (source) =>
  source.pipe(
    filter((e): e is Extract<RunEvent, { type: 'run-finished' }> => e.type === 'run-finished'),
    map((e) => e.report),
    last(),
  );

/** An event tagged with the run it came from (for composed runs). */
export interface Tagged {
  readonly run: string;
  readonly event: RunEvent;
}

/** Several runs one after the other, each event tagged with its run's label. */
export const sequence = (runs: readonly { readonly label: string; readonly events: Observable<RunEvent> }[]): Observable<Tagged> =>
  concat(...runs.map((r) => r.events.pipe(map((event) => ({ run: r.label, event })))));

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
): Observable<Tagged> => {
  let report: RunReport | undefined;
  return concat(
    runEvents({ kind: 'new', dir: goalsDir, config: { ...config, method: 'individual' } }).pipe(
      tap((e) => {
        if (e.type === 'run-finished') report = e.report;
      }),
      map((event) => ({ run: 'goals', event })),
    ),
    defer(() => (report === undefined ? EMPTY : from(writeGoals(report)))).pipe(
      mergeMap((path) => runEvents({ kind: 'new', dir: cpgDir, config: { ...config, method: 'cpg', goals: { kind: 'file', path } } })),
      map((event) => ({ run: 'cpg', event })),
    ),
  );
};

/** Progress of a run: the latest stage and epoch, tasks done, and an estimate of the time left. */
export interface Progress {
  readonly task: number;
  /** Tasks planned (or known so far, for a model learned over time). */
  readonly tasks: number;
  readonly name: string;
  readonly stage: string;
  readonly epoch: number;
  readonly epochs: number;
  readonly stageEtaSeconds: number;
  readonly tasksDone: number;
  readonly last: RunEvent;
}

/** Fold events into progress snapshots (one per event). */
export const progress = (): OperatorFunction<RunEvent, Progress> => (source) =>
  source.pipe(
    scan(
      (p: Progress, e: RunEvent): Progress => {
        switch (e.type) {
          case 'run-started':
            return { ...p, tasks: e.planned ?? e.tasks.length, last: e };
          case 'task-started':
            return { ...p, task: e.task, tasks: Math.max(p.tasks, e.of ?? e.task), name: e.name, stage: e.purpose === 'goal' ? 'goal' : 'start', epoch: 0, epochs: 0, last: e };
          case 'stage-started':
            return { ...p, stage: e.stage, epoch: 0, epochs: e.epochs, last: e };
          case 'epoch-ended':
            return { ...p, epoch: e.epoch, epochs: e.epochs, stageEtaSeconds: e.stageEtaSeconds, last: e };
          case 'task-finished':
            return { ...p, tasksDone: e.purpose === 'learn' ? p.tasksDone + 1 : p.tasksDone, last: e };
          default:
            return { ...p, last: e };
        }
      },
      { task: 0, tasks: 0, name: '', stage: '', epoch: 0, epochs: 0, stageEtaSeconds: 0, tasksDone: 0, last: { type: 'goals-started', tasks: 0 } as RunEvent },
    ),
  );

/** Only the events of one kind. */
export const ofType =
  <K extends RunEvent['type']>(type: K): OperatorFunction<RunEvent, Extract<RunEvent, { type: K }>> =>
  (source) =>
    source.pipe(filter((e): e is Extract<RunEvent, { type: K }> => e.type === type));
