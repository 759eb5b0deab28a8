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
import { emptyPick } from '../algebra/pickMask.js';
import { classCount, reportSplit, type Task } from '../algebra/task.js';
import { initNet, startTaskPrivates } from '../effects/network.js';
import { type RunCtx, type RunState, commit, load, sessionOptionsOf } from './context.js';
import { type Flow, chain, emit, fail, fromEither, fromTE, mapValue } from './flow.js';
import type { Evaluation } from '../effects/evaluate.js';
import { runStage } from './stages/epochs.js';
import { finishTask } from './finish.js';
import { withSession } from './learn.js';

/** Train task k on a network of its own; record its validation and test accuracy. */
export const trainIndividual = (ctx: RunCtx, s: RunState, data: Task, k: number, of: number | null): Flow<{ readonly state: RunState; readonly result: IndividualResult }> =>
  defer(() => {
    const c = ctx.config;
    const t0 = ctx.env.clock.seconds();
    const ready = pipe(
      initNet(ctx.base, c.seed, `individual/task${k}`),
      E.chain((fresh) => E.map((backbone: typeof fresh.backbone) => ({ ...fresh, backbone }))(claimAll(1)(fresh.backbone))),
      E.chain((claimed) => startTaskPrivates(claimed, classCount(data), c.seed)),
    );
    return pipe(
      emit({ type: 'task-started', task: k, name: data.name, of, purpose: 'goal' }),
      chain(() => fromEither(ready)),
      chain((net) =>
        withSession(net, sessionOptionsOf(c, { kind: 'none' }), (session) =>
          pipe(
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
            chain((r) => {
              const rep = reportSplit(data);
              return mapValue(
                (test: Evaluation) =>
                  ({ name: data.name, valAccuracy: r.valAcc, testAccuracy: test.accuracy, seconds: ctx.env.clock.seconds() - t0 }) satisfies IndividualResult,
              )(fromTE(session.evaluate(rep.x, rep.y, rep.count, c.evalBatchSize)));
            }),
          ),
        ),
      ),
      chain((result) =>
        pipe(
          commit(ctx, s, { ...s.manifest, individual: [...s.manifest.individual, result] }),
          chain((state) =>
            pipe(
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
              mapValue(() => ({ state, result })),
            ),
          ),
        ),
      ),
    );
  });

/** Fine-tune task k into the one shared network: every weight trains, nothing is protected. */
export const fineTuneTask = (ctx: RunCtx, s: RunState, data: Task, k: number): Flow<RunState> =>
  defer(() => {
    const c = ctx.config;
    const committed = s.manifest.state;
    if (committed === null) return fail<RunState>({ tag: 'CheckpointError', file: undefined, message: 'the checkpoint lacks the network to fine-tune' });
    return pipe(
      load(ctx, committed),
      chain(({ state }) => fromEither(startTaskPrivates(state, classCount(data), c.seed))),
      chain((ready) =>
        withSession(ready, sessionOptionsOf(c, { kind: 'none' }, 'everything'), (session) => {
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
            chain((trained) => {
              // No pick masks: the fine-tuned network has no owners, every task sees every weight.
              const picks = new Map([...trained.backbone.owners].map(([name, o]) => [name, emptyPick(o.cells.length)] as const));
              return finishTask(ctx, s, data, k, trained, picks, { goal: null, ignoreOwners: true, seconds: ctx.env.clock.seconds() - t0 });
            }),
          );
        }),
      ),
    );
  });
