/**
 * What a continual-learning method is to the learner: what its model holds,
 * what it promises a finished task, where its goals come from, and how it
 * learns one task into the model. Each method is one module in this folder,
 * named in the registry (registry.ts); nothing else asks which method a run
 * uses, it asks the method.
 */
import type { RunConfig } from '../../algebra/config.js';
import type { MethodTraits } from '../../algebra/methodTraits.js';
import type { Task } from '../../algebra/task.js';
import type { RunCtx, RunState } from '../context.js';
import { concatMap, defer, from } from 'rxjs';
import type { Flow } from '../flow.js';

export interface LearningMethod extends MethodTraits {
  /** One line for the help text. */
  readonly summary: string;
  /**
   * A finished task keeps its exact outputs while later tasks learn: the
   * method protects its weights, so a model can learn tasks over time
   * (`cpg learn`, the learner over an open stream).
   */
  readonly protectsTasks: boolean;
  /** A task's outputs use every weight of the shared network, not the weights its owner map gives it (fine-tuning keeps no owners). */
  readonly everyWeight: boolean;
  /** Whether a task is held to its accuracy goal within a tolerance (its report records the tolerance and the validation images). */
  readonly meetsGoals: boolean;
  /** Whether each task keeps at most its share of the room (the capacity budget). */
  readonly budgeted: (c: RunConfig) => boolean;
  /** Learn task `k` (1-based) into the shared network, towards `goal` when it has one; the state after the task is finished and committed. */
  readonly learnTask: (ctx: RunCtx, s: RunState, data: Task, k: number, goal: number | null) => Flow<RunState>;
}

/**
 * A flow of a module loaded on first use: a method's training code is
 * loaded when it first learns a task, so that opening a model (which asks a
 * method what its model holds) loads none of it.
 */
export const loaded = <M, A>(load: () => Promise<M>, use: (m: M) => Flow<A>): Flow<A> => defer(() => from(load())).pipe(concatMap(use));
