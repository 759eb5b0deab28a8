/**
 * The continual-learning benchmarks, built from real data:
 *
 * - Split MNIST: 5 tasks of two digits (0/1, 2/3, …), labels 0/1 per task.
 * - Permuted MNIST: N tasks of all ten digits; task 1 as is, task t under a
 *   seeded pixel permutation; every task uses the same images in each split.
 * - Split Fashion-MNIST: 5 tasks of two classes, as Split MNIST.
 * - CIFAR-100: 20 tasks, one per superclass, of its 5 fine classes (ascending
 *   fine label); train / val from train.bin, test = test.bin.
 *
 * Splits are stratified per class and seeded per class, so a class's split is
 * the same whatever else is loaded; `tasks` loads only the first N tasks' data.
 */
import * as E from 'fp-ts/lib/Either.js';
import * as TE from 'fp-ts/lib/TaskEither.js';
import { pipe } from 'fp-ts/lib/function.js';
import { type CpgError, configError } from '../../algebra/errors.js';
import { rngFor } from '../../effects/random.js';
import { type CifarData, cifarSide, readCifar, cifarRecordBytes } from './cifar.js';
import { fashionClassNames, fashionPixels, fashionSlugs, readFashionClasses } from './fashion.js';
import { dataError } from './files.js';
import { mnistPixels, readDigits } from './mnist.js';
import { type OptionalPackage, packageDirectory } from '../optional.js';
import { bytePool, fashionStats, mnistStats, planarPool, unitFloatPool } from '../../effects/data/pools.js';
import { allocateLimit, assembleSplit, type ClassSplit, type SplitPart, splitClass } from '../../effects/data/split.js';
import { benchmarkFacts } from '../../algebra/benchmarks.js';
import { type Benchmark, type BenchmarkName, benchmarkNames, type ClassPool, type DataOptions, type TaskData } from '../../effects/data/types.js';

/** The default number of tasks of each benchmark. */
export const benchmarkTaskCount = (b: BenchmarkName): number => benchmarkFacts[b].defaultTasks;

/** The most tasks a benchmark can have (Permuted MNIST is capped only to bound memory: ~31 MB a task). */
export const benchmarkMaxTasks = (b: BenchmarkName): number => benchmarkFacts[b].maxTasks;

/**
 * The pixel permutation of Permuted MNIST task t (1-based): the identity for
 * task 1, else drawn from rngFor(seed, `permutation-${t}`). Output pixel j
 * shows input pixel p[j].
 */
export const permutationFor = (seed: number, t: number): Int32Array => {
  if (t === 1) return Int32Array.from({ length: mnistPixels }, (_, i) => i);
  return rngFor(seed, `permutation-${t}`).permutation(mnistPixels);
};

/** The npm package each benchmark reads its images from (an optional peer dependency of cpg); CIFAR-100 reads the files `dataPath` names. */
export const benchmarkPackage: Readonly<Record<BenchmarkName, OptionalPackage | null>> = {
  'split-mnist': 'mnist',
  'permuted-mnist': 'mnist',
  'split-fmnist': 'fashion-mnist',
  cifar100: null,
};

/** Whether the benchmark's package is installed: a MissingPackage error naming the benchmark and the package when not. */
export const checkBenchmarkPackage = (b: BenchmarkName): E.Either<CpgError, void> => {
  const pkg = benchmarkPackage[b];
  return pkg === null ? E.right(undefined) : E.map(() => undefined)(packageDirectory(pkg, `the benchmark '${b}' reads`));
};

const isFraction = (f: number): boolean => Number.isFinite(f) && f >= 0 && f < 1;

