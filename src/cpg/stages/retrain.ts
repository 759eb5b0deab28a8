/**
 * Retraining the pick (CPG-SPEC §3.6): on the network the life cycle chose,
 * the pick mask trains again (from maskInit, or from the pick it learned),
 * the owned weights fixed. The best epoch is kept, and only if it beats the
 * chosen network; the stage stops after `retrainPatience` epochs without gain.
 */
import { pipe } from 'fp-ts/lib/function.js';
import { advance } from '../../algebra/lifecycle.js';
import type { PickMask } from '../../algebra/pickMask.js';
import type { SnapshotIndex } from '../../algebra/snapshot.js';
import type { Session } from '../../effects/trainer.js';
import { load, save, sessionOptionsOf } from '../context.js';
import { type Flow, bind, bindTo, chain, fromEither, let_, mapValue, pure, tap } from '../flow.js';
import { type EpochFold, runStageWith, type StagePlan } from './epochs.js';
import { type Learned, type Step, type TaskRun, commitStep, learnedIn, snapshotAt, stageEnded, withSession } from './task.js';

/** The best epoch so far, folded over the epochs' validation accuracies. */
export interface Best {
  /** The accuracy to beat: the chosen network's, then the best epoch's. */
  readonly best: number;
  /** The best any epoch reached, beaten or not. */
  readonly seen: number;
  /** What the session had learned at the best epoch, once one beat the chosen network. */
  readonly kept: Learned | undefined;
  /** Epochs since the last gain. */
  readonly stale: number;
}

/** The best epoch after one more epoch reached `valAcc` (the snapshot of a new best is taken by the fold). */
const judged = (b: Best, valAcc: number): Best =>
  valAcc > b.best ? { best: valAcc, seen: Math.max(b.seen, valAcc), kept: b.kept, stale: 0 } : { ...b, seen: Math.max(b.seen, valAcc), stale: b.stale + 1 };

/** Keep the best epoch (a snapshot of what it learned); stop after `patience` epochs without gain. */
export const bestEpoch = (session: Session, chosenValAcc: number, patience: number): EpochFold<Best> => ({
  init: { best: chosenValAcc, seen: 0, kept: undefined, stale: 0 },
  step: (b, _epoch, valAcc) => {
    const next = judged(b, valAcc);
    return valAcc > b.best ? mapValue((kept: Learned): Best => ({ ...next, kept }))(learnedIn(session)) : pure(next);
  },
  stop: (b) => b.stale >= patience,
});

const planFor = (t: TaskRun, st: Step): StagePlan => {
  const c = t.ctx.config;
  return {
    task: t.k,
    name: t.data.name,
    kind: 'retrain',
    label: `task${t.k}/retrain`,
    epochs: c.retrainEpochs,
    lr: () => c.retrainLr,
    lrMask: () => c.retrainMaskLr,
    multiplier: st.cur.cycle.multiplier,
  };
};

/** Retrain in `session`, judge the best epoch, store it if it beat the chosen network, and commit. */
const retrainIn = (t: TaskRun, st: Step, session: Session): Flow<Step> =>
  pipe(
    runStageWith(t.ctx, session, t.data, planFor(t, st), bestEpoch(session, st.cur.cycle.chosenValAcc ?? 0, t.ctx.config.retrainPatience)),
    bindTo('run'),
    let_('valAcc', ({ run }) => (run.state.kept !== undefined ? run.state.best : run.state.seen)),
    bind('cycle', ({ valAcc }) => fromEither(advance({ tag: 'retrained', valAcc })(st.cur.cycle))),
    bind('retrained', ({ run }) => (run.state.kept !== undefined ? save(t.ctx, run.state.kept.state, run.state.kept.picks) : pure<SnapshotIndex | null>(null))),
    tap(({ run, valAcc, cycle }) => stageEnded(t, 'retrain', run.result.trainAcc, valAcc, cycle)),
    chain(({ cycle, retrained }) => commitStep(t, st.state, { ...st.cur, cycle, retrained })),
  );

/** The pick mask a retrain starts from: maskInit, or the pick the chosen network learned where the configuration says so. */
const startFrom = (t: TaskRun, learned: ReadonlyMap<string, PickMask> | undefined) => ({
  kind: 'train' as const,
  init: t.ctx.config.maskInit,
  ...(t.ctx.config.retrainPickFrom === 'learned' && learned !== undefined ? { from: learned } : {}),
});

/** Retrain the pick mask on the network compacted to `chosen`; keep the best epoch only if it beats the chosen one. */
export const retrain = (t: TaskRun, st: Step, chosen: number): Flow<Step> =>
  pipe(
    fromEither(snapshotAt(st.cur, chosen)),
    chain((idx) => load(t.ctx, idx)),
    chain(({ state, currentPicks }) => withSession(state, sessionOptionsOf(t.ctx.config, startFrom(t, currentPicks)), (session) => retrainIn(t, st, session))),
  );
