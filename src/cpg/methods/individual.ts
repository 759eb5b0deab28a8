/**
 * The individual baseline: a fresh network per task, trained alone. Its
 * validation accuracies are CPG's goals (the reference's "scratch"); it keeps
 * no shared model, so its networks are all it learns.
 */
import type { LearningMethod } from './method.js';
import { configError } from '../../algebra/errors.js';
import { fail } from '../flow.js';

export const individual: LearningMethod = {
  name: 'individual',
  summary: 'one network per task, trained alone (the goals of CPG)',
  model: 'per-task',
  protectsTasks: false,
  everyWeight: false,
  goalNetworks: () => true,
  meetsGoals: false,
  budgeted: () => false,
  learnTask: () => fail(configError('method', "the 'individual' baseline keeps no shared model to learn into")),
};
