/**
 * PackNet (Mallya & Lazebnik, 2018): each task trains on the free weights
 * with every older weight reused, and is pruned to one fixed sparsity; the
 * network never grows and there is no goal to meet.
 */
import type { CycleRules } from '../stages/method.js';
import { type LearningMethod, loaded } from './method.js';

/** PackNet's life cycle: one compacting target, always recorded and kept, never grown; every older weight reused. */
export const packnetCycle: CycleRules = {
  cycleConfig: (c) => ({
    growStep: c.growStep,
    maxMultiplier: 1,
    trainAccThreshold: 0,
    allowedLoss: 1,
    sparsities: [c.packnetSparsity],
    retrainPick: false,
    prune: true,
  }),
  budgeted: () => false,
  pick: (_c, k) => (k === 1 ? { kind: 'none' } : { kind: 'all' }),
  lrMask: () => () => 0,
  testsGoal: false,
};

export const packnet: LearningMethod = {
  name: 'packnet',
  summary: 'PackNet: prune each task to a fixed sparsity, reuse every older weight',
  model: 'shared',
  protectsTasks: true,
  everyWeight: false,
  goalNetworks: () => false,
  meetsGoals: false,
  budgeted: packnetCycle.budgeted,
  learnTask: (ctx, s, data, k) =>
    loaded(
      () => Promise.all([import('../learn.js'), import('../model.js')]),
      ([{ learnTask }, { capacityFor }]) => learnTask(ctx, packnetCycle, data, k, null, capacityFor(s.manifest, ctx.config, k))(s),
    ),
};
