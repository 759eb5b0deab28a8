/**
 * Using what was learned: open the model a store holds and predict with any
 * finished task, at the width it was learned at (CPG-SPEC §2: its own
 * weights, the older ones its pick mask selects, its batch norm and head).
 *
 * Only the checkpoint reader and the inference forward pass are loaded: no
 * training code. The model claims the process's backend until disposed.
 */
import * as E from 'fp-ts/lib/Either.js';
import * as TE from 'fp-ts/lib/TaskEither.js';
import { pipe } from 'fp-ts/lib/function.js';
import type { BackendChoice } from '../algebra/backends.js';
import { type CpgError, configError, dataError, internalError } from '../algebra/errors.js';
import { type RunManifest, modelShape } from '../algebra/manifest.js';
import { type InputShape, type Normalisation, pixelsOf } from '../algebra/task.js';
import { recordedThreads } from '../algebra/threads.js';
import { type BackendInfo, type BackendPlatform, acquireBackend } from '../effects/backend.js';
import { manifestName, readManifest } from '../effects/checkpoint.js';
import { type TaskModel, logitsSync, logitsWith, taskModel } from '../effects/evaluate.js';
import type { NetState } from '../effects/network.js';
import { loadNet } from '../effects/snapshot.js';
import { type Store, sha256Hex } from '../effects/store.js';
import { type ExportFiles, type ExportFormat, exportFiles } from './export.js';
import { architectureFor } from './context.js';
import { type MethodRegistry, methodOf } from './methods/registry.js';

/** A finished task the model can predict with. */
export interface ModelTask {
  /** 1-based position in the model. */
  readonly task: number;
  readonly name: string;
  /** Label i is classNames[i]. */
  readonly classNames: readonly string[];
  /** The width the task was learned at. */
  readonly multiplier: number;
  /** Test accuracy (validation without a test split) when the task finished. */
  readonly accuracy: number;
}

/** One class and how sure the model is of it. */
export interface Ranked {
  readonly index: number;
  readonly label: string;
  readonly confidence: number;
}

/** The prediction for one input: the most likely class, the top classes and every class's probability. */
export interface Prediction extends Ranked {
  /** Up to `top` classes, most likely first. */
  readonly top: readonly Ranked[];
  /** Softmax of the logits, one per class. */
  readonly probabilities: Float32Array;
}

/** How inputs are given. */
export interface PredictOptions {
  /**
   * 'pixels' (default): NHWC values in [0, 1] (pixels / 255), normalised here as
   * the task's training images were; 'normalised': as the network sees them.
   */
  readonly inputs?: 'pixels' | 'normalised';
  /** How many classes `top` lists [3]. */
  readonly top?: number;
  /** Inputs per forward pass [256]. */
  readonly batchSize?: number;
}

/** An opened model. Dispose it to free its tensors and give the backend back. */
export interface Model {
  /** [height, width, channels] of one input. */
  readonly inputShape: InputShape;
  /** How pixels in [0, 1] become inputs (null: inputs are used as given). */
  readonly normalisation: Normalisation | null;
  readonly tasks: readonly ModelTask[];
  readonly backend: BackendInfo;
  /** The finished task a name stands for, or why none does (not finished, or unknown). */
  readonly task: (name: string) => E.Either<CpgError, ModelTask>;
  /**
   * Logits [count, classes] row-major of finished task `task` (a name) for `x` (count × H·W·C),
   * read back synchronously: wasm, cpu, tensorflow and webgl; on webgpu a BackendError (use `logitsAsync`).
   */
  readonly logits: (task: string, x: Float32Array, o?: PredictOptions) => E.Either<CpgError, Float32Array>;
  /** A prediction per input of `x` (count × H·W·C) with finished task `task`, synchronously (as `logits`). */
  readonly predict: (task: string, x: Float32Array, o?: PredictOptions) => E.Either<CpgError, readonly Prediction[]>;
  /** `logits`, read back asynchronously: every backend, webgpu included, and no stalled page on a GPU. */
  readonly logitsAsync: (task: string, x: Float32Array, o?: PredictOptions) => TE.TaskEither<CpgError, Float32Array>;
  /** `predict`, read back asynchronously: every backend, webgpu included. */
  readonly predictAsync: (task: string, x: Float32Array, o?: PredictOptions) => TE.TaskEither<CpgError, readonly Prediction[]>;
  /** The files that hand finished task `task` to any app: the model in `format`, and task.json. */
  readonly export: (task: string, format: ExportFormat) => TE.TaskEither<CpgError, ExportFiles>;
  /** SHA-256 of the run.json the model was opened from. */
  readonly runManifestSha256: string;
  readonly dispose: () => void;
}

