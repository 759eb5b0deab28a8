/**
 * Where the life cycle's stages depend on the method, as one record a method
 * hands them (`CycleRules`: CPG's and PackNet's are in src/cpg/methods): the
 * cycle's settings, whether the task has a budget, how the pick mask trains
 * and its learning rate, and whether the goal is tested. The budget itself is
 * computed here, the same for every method that has one.
 */
import * as E from 'fp-ts/lib/Either.js';
import { pipe } from 'fp-ts/lib/function.js';
import type { RunConfig } from '../../algebra/config.js';
import type { CpgError } from '../../algebra/errors.js';
import type { CycleConfig, TaskContext } from '../../algebra/lifecycle.js';
import { type Plan, cellsAt, neededFor, roomOf, shareFor, startingWidth } from '../../algebra/budget.js';
import type { PickMask } from '../../algebra/pickMask.js';
import type { NetState } from '../../effects/network.js';
import type { PickMode } from '../../effects/trainer.js';

/** How a method that learns through the life cycle (claim, pick + train, grow, compact, retrain the pick) sets it up. */
export interface CycleRules {
  /** The life cycle's settings for task `task`, with or without a goal, on `valSize` validation images. */
  readonly cycleConfig: (c: RunConfig, task: number, hasGoal: boolean, valSize: TaskContext['valSize']) => CycleConfig;
  /** Whether a task keeps at most its share of the room (the capacity budget). */
  readonly budgeted: (c: RunConfig) => boolean;
  /** How task k's session treats the older weights, given the pick mask it learned (undefined before it has one). */
  readonly pick: (c: RunConfig, k: number, picks: ReadonlyMap<string, PickMask> | undefined) => PickMode;
  /** The pick mask's learning rate by epoch while task k trains. */
  readonly lrMask: (c: RunConfig, k: number) => (epoch: number) => number;
  /** Whether a task's goal is tested at the goal's precision (a validation set too small for it is said). */
  readonly testsGoal: boolean;
}

/** How many tasks are still to come, as the compacting cap needs it: a count, or a reserve for open-ended streams. */
export type Capacity = Pick<TaskContext, 'tasksTotal' | 'reserve'>;

/**
 * A budgeted task's budget: its share of the room, and the width it starts
 * at (grown first when the free weights do not cover the share). Without a
 * budget (the method's rules, or the 'none' policy): none.
 */
export const budgetFor = (
  c: RunConfig,
  rules: CycleRules,
  k: number,
  capacity: Capacity,
  net0: NetState,
): E.Either<CpgError, Pick<TaskContext, 'budget' | 'startMultiplier'>> => {
  if (!rules.budgeted(c)) return E.right({});
  const plan: Plan = capacity.reserve !== undefined ? { reserve: capacity.reserve } : { tasksLeft: capacity.tasksTotal - k };
  return pipe(
    roomOf(net0.backbone, c.maxMultiplier),
    E.bindTo('room'),
    E.bind('base', () => cellsAt(net0.backbone, 1)),
    E.chain(({ room, base }) => {
      const share = shareFor(room, plan);
      const needed = neededFor(share, base, capacity.reserve !== undefined ? { reserve: capacity.reserve } : { tasksTotal: capacity.tasksTotal });
      return E.map((start: { multiplier: number; free: number; size: number }) => ({
        budget: { share, needed, free: start.free, size: start.size },
        ...(start.multiplier > net0.backbone.multiplier ? { startMultiplier: start.multiplier } : {}),
      }))(startingWidth(net0.backbone, room, needed, c.growStep, c.maxMultiplier));
    }),
  );
};
