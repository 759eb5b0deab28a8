/**
 * The shapes of the data the rest of the library trains on: a benchmark is a
 * sequence of classification tasks, each with its own train / validation /
 * test splits of normalised NHWC images and task-local labels.
 */

/** The benchmarks the library can build from real data. */
export type BenchmarkName = 'split-mnist' | 'permuted-mnist' | 'split-fmnist' | 'cifar100';

/** Every benchmark name, in a fixed order (for flags and help text). */
export const benchmarkNames: readonly BenchmarkName[] = ['split-mnist', 'permuted-mnist', 'split-fmnist', 'cifar100'];

/** One split: `count` images, `x` is count × H·W·C (NHWC, normalised), `y` the task-local labels. */
export interface Split {
  readonly x: Float32Array;
  readonly y: Int32Array;
  readonly count: number;
}

/** One task: its classes (labels 0..classes-1 in `classNames` order) and its three splits. */
export interface TaskData {
  readonly name: string;
  readonly classes: number;
  readonly classNames: readonly string[];
  readonly train: Split;
  readonly val: Split;
  readonly test: Split;
}

/** A sequence of tasks over images of one shape. */
export interface Benchmark {
  readonly name: BenchmarkName;
  /** [height, width, channels]. */
  readonly inputShape: readonly [number, number, number];
  readonly tasks: readonly TaskData[];
  /** What training should do to each batch: nothing, or random crop + horizontal flip. */
  readonly augmentation: 'none' | 'crop-flip';
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
