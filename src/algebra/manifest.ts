/**
 * The checkpoint manifest of a run (io-ts): the configuration, goals, the
 * committed network (by blob), every finished task's results and — while a
 * task is being learned — its life-cycle state and the snapshots of its
 * completed stages. Writing a new manifest is a run's commit point.
 *
 * Version 2 also holds what later learns and evaluations need without the
 * earlier tasks' data: the model's input shape and normalisation, and per task
 * its class names, a hash of its data, its probe inputs and where its data
 * came from. Version 1 (written before tasks could arrive over time) is read
 * and upgraded: its benchmark supplies the shape and normalisation, and the
 * per-task facts are filled in when the run next sees the data.
 */
import * as E from 'fp-ts/lib/Either.js';
import * as t from 'io-ts';
import { GoalFile, RunConfig } from './config.js';
import { BudgetOutcome } from './report.js';
import { InputShapeCodec, NormalisationCodec } from './task.js';
import { CycleStateCodec, GrowthCodec, PruneRecordCodec } from './cycleState.js';
import {
  Bool,
  Fraction,
  Multiplier,
  NonEmptyText,
  NonNegativeInt,
  NonNegativeNumber,
  HalfOpenFraction,
  PositiveInt,
  Sha256,
  Text,
  list,
  nullable,
  oneOf,
  struct,
  tagged,
} from './shape.js';
import { BenchmarkName, benchmarkFacts, isBenchmarkName } from './benchmarks.js';
import { type CpgError, checkpointError } from './errors.js';
import type { InputShape } from './task.js';
import { BlobRefCodec, SnapshotIndex } from './snapshot.js';

export const MANIFEST_FORMAT = 'cpg-run';
export const MANIFEST_VERSION = 2;

/** What a finished task left in the run. */
export const TaskResult = struct(
  'a finished task',
  {
    name: Text,
    classes: PositiveInt,
    goal: nullable(Fraction),
    valAccuracy: Fraction,
    testAccuracy: Fraction,
    multiplier: Multiplier,
    /** Chosen compacting sparsity (0: unpruned). */
    sparsity: Fraction,
    retrainKept: Bool,
    growths: list(GrowthCodec),
    pruneCurve: list(PruneRecordCodec),
    unprunedValAcc: nullable(Fraction),
    /** Test accuracy of tasks 1..k right after task k finished. */
    accuracyRow: list(Fraction),
    /** This task's logits on its probe batch when it finished (float32), to prove later outputs identical. */
    probe: nullable(BlobRefCodec),
    ownedFraction: Fraction,
    /** The share of the older tasks' weights (within its width) that its pick mask reuses. */
    pickedFraction: Fraction,
    seconds: NonNegativeNumber,
    note: nullable(Text),
  },
  {
    /** What testAccuracy was measured on: absent or 'test', or 'validation' for a task given without a test split. */
    accuracyOn: oneOf('test', 'validation'),
    /** The task's budget, under the 'share' capacity policy. */
    budget: BudgetOutcome,
    /** CPG: the goal test's tolerance the task was learned with (allowedLoss, or allowedLossImages of its validation images up to a point); absent: the configuration's allowedLoss. */
    allowedLoss: Fraction,
    /** CPG: the validation images its goal was tested on; absent: a task finished before they were kept. */
    validationImages: PositiveInt,
    /** The backend its probe logits were recorded on: only there are they promised bit for bit (webgpu: on the same adapter). */
    recordedOn: struct('a backend', { backend: Text, threads: PositiveInt, simd: Bool }, { device: Text }),
  },
);
export type TaskResult = t.TypeOf<typeof TaskResult>;

/** An individually trained network's result (goal runs and the individual baseline). */
export const IndividualResult = struct('an individual result', {
  name: Text,
  valAccuracy: Fraction,
  testAccuracy: Fraction,
  seconds: NonNegativeNumber,
});
export type IndividualResult = t.TypeOf<typeof IndividualResult>;

/** A snapshot kept for the choose step, by the sparsity it was compacted to. */
export const PrunedSnapshot = struct('a compacted snapshot', { sparsity: Fraction, snapshot: SnapshotIndex });

/** The task being learned: where its life cycle stands and its completed stages' networks. */
export const CurrentTask = struct('the task in progress', {
  task: PositiveInt,
  cycle: CycleStateCodec,
  /** After pick + train (with the binary picks as currentPicks). */
  trained: nullable(SnapshotIndex),
  /** After each recorded compacting target, in order. */
  pruned: list(PrunedSnapshot),
  /** The last compacting stage's network (recorded or not): where the next target starts. */
  lastPruned: nullable(SnapshotIndex),
  /** After retraining the pick (kept or not, the cycle decides). */
  retrained: nullable(SnapshotIndex),
  /** Seconds spent on this task so far, over all attempts. */
  seconds: NonNegativeNumber,
});
export type CurrentTask = t.TypeOf<typeof CurrentTask>;

