/**
 * The report of a run (report.json, and what `cpg run`, the tables and
 * report.html show): per task its accuracy, width, sparsity, growths, the
 * compacting curve and its budget; the accuracy matrix, forgetting and
 * transfer; the model's size and how each layer is shared out.
 */
import type * as t from 'io-ts';
import { BackendName } from './backends.js';
import { BenchmarkChoice } from './benchmarks.js';
import { Method, Net } from './config.js';
import { GrowthCodec, PruneRecordCodec } from './cycleState.js';
import {
  Bool,
  FiniteNumber,
  Fraction,
  HalfOpenFraction,
  Multiplier,
  NonNegativeInt,
  NonNegativeNumber,
  OpenFraction,
  PositiveInt,
  Text,
  list,
  nullable,
  oneOf,
  struct,
} from './shape.js';

/**
 * What bound a task's budget:
 * - 'reserve': an open-ended stream keeps `reserve` of the room for the tasks to come;
 * - 'planned': an equal share of the room among the tasks still planned;
 * - 'width': the maximum width is reached and its free weights are fewer than
 *   the task needs even there (the only case a larger maximum width cures).
 */
export const BudgetConstraint = oneOf('reserve', 'planned', 'width');
export type BudgetConstraint = t.TypeOf<typeof BudgetConstraint>;

/** What a task's budget was and did: fractions of the network at the width the task started at. */
export const BudgetOutcome = struct(
  'a task budget outcome',
  {
    /** The most the task could keep. */
    share: Fraction,
    /** Free when it started: less than the share means the model had run out of room. */
    freeAtStart: Fraction,
    /** The least sparsity its own weights had to reach (0: the share did not limit it). */
    floor: HalfOpenFraction,
    /** Whether the budget changed the choice: the rules alone would have kept less sparsity. */
    bound: Bool,
    /**
     * Whether the model ran out of room for it (a warning was emitted): it started with fewer free
     * weights than it needed at the widest the network may grow, or its share bound its compacting
     * and it ended under its goal.
     */
    ranOut: Bool,
  },
  {
    /** The width the network grew to before training, because its free weights did not cover the share. */
    grewFirstTo: Multiplier,
    /** What the task claimed to train (under the 'share' claim rule it may be less than was free). */
    claimed: Fraction,
    /**
     * What bound its budget (budget.ts, BudgetConstraint): the open stream's 'reserve', the equal share
     * among the tasks still 'planned', or the maximum 'width' (too few free weights even there).
     */
    constraint: BudgetConstraint,
    /** An open-ended stream: the share of the room kept for the tasks to come. */
    reserve: OpenFraction,
    /** A planned count: this task and the tasks planned after it. */
    plannedTasks: PositiveInt,
    /** Its share as a fraction of the room (free weights plus the growth still allowed). */
    shareOfRoom: Fraction,
    /** What it needed free to start. */
    needed: Fraction,
    /** The width it started at (what its fractions are of), the width it learned at, and the widest the network could grow. */
    startWidth: Multiplier,
    width: Multiplier,
    maxWidth: Multiplier,
    /** The sparsity targets the configuration requested. */
    requestedSparsities: list(OpenFraction),
    /** The sparsity the budget imposed beyond the last requested target (its floor); absent where it did not. */
    imposedSparsity: OpenFraction,
  },
);
export type BudgetOutcome = t.TypeOf<typeof BudgetOutcome>;

/** One task's line in a report. */
export const TaskReport = struct('a task report', {
  name: Text,
  /** Test accuracy. */
  accuracy: Fraction,
  valAccuracy: Fraction,
  goal: nullable(Fraction),
  widthMultiplier: Multiplier,
  sparsity: Fraction,
  /** The share of the network (its sharable weights, at the final width) the task owns. */
  ownedFraction: Fraction,
  /** Picked: the share of the older tasks' weights (within its width) that the task's pick mask reuses. */
  pickedFraction: Fraction,
  growths: list(GrowthCodec),
  pruneCurve: list(PruneRecordCodec),
  retrainKept: Bool,
  note: nullable(Text),
}, {
  /** What `accuracy` was measured on: the test split, or validation for a task given without one. */
  accuracyOn: oneOf('test', 'validation'),
  /** How far below its goal the task's validation accuracy may be and still meet it. */
  allowedLoss: Fraction,
  /** The task's budget, under the 'share' capacity policy. */
  budget: BudgetOutcome,
  /** CPG: the validation images its goal was tested on. */
  validationImages: PositiveInt,
  /**
   * CPG, a task with a goal: its validation set is too small to test the goal at the precision it is
   * judged at (one image is worth more than its allowed loss, or than one point where that is finer).
   */
  validationTooSmall: Bool,
});
export type TaskReport = t.TypeOf<typeof TaskReport>;

/**
 * How one sharable tensor is shared out: per task (in task order) the share of
 * the layer it owns and the share of the layer its picked weights make up, and
 * what is free. "Picked" as reports show it (pickedFraction, report.html) is a
 * share of the older tasks' weights: perTask[k].picked / Σ perTask[j].owned
 * over j < k.
 */
export const LayerCapacity = struct('a layer capacity', {
  name: Text,
  size: NonNegativeInt,
  /** owned: weights the task owns ÷ the layer's size; picked: older tasks' weights it picked ÷ the layer's size. */
  perTask: list(struct('a task share', { owned: Fraction, picked: Fraction })),
  free: Fraction,
});
export type LayerCapacity = t.TypeOf<typeof LayerCapacity>;

/** The report of a finished (or stopped) run. */
export const RunReport = struct('a run report', {
  method: Method,
  benchmark: BenchmarkChoice,
  net: Net,
  backend: BackendName,
  seed: NonNegativeInt,
  tasks: list(TaskReport),
  /** Row i: after learning task i; column j: accuracy on task j (null before it is learned). */
  accuracyMatrix: list(list(nullable(Fraction))),
  averageAccuracy: Fraction,
  forgetting: FiniteNumber,
  backwardTransfer: FiniteNumber,
  maxLogitDrift: NonNegativeNumber,
  modelSize: struct('a model size', {
    parameters: NonNegativeInt,
    relativeToOneNetwork: NonNegativeNumber,
    checkpointBytes: NonNegativeInt,
  }),
  capacity: list(LayerCapacity),
  timing: struct('a timing', {
    totalSeconds: NonNegativeNumber,
    perTask: list(struct('a task timing', { name: Text, seconds: NonNegativeNumber })),
  }),
  createdAt: Text,
}, {
  /** Threads of the backend that finished the run (wasm: its pool; tensorflow: the cores). */
  threads: PositiveInt,
  /** Whether that backend ran wasm SIMD code. */
  simd: Bool,
  /** How the compacting cap of a task that misses its goal at the maximum width was set, in words. */
  capacityPolicy: Text,
  /** The GPU adapter the backend ran on (webgpu), in words: its name, driver, and whether it is a software adapter. */
  device: Text,
});
export type RunReport = t.TypeOf<typeof RunReport>;

/** "wasm (2 threads, SIMD)": the backend a report was made on, with its threads when known. */
export const backendLabel = (r: Pick<RunReport, 'backend' | 'threads' | 'simd' | 'device'>): string => {
  if (r.device !== undefined) return `${r.backend} (${r.device})`;
  const parts = [
    ...(r.threads !== undefined ? [`${r.threads} thread${r.threads === 1 ? '' : 's'}`] : []),
    ...(r.simd === true ? ['SIMD'] : []),
  ];
  return parts.length === 0 ? r.backend : `${r.backend} (${parts.join(', ')})`;
};

