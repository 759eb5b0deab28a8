/**
 * The pieces of a planned run (a benchmark run: every task known at its
 * start) that the learner's planned course takes: where a task's data is, the
 * run's first event, the recheck of a resumed run, and the report at its end.
 */
import { pipe } from 'fp-ts/lib/function.js';
import { dataError } from '../algebra/errors.js';
import type { RunReport } from '../algebra/report.js';
import type { Task } from '../algebra/task.js';
import { deviceOf } from '../effects/backend.js';
import { type RunCtx, type RunState, load } from './context.js';
import { recheckFinished } from './finish.js';
import { type Flow, chain, emit, fail, mapValue, pure, tap } from './flow.js';
import { writeReports } from './model.js';

/** Task numbers `from` to `to`, in order (none when `from` is past `to`). */
export const tasksFrom = (from: number, to: number): number[] => Array.from({ length: Math.max(0, to - from + 1) }, (_, i) => from + i);

/** Task k's data as this process has it, or the DataError naming it. */
export const dataAtOf =
  (ctx: RunCtx, names: readonly string[]) =>
  (k: number): Flow<Task> => {
    const d = ctx.dataOf(k);
    return d === undefined ? fail(dataError(undefined, `the data of task ${k} ('${names[k - 1] ?? '?'}') is not available`)) : pure(d);
  };

/** The event a run starts with: what it learns, where, and with what. */
export const runStarted = (ctx: RunCtx, names: readonly string[], count: number, resumed: boolean): Flow<void> =>
  emit({
    type: 'run-started',
    method: ctx.config.method,
    benchmark: ctx.config.benchmark,
    net: ctx.config.net,
    backend: ctx.env.backend.name,
    threads: ctx.env.backend.threads,
    ...(deviceOf(ctx.env.backend) !== undefined ? { device: deviceOf(ctx.env.backend)! } : {}),
    tasks: names,
    planned: count,
    dir: ctx.env.store.location,
    resumed,
  });

/** A resumed run first proves that what it finished before is still exactly there. */
export const rechecked =
  (ctx: RunCtx, resumed: boolean) =>
  (s: RunState): Flow<RunState> =>
    resumed && s.manifest.state !== null && s.manifest.finished.length > 0
      ? pipe(
          load(ctx, s.manifest.state),
          chain(({ state }) => recheckFinished(ctx, s, state, s.manifest.finished.length, ctx.method.everyWeight)),
          mapValue((r) => r.state),
        )
      : pure(s);

/** The report, written and said. */
export const reported = (ctx: RunCtx, s: RunState): Flow<RunReport> =>
  pipe(
    writeReports(ctx, s),
    tap((report) => emit({ type: 'run-finished', report, dir: ctx.env.store.location })),
  );
