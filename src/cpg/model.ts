/**
 * The model a run builds in its store, as the method needs it: the first
 * manifest, each task's entry with the facts later learns and evaluations
 * need without its data (class names, a hash of the data, the probe inputs,
 * where the data came from), the capacity policy for tasks still to come, and
 * the reports written after learning.
 */
import * as E from 'fp-ts/lib/Either.js';
import { pipe } from 'fp-ts/lib/function.js';
import { deviceOf } from '../effects/backend.js';
import * as TE from 'fp-ts/lib/TaskEither.js';
import { defer } from 'rxjs';
import type { RunConfig } from '../algebra/config.js';
import type { RunReport } from '../algebra/report.js';
import { type CpgError, checkpointError } from '../algebra/errors.js';
import { MANIFEST_FORMAT, MANIFEST_VERSION, type GoalChoice, type RunManifest, type TaskEntry, type TaskSource } from '../algebra/manifest.js';
import { classCount, type InputShape, type Normalisation, type Task, taskDataParts } from '../algebra/task.js';
import { type Store, sha256Hex, float32Bytes } from '../effects/store.js';
import { manifestName } from '../effects/checkpoint.js';
import { renderReportHtml } from '../report/html.js';
import type { SnapshotIndex } from '../algebra/snapshot.js';
import { initNet } from '../effects/network.js';
import { type RunCtx, type RunState, commit, load, save } from './context.js';
import { type Flow, chain, emit, fail, fromEither, fromTE, mapValue, pure, tap } from './flow.js';
import { probeFromData } from './finish.js';
import type { Capacity } from './learn.js';
import { buildReport } from './report.js';

/** The compacting cap of a task beyond a planned count when the configuration sets neither expectedTasks nor reserve. */
export const DEFAULT_RESERVE = 0.9;

/** The SHA-256 that identifies a task's data, with the store's hash where it has one (the directory store's: 3–8× WebCrypto's on a run's first pass, BENCHMARKS.md). */
export const dataHashOf = (store: Pick<Store, 'sha256'>, t: Task): TE.TaskEither<CpgError, string> => (store.sha256 ?? sha256Hex)(taskDataParts(t));

/** A task's entry in the manifest, with its facts: hash, probe inputs (stored as a blob), class names, source. */
export const taskEntryFor = (
  ctx: RunCtx,
  t: Task,
  source: TaskSource,
  extra: { readonly goal?: GoalChoice; readonly config?: RunConfig } = {},
): Flow<TaskEntry> =>
  pipe(
    fromTE(
      pipe(
        TE.Do,
        TE.bind('dataHash', () => dataHashOf(ctx.env.store, t)),
        TE.bind('probeInputs', () => ctx.env.store.putBlob(float32Bytes(probeFromData(ctx.config.probeSize, t).x.slice()))),
      ),
    ),
    mapValue(({ dataHash, probeInputs }): TaskEntry => ({
      name: t.name,
      classes: classCount(t),
      classNames: [...t.classNames],
      dataHash,
      probeInputs,
      source,
      ...(extra.goal !== undefined ? { goal: extra.goal } : {}),
      ...(extra.config !== undefined ? { config: extra.config } : {}),
    })),
  );

// The run's record and the data disagree: either may have changed, and the run's manifest is what says what the task was.
const dataChanged = (store: Store, entry: TaskEntry, k: number, why: string): CpgError =>
  checkpointError(manifestName(store), `task ${k} ('${entry.name}') ${why}: the data or the run's configuration changed since it was learned`);

/** Checks, writing nothing, that `t` is the data task k was (or is being) learned from: name, classes, and the hash where recorded. */
export const sameTask = (store: Store, entry: TaskEntry, k: number, t: Task): Flow<void> => {
  if (entry.name !== t.name || entry.classes !== classCount(t))
    return fail(dataChanged(store, entry, k, `is '${entry.name}' with ${entry.classes} classes, the data gives '${t.name}' with ${classCount(t)}`));
  if (entry.classNames !== undefined && entry.classNames.join('\u0000') !== t.classNames.join('\u0000'))
    return fail(dataChanged(store, entry, k, `has classes [${entry.classNames.join(', ')}], the data [${t.classNames.join(', ')}]`));
  if (entry.dataHash === undefined) return pure(undefined);
  return pipe(
    fromTE(dataHashOf(store, t)),
    chain((h) => (h === entry.dataHash ? pure(undefined) : fail<void>(dataChanged(store, entry, k, 'has different data (its hash differs)')))),
  );
};

