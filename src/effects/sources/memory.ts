/**
 * Tasks from arrays or tensors in memory, for library users: plain arrays,
 * typed arrays or tfjs tensors become the Task the learner takes. Inputs are
 * NHWC (a tensor may be [n, H, W, C] or [n, H·W·C]); labels whole numbers.
 * Pixels in [0, 1] can be normalised here, with given statistics or with the
 * training split's own; inputs that are features already are used as given.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as E from 'fp-ts/lib/Either.js';
import type * as TE from 'fp-ts/lib/TaskEither.js';
import { type CpgError, taskError } from '../../algebra/errors.js';
import {
  type Augmentation,
  type InputShape,
  type Normalisation,
  type Split,
  type Task,
  applyNormalisation,
  checkTaskData,
  fitNormalisation,
  pixelsOf,
} from '../../algebra/task.js';

/** Inputs or labels as the caller has them. */
export type Values = Float32Array | Int32Array | readonly number[] | tf.Tensor;

/** One split as the caller has it. */
export interface SplitInput {
  readonly x: Values;
  readonly y: Values;
}

/** A task as arrays or tensors. */
export interface ArraysTask {
  readonly name: string;
  readonly classNames: readonly string[];
  readonly inputShape: InputShape;
  readonly train: SplitInput;
  readonly val: SplitInput;
  readonly test?: SplitInput;
  /**
   * 'as-given' (default): the inputs are used as they are (no normalisation is
   * recorded); 'fit': they are pixels in [0, 1], normalised with the training
   * split's per-channel mean and std; or statistics to normalise pixels with
   * (a later task of the same model passes the first task's `normalisation`).
   */
  readonly normalise?: 'as-given' | 'fit' | Normalisation;
  readonly augmentation?: Augmentation;
}

/**
 * A tensor's values, read synchronously. A tensor a GPU backend holds on the
 * device cannot always be read that way (tfjs's webgpu backend in Node needs
 * an OffscreenCanvas; in a page it stalls the GPU): a Left that names the
 * async twin, `taskFromArraysAsync`, which reads with `data()`.
 */
const readSync = (task: string, field: string, t: tf.Tensor): E.Either<CpgError, Float32Array | Int32Array | Uint8Array> =>
  E.tryCatch(
    () => t.dataSync() as Float32Array | Int32Array | Uint8Array,
    (e) => taskError(task, field, `is a tensor the '${tf.getBackend()}' backend cannot read synchronously (${e instanceof Error ? e.message : String(e)}): use taskFromArraysAsync`),
  );

const floats = (task: string, field: string, v: Values): E.Either<CpgError, Float32Array> => {
  if (v instanceof Float32Array) return E.right(v);
  if (v instanceof tf.Tensor) return E.map((d: ArrayLike<number>) => Float32Array.from(d))(readSync(task, field, v));
  return E.right(Float32Array.from(v));
};

const labels = (task: string, field: string, v: Values): E.Either<CpgError, Int32Array> => {
  if (v instanceof Int32Array) return E.right(v);
  const read: E.Either<CpgError, ArrayLike<number>> = v instanceof tf.Tensor ? readSync(task, field, v) : E.right(v);
  if (E.isLeft(read)) return read;
  const xs = read.right;
  const out = new Int32Array(xs.length);
  for (let i = 0; i < xs.length; i++) {
    const y = xs[i]!;
    if (!Number.isSafeInteger(y)) return E.left(taskError(task, `${field}[${i}]`, `label ${y} is not a whole number`));
    out[i] = y;
  }
  return E.right(out);
};

const splitOf = (task: string, which: string, s: SplitInput | undefined, pixels: number): E.Either<CpgError, Split> => {
  if (s === undefined || s === null || typeof s !== 'object') return E.left(taskError(task, which, 'missing: expected { x, y }'));
  const y = labels(task, `${which}.y`, s.y);
  if (E.isLeft(y)) return y;
  if (s.x instanceof tf.Tensor && s.x.shape[0] !== y.right.length)
    return E.left(taskError(task, `${which}.x`, `is a tensor of ${s.x.shape[0]} inputs for ${y.right.length} labels`));
  const x = floats(task, `${which}.x`, s.x);
  if (E.isLeft(x)) return x;
  if (x.right.length !== y.right.length * pixels)
    return E.left(taskError(task, `${which}.x`, `holds ${x.right.length} values; ${y.right.length} inputs of ${pixels} values need ${y.right.length * pixels}`));
  return E.right({ x: x.right, y: y.right, count: y.right.length });
};

/** A checked Task from arrays or tensors (each refusal names the task and the field). */
export const taskFromArrays = (a: ArraysTask): E.Either<CpgError, Task> => {
  const name = String(a.name);
  const shape = a.inputShape;
  if (!Array.isArray(shape) || shape.length !== 3) return E.left(taskError(name, 'inputShape', `must be [height, width, channels], got ${JSON.stringify(shape)}`));
  const pixels = pixelsOf(shape);
  const train = splitOf(name, 'train', a.train, pixels);
  if (E.isLeft(train)) return train;
  const val = splitOf(name, 'val', a.val, pixels);
  if (E.isLeft(val)) return val;
  const test = a.test === undefined ? E.right(undefined) : splitOf(name, 'test', a.test, pixels);
  if (E.isLeft(test)) return test;
  const mode = a.normalise ?? 'as-given';
  const stats: E.Either<CpgError, Normalisation | null> =
    mode === 'as-given'
      ? E.right(null)
      : mode === 'fit'
        ? E.mapLeft((why: string) => taskError(name, 'train.x', `${why} (normalise: 'fit' needs varied pixels)`))(fitNormalisation(train.right.x, shape[2]))
        : E.right(mode);
  if (E.isLeft(stats)) return stats;
  const n = stats.right;
  const norm = (s: Split): Split => (n === null ? s : { ...s, x: applyNormalisation(s.x, n) });
  // The name is judged where the task enters a model (a learner): here, the data.
  return checkTaskData({
    name,
    classNames: [...a.classNames],
    inputShape: [shape[0], shape[1], shape[2]],
    train: norm(train.right),
    val: norm(val.right),
    ...(test.right !== undefined ? { test: norm(test.right) } : {}),
    normalisation: n,
    ...(a.augmentation !== undefined ? { augmentation: a.augmentation } : {}),
  });
};

/** A split's tensors read with `data()`, which every backend supports (the rest as given). */
const readSplit = async (s: SplitInput | undefined): Promise<SplitInput | undefined> => {
  if (s === undefined || s === null || typeof s !== 'object') return s;
  const read = async (v: Values): Promise<Values> => (v instanceof tf.Tensor ? ((await v.data()) as Float32Array | Int32Array) : v);
  const y = await read(s.y);
  // A tensor whose rows do not match its labels stays a tensor: taskFromArrays names that before reading it.
  const mismatch = s.x instanceof tf.Tensor && y !== undefined && y !== null && s.x.shape[0] !== (y as ArrayLike<number>).length;
  return { x: mismatch ? s.x : await read(s.x), y };
};

/**
 * taskFromArrays for tensors on any backend: reads them asynchronously
 * (`data()`), as a GPU backend wants, then checks the task the same way.
 */
export const taskFromArraysAsync =
  (a: ArraysTask): TE.TaskEither<CpgError, Task> =>
  async () => {
    const [train, val, test] = await Promise.all([readSplit(a.train), readSplit(a.val), readSplit(a.test)]);
    return taskFromArrays({ ...a, train: train!, val: val!, ...(test !== undefined ? { test } : {}) });
  };
