/**
 * io-ts codecs for every file the library reads or writes: the run configuration,
 * goal files, the task life-cycle state (checkpoints) and run reports. Nothing read
 * from disk is used before it is decoded here; a value that does not decode is a
 * DecodeError naming the file and the field path (`tasks[3].growths[0].valAcc`).
 *
 * The codecs are built from a few combinators (`struct`, `list`, `tagged`, `oneOf`,
 * numeric ranges, …) that keep their structure as data, so that tests can derive
 * generators from the same description the decoder uses.
 */
import * as E from 'fp-ts/lib/Either.js';
import { pipe } from 'fp-ts/lib/function.js';
import * as t from 'io-ts';
import type { CpgError } from './errors.js';
import { decodeWith } from './json.js';
import { CompactSearch, GrowthCodec, PruneRecordCodec, RecordRule } from './cycleState.js';
import {
  Bool,
  type FieldProblem,
  FiniteNumber,
  Fraction,
  HalfOpenFraction,
  LenientNumberType,
  Multiplier,
  NonEmptyText,
  NonNegativeInt,
  NonNegativeNumber,
  NumberRangeType,
  OpenFraction,
  PositiveInt,
  PositiveNumber,
  StoredMultiplier,
  Text,
  checked,
  list,
  nullable,
  oneOf,
  range,
  record,
  struct,
  tagged,
} from './shape.js';
import { MAX_WASM_THREADS } from './threads.js';

// ---------------------------------------------------------------------------
// The run configuration

/** The benchmarks the library ships. */
export const BenchmarkName = oneOf('split-mnist', 'permuted-mnist', 'split-fmnist', 'cifar100');
export type BenchmarkName = t.TypeOf<typeof BenchmarkName>;
/** What a run learns: a shipped benchmark, or 'custom' — tasks given to `cpg learn` or to a learner. */
export const Benchmark = oneOf('split-mnist', 'permuted-mnist', 'split-fmnist', 'cifar100', 'custom');
export type Benchmark = t.TypeOf<typeof Benchmark>;
/** CPG and its baselines. */
export const Method = oneOf('cpg', 'packnet', 'finetune', 'individual');
export type Method = t.TypeOf<typeof Method>;
/** The shipped architectures. */
export const Net = oneOf('mlp', 'lenet', 'vgg-small', 'vgg16', 'resnet18');
export type Net = t.TypeOf<typeof Net>;
/** The backend a run actually used: native TensorFlow (Node), tfjs's WebGPU (Node: Dawn), tfjs's WebGL (a browser), wasm or the pure-JS cpu. */
export const BackendName = oneOf('tensorflow', 'webgpu', 'webgl', 'wasm', 'cpu');
export type BackendName = t.TypeOf<typeof BackendName>;
/** A backend request ('auto': the first that loads). */
export const BackendChoice = oneOf('auto', ...BackendName.values);
export type BackendChoice = t.TypeOf<typeof BackendChoice>;

/** A learning-rate step: multiply by `factor` from fraction `at` of the epochs on. */
export const Milestone = struct('a milestone', { at: Fraction, factor: NonNegativeNumber });
export type Milestone = t.TypeOf<typeof Milestone>;

/** Where accuracy goals come from: individually trained models, or a goal file. */
export const GoalsSource = tagged('a goals source', 'kind', {
  individual: struct('individual goals', {}),
  file: struct('goals from a file', { path: NonEmptyText }),
});
export type GoalsSource = t.TypeOf<typeof GoalsSource>;

const runConfigFields = {
  benchmark: Benchmark,
  method: Method,
  net: Net,
  seed: NonNegativeInt,
  backend: BackendChoice,
  batchSize: PositiveInt,
  lr: PositiveNumber,
  lrMask: NonNegativeNumber,
  weightDecay: NonNegativeNumber,
  momentum: HalfOpenFraction,
  trainEpochs: PositiveInt,
  lrMilestones: list(Milestone),
  maskLrMilestones: list(Milestone),
  pruneEpochs: PositiveInt,
  pruneLr: PositiveNumber,
  pruneRampEpochs: NonNegativeInt,
  pruneFrequency: PositiveInt,
  sparsities: list(OpenFraction, { minLength: 1, strictlyIncreasing: true }),
  retrainEpochs: PositiveInt,
  retrainLr: PositiveNumber,
  retrainMaskLr: NonNegativeNumber,
  retrainPatience: PositiveInt,
  growStep: PositiveNumber,
  maxMultiplier: Multiplier,
  trainAccThreshold: Fraction,
  allowedLoss: Fraction,
  maskInit: FiniteNumber,
  maskThreshold: FiniteNumber,
  goals: GoalsSource,
  individualEpochs: PositiveInt,
  packnetSparsity: HalfOpenFraction,
  valFraction: OpenFraction,
  testFraction: OpenFraction,
  evalBatchSize: PositiveInt,
  probeSize: PositiveInt,
};

