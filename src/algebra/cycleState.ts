/**
 * The data of one task's life cycle (lifecycle.ts holds its transitions):
 * where the task sits in the run, the cycle's knobs, the phase to run next,
 * what the effects layer measured, and the whole state as a checkpoint stores
 * it. Each shape is written once, as a codec, and its type is derived from it.
 * Apart from the transitions, so that reading a checkpoint loads no life-cycle
 * code.
 */
import type * as t from 'io-ts';
import {
  Bool,
  Fraction,
  HalfOpenFraction,
  Multiplier,
  NonNegativeInt,
  NonNegativeNumber,
  OpenFraction,
  PositiveInt,
  PositiveNumber,
  Text,
  list,
  nullable,
  oneOf,
  struct,
  tagged,
} from './shape.js';

/**
 * How the compacting sweep looks for the sparsest model that meets the goal:
 * - 'reference': every target in turn, each from the one before, until one is
 *   not recorded (CPG-SPEC §3.5);
 * - 'bisect': the highest target first, straight from the unpruned model; when
 *   it does not pass, a bisection between the sparsest target that passed (or
 *   the unpruned model) and the least that did not, each probe compacted from
 *   the model that passed. It assumes what the sweep's record shows on every
 *   benchmark measured: a target that misses means the ones above it miss too.
 *   A floor the budget forces that misses when probed straight from the
 *   unpruned model is probed again at the end of the sweep's gradual way.
 */
export const CompactSearch = oneOf('reference', 'bisect');
export type CompactSearch = t.TypeOf<typeof CompactSearch>;

/**
 * When a compacting target is recorded (and when the goal check passes):
 * - 'reference': training accuracy above the threshold (and, for the goal
 *   check, validation accuracy meeting the goal);
 * - 'goal': as the reference, or validation accuracy meeting the task's goal
 *   (for tasks with a goal: validation decides, the threshold only stands in
 *   where there is no goal to meet).
 */
export const RecordRule = oneOf('reference', 'goal');
export type RecordRule = t.TypeOf<typeof RecordRule>;

/** A task's budget, in cells of the sharable tensors at the width it starts at. */
export const TaskBudgetCodec = struct('a task budget', {
  /** The most cells the task may keep, so that the tasks after it find room. */
  share: NonNegativeNumber,
  /** The free cells it needs to start: its share, and at least MIN_SHARE of one network. */
  needed: NonNegativeNumber,
  /** Free cells when it starts (fewer than `needed`: the model ran out of room). */
  free: NonNegativeNumber,
  /** All sharable cells at that width. */
  size: NonNegativeNumber,
});
export type TaskBudget = t.TypeOf<typeof TaskBudgetCodec>;

/** Where the task sits in the run. */
export const TaskContextCodec = struct(
  'a task context',
  {
    /** 1-based index of this task. */
    task: PositiveInt,
    tasksTotal: PositiveInt,
    /** Accuracy goal g_k (validation accuracy to reach). */
    goal: Fraction,
    /** Number of validation samples (to state a missed goal in samples). */
    valSize: PositiveInt,
    /** Width (parameter multiplier) of the network when the task starts. */
    multiplier: Multiplier,
  },
  {
    /**
     * Open-ended streams: the compacting cap of a task that misses its goal at
     * the maximum width, instead of the reference's rule over `tasksTotal`.
     */
    reserve: OpenFraction,
    /** The task's budget (see budget.ts). Absent: no budget (the reference's rules alone). */
    budget: TaskBudgetCodec,
    /** The width training starts at, when the network is grown first because its free weights did not cover the share. */
    startMultiplier: Multiplier,
  },
);
export type TaskContext = t.TypeOf<typeof TaskContextCodec>;

/** The knobs of the cycle (reference values in brackets). */
export const CycleConfigCodec = struct(
  'a life-cycle configuration',
  {
    /** Multiplier added per growth [0.5]. */
    growStep: PositiveNumber,
    /** Largest parameter multiplier the network may grow to [1.5]. */
    maxMultiplier: Multiplier,
    /** Training accuracy must be strictly above this to pass or to record a prune target [0.95]. */
    trainAccThreshold: Fraction,
    /** Validation accuracy may fall this much below the goal and still meet it [0]. */
    allowedLoss: Fraction,
    /** The sparsity targets of the compacting sweep, strictly increasing in (0, 1) [0.1 … 0.9, 0.95]. */
    sparsities: list(OpenFraction, { strictlyIncreasing: true }),
    /** Retrain the pick mask after compacting (§3.7; tasks after the first). */
    retrainPick: Bool,
    /** Compact at all (false for baselines that keep the whole claim). */
    prune: Bool,
  },
  {
    /** What a compacting target needs to be recorded (absent: the reference's rule). */
    recordRule: RecordRule,
    /** How the compacting targets are searched (absent: the reference's sweep). */
    search: CompactSearch,
  },
);
export type CycleConfig = t.TypeOf<typeof CycleConfigCodec>;

