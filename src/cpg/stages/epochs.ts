/**
 * The epoch loop every stage shares (pick + train, compacting, retraining the
 * pick, baselines), as a stream: a stage is epochs in sequence, an epoch is
 * its seeded mini-batches in sequence, and the stream yields to the event
 * loop before every step — so unsubscribing, or a stop request, takes effect
 * at the next step. Seeded shuffles, augmentation, the learning-rate schedule,
 * per-epoch validation, progress events and a numerical-fault stop.
 *
 * Running state is carried, never mutated from a callback: an epoch's steps
 * are folded with `scan` (accuracy and loss so far, sparsity reached, steps
 * taken), and the stage's epochs are unfolded over that state and the
 * stage's own fold (`EpochFold`).
 */
import * as E from 'fp-ts/lib/Either.js';
import { pipe } from 'fp-ts/lib/function.js';
import { type Observable, concatMap, defaultIfEmpty, defer, from, of, scan, takeLast, throwError } from 'rxjs';
import { type CpgError, cancelled, numericError } from '../../algebra/errors.js';
import { cubicSparsity, pruneSteps } from '../../algebra/schedule.js';
import { pixelsOf, type Task } from '../../algebra/task.js';
import type { Env } from '../../effects/env.js';
import type { Rng } from '../../effects/random.js';
import type { Session, StepResult } from '../../effects/trainer.js';
import { augmentBatch, batchIndices, gather } from '../../effects/data/batches.js';
import type { StageKind } from '../events.js';
import { type Flow, bind, bindTo, chain, emit, fail, fromTE, mapError, mapValue, pure, unfold } from '../flow.js';

/** What every stage needs from the run around it. */
export interface StageCtx {
  readonly env: Env;
  readonly seed: number;
  readonly batchSize: number;
  readonly evalBatchSize: number;
  /** True once a stop was asked for: the stage ends with Cancelled at its next step. */
  readonly stopRequested: () => boolean;
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
}

/**
 * Running state a stage carries from epoch to epoch, folded over the epochs'
 * validation accuracies (retraining the pick keeps its best epoch so): `step`
 * after each epoch, and `stop` to end the stage early after it.
 */
export interface EpochFold<S> {
  readonly init: S;
  readonly step: (s: S, epoch: number, valAcc: number) => Flow<S>;
  readonly stop: (s: S) => boolean;
}

/** What a stage measured: the last epoch's running training accuracy and the final validation accuracy. */
export interface StageResult {
  readonly trainAcc: number;
  readonly valAcc: number;
  readonly loss: number;
  readonly epochsRun: number;
}

/** The error of a stop asked for by the caller. */
export const cancelledError: CpgError = cancelled('the run was stopped; the last checkpoint is valid — `cpg resume` continues from it');

/** The stage's gradual pruning: the steps it prunes at, the sparsity at each (a cubic ramp), and the target. */
interface Schedule {
  readonly at: ReadonlySet<number>;
  readonly sparsity: (step: number) => number;
  readonly to: number;
}

/** What stays the same through a stage. */
interface StageRun<S> {
  readonly ctx: StageCtx;
  readonly session: Session;
  readonly data: Task;
  readonly plan: StagePlan;
  readonly fold: EpochFold<S>;
  readonly schedule: Schedule | undefined;
  readonly pixels: number;
  readonly augment: boolean;
  readonly stageStart: number;
}

/** What stays the same through an epoch: its seeded generator, learning rates, and when it started. */
interface Epoch {
  readonly epoch: number;
  readonly rng: Rng;
  readonly lr: number;
  readonly lrMask: number;
  readonly t0: number;
}

/** The steps so far: this epoch's counts, and the stage's sparsity reached and steps taken. */
interface Tally {
  readonly correct: number;
  readonly seen: number;
  readonly lossSum: number;
  readonly sparsity: number;
  readonly globalStep: number;
}

/** The state between epochs: epochs run, the last one's result, whether the fold stopped the stage, and the counters carried on. */
interface Loop<S> {
  readonly epoch: number;
  readonly result: StageResult;
  readonly stopped: boolean;
  readonly sparsity: number;
  readonly globalStep: number;
  readonly fold: S;
}

/** What one step did: its measurements, and the sparsity it pruned to first (if the schedule said so). */
interface Stepped {
  readonly r: StepResult;
  readonly prunedTo: number | undefined;
}

