/**
 * What is known about each shipped benchmark before any data is read: the
 * input shape, how pixels are normalised, the augmentation, and how many
 * tasks it has. Pure data: the loaders (effects/data) read the images.
 */
import type * as t from 'io-ts';
import { oneOf } from './shape.js';
import type { Augmentation, InputShape, Normalisation } from './task.js';

/** Every shipped benchmark, in a fixed order (for flags and help text): the one list their names come from. */
export const benchmarkNames = ['split-mnist', 'permuted-mnist', 'split-fmnist', 'cifar100'] as const;

/** A benchmark the library ships. */
export const BenchmarkName = oneOf(...benchmarkNames);
export type BenchmarkName = t.TypeOf<typeof BenchmarkName>;

/** What a run learns: a shipped benchmark, or 'custom' — tasks given to `cpg learn` or to a learner. */
export const BenchmarkChoice = oneOf(...benchmarkNames, 'custom');
export type BenchmarkChoice = t.TypeOf<typeof BenchmarkChoice>;

/** Mean / standard deviation of MNIST pixels in [0, 1]. */
export const mnistStats = { mean: 0.1307, std: 0.3081 } as const;
/** Mean / standard deviation of Fashion-MNIST pixels in [0, 1]. */
export const fashionStats = { mean: 0.286, std: 0.353 } as const;
/** Per-channel (R, G, B) mean / standard deviation of CIFAR-100 pixels in [0, 1]. */
export const cifarStats = { mean: [0.5071, 0.4865, 0.4409], std: [0.2673, 0.2564, 0.2762] } as const;

/** A benchmark's fixed facts. */
export interface BenchmarkFacts {
  readonly inputShape: InputShape;
  readonly normalisation: Normalisation;
  readonly augmentation: Augmentation;
  /** Tasks when the configuration does not say. */
  readonly defaultTasks: number;
  /** The most tasks it can have (Permuted MNIST is capped only to bound memory: ~31 MB a task). */
  readonly maxTasks: number;
}

const grey = (s: { readonly mean: number; readonly std: number }): Normalisation => ({ mean: [s.mean], std: [s.std] });

/** The facts of every shipped benchmark. */
export const benchmarkFacts: Readonly<Record<BenchmarkName, BenchmarkFacts>> = {
  'split-mnist': { inputShape: [28, 28, 1], normalisation: grey(mnistStats), augmentation: 'none', defaultTasks: 5, maxTasks: 5 },
  'permuted-mnist': { inputShape: [28, 28, 1], normalisation: grey(mnistStats), augmentation: 'none', defaultTasks: 10, maxTasks: 100 },
  'split-fmnist': { inputShape: [28, 28, 1], normalisation: grey(fashionStats), augmentation: 'none', defaultTasks: 5, maxTasks: 5 },
  cifar100: {
    inputShape: [32, 32, 3],
    normalisation: { mean: [...cifarStats.mean], std: [...cifarStats.std] },
    augmentation: 'crop-flip',
    defaultTasks: 20,
    maxTasks: 20,
  },
};

/** Whether a run's `benchmark` names a shipped one (not 'custom'). */
export const isBenchmarkName = (b: string): b is BenchmarkName => (benchmarkNames as readonly string[]).includes(b);