/** Where to find the model and what to run it on. */
export interface OpenOptions {
  /** Names the model in messages (a run directory); default: the store's manifest name. */
  readonly label?: string;
  /** The backend [the run's]; threads for wasm [the run's, else all cores where the platform builds threaded wasm]. */
  readonly backend?: BackendChoice;
  readonly threads?: number;
  /** What the process offers the backends [webPlatform(); `cpg/node`'s openModel: Node's]. */
  readonly platform?: BackendPlatform;
  /** The methods a stored model may name [CPG and its baselines]. */
  readonly methods?: MethodRegistry;
}

/** Which finished task a name stands for, or why none does. */
export const findTask = (tasks: readonly ModelTask[], m: RunManifest, name: string): E.Either<CpgError, ModelTask> => {
  const hit = tasks.find((t) => t.name === name);
  if (hit !== undefined) return E.right(hit);
  const finished = tasks.map((t) => t.name).join(', ');
  const known = m.tasks.some((t) => t.name === name);
  return E.left(
    configError(
      'task',
      known
        ? `task '${name}' has not finished: only a finished task can predict (finished: ${finished === '' ? 'none' : finished})`
        : `no task named '${name}' (finished: ${finished === '' ? 'none' : finished})`,
    ),
  );
};

/** Inputs as the network sees them: pixels normalised per channel exactly as the training images were. */
export const normalise = (x: Float32Array, n: Normalisation | null): Float32Array => {
  if (n === null) return x;
  const channels = n.mean.length;
  const out = new Float32Array(x.length);
  for (let j = 0; j < x.length; j++) {
    const c = j % channels;
    out[j] = (x[j]! - n.mean[c]!) / n.std[c]!;
  }
  return out;
};

/** Softmax of one row, in float64 for a stable sum. */
const softmax = (logits: Float32Array, from: number, classes: number): Float32Array => {
  let max = -Infinity;
  for (let c = 0; c < classes; c++) max = Math.max(max, logits[from + c]!);
  const e = new Float64Array(classes);
  let sum = 0;
  for (let c = 0; c < classes; c++) {
    e[c] = Math.exp(logits[from + c]! - max);
    sum += e[c]!;
  }
  return Float32Array.from(e, (v) => v / sum);
};

/** Ranks the classes of one row of logits (ties: the lower index first, as argmax). */
export const rank = (logits: Float32Array, row: number, classNames: readonly string[], top: number): Prediction => {
  const classes = classNames.length;
  const probabilities = softmax(logits, row * classes, classes);
  const order = [...probabilities.keys()].sort((a, b) => logits[row * classes + b]! - logits[row * classes + a]! || a - b);
  const ranked = order.map((i) => ({ index: i, label: classNames[i]!, confidence: probabilities[i]! }));
  return { ...ranked[0]!, top: ranked.slice(0, Math.max(1, top)), probabilities };
};

const checkInputs = (x: Float32Array, shape: InputShape): E.Either<CpgError, number> => {
  const pixels = pixelsOf(shape);
  if (!(x instanceof Float32Array)) return E.left(configError('x', 'must be a Float32Array of count × H·W·C values'));
  if (x.length % pixels !== 0)
    return E.left(configError('x', `holds ${x.length} values, not a whole number of ${shape.join('×')} inputs (${pixels} values each)`));
  const bad = x.findIndex((v) => !Number.isFinite(v));
  if (bad >= 0) return E.left(configError('x', `value ${bad} (input ${Math.floor(bad / pixels)}) is ${x[bad]}, not a finite number`));
  return E.right(x.length / pixels);
};

const tasksOf = (m: RunManifest): readonly ModelTask[] =>
  m.finished.map((f, i) => ({
    task: i + 1,
    name: f.name,
    classNames: m.tasks[i]?.classNames ?? Array.from({ length: m.tasks[i]?.classes ?? 0 }, (_, c) => String(c)),
    multiplier: f.multiplier,
    accuracy: f.testAccuracy,
  }));

