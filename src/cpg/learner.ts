/**
 * The learner: one loop (`follow`) that folds what arrives into the model in
 * a store, one after another, and two courses through it.
 *
 * - A stream of tasks, learned as they come. A task that arrives while
 *   another is being learned waits its turn. Each is checked where it enters
 *   (against itself and against the model: input shape, normalisation, a new
 *   name), gets its goal (an individually trained network, a given accuracy,
 *   or none), is learned with the model's method, and the report is
 *   rewritten for all tasks so far. The model may be new (created from the
 *   first task), a model learned before (the "sixth task next week"), or a
 *   finished benchmark run. A task that was being learned when a learner
 *   stopped is finished when it arrives again; a task the model already
 *   holds, with the same data, is skipped.
 * - A planned run (a benchmark: every task known at its start, opened by
 *   run.ts): its goals first, then each task not yet finished, in order; its
 *   report once, at the end.
 */
import * as E from 'fp-ts/lib/Either.js';
import { pipe } from 'fp-ts/lib/function.js';
import { type Observable, connect, concatMap, defer, EMPTY, from, last, map, merge, mergeScan, of } from 'rxjs';
import type { RunEvent } from './events.js';
import type { RunConfig } from '../algebra/config.js';
import type { RunReport } from '../algebra/report.js';
import { type CpgError, configError, taskError } from '../algebra/errors.js';
import { type GoalChoice, type RunManifest, type TaskEntry, type TaskSource, modelShape } from '../algebra/manifest.js';
import { checkTaskData, checkTaskFor, type Task } from '../algebra/task.js';
import type { Env } from '../effects/env.js';
import { checkBlobs } from '../effects/checkpoint.js';
import { type RunCtx, type RunOptions, type RunState, commit, runCtxOf, withConfig } from './context.js';
import { type Emit, type Flow, Do, bind, chain, emit, fail, fromEither, fromTE, mapError, mapValue, pure, tap } from './flow.js';
import { goalsFirst } from './goals.js';
import { dataAtOf, rechecked, runStarted, tasksFrom } from './plan.js';
import { trainIndividual } from './baselines.js';
import { createModel, markFinished, matchTask, maxWidthProblem, reported, taskEntryFor, writeReports } from './model.js';
import { type MethodRegistry, builtInMethods, methodOf, protectingMethods } from './methods/registry.js';

/** A task to learn, with where its goal comes from and where its data came from. */
export interface LearnRequest {
  readonly task: Task;
  /** Default: the learner's `goal`. */
  readonly goal?: GoalChoice;
  /** Recorded so `cpg resume` can read the data again; default: given in memory. */
  readonly source?: TaskSource;
  /** The configuration to learn this task with; default: the model's. Its net and method must be the model's. */
  readonly config?: RunConfig;
}

/** How the learner works. */
export interface LearnerOptions extends RunOptions {
  /**
   * The configuration of a new model (its method must protect each task: cpg or packnet of the built-in ones), or,
   * for a model in the store already, of the tasks learned now (net and method
   * must be the model's). Absent for an existing model: the model's own.
   */
  readonly config?: RunConfig;
  /** Where goals come from when a request does not say; default: an individually trained network per task. */
  readonly goal?: GoalChoice;
}

const learnable = (r: MethodRegistry = builtInMethods) => (name: RunConfig['method']): E.Either<CpgError, RunConfig['method']> =>
  pipe(
    methodOf(r)(name),
    E.chain((method) =>
      method.protectsTasks
        ? E.right(name)
        : E.left(configError('method', `a model learns new tasks over time with ${protectingMethods(r)}; '${name}' cannot (its network is not protected task by task)`)),
    ),
  );

/** The configuration a task is learned with: the request's, else the learner's, else the model's; same net and method. */
const taskConfig = (m: RunManifest | null, o: LearnerOptions, r: LearnRequest): E.Either<CpgError, RunConfig> => {
  const base = r.config ?? o.config ?? m?.config;
  if (base === undefined) return E.left(configError('config', 'a new model needs a configuration (net, method, stage lengths)'));
  if (m !== null) {
    if (base.net !== m.config.net) return E.left(configError('net', `the model is a '${m.config.net}' network; this task asks for '${base.net}'`));
    if (base.method !== m.config.method) return E.left(configError('method', `the model learns with '${m.config.method}'; this task asks for '${base.method}'`));
    const narrower = maxWidthProblem(m, base.maxMultiplier);
    if (narrower !== undefined) return E.left(configError('maxMultiplier', narrower));
  }
  return pipe(
    learnable(o.methods)(base.method),
    E.map(() => (m === null ? { ...base, benchmark: 'custom' as const } : { ...base, benchmark: m.config.benchmark })),
  );
};

