/**
 * Finding a run's task data again, from where each task came (its entry in
 * the manifest): a shipped benchmark is loaded once and split as the run's
 * configuration says, an image folder is read again with its recorded
 * settings and the model's shape and normalisation. Tasks given in memory
 * only their caller has: they come back undefined (their probes still prove
 * them unchanged).
 */
import * as E from 'fp-ts/lib/Either.js';
import * as TE from 'fp-ts/lib/TaskEither.js';
import { pipe } from 'fp-ts/lib/function.js';
import { promises as fs } from 'node:fs';
import { isBenchmarkName } from '../../algebra/benchmarks.js';
import type { RunConfig } from '../../algebra/config.js';
import { type CpgError, configError, dataError } from '../../algebra/errors.js';
import { type RunManifest, type TaskEntry, type TaskSource, modelShape } from '../../algebra/manifest.js';
import type { Task } from '../../algebra/task.js';
import { type Benchmark, type DataOptions, loadBenchmark } from '../data/index.js';
import { readImageFolder } from './folder.js';

/** A shipped benchmark's data options from a run configuration (`tasks` overrides the configured count). */
export const benchmarkOptions = (c: RunConfig, tasks?: number): E.Either<CpgError, DataOptions> => {
  const n = tasks ?? c.tasks;
  if (!isBenchmarkName(c.benchmark))
    return E.left(configError('benchmark', `'${c.benchmark}' is a model learned from your own tasks (\`cpg learn\`, or a learner in code): \`cpg run\` needs a shipped benchmark`));
  return E.right({
    benchmark: c.benchmark,
    seed: c.seed,
    valFraction: c.valFraction,
    testFraction: c.testFraction,
    ...(n !== undefined ? { tasks: n } : {}),
    ...(c.dataPath !== undefined ? { dataPath: c.dataPath } : {}),
    ...(c.limitPerTask !== undefined ? { limitPerTask: c.limitPerTask } : {}),
  });
};

/** A benchmark's tasks with their sources, for a new run. */
export const benchmarkTasks = (c: RunConfig): TE.TaskEither<CpgError, { readonly bench: Benchmark; readonly sources: readonly TaskSource[] }> =>
  pipe(
    TE.fromEither(benchmarkOptions(c)),
    TE.chain(loadBenchmark),
    TE.map((bench) => ({ bench, sources: bench.tasks.map((_, i): TaskSource => ({ kind: 'benchmark', benchmark: bench.name, index: i + 1 })) })),
  );

/** Where an entry's data is: its recorded source, or (a version-1 run) task k of the run's benchmark. */
const sourceOf = (m: RunManifest, entry: TaskEntry, k: number): TaskSource | undefined => {
  if (entry.source !== undefined) return entry.source;
  const b = m.config.benchmark;
  return isBenchmarkName(b) ? { kind: 'benchmark', benchmark: b, index: k } : undefined;
};

const exists = (p: string): Promise<boolean> => fs.stat(p).then(() => true, () => false);

/**
 * The data of the run's tasks (task k at k − 1). Tasks in `required` must be
 * found (a missing folder is an error naming it); others come back undefined
 * when their data is gone.
 */
export const loadRunTasks = (m: RunManifest, required: ReadonlySet<number>): TE.TaskEither<CpgError, readonly (Task | undefined)[]> => {
  const sources = m.tasks.map((e, i) => sourceOf(m, e, i + 1));
  const benchIndices = sources.flatMap((s) => (s?.kind === 'benchmark' ? [s.index] : []));
  const needBench = benchIndices.length > 0;
  const bench: TE.TaskEither<CpgError, Benchmark | undefined> = needBench
    ? pipe(TE.fromEither(benchmarkOptions(m.config, Math.max(...benchIndices))), TE.chain(loadBenchmark))
    : TE.right(undefined);
  return pipe(
    bench,
    TE.chain((b) =>
      pipe(
        m.tasks.map((entry, i): TE.TaskEither<CpgError, Task | undefined> => {
          const k = i + 1;
          const src = sources[i];
          if (src === undefined || src.kind === 'memory') {
            if (!required.has(k)) return TE.right(undefined);
            return TE.left(dataError(undefined, `task ${k} ('${entry.name}') was given in memory: only the program that gave it can give it again`));
          }
          if (src.kind === 'benchmark') return TE.right(b?.tasks[src.index - 1]);
          const read = pipe(
            readImageFolder(src.path, {
              name: entry.name,
              inputShape: modelShape(m),
              seed: src.seed,
              valFraction: src.valFraction,
              testFraction: src.testFraction,
              ...(src.limitPerTask !== undefined ? { limitPerTask: src.limitPerTask } : {}),
              ...(m.normalisation !== null ? { normalisation: m.normalisation } : {}),
            }),
            TE.map((f): Task | undefined => f.task),
          );
          return required.has(k) ? read : pipe(TE.fromTask(() => exists(src.path)), TE.chain((here) => (here ? read : TE.right(undefined))));
        }),
        TE.sequenceSeqArray,
      ),
    ),
    TE.map((xs) => [...xs]),
  );
};