/** What the effects layer must run next. */
export const PhaseCodec = tagged('a life-cycle phase', 'tag', {
  /** Claim the free weights, then pick + train at this width (after a growth: from the task's starting state, widened). */
  train: struct('a train phase', { multiplier: Multiplier }),
  /** Gradual prune of the task's own weights from one sparsity to the next. */
  prune: struct('a prune phase', { from: HalfOpenFraction, to: OpenFraction }),
  /** Restore the model compacted to `chosen` (0: unpruned), then retrain its pick mask. */
  retrainPick: struct('a retrain-pick phase', { chosen: HalfOpenFraction }),
  /** Finished: keep the model at sparsity `chosen` (the retrained one if `keptRetrain`). */
  done: struct('a done phase', { chosen: HalfOpenFraction, keptRetrain: Bool, reason: Text }),
});
export type Phase = t.TypeOf<typeof PhaseCodec>;

/** What the effects layer measured after running a phase. */
export const MeasuredCodec = tagged('a measurement', 'tag', {
  trained: struct('a training measurement', { trainAcc: Fraction, valAcc: Fraction, ownsAny: Bool }, { owned: NonNegativeNumber }),
  pruned: struct('a pruning measurement', { trainAcc: Fraction, valAcc: Fraction }),
  retrained: struct('a retraining measurement', { valAcc: Fraction }),
});
export type Measured = t.TypeOf<typeof MeasuredCodec>;

/** One recorded point of the compacting sweep. */
export const PruneRecordCodec = struct(
  'a prune record',
  { sparsity: OpenFraction, valAcc: Fraction },
  {
    /** Recorded only because the budget demands it (the record rule alone would not have). */
    forced: Bool,
  },
);
export type PruneRecord = t.TypeOf<typeof PruneRecordCodec>;

/** One growth, and by how much the goal was missed when it was triggered. */
export const GrowthCodec = struct('a growth', {
  from: Multiplier,
  to: Multiplier,
  trainAcc: Fraction,
  valAcc: Fraction,
  goal: Fraction,
  /** Validation samples short of `goal − allowedLoss`; null when the validation goal was met. */
  shortfallSamples: nullable(PositiveInt),
  /** Training accuracy was not above the threshold. */
  trainAccFailed: Bool,
});
export type Growth = t.TypeOf<typeof GrowthCodec>;

/** The whole state of one task's cycle; plain JSON data, as checkpoints store it. */
export const CycleStateCodec = struct(
  'a life-cycle state',
  {
    ctx: TaskContextCodec,
    config: CycleConfigCodec,
    phase: PhaseCodec,
    /** Current width. */
    multiplier: Multiplier,
    /** Validation accuracy of the trained, unpruned model (once training passed or gave up). */
    unprunedValAcc: nullable(Fraction),
    /** The compacting sweep: targets whose training accuracy stayed above the threshold, in order. */
    record: list(PruneRecordCodec),
    /** The goal check failed at the maximum width: compact with a cap, keep the sparsest recorded model. */
    goalMissedAtMax: Bool,
    /** `must` (see `pruneCap`) when the goal was missed at the maximum width, else null. */
    pruneCap: nullable(Fraction),
    growths: list(GrowthCodec),
    /** Validation accuracy of the chosen model (once chosen). */
    chosenValAcc: nullable(Fraction),
    /** Validation accuracy measured after retraining the pick (if it ran). */
    retrainedValAcc: nullable(Fraction),
  },
  {
    /** The least sparsity the budget demands of the task's own weights (once training settled; absent or 0: none). */
    floor: OpenFraction,
    /** Under a budget: the cells the task owned after training, i.e. what it claimed (once training settled). */
    claimed: NonNegativeInt,
    /** The bisecting search: the targets probed that did not pass (not recorded, or missing the goal). */
    missed: list(OpenFraction),
  },
);
export type CycleState = t.TypeOf<typeof CycleStateCodec>;
