/**
 * The baselines CPG is measured against (CPG-SPEC §5), on the same data,
 * architecture and budget:
 * - individual: a fresh network per task (its validation accuracy is also the
 *   task's goal for CPG, the reference's "scratch" baseline);
 * - fine-tune: one network trained task after task with no masks at all; it
 *   forgets, and the accuracy matrix shows how much.
 * PackNet runs through learn.ts with its own cycle settings.
 */
import * as E from 'fp-ts/lib/Either.js';
import { pipe } from 'fp-ts/lib/function.js';
import { defer } from 'rxjs';
import { claimAll } from '../algebra/backbone.js';
import { stepLr } from '../algebra/schedule.js';
import type { IndividualResult } from '../algebra/manifest.js';
import { type CpgError, checkpointError } from '../algebra/errors.js';
import { type PickMask, emptyPick } from '../algebra/pickMask.js';
import { classCount, reportSplit, type Task } from '../algebra/task.js';
import { type NetState, initNet, startTaskPrivates } from '../effects/network.js';
import type { Session } from '../effects/trainer.js';
import { type RunCtx, type RunState, commit, load, sessionOptionsOf } from './context.js';
import { type Flow, bind, bindTo, chain, emit, fail, fromEither, fromTE, let_, mapValue, tap } from './flow.js';
import { runStage } from './stages/epochs.js';
import { withSession } from './stages/task.js';
import { finishTask } from './finish.js';

/** Task k's network of its own: fresh from the seed, every cell claimed, its private head started. */
const ownNet = (ctx: RunCtx, data: Task, k: number): E.Either<CpgError, NetState> =>
  pipe(
    initNet(ctx.base, ctx.config.seed, `individual/task${k}`),
    E.chain((fresh) => E.map((backbone: typeof fresh.backbone) => ({ ...fresh, backbone }))(claimAll(1)(fresh.backbone))),
    E.chain((claimed) => startTaskPrivates(claimed, classCount(data), ctx.config.seed)),
  );

/** Train task k in `session` and measure it on its report split. */
const individualIn = (ctx: RunCtx, data: Task, k: number, t0: number, session: Session): Flow<IndividualResult> => {
  const c = ctx.config;
  return pipe(
    runStage(ctx, session, data, {
      task: k,
      name: data.name,
      kind: 'individual',
      label: `individual/task${k}`,
      epochs: c.individualEpochs,
      lr: stepLr({ base: c.lr, epochs: c.individualEpochs, milestones: c.lrMilestones }),
      lrMask: () => 0,
      multiplier: 1,
    }),
    bindTo('r'),
    let_('rep', () => reportSplit(data)),
    bind('test', ({ rep }) => fromTE(session.evaluate(rep.x, rep.y, rep.count, c.evalBatchSize))),
    mapValue(({ r, test }): IndividualResult => ({ name: data.name, valAccuracy: r.valAcc, testAccuracy: test.accuracy, seconds: ctx.env.clock.seconds() - t0 })),
  );
};

/** Train task k on a network of its own; record its validation and test accuracy. */
export const trainIndividual = (ctx: RunCtx, s: RunState, data: Task, k: number, of: number | null): Flow<{ readonly state: RunState; readonly result: IndividualResult }> =>
  defer(() => {
    const t0 = ctx.env.clock.seconds();
    const ready = ownNet(ctx, data, k);
    return pipe(
      emit({ type: 'task-started', task: k, name: data.name, of, purpose: 'goal' }),
      chain(() => fromEither(ready)),
      chain((net) => withSession(net, sessionOptionsOf(ctx.config, { kind: 'none' }), (session) => individualIn(ctx, data, k, t0, session))),
      bindTo('result'),
      bind('state', ({ result }) => commit(ctx, s, { ...s.manifest, individual: [...s.manifest.individual, result] })),
      tap(({ state, result }) =>
        emit({
          type: 'task-finished',
          task: k,
          name: data.name,
          purpose: 'goal',
          accuracyRow: [result.testAccuracy],
          valAcc: result.valAccuracy,
          goal: null,
          multiplier: 1,
          sparsity: 0,
          ownedFraction: 1,
          freeFraction: 0,
          maxLogitDrift: state.maxLogitDrift,
          seconds: result.seconds,
        }),
      ),
      mapValue(({ state, result }) => ({ state, result })),
    );
  });

/** No pick masks: the fine-tuned network has no owners, every task sees every weight. */
const noPicks = (net: NetState): ReadonlyMap<string, PickMask> => new Map([...net.backbone.owners].map(([name, o]) => [name, emptyPick(o.cells.length)] as const));

/** Fine-tune task k in `session` (every weight trains), then freeze it. */
const fineTuneIn = (ctx: RunCtx, s: RunState, data: Task, k: number, session: Session): Flow<RunState> => {
  const c = ctx.config;
  const t0 = ctx.env.clock.seconds();
  return pipe(
    runStage(ctx, session, data, {
      task: k,
      name: data.name,
      kind: 'finetune',
      label: `finetune/task${k}`,
      epochs: c.trainEpochs,
      lr: stepLr({ base: c.lr, epochs: c.trainEpochs, milestones: c.lrMilestones }),
      lrMask: () => 0,
      multiplier: 1,
    }),
    chain((r) => emit({ type: 'stage-ended', task: k, name: data.name, stage: 'finetune', trainAcc: r.trainAcc, valAcc: r.valAcc, next: 'done' })),
    chain(() => fromTE(session.export())),
    chain((trained) => finishTask(ctx, s, data, k, trained, noPicks(trained), { goal: null, ignoreOwners: true, seconds: ctx.env.clock.seconds() - t0 })),
  );
};

/** Fine-tune task k into the one shared network: every weight trains, nothing is protected. */
export const fineTuneTask = (ctx: RunCtx, s: RunState, data: Task, k: number): Flow<RunState> =>
  defer(() => {
    const committed = s.manifest.state;
    if (committed === null) return fail<RunState>(checkpointError(undefined, 'the checkpoint lacks the network to fine-tune'));
    return pipe(
      load(ctx, committed),
      chain(({ state }) => fromEither(startTaskPrivates(state, classCount(data), ctx.config.seed))),
      chain((ready) => withSession(ready, sessionOptionsOf(ctx.config, { kind: 'none' }, 'everything'), (session) => fineTuneIn(ctx, s, data, k, session))),
    );
  });