/** Checks the options; returns the number of tasks to build. */
export const checkDataOptions = (o: DataOptions): E.Either<CpgError, number> => {
  if (!benchmarkNames.includes(o.benchmark))
    return E.left(configError('benchmark', `unknown benchmark '${String(o.benchmark)}' (one of ${benchmarkNames.join(', ')})`));
  if (!Number.isFinite(o.seed)) return E.left(configError('seed', `must be a finite number, got ${o.seed}`));
  if (!isFraction(o.valFraction)) return E.left(configError('valFraction', `must be in [0, 1), got ${o.valFraction}`));
  if (o.benchmark !== 'cifar100') {
    if (!isFraction(o.testFraction)) return E.left(configError('testFraction', `must be in [0, 1), got ${o.testFraction}`));
    if (o.valFraction + o.testFraction >= 1)
      return E.left(configError('testFraction', `valFraction + testFraction must be below 1, got ${o.valFraction + o.testFraction}`));
  }
  const max = benchmarkMaxTasks(o.benchmark);
  const tasks = o.tasks ?? benchmarkTaskCount(o.benchmark);
  if (!Number.isInteger(tasks) || tasks < 1 || tasks > max)
    return E.left(configError('tasks', `${o.benchmark} has 1..${max} tasks, got ${tasks}`));
  if (o.limitPerTask !== undefined && (!Number.isInteger(o.limitPerTask) || o.limitPerTask < 1))
    return E.left(configError('limitPerTask', `must be a positive integer, got ${o.limitPerTask}`));
  if (o.benchmark === 'cifar100' && (o.dataPath === undefined || o.dataPath === ''))
    return E.left(dataError(undefined, 'cifar100 needs dataPath: the directory of the official binary version (cifar-100-binary/)'));
  return E.right(tasks);
};

/** One class of a task: its pool and the label of its split stream. */
interface TaskClass {
  readonly pool: ClassPool;
  readonly splitKey: string;
}

/**
 * A task whose classes each ship one pool (MNIST, Fashion-MNIST): each class
 * is cut into test / val / train, the train part capped by limitPerTask.
 * `orderKey` seeds the order of images within each split.
 */
const pooledTask = (
  o: DataOptions,
  name: string,
  classNames: readonly string[],
  classes: readonly TaskClass[],
  splits: readonly ClassSplit[],
  orderKey: string,
  pixels: number,
): TaskData => {
  const keep = allocateLimit(splits.map((s) => s.train.length), o.limitPerTask);
  const parts = (which: keyof ClassSplit): SplitPart[] =>
    classes.map((c, label) => {
      const s = splits[label]!;
      return { pool: c.pool, label, indices: which === 'train' ? s.train.subarray(0, keep[label]) : s[which] };
    });
  const build = (which: keyof ClassSplit) => assembleSplit(parts(which), pixels, rngFor(o.seed, `order/${orderKey}/${which}`));
  const facts = benchmarkFacts[o.benchmark];
  return { name, classNames, inputShape: facts.inputShape, train: build('train'), val: build('val'), test: build('test'), normalisation: facts.normalisation, augmentation: facts.augmentation };
};

const splitsOf = (o: DataOptions, classes: readonly TaskClass[]): ClassSplit[] =>
  classes.map((c) => splitClass(c.pool.count, o.valFraction, o.testFraction, rngFor(o.seed, c.splitKey)));

const range = (n: number, from = 0): number[] => Array.from({ length: n }, (_, i) => from + i);

const splitMnist = (o: DataOptions, tasks: number): TE.TaskEither<CpgError, TaskData[]> =>
  pipe(
    readDigits(range(2 * tasks)),
    TE.map((digits) =>
      range(tasks).map((t) => {
        const classes = [2 * t, 2 * t + 1].map((d) => ({
          pool: unitFloatPool(digits[d]!, mnistPixels, mnistStats),
          splitKey: `split/mnist/class-${d}`,
        }));
        const name = `digits-${2 * t}-${2 * t + 1}`;
        return pooledTask(o, name, [`${2 * t}`, `${2 * t + 1}`], classes, splitsOf(o, classes), `split-mnist/${name}`, mnistPixels);
      }),
    ),
  );

const permutedMnist = (o: DataOptions, tasks: number): TE.TaskEither<CpgError, TaskData[]> =>
  pipe(
    readDigits(range(10)),
    TE.map((digits) => {
      const plain = digits.map((d, c) => ({ pool: unitFloatPool(d, mnistPixels, mnistStats), splitKey: `split/mnist/class-${c}` }));
      const splits = splitsOf(o, plain); // one cut shared by every task
      return range(tasks, 1).map((t) => {
        const p = permutationFor(o.seed, t);
        const classes = digits.map((d, c) => ({ pool: unitFloatPool(d, mnistPixels, mnistStats, p), splitKey: `split/mnist/class-${c}` }));
        return pooledTask(o, `permuted-${t}`, range(10).map(String), classes, splits, 'permuted-mnist', mnistPixels);
      });
    }),
  );