/** The model of a manifest whose network is loaded: task networks are built on first use and kept until disposed. */
const modelOf = (m: RunManifest, everyWeight: boolean, hash: string, state: NetState, backend: BackendInfo, release: () => void): Model => {
  const tasks = tasksOf(m);
  const built = new Map<number, TaskModel>();
  let disposed = false;
  const networkOf = (t: ModelTask): E.Either<CpgError, TaskModel> => {
    if (disposed) return E.left(internalError('the model was disposed'));
    const have = built.get(t.task);
    if (have !== undefined) return E.right(have);
    return pipe(
      taskModel(state, t.task, everyWeight),
      E.map((tm) => {
        built.set(t.task, tm);
        return tm;
      }),
    );
  };
  /** A found task's network and its inputs as the network sees them, checked first. */
  const prepared = (t: ModelTask, x: Float32Array, o: PredictOptions): E.Either<CpgError, { readonly count: number; readonly net: TaskModel; readonly inputs: Float32Array }> =>
    pipe(
      E.Do,
      E.bind('count', () => checkInputs(x, modelShape(m))),
      E.bind('net', () => networkOf(t)),
      E.map(({ count, net }) => ({ count, net, inputs: (o.inputs ?? 'pixels') === 'pixels' ? normalise(x, m.normalisation) : x })),
    );
  const ranked = (t: ModelTask, o: PredictOptions) => (l: Float32Array): readonly Prediction[] =>
    Array.from({ length: l.length / t.classNames.length }, (_, row) => rank(l, row, t.classNames, o.top ?? 3));
  const logitsOf = (t: ModelTask, x: Float32Array, o: PredictOptions): E.Either<CpgError, Float32Array> =>
    pipe(
      prepared(t, x, o),
      E.chain(({ count, net, inputs }) => logitsSync(net.graph, net.param, inputs, count, o.batchSize ?? 256)),
    );
  const logitsOfAsync = (t: ModelTask, x: Float32Array, o: PredictOptions): TE.TaskEither<CpgError, Float32Array> =>
    pipe(
      TE.fromEither(prepared(t, x, o)),
      TE.chain(({ count, net, inputs }) => logitsWith(net.graph, net.param, inputs, count, o.batchSize ?? 256)),
    );
  return {
    inputShape: modelShape(m),
    normalisation: m.normalisation,
    tasks,
    backend,
    task: (name) => findTask(tasks, m, name),
    logits: (name, x, o = {}) => pipe(findTask(tasks, m, name), E.chain((t) => logitsOf(t, x, o))),
    predict: (name, x, o = {}) =>
      pipe(
        findTask(tasks, m, name),
        E.chain((t) => E.map(ranked(t, o))(logitsOf(t, x, o))),
      ),
    logitsAsync: (name, x, o = {}) => pipe(TE.fromEither(findTask(tasks, m, name)), TE.chain((t) => logitsOfAsync(t, x, o))),
    predictAsync: (name, x, o = {}) =>
      pipe(
        TE.fromEither(findTask(tasks, m, name)),
        TE.chain((t) => TE.map(ranked(t, o))(logitsOfAsync(t, x, o))),
      ),
    export: (name, format) =>
      pipe(
        TE.fromEither(findTask(tasks, m, name)),
        TE.bindTo('t'),
        TE.bind('net', ({ t }) => TE.fromEither(networkOf(t))),
        TE.chain(({ t, net }) =>
          exportFiles(net, format, {
            task: t.name,
            classNames: t.classNames,
            inputShape: modelShape(m),
            normalisation: m.normalisation,
            accuracy: t.accuracy,
            net: m.config.net,
            multiplier: t.multiplier,
            runManifestSha256: hash,
          }),
        ),
      ),
    runManifestSha256: hash,
    dispose: () => {
      if (disposed) return;
      disposed = true;
      for (const tm of built.values()) tm.dispose();
      built.clear();
      release();
    },
  };
};

/**
 * Opens the model a store holds (a run directory's `fsStore(dir)`, or a
 * learner's memory store) for prediction with its finished tasks.
 */
export const openModel = (store: Store, o: OpenOptions = {}): TE.TaskEither<CpgError, Model> => {
  const label = o.label ?? manifestName(store);
  return pipe(
    readManifest(store),
    TE.chain((m) =>
      m === null ? TE.left<CpgError, RunManifest>(dataError(label, 'no model here: it holds no run.json (learn one with `cpg run` or `cpg learn`)')) : TE.right(m),
    ),
    TE.bindTo('m'),
    TE.bind('method', ({ m }) => TE.fromEither(methodOf(o.methods)(m.config.method))),
    TE.chainFirst(({ m, method }) =>
      m.state === null || method.model === 'per-task'
        ? TE.left<CpgError, void>(configError('run', `${label} is an individual-networks run: it keeps no shared network to predict with`))
        : m.finished.length === 0
          ? TE.left<CpgError, void>(configError('run', `${label} has no finished task yet: nothing to predict with`))
          : TE.right(undefined),
    ),
    // The hash of the manifest's bytes, for task.json (what `sha256sum run.json` prints).
    TE.bind('hash', () => pipe(store.readManifest, TE.chain((b) => sha256Hex([b ?? new Uint8Array()])))),
    TE.bind('base', ({ m }) => TE.fromEither(E.mapLeft((message: string): CpgError => configError('net', message))(architectureFor(m.config.net, modelShape(m), label)))),
    TE.bind('lease', ({ m }) =>
      acquireBackend({
        prefer: o.backend ?? m.config.backend,
        ...(o.threads !== undefined ? { threads: o.threads } : m.config.threads !== undefined ? { threads: recordedThreads(m.config.threads)! } : {}),
        ...(o.platform !== undefined ? { platform: o.platform } : {}),
      }),
    ),
    TE.chain(({ m, method, hash, base, lease }) =>
      pipe(
        loadNet(store, base, m.state!),
        TE.map(({ state }) => modelOf(m, method.everyWeight, hash, state, lease.info, () => void lease.release())),
        // A model that could not be opened gives the backend back at once.
        TE.orElse((e) => pipe(TE.fromTask(lease.release), TE.chain(() => TE.left(e)))),
      ),
    ),
  );
};
