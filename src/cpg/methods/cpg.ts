/**
 * Compacting, Picking and Growing (CPG-SPEC §3): each task claims the free
 * weights, picks which older weights to reuse, grows the network when it
 * misses its goal, and is compacted to free weights for the tasks to come.
 */
import { goalTolerance } from '../../algebra/goal.js';
import { stepLr } from '../../algebra/schedule.js';
import type { CycleRules } from '../stages/method.js';
import { type LearningMethod, loaded } from './method.js';

/** CPG's life cycle: the whole sweep of compacting targets, growth up to the maximum width, a pick mask learned from the second task on. */
export const cpgCycle: CycleRules = {
  cycleConfig: (c, task, hasGoal, valSize) => ({
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
  }),
  budgeted: (c) => c.capacityBudget === 'share',
  // None for the first task; a pick mask to train, or the one learned held fixed.
  pick: (c, k, picks) => (k === 1 ? { kind: 'none' } : picks === undefined ? { kind: 'train', init: c.maskInit } : { kind: 'fixed', picks }),
  lrMask: (c, k) => (k > 1 ? stepLr({ base: c.lrMask, epochs: c.trainEpochs, milestones: c.maskLrMilestones }) : () => 0),
  testsGoal: true,
};

export const cpg: LearningMethod = {
  name: 'cpg',
  summary: 'Compacting, Picking and Growing',
  model: 'shared',
  protectsTasks: true,
  everyWeight: false,
  goalNetworks: (c) => c.goals.kind === 'individual',
  meetsGoals: true,
  budgeted: cpgCycle.budgeted,
  learnTask: (ctx, s, data, k, goal) =>
    loaded(
      () => Promise.all([import('../learn.js'), import('../model.js')]),
      ([{ learnTask }, { capacityFor }]) => learnTask(ctx, cpgCycle, data, k, goal, capacityFor(s.manifest, ctx.config, k))(s),
    ),
};
