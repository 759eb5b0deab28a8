/**
 * The epoch loop every stage shares (pick + train, compacting, retraining the
 * pick, baselines), as a stream: a stage is epochs in sequence, an epoch is
 * its seeded mini-batches in sequence, and the stream yields to the event
 * loop before every step — so unsubscribing, or a stop request, takes effect
 * at the next step. Seeded shuffles, augmentation, the learning-rate schedule,
 * per-epoch validation, progress events and a numerical-fault stop.
 */
import * as E from 'fp-ts/lib/Either.js';
import { pipe } from 'fp-ts/lib/function.js';
import { EMPTY, concat, concatMap, defer, from, ignoreElements, throwError } from 'rxjs';
import type { CpgError } from '../algebra/errors.js';
import { cubicSparsity, pruneSteps } from '../algebra/schedule.js';
import { pixelsOf, type Task } from '../algebra/task.js';
import type { Env } from '../effects/env.js';
import type { Session } from '../effects/trainer.js';
import { augmentBatch, batchIndices, gather } from '../effects/data/batches.js';
import type { StageKind } from './events.js';
import { type Flow, chain, emit, fail, fromTE, mapError, mapValue, pure, unfold } from './flow.js';

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
  /**
   * Called after each epoch with its validation accuracy; return 'stop' to end
   * the stage early (retraining the pick stops after `patience` epochs without gain).
   */
  readonly afterEpoch?: (epoch: number, valAcc: number) => Flow<'continue' | 'stop'>;
}

/** What a stage measured: the last epoch's running training accuracy and the final validation accuracy. */
export interface StageResult {
  readonly trainAcc: number;
  readonly valAcc: number;
  readonly loss: number;
  readonly epochsRun: number;
}

/** The error of a stop asked for by the caller. */
export const cancelledError: CpgError = { tag: 'Cancelled', message: 'the run was stopped; the last checkpoint is valid — `cpg resume` continues from it' };

interface Loop {
  readonly epoch: number;
  readonly result: StageResult;
  readonly stopped: boolean;
}