const runConfigOptionalFields = {
  /** Absent: all of the benchmark's tasks. */
  tasks: PositiveInt,
  dataPath: NonEmptyText,
  threads: PositiveInt,
  /** Cap on training images per task (quick runs). */
  limitPerTask: PositiveInt,
  /**
   * Open-ended streams (the count of tasks to come is unknown): how many tasks
   * the model is expected to hold; the reference's compacting cap then counts
   * the tasks left to that number.
   */
  expectedTasks: PositiveInt,
  /**
   * Open-ended streams: the share of its claim a task that misses its goal at
   * the maximum width must free for the tasks to come (its compacting cap).
   * Absent, with expectedTasks absent too: 0.9, the reference's cap with nine or more tasks still to come.
   */
  reserve: OpenFraction,
  /** When a compacting target is recorded. Absent (a run from before the rule was chosen): 'reference'. */
  recordRule: RecordRule,
  /**
   * 'share': a task keeps at most its share of the room (free weights plus the
   * growth still allowed), so that the tasks after it find room; 'none': the
   * reference's rules alone. Absent (a run from before budgets): 'none'.
   */
  capacityBudget: oneOf('share', 'none'),
  /**
   * How a CPG task claims free weights under the budget: 'all' of them (the
   * reference, CPG-SPEC §3.1), or 'share': when its share is under what the
   * sweep's last target leaves of all of them, only as many as that target
   * compacts to the share, drawn at random and started from the initialiser
   * scaled for their density (algebra/claim.ts). Absent, and by default: 'all'.
   */
  claim: oneOf('all', 'share'),
  /**
   * How the compacting sweep searches its targets (lifecycle.ts, CompactSearch):
   * 'reference', every target in turn (the faithful mode), or 'bisect' (a new
   * run's default). Absent (a run from before the option): 'reference', so a
   * resumed run never changes its search half-way.
   */
  compactSearch: CompactSearch,
  /**
   * Where the pick mask's retraining after compacting starts (CPG-SPEC §3.7):
   * 'reset', every cell at maskInit (the reference), or 'learned' (a new run's
   * default), the pick the task learned while training. Absent (a run from
   * before the option): 'reset'.
   */
  retrainPickFrom: oneOf('reset', 'learned'),
  /**
   * The goal test's tolerance in validation images: a task meets its goal
   * within max(allowedLoss, min(0.01, allowedLossImages / its validation
   * images)), so a tolerance meant to forgive one image does so on every
   * validation size of at least 100 images, and never forgives more than a
   * point on a smaller one (lifecycle.ts, goalTolerance).
   * Absent: 0 (the tolerance is allowedLoss alone).
   */
  allowedLossImages: NonNegativeInt,
  /**
   * The individual baseline only: train task k's network alone (a goal
   * network as a job of its own, so a sweep trains a run's goal networks in
   * parallel). Absent: every task's.
   */
  onlyTask: PositiveInt,
};

const increasingMilestones = (field: string, ms: readonly Milestone[]): FieldProblem[] =>
  ms.flatMap((m, i) => {
    const prev = ms[i - 1];
    return prev !== undefined && m.at <= prev.at
      ? [{ path: [field, i, 'at'], message: `milestones must be in increasing order, got ${m.at} after ${prev.at}` }]
      : [];
  });

/** A complete run configuration (what a run uses and a checkpoint stores). */
export const RunConfig = checked(struct('a run configuration', runConfigFields, runConfigOptionalFields), (c) => [
  ...(c.valFraction + c.testFraction >= 1
    ? [{ path: ['testFraction'], message: `valFraction + testFraction must be < 1, got ${c.valFraction} + ${c.testFraction}` }]
    : []),
  ...(c.pruneRampEpochs > c.pruneEpochs
    ? [{ path: ['pruneRampEpochs'], message: `must be ≤ pruneEpochs (${c.pruneEpochs}), got ${c.pruneRampEpochs}` }]
    : []),
  ...increasingMilestones('lrMilestones', c.lrMilestones),
  ...increasingMilestones('maskLrMilestones', c.maskLrMilestones),
  ...(c.onlyTask !== undefined && c.method !== 'individual'
    ? [{ path: ['onlyTask'], message: `is for the individual baseline (one task's network alone), not method '${c.method}'` }]
    : []),
  ...(c.onlyTask !== undefined && c.tasks !== undefined && c.onlyTask > c.tasks
    ? [{ path: ['onlyTask'], message: `must be ≤ tasks (${c.tasks}), got ${c.onlyTask}` }]
    : []),
]);
export type RunConfig = t.TypeOf<typeof RunConfig>;

/** wasm threads a user may ask for (a stored configuration from before the limit may hold more: it ran on the most). */
export const WasmThreads = new NumberRangeType(`an integer in [1, ${MAX_WASM_THREADS}] (the most the wasm backend runs on)`, 1, MAX_WASM_THREADS, false, false, true);

/**
 * The widest network a user may allow: a checkpoint's index stores widths up
 * to StoredMultiplier's bound, so a wider one would be written and then
 * refused when read back.
 */
export const MaxMultiplier = new NumberRangeType(`a number in [1, ${StoredMultiplier.max}] (the widest a checkpoint stores)`, 1, StoredMultiplier.max, false, false, false);

