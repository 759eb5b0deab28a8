/**
 * A task as data: what the learner is given to learn. A name, class names,
 * the input shape, and train / validation / optional test splits of inputs
 * (NHWC float32, as the network sees them) with task-local labels.
 *
 * Every source (the built-in benchmarks, image folders, arrays or tensors in
 * memory) produces this one type, and it is checked once, where it enters the
 * learner: each refusal is a TaskError naming the task and the field.
 */
import * as E from 'fp-ts/lib/Either.js';
import type * as t from 'io-ts';
import { type CpgError, taskError } from './errors.js';
import { FiniteNumber, PositiveNumber, checked, list, range, struct } from './shape.js';

/** [height, width, channels] of one input. */
export type InputShape = readonly [number, number, number];

/** [height, width, channels] of a model's input, as a run stores it: a list of exactly three (manifest.ts, modelShape, makes it a tuple again). */
export const InputShapeCodec = list(range(1, 4096, false, false, true), { minLength: 3, maxLength: 3 });

/** io-ts has no tuple of ranges, so the shape is written twice; compile-time proof that every InputShape is a value of the codec (always true). */
export const inputShapeFitsCodec: InputShape extends t.TypeOf<typeof InputShapeCodec> ? true : false = true;

/** One split: `count` inputs, `x` is count × H·W·C (NHWC), `y` the labels 0..classes-1. */
export interface Split {
  readonly x: Float32Array;
  readonly y: Int32Array;
  readonly count: number;
}

/**
 * How raw pixels in [0, 1] became the inputs: `(p − mean[c]) / std[c]` per
 * channel. A model records its first task's, and every later task must use the
 * same (an app that predicts needs to know it). Null: the inputs are the
 * caller's own features, used as given.
 */
export const NormalisationCodec = checked(
  struct('a normalisation', { mean: list(FiniteNumber, { minLength: 1 }), std: list(PositiveNumber, { minLength: 1 }) }),
  (n) => (n.mean.length !== n.std.length ? [{ path: ['std'], message: `has ${n.std.length} channel(s), mean has ${n.mean.length}` }] : []),
);
export type Normalisation = t.TypeOf<typeof NormalisationCodec>;

/** What training does to each batch: nothing, or random crop with 4-pixel padding and horizontal flip. */
export type Augmentation = 'none' | 'crop-flip';

/** A classification task to learn. */
export interface Task {
  readonly name: string;
  /** Label i is classNames[i]. */
  readonly classNames: readonly string[];
  readonly inputShape: InputShape;
  readonly train: Split;
  /** Tests the goal and chooses the compacting ratio: at least `minValidation` inputs, one of every class. */
  readonly val: Split;
  /** Measures the accuracy reports show; without it they show validation accuracy. */
  readonly test?: Split;
  readonly normalisation: Normalisation | null;
  readonly augmentation?: Augmentation;
}

/** The fewest validation inputs that can test a goal (one input more or less is then at most 10 points). */
export const minValidation = 10;

/** Number of classes of a task. */
export const classCount = (t: Pick<Task, 'classNames'>): number => t.classNames.length;

/** H·W·C of one input. */
export const pixelsOf = (shape: InputShape): number => shape[0] * shape[1] * shape[2];

/** The split reports measure accuracy on: test when the task has one, else validation. */
export const reportSplit = (t: Pick<Task, 'test' | 'val'>): Split => t.test ?? t.val;

const codePoint = (c: string): string => `U+${c.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`;

/** A name as one printable line: control characters as U+XXXX, a long one cut. */
const shownName = (name: string): string => {
  const s = name.replace(/[\u0000-\u001f\u007f]/g, (c) => `<${codePoint(c)}>`);
  return s.length > 80 ? `${s.slice(0, 80)}…` : s;
};

/** Why a name cannot be printed as one line of a message or a table, or undefined (control characters would break one-line messages and reports; a bound keeps tables readable). */
const lineProblem = (name: string): string | undefined => {
  if (name.length === 0 || name.length > 200) return `must be 1 to 200 characters, got ${name.length}`;
  const control = /[\u0000-\u001f\u007f]/.exec(name);
  return control === null ? undefined : `holds the control character ${codePoint(control[0])} at position ${control.index}: a name is printed on one line`;
};

/**
 * Why a name cannot be a new task's name, naming the character, or
 * undefined. An exported task becomes a folder of its name, so the name must
 * be one folder name on every system: no path separator, not '.' or '..'.
 * (Other characters a system refuses in a folder name, like ':' on Windows,
 * are replaced when exporting.)
 */
export const taskNameProblem = (name: string): string | undefined => {
  const line = lineProblem(name);
  if (line !== undefined) return line;
  const separator = /[/\\]/.exec(name);
  if (separator !== null)
    return `holds '${separator[0]}' at position ${separator.index}: an exported task becomes a folder of its name, and '${separator[0]}' separates folders`;
  if (name === '.' || name === '..')
    return `cannot be '${name}': an exported task becomes a folder of its name, and '.' and '..' name the folder itself and the one above`;
  return undefined;
};