const splitFashion = (o: DataOptions, tasks: number): TE.TaskEither<CpgError, TaskData[]> =>
  pipe(
    readFashionClasses(range(2 * tasks), o.cacheDir === undefined ? {} : { cacheDirs: [o.cacheDir] }),
    TE.map((images) =>
      range(tasks).map((t) => {
        const ids = [2 * t, 2 * t + 1];
        const classes = ids.map((c) => ({
          pool: bytePool(images[c]!.data, fashionPixels, fashionStats),
          splitKey: `split/fashion-mnist/class-${c}`,
        }));
        const name = ids.map((c) => fashionSlugs[c]!).join('-');
        return pooledTask(o, name, ids.map((c) => fashionClassNames[c]!), classes, splitsOf(o, classes), `split-fmnist/${name}`, fashionPixels);
      }),
    ),
  );

/** Byte offsets of the pixels of the records of `file` with fine label f. */
const recordsOf = (file: CifarData['train'], f: number): Int32Array => {
  const out: number[] = [];
  for (let r = 0; r < file.count; r++) if (file.fine[r] === f) out.push(r * cifarRecordBytes + 2);
  return Int32Array.from(out);
};

const cifarTasks = (o: DataOptions, tasks: number, dataPath: string): TE.TaskEither<CpgError, TaskData[]> =>
  pipe(
    readCifar(dataPath),
    TE.chainEitherK((d) => {
      const out: TaskData[] = [];
      const pixels = cifarSide * cifarSide * 3;
      for (let k = 0; k < tasks; k++) {
        const fines = range(100).filter((f) => d.fineToCoarse[f] === k);
        if (fines.length === 0) return E.left(dataError(d.train.file, `no images of coarse label ${k} (${d.coarseNames[k]})`));
        const trainPools = fines.map((f) => planarPool(d.train.bytes, recordsOf(d.train, f), cifarSide));
        const testPools = fines.map((f) => planarPool(d.test.bytes, recordsOf(d.test, f), cifarSide));
        const splits = fines.map((f, i) => splitClass(trainPools[i]!.count, o.valFraction, 0, rngFor(o.seed, `split/cifar100/fine-${f}`)));
        const keep = allocateLimit(splits.map((s) => s.train.length), o.limitPerTask);
        const name = d.coarseNames[k]!;
        const order = (which: string) => rngFor(o.seed, `order/cifar100/${name}/${which}`);
        const all = (n: number) => Int32Array.from({ length: n }, (_, i) => i);
        out.push({
          name,
          classNames: fines.map((f) => d.fineNames[f]!),
          inputShape: benchmarkFacts.cifar100.inputShape,
          normalisation: benchmarkFacts.cifar100.normalisation,
          augmentation: benchmarkFacts.cifar100.augmentation,
          train: assembleSplit(fines.map((_, i) => ({ pool: trainPools[i]!, label: i, indices: splits[i]!.train.subarray(0, keep[i]) })), pixels, order('train')),
          val: assembleSplit(fines.map((_, i) => ({ pool: trainPools[i]!, label: i, indices: splits[i]!.val })), pixels, order('val')),
          test: assembleSplit(fines.map((_, i) => ({ pool: testPools[i]!, label: i, indices: all(testPools[i]!.count) })), pixels, order('test')),
        });
      }
      return E.right(out);
    }),
  );

/**
 * Loads a benchmark: reads (only) the data its first `tasks` tasks need,
 * splits it as the options say and returns every task's normalised splits.
 * Bad options are ConfigErrors; missing, truncated or malformed files are
 * DataErrors naming the file.
 */
export const loadBenchmark = (o: DataOptions): TE.TaskEither<CpgError, Benchmark> =>
  pipe(
    TE.fromEither(checkDataOptions(o)),
    TE.chainFirstEitherK(() => checkBenchmarkPackage(o.benchmark)),
    TE.chain((tasks): TE.TaskEither<CpgError, Benchmark> => {
      const facts = benchmarkFacts[o.benchmark];
      const make = TE.map((ts: TaskData[]): Benchmark => ({ name: o.benchmark, inputShape: facts.inputShape, tasks: ts, augmentation: facts.augmentation }));
      switch (o.benchmark) {
        case 'split-mnist':
          return pipe(splitMnist(o, tasks), make);
        case 'permuted-mnist':
          return pipe(permutedMnist(o, tasks), make);
        case 'split-fmnist':
          return pipe(splitFashion(o, tasks), make);
        case 'cifar100':
          return pipe(cifarTasks(o, tasks, o.dataPath ?? ''), make);
      }
    }),
  );
