/**
 * Fine-tuning, the lower baseline: one network trained task after task with
 * no masks at all. It forgets, and the accuracy matrix shows how much.
 */
import { type LearningMethod, loaded } from './method.js';

export const finetune: LearningMethod = {
  name: 'finetune',
  summary: 'fine-tuning: every weight trains on every task (it forgets)',
  model: 'shared',
  protectsTasks: false,
  everyWeight: true,
  goalNetworks: () => false,
  meetsGoals: false,
  budgeted: () => false,
  learnTask: (ctx, s, data, k) => loaded(() => import('../baselines.js'), ({ fineTuneTask }) => fineTuneTask(ctx, s, data, k)),
};