/** A new task's name, or its refusal (a TaskError naming the character, on one line). */
export const checkTaskName = (name: string): E.Either<CpgError, string> => {
  const refused = taskNameProblem(name);
  return refused === undefined ? E.right(name) : E.left(taskError(shownName(name), 'name', refused));
};

const isShape = (s: unknown): s is InputShape =>
  Array.isArray(s) && s.length === 3 && s.every((d) => Number.isSafeInteger(d) && (d as number) >= 1 && (d as number) <= 4096);

/** Checks one split's arrays and labels; counts the inputs of each class. */
const checkSplit = (task: string, which: string, s: Split | undefined, pixels: number, classes: number): E.Either<CpgError, Int32Array> => {
  const bad = (field: string, message: string) => E.left(taskError(task, `${which}${field}`, message));
  if (typeof s !== 'object' || s === null) return bad('', 'missing: expected { x, y, count }');
  if (!(s.x instanceof Float32Array)) return bad('.x', 'must be a Float32Array of count × H·W·C inputs');
  if (!(s.y instanceof Int32Array)) return bad('.y', 'must be an Int32Array of labels');
  if (!Number.isSafeInteger(s.count) || s.count < 0) return bad('.count', `must be a whole number, got ${String(s.count)}`);
  if (s.y.length !== s.count) return bad('.y', `holds ${s.y.length} labels for ${s.count} inputs`);
  if (s.x.length !== s.count * pixels)
    return bad('.x', `holds ${s.x.length} values; ${s.count} inputs of ${pixels} values need ${s.count * pixels}`);
  const perClass = new Int32Array(classes);
  for (let i = 0; i < s.count; i++) {
    const label = s.y[i]!;
    if (label < 0 || label >= classes) return bad(`.y[${i}]`, `label ${label} is outside 0..${classes - 1} (the task has ${classes} classes)`);
    perClass[label] = perClass[label]! + 1;
  }
  for (let i = 0; i < s.x.length; i++)
    if (!Number.isFinite(s.x[i]!)) return bad('.x', `input ${Math.floor(i / pixels)} holds a non-finite value (${s.x[i]}) at position ${i % pixels}`);
  return E.right(perClass);
};

/** Checks a normalisation against a channel count (null: none, always fine); a refusal names the task and field. */
export const checkNormalisation = (task: string, n: Normalisation | null, channels: number): E.Either<CpgError, void> => {
  if (n === null) return E.right(undefined);
  const ok = (xs: unknown, positive: boolean) =>
    Array.isArray(xs) && xs.length === channels && xs.every((v) => typeof v === 'number' && Number.isFinite(v) && (!positive || v > 0));
  if (!ok(n.mean, false)) return E.left(taskError(task, 'normalisation.mean', `must be ${channels} finite number(s), one per channel`));
  if (!ok(n.std, true)) return E.left(taskError(task, 'normalisation.std', `must be ${channels} number(s) > 0, one per channel`));
  return E.right(undefined);
};

/** The checks of a task, its name judged by `nameProblem`. */
const checkWith = (t: Task, nameProblem: (name: string) => string | undefined): E.Either<CpgError, Task> => {
  const name = typeof t.name === 'string' ? t.name : String(t.name);
  const refused = nameProblem(name);
  if (refused !== undefined) return E.left(taskError(shownName(name), 'name', refused));
  const bad = (field: string, message: string) => E.left(taskError(name, field, message));
  if (!Array.isArray(t.classNames) || t.classNames.length < 2) return bad('classNames', 'a task needs at least 2 classes');
  const seen = new Set<string>();
  for (const [i, c] of t.classNames.entries()) {
    if (typeof c !== 'string' || lineProblem(c) !== undefined) return bad(`classNames[${i}]`, 'must be 1 to 200 characters with no control characters');
    if (seen.has(c)) return bad(`classNames[${i}]`, `'${c}' appears twice`);
    seen.add(c);
  }
  if (!isShape(t.inputShape)) return bad('inputShape', `must be [height, width, channels] of whole numbers in 1..4096, got ${JSON.stringify(t.inputShape)}`);
  if (t.augmentation !== undefined && t.augmentation !== 'none' && t.augmentation !== 'crop-flip')
    return bad('augmentation', `must be 'none' or 'crop-flip', got ${JSON.stringify(t.augmentation)}`);
  const norm = checkNormalisation(name, t.normalisation, t.inputShape[2]);
  if (E.isLeft(norm)) return norm;
  const pixels = pixelsOf(t.inputShape);
  const classes = t.classNames.length;
  const train = checkSplit(name, 'train', t.train, pixels, classes);
  if (E.isLeft(train)) return train;
  const empty = train.right.findIndex((n) => n === 0);
  if (empty !== -1) return bad('train', `class '${t.classNames[empty]}' has no training inputs`);
  const val = checkSplit(name, 'val', t.val, pixels, classes);
  if (E.isLeft(val)) return val;
  if (t.val.count < minValidation)
    return bad('val', `holds ${t.val.count} input(s); testing a goal needs at least ${minValidation} (one input would move accuracy by ${(100 / Math.max(1, t.val.count)).toFixed(0)} points)`);
  const missing = val.right.findIndex((n) => n === 0);
  if (missing !== -1) return bad('val', `class '${t.classNames[missing]}' has no validation inputs: its accuracy cannot be checked`);
  if (t.test !== undefined) {
    const test = checkSplit(name, 'test', t.test, pixels, classes);
    if (E.isLeft(test)) return test;
    if (t.test.count === 0) return bad('test', 'is empty: leave it out to report validation accuracy instead');
  }
  return E.right(t);
};

