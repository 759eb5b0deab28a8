/**
 * Goals first: before a planned run learns its first task, the goal of every
 * task — one network trained on it alone (CPG's default, and all the
 * individual baseline learns), a goal file, or what the checkpoint holds. A
 * step from the run's state to its state with the goals committed, so a
 * killed run resumes at the goal network it was training.
 */
import { pipe } from 'fp-ts/lib/function.js';
import type { Task } from '../algebra/task.js';
import { trainIndividual } from './baselines.js';
import { type RunCtx, type RunState, commit } from './context.js';
import { type Flow, chain, emit, fold, mapValue, pure, tap, when } from './flow.js';
import { tasksFrom } from './plan.js';

/** Goals from a file or the checkpoint, said (nothing to train). */
const givenGoals = (ctx: RunCtx, s: RunState): Flow<RunState> =>
  s.manifest.goals !== null
    ? pipe(
        emit({ type: 'goals-ready', goals: s.manifest.goals, source: ctx.config.goals.kind === 'file' ? 'file' : 'checkpoint' }),
        mapValue(() => s),
      )
    : pure(s);

/** The goals of the goal networks trained, committed once (or, committed already, said). */
const committedGoals = (ctx: RunCtx, st: RunState): Flow<RunState> => {
  if (st.manifest.goals !== null) return pipe(emit({ type: 'goals-ready', goals: st.manifest.goals, source: 'checkpoint' }), mapValue(() => st));
  const g = Object.fromEntries(st.manifest.individual.map((r) => [r.name, r.valAccuracy]));
  return pipe(
    commit(ctx, st, { ...st.manifest, goals: g }),
    tap(() => emit({ type: 'goals-ready', goals: g, source: 'individual' })),
  );
};

/** Every goal network not trained yet (a goal network alone, `onlyTask`: that task's, once), then the goals committed. */
export const goalsFirst =
  (ctx: RunCtx, count: number, dataAt: (k: number) => Flow<Task>) =>
  (s: RunState): Flow<RunState> => {
    const c = ctx.config;
    if (!ctx.method.goalNetworks(c)) return givenGoals(ctx, s);
    const todo = c.onlyTask !== undefined ? (s.manifest.individual.length === 0 ? [c.onlyTask] : []) : tasksFrom(s.manifest.individual.length + 1, count);
    const train = (st: RunState, k: number): Flow<RunState> =>
      pipe(
        dataAt(k),
        chain((d) => trainIndividual(ctx, st, d, k, count)),
        mapValue((r) => r.state),
      );
    return pipe(
      when(todo.length > 0, () => emit({ type: 'goals-started', tasks: c.onlyTask !== undefined ? 1 : count })),
      chain(() => fold(todo, s, train)),
      chain((st) => committedGoals(ctx, st)),
    );
  };