/** Whether a store is a run directory, which `cpg resume` reaches (not memory, not a browser's IndexedDB). */
const directoryStore = (store: Env['store']): boolean => store.location !== 'memory' && !/^[a-z]{2,}:/.test(store.location);

/** What a learner knows of its model between tasks. */
interface Learned {
  readonly ctx: RunCtx | undefined;
  readonly state: RunState | undefined;
  readonly report: RunReport | undefined;
}

/** The learner's running state: the model as it stands, with the event that came (none once a task is done). */
interface Step {
  readonly learned: Learned;
  readonly event?: RunEvent;
}

/**
 * How a learner takes a run: what it checks before anything is said or
 * written, its first event, the model as the tasks start, what arrives to be
 * learned and how each is learned, and how the run ends. A stream of tasks
 * (the learner's own) and a planned run (every task known at its start: a
 * benchmark) are two courses through the one loop, `follow`.
 */
interface Course<A, R> {
  readonly opened: Flow<void>;
  readonly started: Flow<void>;
  readonly ready: Flow<Learned>;
  readonly arrivals: (ready: Learned) => Observable<A>;
  readonly step: (learned: Learned, a: A) => Flow<Learned>;
  readonly finish: (learned: Learned) => Flow<R>;
}

/** Every arrival learned in turn, the model carried from one to the next with each event; then the end, from the model as the last left it. */
const learnedInTurn = <A, R>(c: Course<A, R>, ready: Learned): Flow<R> =>
  c.arrivals(ready).pipe(
    mergeScan((acc: Step, a: A) => c.step(acc.learned, a).pipe(map((x): Step => (x._tag === 'event' ? { learned: acc.learned, event: x.event } : { learned: x.value }))), { learned: ready }, 1),
    connect((steps) =>
      merge(
        steps.pipe(concatMap((x): Observable<Emit<R>> => (x.event !== undefined ? of({ _tag: 'event', event: x.event }) : EMPTY))),
        steps.pipe(
          last(undefined, { learned: ready }),
          concatMap((x) => c.finish(x.learned)),
        ),
      ),
    ),
  );

/** The learner: a course followed from its checks to its report. */
const follow = <A, R>(c: Course<A, R>): Flow<R> =>
  pipe(
    c.opened,
    chain(() => c.started),
    chain(() => c.ready),
    chain((ready) => learnedInTurn(c, ready)),
  );

/** The stream's course: tasks checked and learned as they arrive, the report rewritten after each. */
const streamCourse = (env: Env, m0: RunManifest | null, tasks: Observable<Task | LearnRequest>, o: LearnerOptions): Course<LearnRequest, RunReport | undefined> => {
  const ok = m0 === null ? E.right(undefined) : E.map(() => undefined)(learnable(o.methods)(m0.config.method));
  const before: Learned = { ctx: undefined, state: m0 === null ? undefined : { manifest: m0, maxLogitDrift: 0 }, report: undefined };
  return {
    // A model in the store is checked whole (every blob its manifest names) before anything is written.
    opened: pipe(
      fromEither(ok),
      chain(() => (m0 === null ? pure(undefined) : fromTE(checkBlobs(env.store, m0)))),
    ),
    started: runStarted(env, m0?.config ?? { method: o.config?.method ?? 'cpg', benchmark: 'custom', net: o.config?.net ?? 'mlp' }, m0?.tasks.map((t) => t.name) ?? [], null, m0 !== null),
    ready: pure(before),
    arrivals: () => tasks.pipe(map((input): LearnRequest => ('task' in input ? input : { task: input }))),
    step: (learned, r) => oneTask(env, learned, r, o),
    finish: (learned) => {
      const { ctx, state, report } = learned;
      if (report !== undefined) return pipe(emit({ type: 'run-finished', report, dir: env.store.location }), mapValue(() => report));
      // No task learned now: report the model as it stands (if there is one).
      if (state === undefined) return pure(undefined);
      if (ctx !== undefined) return reported(ctx, state);
      const c = runCtxOf(env, state.manifest.config, state.manifest, 'the model', () => undefined, o, true);
      return E.isLeft(c) ? fail<RunReport | undefined>(c.left) : reported(c.right, state);
    },
  };
};

/**
 * Learn `tasks` into the model in `env.store` (created from the first task if
 * the store holds none), from manifest `m0` as read under the store's lock.
 */
export const learnerFlow = (env: Env, m0: RunManifest | null, tasks: Observable<Task | LearnRequest>, o: LearnerOptions): Flow<RunReport | undefined> =>
  defer(() => follow(streamCourse(env, m0, tasks, o)));

/**
 * A planned run (every task known at its start: a benchmark run), opened —
 * created with every task's entry, or resumed with its checkpoint checked and
 * the data given matched to its entries.
 */
