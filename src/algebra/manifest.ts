/**
 * The checkpoint manifest of a run directory (io-ts): the configuration,
 * goals, the committed network (by blob), every finished task's results, and
 * — while a task is being learned — its life-cycle state and the snapshots of
 * its completed stages. Writing a new manifest is a run's commit point.
 */
import * as t from 'io-ts';
import {
  Bool,
  CycleStateCodec,
  Fraction,
  GoalFile,
  GrowthCodec,
  Multiplier,
  NonNegativeNumber,
  PositiveInt,
  PruneRecordCodec,
  RunConfig,
  Text,
  list,
  nullable,
  oneOf,
  struct,
} from './codecs.js';
import { BlobRefCodec, SnapshotIndex } from './snapshot.js';

export const MANIFEST_FORMAT = 'cpg-run';
export const MANIFEST_VERSION = 1;

/** What a finished task left in the run. */
export const TaskResult = struct('a finished task', {
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
  pickedFraction: Fraction,
  seconds: NonNegativeNumber,
  note: nullable(Text),
});
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

export const RunManifest = struct('a run manifest', {
  format: oneOf(MANIFEST_FORMAT),
  version: PositiveInt,
  config: RunConfig,
  backend: Text,
  /** The benchmark's tasks in order. */
  tasks: list(struct('a task', { name: Text, classes: PositiveInt })),
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
});
export type RunManifest = t.TypeOf<typeof RunManifest>;