/**
 * `sameTask`, and an entry written before hashes existed (a version-1 run)
 * gets its facts filled in.
 */
export const matchTask = (ctx: RunCtx, entry: TaskEntry, k: number, t: Task): Flow<TaskEntry> =>
  pipe(
    sameTask(ctx.env.store, entry, k, t),
    chain(() =>
      entry.dataHash !== undefined && entry.probeInputs !== undefined
        ? pure(entry)
        : pipe(
            taskEntryFor(ctx, t, entry.source ?? { kind: 'memory' }),
            mapValue((filled): TaskEntry => ({ ...entry, ...filled, ...(entry.source !== undefined ? { source: entry.source } : {}) })),
          ),
    ),
  );

/** The first manifest of a run over a model of input `shape`. */
export const freshManifest = (
  o: {
    readonly config: RunConfig;
    readonly backend: string;
    /** The adapter the backend runs on (webgpu), in words. */
    readonly device?: string | undefined;
    readonly inputShape: InputShape;
    readonly normalisation: Normalisation | null;
    readonly tasks: readonly TaskEntry[];
    readonly planned: boolean;
    readonly goals: RunManifest['goals'];
    readonly createdAt: string;
  },
): RunManifest => ({
  format: MANIFEST_FORMAT,
  version: MANIFEST_VERSION,
  config: o.config,
  backend: o.backend,
  tasks: o.tasks,
  goals: o.goals,
  individual: [],
  state: null,
  finished: [],
  current: null,
  elapsedSeconds: 0,
  status: 'running',
  createdAt: o.createdAt,
  inputShape: o.inputShape,
  normalisation: o.normalisation,
  ...(o.planned ? { plannedTasks: Math.max(1, o.tasks.length) } : {}),
  ...(o.device !== undefined ? { device: o.device } : {}),
});

/**
 * How many tasks are still to come for task k: the planned count of a
 * benchmark run (the reference's rule); past it, or for a model learned over
 * time, the configured expected count, else a fixed reserve.
 */
export const capacityFor = (m: RunManifest, config: RunConfig, k: number): Capacity =>
  m.plannedTasks !== undefined && k <= m.plannedTasks
    ? { tasksTotal: m.plannedTasks }
    : config.expectedTasks !== undefined
      ? { tasksTotal: Math.max(config.expectedTasks, k) }
      : { tasksTotal: k, reserve: config.reserve ?? DEFAULT_RESERVE };

/** Why a task may not learn with this maximum width: the model is wider already (undefined when it may). */
export const maxWidthProblem = (m: RunManifest, maxMultiplier: number): string | undefined => {
  const width = m.finished[m.finished.length - 1]?.multiplier ?? 1;
  return maxMultiplier < width
    ? `the model is ×${width} wide already: the maximum width may be raised for a new task, never lowered below it (got ${maxMultiplier})`
    : undefined;
};

