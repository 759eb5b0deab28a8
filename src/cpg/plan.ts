/**
 * The pieces of a planned run (a benchmark run: every task known at its
 * start) that the learner's planned course takes: where a task's data is, the
 * run's first event (the stream's too), and the recheck of a resumed run.
 */
import { pipe } from 'fp-ts/lib/function.js';
import { dataError } from '../algebra/errors.js';
import type { RunConfig } from '../algebra/config.js';
import type { Env } from '../effects/env.js';
import type { Task } from '../algebra/task.js';
import { deviceOf } from '../effects/backend.js';
import { type RunCtx, type RunState, load } from './context.js';
import { recheckFinished } from './finish.js';
import { type Flow, chain, emit, fail, mapValue, pure } from './flow.js';

/** Task numbers `from` to `to`, in order (none when `from` is past `to`). */
export const tasksFrom = (from: number, to: number): number[] => Array.from({ length: Math.max(0, to - from + 1) }, (_, i) => from + i);

/** Task k's data as this process has it, or the DataError naming it. */
export const dataAtOf =
  (ctx: RunCtx, names: readonly string[]) =>
  (k: number): Flow<Task> => {
    const d = ctx.dataOf(k);
    return d === undefined ? fail(dataError(undefined, `the data of task ${k} ('${names[k - 1] ?? '?'}') is not available`)) : pure(d);
  };

/** The event a run starts with: what it learns (its method, benchmark and net; its tasks so far, and how many are planned), where, and on what. */
export const runStarted = (env: Env, what: Pick<RunConfig, 'method' | 'benchmark' | 'net'>, names: readonly string[], planned: number | null, resumed: boolean): Flow<void> =>
  emit({
    type: 'run-started',
    method: what.method,
    benchmark: what.benchmark,
    net: what.net,
    backend: env.backend.name,
    threads: env.backend.threads,
    ...(deviceOf(env.backend) !== undefined ? { device: deviceOf(env.backend)! } : {}),
    tasks: names,
    planned,
    dir: env.store.location,
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