/** Where a task's data came from, so a resumed run or an evaluation can read it again. */
export const TaskSource = tagged('a task source', 'kind', {
  /** Task `index` (1-based) of a shipped benchmark, built with the run's configuration. */
  benchmark: struct('a benchmark task', { benchmark: BenchmarkName, index: PositiveInt }),
  /** An image folder, split with these settings. */
  folder: struct(
    'an image-folder task',
    { path: NonEmptyText, seed: NonNegativeInt, valFraction: HalfOpenFraction, testFraction: HalfOpenFraction },
    { limitPerTask: PositiveInt },
  ),
  /** Arrays or tensors given in memory: only the caller has them. */
  memory: struct('a task given in memory', {}),
});
export type TaskSource = t.TypeOf<typeof TaskSource>;

/** Where one task's accuracy goal comes from. */
export const GoalChoice = tagged('a goal choice', 'kind', {
  /** The validation accuracy of a network trained on the task alone (the reference's). */
  individual: struct('an individual goal', {}),
  /** A given accuracy. */
  given: struct('a given goal', { goal: Fraction }),
  /** None: CPG keeps compacting while training accuracy stays above the threshold. */
  none: struct('no goal', {}),
});
export type GoalChoice = t.TypeOf<typeof GoalChoice>;

/** A task of the run: name and classes always; the rest once the run has seen its data (always, from version 2 on). */
export const TaskEntry = struct(
  'a task',
  { name: Text, classes: PositiveInt },
  {
    classNames: list(Text, { minLength: 2 }),
    /** SHA-256 over the task's class names, shape and every split: the same data, or a refusal. */
    dataHash: Sha256,
    /** The probe batch's inputs (float32): the finished task's outputs are re-checked on them without its data. */
    probeInputs: BlobRefCodec,
    source: TaskSource,
    /** Tasks learned over time: where the goal comes from. */
    goal: GoalChoice,
    /** Tasks learned over time: the configuration this task is learned with (absent: the run's). */
    config: RunConfig,
  },
);
export type TaskEntry = t.TypeOf<typeof TaskEntry>;

const manifestFields = {
  format: oneOf(MANIFEST_FORMAT),
  version: PositiveInt,
  config: RunConfig,
  backend: Text,
  /** The tasks in order: every task of a benchmark run; the tasks so far of one learned over time. */
  tasks: list(TaskEntry),
  /** Accuracy goals by task name, once known. */
  goals: nullable(GoalFile),
  /** Individually trained networks so far (goal runs, or the individual baseline). */
  individual: list(IndividualResult),
  /** The committed network: every finished task and nothing of the one in progress (null for the individual baseline). */
  state: nullable(SnapshotIndex),
  finished: list(TaskResult),
  current: nullable(CurrentTask),
  elapsedSeconds: NonNegativeNumber,
  status: oneOf('running', 'finished'),
  createdAt: Text,
};

export const RunManifest = struct('a run manifest', {
  ...manifestFields,
  /** The model's input [height, width, channels]. */
  inputShape: InputShapeCodec,
  /** How pixels in [0, 1] became inputs; null: inputs used as given. */
  normalisation: nullable(NormalisationCodec),
}, {
  /** A benchmark run's task count, fixed when it started; absent for a model learned over time. */
  plannedTasks: PositiveInt,
  /** The GPU adapter the run started on, in words (webgpu); absent for backends without one. */
  device: Text,
});
export type RunManifest = t.TypeOf<typeof RunManifest>;

/** The model's input shape as a tuple (the codec holds it as a list of exactly three). */
export const modelShape = (m: Pick<RunManifest, 'inputShape'>): InputShape => [m.inputShape[0]!, m.inputShape[1]!, m.inputShape[2]!];

/** Version 1: a benchmark run, every task known at the start. */
export const RunManifestV1 = struct('a run manifest', {
  ...manifestFields,
  tasks: list(struct('a task', { name: Text, classes: PositiveInt })),
});
export type RunManifestV1 = t.TypeOf<typeof RunManifestV1>;

/** A version-1 manifest as version 2: its benchmark gives the input shape and normalisation; its tasks were planned. */
export const upgradeV1 = (file: string) => (m: RunManifestV1): E.Either<CpgError, RunManifest> => {
  const b = m.config.benchmark;
  if (!isBenchmarkName(b)) return E.left(checkpointError(file, `a version-1 run must be of a shipped benchmark, not '${b}'`));
  const facts = benchmarkFacts[b];
  return E.right({
    ...m,
    version: MANIFEST_VERSION,
    inputShape: facts.inputShape,
    normalisation: facts.normalisation,
    plannedTasks: Math.max(1, m.tasks.length),
  });
};