/** The capacity policy in words, for reports. */
export const describePolicy = (m: RunManifest, config: RunConfig, budgeted: boolean): string => {
  const rule = '1 − round(1/(tasks left + 1), 1)';
  const budget = budgeted;
  const open = budget
    ? config.expectedTasks !== undefined
      ? `a budget: each task keeps at most an equal share of the room (free weights plus the growth still allowed) among itself and the tasks left to the ${config.expectedTasks} expected`
      : `a budget: each task keeps at most ${Math.round(100 * (1 - (config.reserve ?? DEFAULT_RESERVE)))} % of the room (free weights plus the growth still allowed), leaving ${config.reserve ?? DEFAULT_RESERVE} of it for the tasks to come`
    : config.expectedTasks !== undefined
      ? `the reference's cap ${rule}, counting tasks left to the ${config.expectedTasks} expected`
      : `a reserve: a task that misses its goal at the maximum width frees ${config.reserve ?? DEFAULT_RESERVE} of its weights for the tasks to come`;
  const planned = budget
    ? `a budget: each task keeps at most an equal share of the room (free weights plus the growth still allowed) among itself and the tasks left; the reference's cap ${rule} when a goal is missed at the maximum width`
    : `the reference's cap ${rule}`;
  const record = config.recordRule === 'goal' ? '; a compacting target is recorded when training accuracy holds or validation meets the goal' : '';
  if (m.plannedTasks === undefined) return `tasks learned as they come: ${open}${record}`;
  const n = m.plannedTasks;
  const beyond = m.tasks.length > n ? `; the tasks after ${n === 1 ? 'it' : 'them'}, learned as they came: ${open}` : '';
  return `${n} task${n === 1 ? '' : 's'} planned: ${planned}${beyond}${record}`;
};

/** The report of the run as it stands, written as report.json and report.html. */
export const writeReports = (ctx: RunCtx, s: RunState): Flow<RunReport> =>
  pipe(
    s.manifest.state === null ? pure(undefined) : mapValue((l: { state: Parameters<typeof buildReport>[1] }) => l.state)(load(ctx, s.manifest.state)),
    chain((final) =>
      defer(() => {
        const built = buildReport(s.manifest, final, {
          base: ctx.base,
          backend: ctx.env.backend.name,
          threads: ctx.env.backend.threads,
          simd: ctx.env.backend.simd,
          device: deviceOf(ctx.env.backend),
          maxLogitDrift: s.maxLogitDrift,
          createdAt: ctx.env.clock.isoNow(),
          capacityPolicy: describePolicy(s.manifest, s.manifest.config, ctx.method.budgeted(s.manifest.config)),
          model: ctx.method.model,
        });
        if (E.isLeft(built)) return fail<RunReport>(built.left);
        const report = built.right;
        return pipe(
          fromTE(ctx.env.store.writeReport('report.json', `${JSON.stringify(report, null, 1)}\n`)),
          chain(() => fromTE(ctx.env.store.writeReport('report.html', renderReportHtml(report)))),
          mapValue(() => report),
        );
      }),
    ),
  );

/** The report, written and said (its 'run-finished' event). */
export const reported = (ctx: RunCtx, s: RunState): Flow<RunReport> =>
  pipe(
    writeReports(ctx, s),
    tap((report) => emit({ type: 'run-finished', report, dir: ctx.env.store.location })),
  );

/**
 * A model's first manifest, committed: the context's configuration, the
 * input of its first task, the task entries it starts with, and its initial
 * network (none for a method of one network per task).
 */
export const createModel = (
  ctx: RunCtx,
  o: { readonly first: Task; readonly tasks: readonly TaskEntry[]; readonly planned: boolean; readonly goals: RunManifest['goals'] },
): Flow<RunState> =>
  pipe(
    ctx.method.model === 'per-task' ? pure<SnapshotIndex | null>(null) : pipe(fromEither(initNet(ctx.base, ctx.config.seed)), chain((net) => save(ctx, net, undefined))),
    chain((state) => {
      const m: RunManifest = {
        ...freshManifest({
          config: ctx.config,
          backend: ctx.env.backend.name,
          device: deviceOf(ctx.env.backend),
          inputShape: o.first.inputShape,
          normalisation: o.first.normalisation,
          tasks: o.tasks,
          planned: o.planned,
          goals: o.goals,
          createdAt: ctx.env.clock.isoNow(),
        }),
        state,
      };
      return commit(ctx, { manifest: m, maxLogitDrift: 0 }, m);
    }),
  );

/** Commit the run as finished (nothing in progress). */
export const markFinished = (ctx: RunCtx, s: RunState): Flow<RunState> => commit(ctx, s, { ...s.manifest, status: 'finished' });
