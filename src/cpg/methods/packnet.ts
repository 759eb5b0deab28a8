/**
 * PackNet (Mallya & Lazebnik, 2018): each task trains on the free weights
 * with every older weight reused, and is pruned to one fixed sparsity; the
 * network never grows and there is no goal to meet.
 */
import { type LearningMethod, loaded } from './method.js';

export const packnet: LearningMethod = {
  name: 'packnet',
  summary: 'PackNet: prune each task to a fixed sparsity, reuse every older weight',
  model: 'shared',
  protectsTasks: true,
  everyWeight: false,
  goalNetworks: () => false,
  meetsGoals: false,
  budgeted: () => false,
  learnTask: (ctx, s, data, k) =>
    loaded(
      () => Promise.all([import('../learn.js'), import('../model.js')]),
      ([{ learnTask }, { capacityFor }]) => learnTask(ctx, 'packnet', data, k, null, capacityFor(s.manifest, ctx.config, k))(s),
    ),
};
