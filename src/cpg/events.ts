/**
 * What a run tells the world while it works: a stream of typed events (see
 * src/streams). The command line renders them as progress; apps subscribe.
 */
import type { BudgetConstraint } from '../algebra/report.js';
import type { RunReport } from '../algebra/report.js';

/** The kinds of stage a task goes through. */
export type StageKind = 'individual' | 'train' | 'grow' | 'prune' | 'retrain' | 'finetune';

export type RunEvent =
  | {
      readonly type: 'run-started';
      readonly method: string;
      readonly benchmark: string;
      readonly net: string;
      readonly backend: string;
      readonly threads: number;
      /** The GPU adapter the backend runs on (webgpu), in words; absent for backends without one. */
      readonly device?: string;
      /** The run's tasks: every task of a benchmark run, the tasks so far of a model learned over time. */
      readonly tasks: readonly string[];
      /** How many tasks the run plans (a benchmark's); null for a model that learns tasks as they come. */
      readonly planned: number | null;
      /** Where the model is kept: a run directory, or 'memory'. */
      readonly dir: string;
      readonly resumed: boolean;
    }
  | { readonly type: 'data-loaded'; readonly seconds: number; readonly trainImages: number; readonly tasks: number }
  | { readonly type: 'goals-started'; readonly tasks: number }
  | { readonly type: 'goals-ready'; readonly goals: Readonly<Record<string, number>>; readonly source: 'individual' | 'file' | 'given' | 'checkpoint' }
  | {
      readonly type: 'task-started';
      readonly task: number;
      readonly name: string;
      /** Tasks planned, or null when tasks arrive over time. */
      readonly of: number | null;
      readonly purpose: 'goal' | 'learn';
    }
  | {
      readonly type: 'stage-started';
      readonly task: number;
      readonly name: string;
      readonly stage: StageKind;
      readonly epochs: number;
      /** Width for train stages, sparsity range for prune stages. */
      readonly multiplier: number;
      readonly sparsity: { readonly from: number; readonly to: number } | null;
      /** Why a grow stage grows: the goal was missed, or the free weights did not cover the task's share (before training). */
      readonly why?: 'goal' | 'capacity';
    }
  | {
      readonly type: 'epoch-ended';
      readonly task: number;
      readonly name: string;
      readonly stage: StageKind;
      readonly epoch: number;
      readonly epochs: number;
      readonly loss: number;
      readonly trainAcc: number;
      readonly valAcc: number;
      readonly sparsity: number;
      readonly lr: number;
      readonly samplesPerSec: number;
      /** Seconds the rest of this stage should take at the current pace. */
      readonly stageEtaSeconds: number;
    }
  | {
      readonly type: 'stage-ended';
      readonly task: number;
      readonly name: string;
      readonly stage: StageKind;
      readonly trainAcc: number;
      readonly valAcc: number;
      /** What the life cycle decided next, in words. */
      readonly next: string;
    }
  | { readonly type: 'checkpoint'; readonly seconds: number; readonly bytes: number }
  /**
   * The model is running out of room, said when it happens: a task starts with
   * fewer free weights than it needs at the widest the network may grow
   * ('start'), or its share bound its compacting and it ended under its goal
   * ('end').
   */
  | {
      readonly type: 'capacity-low';
      readonly at: 'start' | 'end';
      readonly task: number;
      readonly name: string;
      /** Free weights when it started, as a fraction of the network. */
      readonly freeFraction: number;
      /** Its share: the most it may keep. */
      readonly shareFraction: number;
      /** Its share as a fraction of the room (free weights plus the growth still allowed). */
      readonly shareOfRoom: number;
      /** What it needed free to start, as a fraction of the network. */
      readonly neededFraction: number;
      /** What bound: the open stream's reserve, the equal share among the tasks planned, or the maximum width. */
      readonly constraint: BudgetConstraint;
      readonly multiplier: number;
      readonly maxMultiplier: number;
      readonly message: string;
    }
  /**
   * The budget overrides the requested sparsities, said when training settles:
   * its floor lies beyond the last requested target, so the compacting sweep
   * goes on to the floor.
   */
  | {
      readonly type: 'budget-floor';
      readonly task: number;
      readonly name: string;
      /** The least sparsity the task's own weights must reach. */
      readonly floor: number;
      /** The sparsity targets requested. */
      readonly requested: readonly number[];
      /** Its share: the most it may keep, as a fraction of the network. */
      readonly shareFraction: number;
      readonly constraint: BudgetConstraint;
      readonly message: string;
    }
  /**
   * The task's validation set is too small to test its goal at the precision
   * it is judged at (one image worth more than the tolerance, or than one
   * point), said when the task starts.
   */
  | {
      readonly type: 'validation-small';
      readonly task: number;
      readonly name: string;
      readonly images: number;
      /** What one image is worth, as a fraction. */
      readonly imageWorth: number;
      /** The goal test's tolerance in use. */
      readonly tolerance: number;
      readonly message: string;
    }
  | {
      readonly type: 'task-finished';
      readonly task: number;
      readonly name: string;
      readonly purpose: 'goal' | 'learn';
      /** Test accuracy of every task learned so far, this one last. */
      readonly accuracyRow: readonly number[];
      readonly valAcc: number;
      readonly goal: number | null;
      readonly multiplier: number;
      readonly sparsity: number;
      readonly ownedFraction: number;
      readonly freeFraction: number;
      readonly maxLogitDrift: number;
      readonly seconds: number;
    }
  | { readonly type: 'run-finished'; readonly report: RunReport; readonly dir: string }
  /** A task the model already holds arrived again with the same data: nothing to learn. */
  | { readonly type: 'task-skipped'; readonly task: number; readonly name: string; readonly message: string }
  /** The run was asked to stop: it stopped at a step boundary and its last checkpoint is valid (the stream completes next). */
  | { readonly type: 'stopped'; readonly dir: string; readonly message: string };
