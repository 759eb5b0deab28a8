/**
 * Compacting, Picking and Growing (CPG-SPEC §3): each task claims the free
 * weights, picks which older weights to reuse, grows the network when it
 * misses its goal, and is compacted to free weights for the tasks to come.
 */
import { type LearningMethod, loaded } from './method.js';

export const cpg: LearningMethod = {
  name: 'cpg',
  summary: 'Compacting, Picking and Growing',
  model: 'shared',
  protectsTasks: true,
  everyWeight: false,
  goalNetworks: (c) => c.goals.kind === 'individual',
  meetsGoals: true,
  budgeted: (c) => c.capacityBudget === 'share',
  learnTask: (ctx, s, data, k, goal) =>
    loaded(
      () => Promise.all([import('../learn.js'), import('../model.js')]),
      ([{ learnTask }, { capacityFor }]) => learnTask(ctx, 'cpg', data, k, goal, capacityFor(s.manifest, ctx.config, k))(s),
    ),
};