/** A run configuration as written by a user: every field optional, unknown fields rejected; only a shipped benchmark is named. */
export const RunConfigInput = struct('a run configuration', {}, { ...runConfigFields, benchmark: BenchmarkName, ...runConfigOptionalFields, threads: WasmThreads, maxMultiplier: MaxMultiplier });
export type RunConfigInput = t.TypeOf<typeof RunConfigInput>;

/** The reference defaults (CPG-SPEC, CIFAR-100 / VGG16-BN) of every defaulted field; individualEpochs defaults to trainEpochs. */
export const runConfigDefaults: Omit<RunConfig, keyof typeof runConfigOptionalFields | 'individualEpochs'> = {
  benchmark: 'split-mnist',
  method: 'cpg',
  net: 'mlp',
  seed: 1,
  backend: 'auto',
  batchSize: 32,
  lr: 1e-2,
  lrMask: 5e-4,
  weightDecay: 4e-5,
  momentum: 0.9,
  trainEpochs: 100,
  lrMilestones: [
    { at: 0.5, factor: 0.1 },
    { at: 0.8, factor: 0.1 },
  ],
  maskLrMilestones: [
    { at: 0.5, factor: 0.2 },
    { at: 0.7, factor: 0 },
  ],
  pruneEpochs: 20,
  pruneLr: 1e-3,
  pruneRampEpochs: 4,
  pruneFrequency: 10,
  sparsities: [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95],
  retrainEpochs: 30,
  retrainLr: 1e-3,
  retrainMaskLr: 1e-4,
  retrainPatience: 5,
  growStep: 0.5,
  maxMultiplier: 1.5,
  trainAccThreshold: 0.95,
  allowedLoss: 0,
  maskInit: 0.01,
  maskThreshold: 0.005,
  goals: { kind: 'individual' },
  packnetSparsity: 0.75,
  valFraction: 0.1,
  testFraction: 0.2,
  evalBatchSize: 256,
  probeSize: 32,
};

/** Defaults of a new run for fields that an older run lacks (and then reads as the reference's rules). */
export const newRunDefaults: {
  readonly recordRule: t.TypeOf<typeof RecordRule>;
  readonly capacityBudget: 'share' | 'none';
  readonly claim: 'all' | 'share';
  readonly compactSearch: t.TypeOf<typeof CompactSearch>;
  readonly retrainPickFrom: 'reset' | 'learned';
  readonly allowedLossImages: number;
} = {
  recordRule: 'reference',
  capacityBudget: 'share',
  // Measured: partial claims help a long stream on a short budget and hurt it on the default one (BENCHMARKS.md).
  claim: 'all',
  // Measured on the three MNIST-family benchmarks, 3 seeds (BENCHMARKS.md, "The compacting search"):
  // 0.23–0.62× the sweep's time, at least PackNet's accuracy, within seed noise of the sweep's.
  compactSearch: 'bisect',
  // Measured (BENCHMARKS.md, "Where pick retraining starts"): from the learned pick it beats the compacted
  // model on validation where the reference's restart from maskInit almost never does.
  retrainPickFrom: 'learned',
  // The reference's: the tolerance is allowedLoss alone (the MNIST family's preset forgives one image).
  allowedLossImages: 0,
};

/** Decode a user's configuration and fill in the reference defaults; checks ranges and cross-field rules. */
export const decodeConfig =
  (file: string | undefined) =>
  (u: unknown): E.Either<CpgError, RunConfig> =>
    pipe(
      decodeWith(RunConfigInput, file)(u),
      E.chain((input) =>
        decodeWith(RunConfig, file)({
          ...runConfigDefaults,
          ...newRunDefaults,
          ...input,
          individualEpochs: input.individualEpochs ?? input.trainEpochs ?? runConfigDefaults.trainEpochs,
        }),
      ),
    );

// ---------------------------------------------------------------------------
// Inputs

/** [height, width, channels] of a model's input. */
export const InputShapeCodec = list(range(1, 4096, false, false, true), { minLength: 3, maxLength: 3 });

/** Per-channel mean and standard deviation applied to pixels in [0, 1]. */
export const NormalisationCodec = checked(
  struct('a normalisation', { mean: list(FiniteNumber, { minLength: 1 }), std: list(PositiveNumber, { minLength: 1 }) }),
  (n) => (n.mean.length !== n.std.length ? [{ path: ['std'], message: `has ${n.std.length} channel(s), mean has ${n.mean.length}` }] : []),
);

// ---------------------------------------------------------------------------
// Goal files

/** A goal file: task name → accuracy goal in [0, 1] (also as "0.6280", as the reference writes them); at least one task. */
export const GoalFile = record(new LenientNumberType(Fraction), 1);
export type GoalFile = t.TypeOf<typeof GoalFile>;

// ---------------------------------------------------------------------------
// Run reports

/** One task's line in a report. */
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
    constraint: oneOf('reserve', 'planned', 'width'),
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
  benchmark: Benchmark,
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

