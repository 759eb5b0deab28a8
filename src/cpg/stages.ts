/**
 * The epoch loop every stage shares (pick + train, compacting, retraining the
 * pick, baselines): seeded shuffles, augmentation, the learning-rate
 * schedule, per-epoch validation, progress events, cancellation between
 * steps, and a numerical-fault stop.
 */
import * as E from 'fp-ts/lib/Either.js';
import type { CpgError } from '../algebra/errors.js';
import { cubicSparsity, pruneSteps } from '../algebra/schedule.js';
import { rngFor } from '../effects/random.js';
import type { Session } from '../effects/trainer.js';
import { augmentBatch, batchIndices, gather } from '../effects/data/index.js';
import type { TaskData } from '../effects/data/index.js';
import type { RunEvent, StageKind } from './events.js';

/** An error that ends the run: thrown inside the driver, returned as a value at its edge. */
export class CpgFailure extends Error {
  constructor(readonly error: CpgError) {
    super(error.message);
  }
}

/** Unwrap or stop the run with the error. */
export const must = <A>(e: E.Either<CpgError, A>): A => {
  if (E.isLeft(e)) throw new CpgFailure(e.left);
  return e.right;
};

/** What every stage needs from the run around it. */
export interface StageEnv {
  readonly seed: number;
  readonly batchSize: number;
  readonly evalBatchSize: number;
  readonly augmentation: 'none' | 'crop-flip';
  readonly inputShape: readonly [number, number, number];
  readonly emit: (e: RunEvent) => void;
  /** True once the subscriber has gone: stop at the next step. */
  readonly cancelled: () => boolean;
  /** Seconds since some fixed point (the clock is an effect). */
  readonly now: () => number;
}

/** One stage's schedule. */
export interface StagePlan {
  readonly task: number;
  readonly name: string;
  readonly kind: StageKind;
  /** Seeds the shuffles of this stage: the same label replays the same batches. */
  readonly label: string;
  readonly epochs: number;
  readonly lr: (epoch: number) => number;
  readonly lrMask: (epoch: number) => number;
  readonly multiplier: number;
  /** Gradual pruning during the stage (compacting). */
  readonly prune?: { readonly from: number; readonly to: number; readonly rampEpochs: number; readonly frequency: number };
  /**
   * Called after each epoch with its validation accuracy; return 'stop' to end
   * the stage early (retraining the pick stops after `patience` epochs without gain).
   */
  readonly afterEpoch?: (epoch: number, valAcc: number) => 'continue' | 'stop';
}

/** What a stage measured: the last epoch's running training accuracy and the final validation accuracy. */
export interface StageResult {
  readonly trainAcc: number;
  readonly valAcc: number;
  readonly loss: number;
  readonly epochsRun: number;
}

const cancelledError: CpgError = { tag: 'Cancelled', message: 'the run was stopped; the last checkpoint is valid — `cpg resume` continues from it' };

