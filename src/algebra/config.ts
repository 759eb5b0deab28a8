/**
 * The run configuration: every knob of a run (what it learns, with which
 * method, net and backend, the stages' lengths and rates, the budget's
 * rules), as a user writes it (`RunConfigInput`: every field optional,
 * unknown fields refused) and as a run uses and a checkpoint stores it
 * (`RunConfig`: complete, checked across fields). `decodeConfig` turns the
 * one into the other with the reference defaults. Goal files live here too:
 * a configuration names one.
 */
import * as E from 'fp-ts/lib/Either.js';
import { pipe } from 'fp-ts/lib/function.js';
import * as t from 'io-ts';
import { architectureNames } from './architectures.js';
import { BackendChoice } from './backends.js';
import { BenchmarkChoice, BenchmarkName } from './benchmarks.js';
import { ClaimRule } from './claim.js';
import { CompactSearch, RecordRule } from './cycleState.js';
import type { CpgError } from './errors.js';
import { decodeWith } from './json.js';
import {
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
  checked,
  list,
  oneOf,
  record,
  struct,
  tagged,
} from './shape.js';
import { MAX_WASM_THREADS } from './threads.js';

/** CPG and its baselines: the built-in methods (src/cpg/methods; a library caller may register more). */
export const methodNames = ['cpg', 'packnet', 'finetune', 'individual'] as const;

/**
 * A method's name: a built-in one, or one a library caller registered with
 * its learner. Which methods exist is the registry's to say (where the run
 * starts; the command line knows the built-in ones only), so a model learned
 * with a registered method opens again with it.
 */
export class MethodNameType extends t.Type<string, string, unknown> {
  readonly _tag = 'MethodNameType' as const;
  constructor(readonly values: readonly string[]) {
    const is = (u: unknown): u is string => typeof u === 'string' && /^[a-z][a-z0-9-]{0,39}$/.test(u);
    super(`a method's name (${values.join(', ')} or one registered with the learner)`, is, (u, c) => (is(u) ? t.success(u) : t.failure(u, c)), t.identity);
  }
}
export const Method = new MethodNameType(methodNames);
export type Method = string;

/** The shipped architectures (the list is architectures.ts's). */
export const Net = oneOf(...architectureNames);
export type Net = t.TypeOf<typeof Net>;

/** A learning-rate milestone: from epoch round(at × epochs) on, the rate is multiplied by `factor`. */
export const Milestone = struct('a milestone', { at: Fraction, factor: NonNegativeNumber });
export type Milestone = t.TypeOf<typeof Milestone>;

/** Where accuracy goals come from: individually trained models, or a goal file. */
export const GoalsSource = tagged('a goals source', 'kind', {
  individual: struct('individual goals', {}),
  file: struct('goals from a file', { path: NonEmptyText }),
});
export type GoalsSource = t.TypeOf<typeof GoalsSource>;

const runConfigFields = {
  benchmark: BenchmarkChoice,
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
  claim: ClaimRule,
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
export const newRunDefaults: Required<Pick<RunConfig, 'recordRule' | 'capacityBudget' | 'claim' | 'compactSearch' | 'retrainPickFrom' | 'allowedLossImages'>> = {
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
// Goal files

/** A goal file: task name → accuracy goal in [0, 1] (also as "0.6280", as the reference writes them); at least one task. */
export const GoalFile = record(new LenientNumberType(Fraction), 1);
export type GoalFile = t.TypeOf<typeof GoalFile>;