export interface Plan {
  /** The run's context: its configuration (a resume may change the backend) and the data this process has. */
  readonly ctx: RunCtx;
  /** The run as opened. */
  readonly state: RunState;
  /** How many tasks it learns. */
  readonly count: number;
  /** Whether it ran before (what it finished is proved unchanged first). */
  readonly resumed: boolean;
  /** Its task entries as the data matched them (entries from before data hashes gain theirs), committed after 'run-started'. */
  readonly entries: readonly TaskEntry[];
}

/**
 * A planned run's course: its goals first (every goal network before the
 * first task), then each task not yet finished, in order, towards the goal
 * the run holds for it; the report once, at the end. A resumed run first
 * proves that what it finished is still exactly there.
 */
const plannedCourse = (p: Plan): Course<number, RunReport> => {
  const { ctx, count, resumed } = p;
  const s0 = p.state;
  const names = s0.manifest.tasks.map((t) => t.name);
  const dataAt = dataAtOf(ctx, names);
  const upgraded: Flow<RunState> = p.entries.some((e, i) => e !== s0.manifest.tasks[i]) ? commit(ctx, s0, { ...s0.manifest, tasks: [...p.entries] }) : pure(s0);
  return {
    opened: pure(undefined),
    started: runStarted(ctx.env, ctx.config, names, count, resumed),
    ready: pipe(
      upgraded,
      chain(rechecked(ctx, resumed)),
      chain(goalsFirst(ctx, count, dataAt)),
      mapValue((state): Learned => ({ ctx, state, report: undefined })),
    ),
    // A method of one network per task learns nothing more: its goal networks are all it learns.
    arrivals: (ready) => (ctx.method.model === 'per-task' ? EMPTY : from(tasksFrom((ready.state?.manifest.finished.length ?? 0) + 1, count))),
    step: (learned, k) => plannedTask(ctx, count, dataAt, learned, k),
    finish: (learned) =>
      pipe(
        markFinished(ctx, learned.state ?? s0),
        chain((s) => reported(ctx, s)),
      ),
  };
};

/** Planned task k, towards the goal the run holds for it. */
const plannedTask = (ctx: RunCtx, count: number, dataAt: (k: number) => Flow<Task>, learned: Learned, k: number): Flow<Learned> => {
  const st = learned.state!;
  return pipe(
    Do,
    bind('data', () => dataAt(k)),
    tap(({ data }) => emit({ type: 'task-started', task: k, name: data.name, of: count, purpose: 'learn' })),
    chain(({ data }) => ctx.method.learnTask(ctx, st, data, k, st.manifest.goals?.[data.name] ?? null)),
    mapValue((state): Learned => ({ ctx, state, report: undefined })),
  );
};

/** Learn a planned run to its end. */
export const plannedFlow = (p: Plan): Flow<RunReport> => defer(() => follow(plannedCourse(p)));