const scheduleOf = (plan: StagePlan, steps: number): Schedule | undefined => {
  if (plan.prune === undefined) return undefined;
  const ramp = Math.max(1, Math.min(plan.prune.rampEpochs, plan.epochs)) * steps;
  const sparsityAt = cubicSparsity({ initial: plan.prune.from, final: plan.prune.to, beginStep: 0, endStep: ramp });
  return { at: new Set(pruneSteps({ beginStep: 0, endStep: ramp, frequency: plan.prune.frequency })), sparsity: sparsityAt, to: plan.prune.to };
};

/** A numerical fault names the stage, the task and where it stopped, and what to do. */
const stoppedAt =
  (plan: StagePlan, epoch: number, step: number) =>
  (e: CpgError): CpgError =>
    e.tag === 'NumericError'
      ? { ...e, message: `${e.message} — stage '${plan.kind}' of task '${plan.name}' stopped at epoch ${epoch + 1}, step ${step + 1}; lower the learning rate` }
      : e;

/** The stage's step `at` on batch `idx`: pruned first where the schedule says, then one SGD step (a stop asked for ends it first). */
const stepAt = async <S>(st: StageRun<S>, ep: Epoch, idx: Int32Array, at: number): Promise<E.Either<CpgError, Stepped>> => {
  if (st.ctx.stopRequested()) return E.left(cancelledError);
  const prunedTo = st.schedule?.at.has(at) === true ? st.schedule.sparsity(at) : undefined;
  if (prunedTo !== undefined) {
    const pruned = await st.session.prune(prunedTo)();
    if (E.isLeft(pruned)) return E.left(stoppedAt(st.plan, ep.epoch, at)(pruned.left));
  }
  const batch = gather(st.data.train, idx, st.pixels);
  const x = st.augment ? augmentBatch(batch.x, idx.length, st.data.inputShape, ep.rng) : batch.x;
  const r = await st.session.step(x, batch.y, idx.length, ep.lr, ep.lrMask)();
  return E.isLeft(r) ? E.left(stoppedAt(st.plan, ep.epoch, at)(r.left)) : E.right({ r: r.right, prunedTo });
};

/** One step, after yielding to the event loop (where an unsubscribe or a stop request gets in). */
const stepped = <S>(st: StageRun<S>, ep: Epoch, idx: Int32Array, at: number): Observable<Stepped> =>
  from(st.ctx.env.tick()).pipe(
    concatMap(() => from(stepAt(st, ep, idx, at))),
    concatMap((r) => (E.isLeft(r) ? throwError(() => r.left) : of(r.right))),
  );

const addStep = (t: Tally, s: Stepped): Tally => ({
  correct: t.correct + s.r.correct,
  seen: t.seen + s.r.count,
  lossSum: t.lossSum + s.r.loss * s.r.count,
  sparsity: s.prunedTo ?? t.sparsity,
  globalStep: t.globalStep + 1,
});

/** An epoch's seeded mini-batches in sequence, folded into its tally (the tally it started from when there are none). */
const stepsOf = <S>(st: StageRun<S>, ep: Epoch, t0: Tally): Observable<Tally> =>
  from(batchIndices(st.data.train.count, st.ctx.batchSize, ep.rng)).pipe(
    concatMap((idx, i) => stepped(st, ep, idx, t0.globalStep + i)),
    scan(addStep, t0),
    takeLast(1),
    defaultIfEmpty(t0),
  );

/** A ramp shorter than an epoch still ends exactly at the target: the sparsity after the epoch's last step. */
const lastPrune = <S>(st: StageRun<S>, ep: Epoch, t: Tally): Flow<number> => {
  const s = st.schedule;
  return s !== undefined && ep.epoch === st.plan.epochs - 1 && t.sparsity !== s.to
    ? pipe(
        fromTE(st.session.prune(s.to)),
        mapError(stoppedAt(st.plan, ep.epoch, t.globalStep - 1)),
        mapValue(() => s.to),
      )
    : pure(t.sparsity);
};

/** The epoch measured and said (epoch-ended), then folded into the stage's own state. */
const epochEnded = <S>(st: StageRun<S>, ep: Epoch, loop: Loop<S>, t: Tally, valAcc: number, seconds: number): Flow<Loop<S>> => {
  const { plan, ctx } = st;
  const result: StageResult = { trainAcc: t.seen === 0 ? 0 : t.correct / t.seen, valAcc, loss: t.seen === 0 ? 0 : t.lossSum / t.seen, epochsRun: ep.epoch + 1 };
  const perEpoch = (ctx.env.clock.seconds() - st.stageStart) / (ep.epoch + 1);
  return pipe(
    emit({
      type: 'epoch-ended',
      task: plan.task,
      name: plan.name,
      stage: plan.kind,
      epoch: ep.epoch + 1,
      epochs: plan.epochs,
      loss: result.loss,
      trainAcc: result.trainAcc,
      valAcc: result.valAcc,
      sparsity: t.sparsity,
      lr: ep.lr,
      samplesPerSec: t.seen / seconds,
      stageEtaSeconds: perEpoch * (plan.epochs - ep.epoch - 1),
    }),
    chain(() => st.fold.step(loop.fold, ep.epoch, valAcc)),
    mapValue((fold): Loop<S> => ({ epoch: ep.epoch + 1, result, stopped: st.fold.stop(fold), sparsity: t.sparsity, globalStep: t.globalStep, fold })),
  );
};