/**
 * Checks a task that enters a model: its name (one line, and a folder name:
 * see `taskNameProblem`), class names, shape, every split's arrays, labels in
 * range and finite inputs, no class without training inputs, and enough
 * validation inputs to test a goal.
 */
export const checkTask = (t: Task): E.Either<CpgError, Task> => checkWith(t, taskNameProblem);

/**
 * `checkTask` less the folder-name rule (the name must still be one line):
 * for data a source reads, and for a task the model already holds, read or
 * given again under its name. That name was accepted when the task was
 * learned; a model learned before the rule keeps its tasks (export gives such
 * a name a safe folder).
 */
export const checkTaskData = (t: Task): E.Either<CpgError, Task> => checkWith(t, lineProblem);

/** What a model already holds that a new task must agree with. */
export interface ModelFacts {
  readonly inputShape: InputShape;
  readonly normalisation: Normalisation | null;
  /** Names of the tasks the model holds (finished or in progress). */
  readonly names: readonly string[];
}

const sameNumbers = (a: readonly number[], b: readonly number[]): boolean => a.length === b.length && a.every((x, i) => x === b[i]);

/** Whether two normalisations are the same (both null, or equal numbers). */
export const sameNormalisation = (a: Normalisation | null, b: Normalisation | null): boolean =>
  a === null || b === null ? a === b : sameNumbers(a.mean, b.mean) && sameNumbers(a.std, b.std);

const showNormalisation = (n: Normalisation | null): string => (n === null ? 'none' : `mean [${n.mean.join(', ')}], std [${n.std.join(', ')}]`);

/** Checks a task, then that it fits a model: same input shape and normalisation, a name not yet used. */
export const checkTaskFor =
  (model: ModelFacts | undefined) =>
  (t: Task): E.Either<CpgError, Task> => {
    // A name the model holds is refused below for being held, not for predating the folder-name rule.
    const own = model?.names.includes(t.name) === true ? checkTaskData(t) : checkTask(t);
    if (E.isLeft(own) || model === undefined) return own;
    if (model.names.includes(t.name)) return E.left(taskError(t.name, 'name', `the model already holds a task named '${t.name}': task names must be unique`));
    if (!sameNumbers(t.inputShape, model.inputShape))
      return E.left(taskError(t.name, 'inputShape', `is ${t.inputShape.join('×')}, the model's input is ${model.inputShape.join('×')}`));
    if (!sameNormalisation(t.normalisation, model.normalisation))
      return E.left(
        taskError(t.name, 'normalisation', `is ${showNormalisation(t.normalisation)}, the model was learned with ${showNormalisation(model.normalisation)}`),
      );
    return E.right(t);
  };

/** The bytes that identify a task's data (for its hash): classes, shape and every split's inputs and labels. */
export const taskDataParts = (t: Task): Uint8Array[] => {
  const bytes = (a: Float32Array | Int32Array): Uint8Array => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  const head = new TextEncoder().encode(JSON.stringify({ classNames: t.classNames, inputShape: t.inputShape, test: t.test !== undefined }));
  const splits = [t.train, t.val, ...(t.test !== undefined ? [t.test] : [])];
  return [head, ...splits.flatMap((s) => [bytes(s.x), bytes(s.y)])];
};

/** Per-channel population mean and standard deviation of NHWC values (float64); a constant channel is a Left naming it. */
export const fitNormalisation = (x: Float32Array, channels: number): E.Either<string, Normalisation> => {
  const n = x.length / channels;
  const sum = new Float64Array(channels);
  for (let i = 0; i < x.length; i++) sum[i % channels] = sum[i % channels]! + x[i]!;
  const mean = Array.from(sum, (s) => s / n);
  const sq = new Float64Array(channels);
  for (let i = 0; i < x.length; i++) {
    const d = x[i]! - mean[i % channels]!;
    sq[i % channels] = sq[i % channels]! + d * d;
  }
  const std = Array.from(sq, (s) => Math.sqrt(s / n));
  const flat = std.findIndex((s) => !(s > 0));
  return flat === -1 ? E.right({ mean, std }) : E.left(`channel ${flat} is constant (${mean[flat]}): it cannot be normalised`);
};

/** `(x − mean[c]) / std[c]` per channel, as float32. */
export const applyNormalisation = (x: Float32Array, n: Normalisation): Float32Array => {
  const channels = n.mean.length;
  const out = new Float32Array(x.length);
  for (let i = 0; i < x.length; i++) out[i] = (x[i]! - n.mean[i % channels]!) / n.std[i % channels]!;
  return out;
};