/** Run a stage's epochs on `session` over the task's data. */
export const runStage = (ctx: StageCtx, session: Session, data: Task, plan: StagePlan): Flow<StageResult> =>
  defer(() => {
    const clock = ctx.env.clock;
    const shape = data.inputShape;
    const pixels = pixelsOf(shape);
    const augment = (data.augmentation ?? 'none') === 'crop-flip';
    const steps = Math.ceil(data.train.count / ctx.batchSize);
    const schedule =
      plan.prune === undefined
        ? undefined
        : (() => {
            const ramp = Math.max(1, Math.min(plan.prune.rampEpochs, plan.epochs)) * steps;
            const sparsityAt = cubicSparsity({ initial: plan.prune.from, final: plan.prune.to, beginStep: 0, endStep: ramp });
            return { at: new Set(pruneSteps({ beginStep: 0, endStep: ramp, frequency: plan.prune.frequency })), sparsity: sparsityAt };
          })();
    // A numerical fault names the stage, the task and where it stopped, and what to do.
    const stopped =
      (epoch: number, step: number) =>
      (e: CpgError): CpgError =>
        e.tag === 'NumericError'
          ? { ...e, message: `${e.message} — stage '${plan.kind}' of task '${plan.name}' stopped at epoch ${epoch + 1}, step ${step + 1}; lower the learning rate` }
          : e;
    // The stage's own counters: sparsity reached and steps taken, across its epochs.
    let sparsity = plan.prune?.from ?? 0;
    let globalStep = 0;
    const stageStart = clock.seconds();

    const runEpoch = (epoch: number): Flow<Loop> =>
      defer(() => {
        const rng = ctx.env.random(ctx.seed, `${plan.label}/epoch${epoch}`);
        const lr = plan.lr(epoch);
        const lrMask = plan.lrMask(epoch);
        let correct = 0;
        let seen = 0;
        let lossSum = 0;
        const t0 = clock.seconds();
        const step = async (idx: Int32Array): Promise<E.Either<CpgError, void>> => {
          if (ctx.stopRequested()) return E.left(cancelledError);
          if (schedule?.at.has(globalStep) === true) {
            sparsity = schedule.sparsity(globalStep);
            const pruned = await session.prune(sparsity)();
            if (E.isLeft(pruned)) return E.left(stopped(epoch, globalStep)(pruned.left));
          }
          const batch = gather(data.train, idx, pixels);
          const x = augment ? augmentBatch(batch.x, idx.length, shape, rng) : batch.x;
          const r = await session.step(x, batch.y, idx.length, lr, lrMask)();
          if (E.isLeft(r)) return E.left(stopped(epoch, globalStep)(r.left));
          correct += r.right.correct;
          lossSum += r.right.loss * r.right.count;
          seen += r.right.count;
          globalStep += 1;
          return E.right(undefined);
        };
        const steps$ = from(batchIndices(data.train.count, ctx.batchSize, rng)).pipe(
          concatMap((idx) =>
            from(ctx.env.tick()).pipe(
              concatMap(() => from(step(idx))),
              concatMap((r) => (E.isLeft(r) ? throwError(() => r.left) : EMPTY)),
            ),
          ),
          ignoreElements(),
        );
        const end = defer((): Flow<Loop> => {
          // A ramp shorter than an epoch still ends exactly at the target.
          const lastPrune: Flow<void> =
            schedule !== undefined && epoch === plan.epochs - 1 && sparsity !== plan.prune!.to
              ? pipe(
                  fromTE(session.prune(plan.prune!.to)),
                  mapError(stopped(epoch, globalStep - 1)),
                  mapValue(() => {
                    sparsity = plan.prune!.to;
                  }),
                )
              : pure(undefined);
          const seconds = Math.max(1e-9, clock.seconds() - t0);
          return pipe(
            lastPrune,
            chain(() => fromTE(session.evaluate(data.val.x, data.val.y, data.val.count, ctx.evalBatchSize))),
            // A finite loss can still come with an update that overflows weights (even ones the data never uses, e.g. of
            // always-black pixels, through weight decay): the stage must not hand them on to a checkpoint or the next stage.
            chain((val) => mapValue((bad: string | undefined) => ({ val, bad }))(fromTE(session.findNonFinite()))),
            chain(({ val, bad }) => {
              if (bad !== undefined)
                return fail<Loop>(stopped(epoch, globalStep - 1)({ tag: 'NumericError', message: `${bad} after an update of task ${plan.task} (validation loss ${val.loss})` }));
              const result: StageResult = { trainAcc: seen === 0 ? 0 : correct / seen, valAcc: val.accuracy, loss: seen === 0 ? 0 : lossSum / seen, epochsRun: epoch + 1 };
              const perEpoch = (clock.seconds() - stageStart) / (epoch + 1);
              const ended = emit({
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
              return pipe(
                ended,
                chain(() => plan.afterEpoch?.(epoch, val.accuracy) ?? pure<'continue' | 'stop'>('continue')),
                mapValue((next): Loop => ({ epoch: epoch + 1, result, stopped: next === 'stop' })),
              );
            }),
          );
        });
        return concat(steps$, end);
      });

    const started = emit({
      type: 'stage-started',
      task: plan.task,
      name: plan.name,
      stage: plan.kind,
      epochs: plan.epochs,
      multiplier: plan.multiplier,
      sparsity: plan.prune === undefined ? null : { from: plan.prune.from, to: plan.prune.to },
    });
    const first: Loop = { epoch: 0, result: { trainAcc: 0, valAcc: 0, loss: Number.NaN, epochsRun: 0 }, stopped: false };
    return chain(() => mapValue((l: Loop) => l.result)(unfold(first, (l) => l.stopped || l.epoch >= plan.epochs, (l) => runEpoch(l.epoch))))(started);
  });