/** Let timers, I/O and unsubscribes run between synchronous training steps. */
const breathe = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Run a stage's epochs on `session` over the task's data. */
export const runStage = async (session: Session, data: TaskData, env: StageEnv, plan: StagePlan): Promise<StageResult> => {
  const pixels = env.inputShape[0] * env.inputShape[1] * env.inputShape[2];
  const steps = Math.ceil(data.train.count / env.batchSize);
  let schedule: { readonly at: ReadonlySet<number>; readonly sparsity: (t: number) => number } | undefined;
  if (plan.prune !== undefined) {
    const ramp = Math.max(1, Math.min(plan.prune.rampEpochs, plan.epochs)) * steps;
    const sparsity = cubicSparsity({ initial: plan.prune.from, final: plan.prune.to, beginStep: 0, endStep: ramp });
    schedule = { at: new Set(pruneSteps({ beginStep: 0, endStep: ramp, frequency: plan.prune.frequency })), sparsity };
  }
  env.emit({
    type: 'stage-started',
    task: plan.task,
    name: plan.name,
    stage: plan.kind,
    epochs: plan.epochs,
    multiplier: plan.multiplier,
    sparsity: plan.prune === undefined ? null : { from: plan.prune.from, to: plan.prune.to },
  });
  // A numerical fault names the stage, the task and where it stopped, and what to do.
  const stopped =
    (epoch: number, step: number) =>
    (e: CpgError): CpgError =>
      e.tag === 'NumericError'
        ? { ...e, message: `${e.message} — stage '${plan.kind}' of task '${plan.name}' stopped at epoch ${epoch + 1}, step ${step + 1}; lower the learning rate` }
        : e;
  let result: StageResult = { trainAcc: 0, valAcc: 0, loss: Number.NaN, epochsRun: 0 };
  let sparsity = plan.prune?.from ?? 0;
  let globalStep = 0;
  const stageStart = env.now();
  for (let epoch = 0; epoch < plan.epochs; epoch++) {
    const rng = rngFor(env.seed, `${plan.label}/epoch${epoch}`);
    const lr = plan.lr(epoch);
    const lrMask = plan.lrMask(epoch);
    let correct = 0;
    let seen = 0;
    let lossSum = 0;
    const t0 = env.now();
    for (const idx of batchIndices(data.train.count, env.batchSize, rng)) {
      if (env.cancelled()) throw new CpgFailure(cancelledError);
      if (schedule?.at.has(globalStep) === true) {
        sparsity = schedule.sparsity(globalStep);
        must(E.mapLeft(stopped(epoch, globalStep))(session.prune(sparsity)));
      }
      const batch = gather(data.train, idx, pixels);
      const x = env.augmentation === 'crop-flip' ? augmentBatch(batch.x, idx.length, env.inputShape, rng) : batch.x;
      const r = session.step(x, batch.y, idx.length, lr, lrMask);
      if (E.isLeft(r)) throw new CpgFailure(stopped(epoch, globalStep)(r.left));
      correct += r.right.correct;
      lossSum += r.right.loss * r.right.count;
      seen += r.right.count;
      globalStep += 1;
      await breathe();
    }
    // A ramp shorter than an epoch still ends exactly at the target.
    if (schedule !== undefined && epoch === plan.epochs - 1 && sparsity !== plan.prune!.to) {
      sparsity = plan.prune!.to;
      must(E.mapLeft(stopped(epoch, globalStep - 1))(session.prune(sparsity)));
    }
    const seconds = Math.max(1e-9, env.now() - t0);
    const val = session.evaluate(data.val.x, data.val.y, data.val.count, env.evalBatchSize);
    // A finite loss can still come with an update that overflows weights (even ones the data never uses, e.g. of
    // always-black pixels, through weight decay): the stage must not hand them on to a checkpoint or the next stage.
    const bad = session.findNonFinite();
    if (bad !== undefined)
      throw new CpgFailure(stopped(epoch, globalStep - 1)({ tag: 'NumericError', message: `${bad} after an update of task ${plan.task} (validation loss ${val.loss})` }));
    result = { trainAcc: seen === 0 ? 0 : correct / seen, valAcc: val.accuracy, loss: seen === 0 ? 0 : lossSum / seen, epochsRun: epoch + 1 };
    const perEpoch = (env.now() - stageStart) / (epoch + 1);
    env.emit({
      type: 'epoch-ended',
      task: plan.task,
      name: plan.name,
      stage: plan.kind,
      epoch: epoch + 1,
      epochs: plan.epochs,
      loss: result.loss,
      trainAcc: result.trainAcc,
      valAcc: result.valAcc,
      sparsity,
      lr,
      samplesPerSec: seen / seconds,
      stageEtaSeconds: perEpoch * (plan.epochs - epoch - 1),
    });
    if (plan.afterEpoch?.(epoch, val.accuracy) === 'stop') break;
  }
  return result;
};
