/**
 * The shapes of the data the rest of the library trains on: a benchmark is a
 * sequence of classification tasks, each with its own train / validation /
 * test splits of normalised NHWC images and task-local labels.
 */

import type { BenchmarkName } from '../../algebra/benchmarks.js';
import type { Augmentation, InputShape, Split, Task } from '../../algebra/task.js';

export type { BenchmarkName } from '../../algebra/benchmarks.js';
export { benchmarkNames } from '../../algebra/benchmarks.js';
export type { Split } from '../../algebra/task.js';

/** A shipped benchmark's task: every split present, test included. */
export type TaskData = Task & { readonly test: Split };

/** A sequence of tasks over images of one shape. */
export interface Benchmark {
  readonly name: BenchmarkName;
  /** [height, width, channels]. */
  readonly inputShape: InputShape;
  readonly tasks: readonly TaskData[];
  /** What training should do to each batch: nothing, or random crop + horizontal flip. */
  readonly augmentation: Augmentation;
}

/** What to load and how to split it. */
export interface DataOptions {
  readonly benchmark: BenchmarkName;
  /** Seeds the splits and the permutations (through rngFor). */
  readonly seed: number;
  /** Take only the first N tasks (and load only what they need); default benchmarkTaskCount. */
  readonly tasks?: number;
  /** The CIFAR-100 binary directory (required for cifar100, ignored otherwise). */
  readonly dataPath?: string;
  /** Fraction of each class's training pool held out for validation, in [0, 1). */
  readonly valFraction: number;
  /** Fraction of each class held out for test, in [0, 1); MNIST / Fashion-MNIST only (CIFAR-100 ships test.bin). */
  readonly testFraction: number;
  /** Cap on training images per task, spread over its classes in proportion (val / test unaffected). */
  readonly limitPerTask?: number;
  /** Where to keep the compact Fashion-MNIST copy; default node_modules/.cache/cpg, then the OS temp dir. */
  readonly cacheDir?: string;
}

/**
 * The images of one class of a source, kept in the source's compact form
 * until a split is assembled.
 */
export interface ClassPool {
  readonly count: number;
  /** H·W·C of one image. */
  readonly pixels: number;
  /** Writes image i, normalised and in NHWC order, into `out` starting at `offset`. */
  readonly write: (i: number, out: Float32Array, offset: number) => void;
}
