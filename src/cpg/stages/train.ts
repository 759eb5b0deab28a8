/**
 * Claim + pick/train (CPG-SPEC §3.1–3.2): the task claims free weights (all
 * of them, or its share), starts its private head and trains its own weights
 * and, from the second task on, a pick mask over the older ones. After a
 * growth it starts again from the task's starting network widened (grow.ts).
 * The life cycle then judges the training: grow again, or compact.
 */
import * as E from 'fp-ts/lib/Either.js';
import { pipe } from 'fp-ts/lib/function.js';
import type { CycleState } from '../../algebra/lifecycle.js';
import { advance } from '../../algebra/lifecycle.js';
import { stepLr } from '../../algebra/schedule.js';
import type { SnapshotIndex } from '../../algebra/snapshot.js';
import { classCount } from '../../algebra/task.js';
import type { CpgError } from '../../algebra/errors.js';
import { type NetState, claimFree, startTaskPrivates } from '../../effects/network.js';
import type { Session } from '../../effects/trainer.js';
import { sessionOptionsOf } from '../context.js';
import { type Flow, bind, bindTo, chain, emitIf, fromEither, pure, tap } from '../flow.js';
import { partialClaim, claimAt } from './claim.js';
import { runStage, type StagePlan } from './epochs.js';
import { grownTo } from './grow.js';
import { type Step, type TaskRun, commitStep, saveLearned, stageEnded, withSession } from './task.js';
import { floorBeyond } from './warnings.js';

/** The network to train: `start` with the task's claim taken and its private head started. */
const claimed = (t: TaskRun, cycle: CycleState, start: NetState): E.Either<CpgError, NetState> =>
  pipe(
    claimFree(start, partialClaim(claimAt(t.ctx.config, cycle, start.backbone)), t.ctx.config.seed),
    E.chain((net) => startTaskPrivates(net, classCount(t.data), t.ctx.config.seed)),
  );

const planAt = (t: TaskRun, multiplier: number): StagePlan => {
  const c = t.ctx.config;
  return {
    task: t.k,
    name: t.data.name,
    kind: 'train',
    label: `task${t.k}/train@${multiplier}`,
    epochs: c.trainEpochs,
    lr: stepLr({ base: c.lr, epochs: c.trainEpochs, milestones: c.lrMilestones }),
    lrMask: t.rules.lrMask(c, t.k),
    multiplier,
  };
};

/** Train in `session`, judge it, keep the network unless the task grows again, and commit. */
const trainIn = (t: TaskRun, st: Step, multiplier: number, session: Session): Flow<Step> =>
  pipe(
    runStage(t.ctx, session, t.data, planAt(t, multiplier)),
    bindTo('r'),
    bind('cycle', ({ r }) =>
      fromEither(advance({ tag: 'trained', trainAcc: r.trainAcc, valAcc: r.valAcc, ownsAny: session.ownedCount() > 0, owned: session.ownedCount() })(st.cur.cycle)),
    ),
    bind('trained', ({ cycle }) => (cycle.phase.tag === 'train' ? pure<SnapshotIndex | null>(null) : saveLearned(t.ctx, session))),
    tap(({ r, cycle }) => stageEnded(t, 'train', r.trainAcc, r.valAcc, cycle)),
    // Training settled the budget's floor: said at once where it overrides the requested sparsities.
    tap(({ cycle }) => emitIf(st.cur.cycle.floor === undefined && cycle.floor !== undefined ? floorBeyond(t.k, t.data.name, cycle) : undefined)),
    chain(({ cycle, trained }) => commitStep(t, st.state, { ...st.cur, cycle, trained, pruned: [], lastPruned: null, retrained: null })),
  );

/** Claim + pick/train at `multiplier`; after a growth, from the task's starting network widened. */
export const train = (t: TaskRun, st: Step, multiplier: number): Flow<Step> =>
  pipe(
    grownTo(t, st.cur.cycle, multiplier),
    chain((start) => fromEither(claimed(t, st.cur.cycle, start))),
    chain((ready) => withSession(ready, sessionOptionsOf(t.ctx.config, t.rules.pick(t.ctx.config, t.k, undefined)), (session) => trainIn(t, st, multiplier, session))),
  );