/** One task, from its arrival to the report: check, enter, goal, learn. */
const oneTask = (env: Env, before: Learned, r: LearnRequest, o: LearnerOptions): Flow<Learned> =>
  defer(() => {
    const m = before.state?.manifest ?? null;
    const t = r.task;
    const config = taskConfig(m, o, r);
    if (E.isLeft(config)) return fail<Learned>(config.left);
    const index = m === null ? -1 : m.tasks.findIndex((e) => e.name === t.name);
    const k = index === -1 ? (m?.tasks.length ?? 0) + 1 : index + 1;
    const ctxOf = (mm: Pick<RunManifest, 'inputShape' | 'elapsedSeconds'>) =>
      E.map((c: RunCtx) => withConfig(c, config.right))(runCtxOf(env, config.right, mm, `task '${t.name}'`, (j) => (j === k ? t : undefined), o, m !== null));
    // Already held: the same data is skipped; a pending task continues; a new one is entered.
    if (m !== null && index !== -1) {
      // Its name was accepted when it was learned (a model learned before the folder-name rule keeps its tasks).
      const own = checkTaskData(t);
      if (E.isLeft(own)) return fail<Learned>(own.left);
      const ctx = ctxOf(m);
      if (E.isLeft(ctx)) return fail<Learned>(ctx.left);
      const entry = m.tasks[index]!;
      const s0 = before.state!;
      // The caller gave this task: data that differs from what the model holds under its name is the caller's to fix.
      const same = (e: CpgError): CpgError =>
        e.tag === 'CheckpointError'
          ? taskError(t.name, 'name', `the model holds a task named '${t.name}' learned from other data (${e.message.replace(/^task \d+ \('[^']*'\) /, '')})`)
          : e;
      if (k <= m.finished.length)
        return pipe(
          matchTask(ctx.right, entry, k, t),
          mapError(same),
          chain(() => emit({ type: 'task-skipped', task: k, name: t.name, message: 'the model already holds this task, learned from the same data' })),
          mapValue((): Learned => ({ ...before, ctx: ctx.right })),
        );
      if (k !== m.finished.length + 1)
        return fail<Learned>(taskError(t.name, 'name', `task ${k} cannot be learned before task ${m.finished.length + 1} ('${m.tasks[m.finished.length]?.name}')`));
      return pipe(
        matchTask(ctx.right, entry, k, t),
        mapError(same),
        chain((e) => learnEntry(ctx.right, s0, e, k, t)),
      );
    }
    const pending = m !== null && m.tasks.length > m.finished.length ? m.tasks[m.finished.length] : undefined;
    if (pending !== undefined)
      return fail<Learned>(
        taskError(
          t.name,
          'name',
          `the model is still learning task '${pending.name}' (stopped before it finished): give '${pending.name}' again first, and the learner finishes it${directoryStore(env.store) ? ` (or \`cpg resume ${env.store.location}\`)` : ''}`,
        ),
      );
    const checked = checkTaskFor(m === null ? undefined : { inputShape: modelShape(m), normalisation: m.normalisation, names: m.tasks.map((e) => e.name) })(t);
    if (E.isLeft(checked)) return fail<Learned>(checked.left);
    const ctx = ctxOf(m ?? { inputShape: t.inputShape, elapsedSeconds: 0 });
    if (E.isLeft(ctx)) return fail<Learned>(ctx.left);
    const c = ctx.right;
    // A new model: its first manifest, with the initial network, before the task enters it.
    const model: Flow<RunState> =
      before.state !== undefined
        ? pure(before.state)
        : createModel(c, { first: t, tasks: [], planned: false, goals: null });
    const sameConfig = m !== null && JSON.stringify(config.right) === JSON.stringify(m.config);
    return pipe(
      model,
      chain((s) =>
        pipe(
          taskEntryFor(c, t, r.source ?? { kind: 'memory' }, {
            goal: r.goal ?? o.goal ?? { kind: 'individual' },
            ...(m === null || sameConfig ? {} : { config: config.right }),
          }),
          chain((entry) => commit(c, s, { ...s.manifest, tasks: [...s.manifest.tasks, entry], status: 'running' })),
          chain((s1) => learnEntry(c, s1, s1.manifest.tasks[k - 1]!, k, t)),
        ),
      ),
    );
  });

/** The goal of task k as its entry says, training the individual network if needed (once: a result is kept). */
const goalOf = (ctx: RunCtx, s: RunState, entry: TaskEntry, k: number, t: Task): Flow<{ readonly state: RunState; readonly goal: number | null }> => {
  const choice = entry.goal ?? { kind: 'individual' };
  const known = s.manifest.goals?.[t.name];
  const record = (state: RunState, goal: number | null, source: 'individual' | 'given'): Flow<{ readonly state: RunState; readonly goal: number | null }> =>
    goal === null
      ? pure({ state, goal })
      : pipe(
          known === goal ? pure(state) : commit(ctx, state, { ...state.manifest, goals: { ...(state.manifest.goals ?? {}), [t.name]: goal } }),
          chain((st) => pipe(emit({ type: 'goals-ready', goals: { [t.name]: goal }, source: known === goal ? 'checkpoint' : source }), mapValue(() => ({ state: st, goal })))),
        );
  switch (choice.kind) {
    case 'none':
      return pure({ state: s, goal: null });
    case 'given':
      return record(s, choice.goal, 'given');
    case 'individual': {
      const done = s.manifest.individual.find((x) => x.name === t.name);
      if (done !== undefined) return record(s, done.valAccuracy, 'individual');
      return pipe(
        emit({ type: 'goals-started', tasks: 1 }),
        chain(() => trainIndividual(ctx, s, t, k, null)),
        chain(({ state, result }) => record(state, result.valAccuracy, 'individual')),
      );
    }
  }
};

/** Goal, learn, report: task k, whose entry is in the manifest. */
const learnEntry = (ctx0: RunCtx, s0: RunState, entry: TaskEntry, k: number, t: Task): Flow<Learned> => {
  const ctx = entry.config !== undefined ? withConfig(ctx0, entry.config) : ctx0;
  return pipe(
    goalOf(ctx, s0, entry, k, t),
    chain(({ state, goal }) =>
      pipe(
        emit({ type: 'task-started', task: k, name: t.name, of: null, purpose: 'learn' }),
        chain(() => ctx.method.learnTask(ctx, state, t, k, goal)),
      ),
    ),
    chain((s) => markFinished(ctx, s)),
    chain((s) => pipe(writeReports(ctx, s), mapValue((report): Learned => ({ ctx, state: s, report })))),
  );
};
