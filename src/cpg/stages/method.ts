/**
 * Where the life cycle's stages depend on the method (CPG or PackNet), in one
 * place: the cycle's settings, the task's budget, how the pick mask trains,
 * the pick mask's learning rate, and the warnings only CPG's goal test needs.
 * PackNet runs through the same stages with a fixed sparsity, every older
 * weight reused and no growth.
 */
import * as E from 'fp-ts/lib/Either.js';
import { pipe } from 'fp-ts/lib/function.js';
import type { CpgError } from '../../algebra/errors.js';
import type { CycleConfig, TaskContext } from '../../algebra/lifecycle.js';
import { type Plan, cellsAt, neededFor, roomOf, shareFor, startingWidth } from '../../algebra/budget.js';
import { goalTolerance } from '../../algebra/lifecycle.js';
import type { PickMask } from '../../algebra/pickMask.js';
import { stepLr } from '../../algebra/schedule.js';
import type { NetState } from '../../effects/network.js';
import type { PickMode } from '../../effects/trainer.js';
import type { RunCtx } from '../context.js';

/** Which method's rules the cycle follows. */
export type LearnMethod = 'cpg' | 'packnet';

/** How many tasks are still to come, as the compacting cap needs it: a count, or a reserve for open-ended streams. */
export type Capacity = Pick<TaskContext, 'tasksTotal' | 'reserve'>;

export const cycleConfigFor = (ctx: RunCtx, method: LearnMethod, task: number, hasGoal: boolean, valSize: TaskContext['valSize']): CycleConfig => {
  const c = ctx.config;
  return method === 'cpg'
    ? {
        growStep: c.growStep,
        maxMultiplier: c.maxMultiplier,
        trainAccThreshold: c.trainAccThreshold,
        allowedLoss: goalTolerance(c.allowedLoss, c.allowedLossImages ?? 0, valSize),
        sparsities: c.sparsities,
        retrainPick: task > 1,
        prune: true,
        // Without a goal there is nothing for validation to meet: the threshold decides.
        recordRule: hasGoal ? (c.recordRule ?? 'reference') : 'reference',
        search: c.compactSearch ?? 'reference',
      }
    : // PackNet: one compacting target, always recorded and kept, never grown.
      {
        growStep: c.growStep,
        maxMultiplier: 1,
        trainAccThreshold: 0,
        allowedLoss: 1,
        sparsities: [c.packnetSparsity],
        retrainPick: false,
        prune: true,
      };
};

/**
 * A CPG task's budget under the 'share' policy: its share of the room, and
 * the width it starts at (grown first when the free weights do not cover the
 * share). Other methods and the 'none' policy: none.
 */
export const budgetFor = (
  c: RunCtx['config'],
  method: LearnMethod,
  k: number,
  capacity: Capacity,
  net0: NetState,
): E.Either<CpgError, Pick<TaskContext, 'budget' | 'startMultiplier'>> => {
  if (method !== 'cpg' || c.capacityBudget !== 'share') return E.right({});
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

/** How task k's session treats the older weights: none for the first task, all of them for PackNet, else a pick mask to train (or one learned, held fixed). */
export const pickFor = (c: RunCtx['config'], method: LearnMethod, k: number, picks: ReadonlyMap<string, PickMask> | undefined): PickMode =>
  k === 1 ? { kind: 'none' } : method === 'packnet' ? { kind: 'all' } : picks === undefined ? { kind: 'train', init: c.maskInit } : { kind: 'fixed', picks };

/** The pick mask's learning rate while task k trains: CPG's schedule from the second task on, else none. */
export const lrMaskFor = (c: RunCtx['config'], method: LearnMethod, k: number): ((epoch: number) => number) =>
  k > 1 && method === 'cpg' ? stepLr({ base: c.lrMask, epochs: c.trainEpochs, milestones: c.maskLrMilestones }) : () => 0;

/** Whether a task's goal is tested at a precision its validation set may not reach (CPG's goal test; with a goal only). */
export const testsGoal = (method: LearnMethod, goal: number | null): boolean => method === 'cpg' && goal !== null;
