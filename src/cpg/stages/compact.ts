/**
 * Compacting (CPG-SPEC §3.3): the task's own weights are pruned gradually
 * from one sparsity to the next target while it trains on, the smallest
 * released to the free pool; the life cycle records the target where the
 * network still meets its goal and chooses the next one (or stops).
 */
import { pipe } from 'fp-ts/lib/function.js';
import { advance } from '../../algebra/lifecycle.js';
import type { Session } from '../../effects/trainer.js';
import { load, sessionOptionsOf } from '../context.js';
import { type Flow, bind, bindTo, chain, fromEither, tap } from '../flow.js';
import { unclaimedOf } from './claim.js';
import { runStage, type StagePlan } from './epochs.js';
import { type Step, type TaskRun, commitStep, required, saveLearned, stageEnded, withSession } from './task.js';

const planFor = (t: TaskRun, st: Step, from: number, to: number): StagePlan => {
  const c = t.ctx.config;
  return {
    task: t.k,
    name: t.data.name,
    kind: 'prune',
    label: `task${t.k}/prune${to}`,
    epochs: c.pruneEpochs,
    lr: () => c.pruneLr,
    lrMask: () => 0,
    multiplier: st.cur.cycle.multiplier,
    prune: { from, to, rampEpochs: c.pruneRampEpochs, frequency: c.pruneFrequency },
  };
};

/** Compact in `session`, judge it, store the network (recorded where the cycle keeps the target), and commit. */
const compactIn = (t: TaskRun, st: Step, from: number, to: number, session: Session): Flow<Step> =>
  pipe(
    runStage(t.ctx, session, t.data, planFor(t, st, from, to)),
    bindTo('r'),
    bind('cycle', ({ r }) => fromEither(advance({ tag: 'pruned', trainAcc: r.trainAcc, valAcc: r.valAcc })(st.cur.cycle))),
    bind('snap', () => saveLearned(t.ctx, session)),
    tap(({ r, cycle }) => stageEnded(t, 'prune', r.trainAcc, r.valAcc, cycle)),
    chain(({ cycle, snap }) =>
      commitStep(t, st.state, {
        ...st.cur,
        cycle,
        lastPruned: snap,
        pruned: cycle.record.some((x) => x.sparsity === to) ? [...st.cur.pruned, { sparsity: to, snapshot: snap }] : st.cur.pruned,
      }),
    ),
  );

/** Compact the task's network from sparsity `from` to `to`. */
export const compact = (t: TaskRun, st: Step, from: number, to: number): Flow<Step> =>
  pipe(
    // The reference's sweep goes on from the target before; a bisecting search from the sparsest target that passed.
    required(from === 0 ? st.cur.trained : (st.cur.pruned.find((p) => p.sparsity === from)?.snapshot ?? st.cur.lastPruned), 'the network to compact'),
    chain((idx) => load(t.ctx, idx)),
    bindTo('loaded'),
    bind('claim', () => fromEither(unclaimedOf(t.ctx.config, st.cur.cycle, t.net0))),
    chain(({ loaded, claim }) =>
      withSession(loaded.state, { ...sessionOptionsOf(t.ctx.config, t.rules.pick(t.ctx.config, t.k, loaded.currentPicks)), ...claim }, (session) =>
        compactIn(t, st, from, to, session),
      ),
    ),
  );