/** After an epoch's steps: the last prune, validation, and a check that no trained value overflowed. */
const endOf = <S>(st: StageRun<S>, ep: Epoch, loop: Loop<S>, steps: Tally): Flow<Loop<S>> =>
  defer(() => {
    const { session, data, ctx } = st;
    const seconds = Math.max(1e-9, ctx.env.clock.seconds() - ep.t0);
    return pipe(
      lastPrune(st, ep, steps),
      bindTo('sparsity'),
      bind('val', () => fromTE(session.evaluate(data.val.x, data.val.y, data.val.count, ctx.evalBatchSize))),
      // A finite loss can still come with an update that overflows weights (even ones the data never uses, e.g. of
      // always-black pixels, through weight decay): the stage must not hand them on to a checkpoint or the next stage.
      bind('bad', () => fromTE(session.findNonFinite())),
      chain(({ sparsity, val, bad }) =>
        bad !== undefined
          ? fail<Loop<S>>(stoppedAt(st.plan, ep.epoch, steps.globalStep - 1)(numericError(`${bad} after an update of task ${st.plan.task} (validation loss ${val.loss})`)))
          : epochEnded(st, ep, loop, { ...steps, sparsity }, val.accuracy, seconds),
      ),
    );
  });

/** One epoch: its steps, then its end. */
const runEpoch = <S>(st: StageRun<S>, loop: Loop<S>): Flow<Loop<S>> =>
  defer(() => {
    const { ctx, plan } = st;
    const ep: Epoch = { epoch: loop.epoch, rng: ctx.env.random(ctx.seed, `${plan.label}/epoch${loop.epoch}`), lr: plan.lr(loop.epoch), lrMask: plan.lrMask(loop.epoch), t0: ctx.env.clock.seconds() };
    const t0: Tally = { correct: 0, seen: 0, lossSum: 0, sparsity: loop.sparsity, globalStep: loop.globalStep };
    return stepsOf(st, ep, t0).pipe(concatMap((t) => endOf(st, ep, loop, t)));
  });

/** Run a stage's epochs on `session` over the task's data, carrying `fold` from epoch to epoch; its result and the fold's last state. */
export const runStageWith = <S>(ctx: StageCtx, session: Session, data: Task, plan: StagePlan, fold: EpochFold<S>): Flow<{ readonly result: StageResult; readonly state: S }> =>
  defer(() => {
    const steps = Math.ceil(data.train.count / ctx.batchSize);
    const st: StageRun<S> = {
      ctx,
      session,
      data,
      plan,
      fold,
      schedule: scheduleOf(plan, steps),
      pixels: pixelsOf(data.inputShape),
      augment: (data.augmentation ?? 'none') === 'crop-flip',
      stageStart: ctx.env.clock.seconds(),
    };
    const first: Loop<S> = { epoch: 0, result: { trainAcc: 0, valAcc: 0, loss: Number.NaN, epochsRun: 0 }, stopped: false, sparsity: plan.prune?.from ?? 0, globalStep: 0, fold: fold.init };
    return pipe(
      emit({
        type: 'stage-started',
        task: plan.task,
        name: plan.name,
        stage: plan.kind,
        epochs: plan.epochs,
        multiplier: plan.multiplier,
        sparsity: plan.prune === undefined ? null : { from: plan.prune.from, to: plan.prune.to },
      }),
      chain(() => unfold(first, (l) => l.stopped || l.epoch >= plan.epochs, (l) => runEpoch(st, l))),
      mapValue((l) => ({ result: l.result, state: l.fold })),
    );
  });

/** No state across epochs: every epoch runs. */
const noFold: EpochFold<undefined> = { init: undefined, step: () => pure(undefined), stop: () => false };

/** Run a stage's epochs on `session` over the task's data. */
export const runStage = (ctx: StageCtx, session: Session, data: Task, plan: StagePlan): Flow<StageResult> =>
  mapValue((r: { readonly result: StageResult }) => r.result)(runStageWith(ctx, session, data, plan, noFold));
