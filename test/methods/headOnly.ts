/**
 * A toy method, registered from outside the library (test/methods/toyMethod
 * .test.ts): the first task is learned as CPG learns it; every later task
 * trains its own head only, over every weight the first task kept (its
 * features, frozen). Later tasks own no weight, so nothing a finished task
 * uses ever changes.
 */
import { pipe } from 'fp-ts/lib/function.js';
import type { PickMask } from '../../src/algebra/pickMask.js';
import { stepLr } from '../../src/algebra/schedule.js';
import { classCount, type Task } from '../../src/algebra/task.js';
import { startTaskPrivates } from '../../src/effects/network.js';
import { type RunCtx, type RunState, load, sessionOptionsOf } from '../../src/cpg/context.js';
import { finishTask } from '../../src/cpg/finish.js';
import { type Flow, chain, fail, fromEither, fromTE, mapValue } from '../../src/cpg/flow.js';
import { cpg } from '../../src/cpg/methods/cpg.js';
import type { LearningMethod } from '../../src/cpg/methods/method.js';
import { runStage } from '../../src/cpg/stages/epochs.js';
import { withSession } from '../../src/cpg/stages/task.js';

/** Task k's head, trained over every older weight (picked whole, never trained). */
const headTask = (ctx: RunCtx, s: RunState, data: Task, k: number): Flow<RunState> => {
  const c = ctx.config;
  const t0 = ctx.env.clock.seconds();
  if (s.manifest.state === null) return fail({ tag: 'CheckpointError', file: undefined, message: 'no network to learn a head on' });
  return pipe(
    load(ctx, s.manifest.state),
    chain(({ state }) => fromEither(startTaskPrivates(state, classCount(data), c.seed))),
    chain((ready) =>
      withSession(ready, sessionOptionsOf(c, { kind: 'all' }), (session) =>
        pipe(
          runStage(ctx, session, data, {
            task: k,
            name: data.name,
            kind: 'train',
            label: `head-only/task${k}`,
            epochs: c.trainEpochs,
            lr: stepLr({ base: c.lr, epochs: c.trainEpochs, milestones: c.lrMilestones }),
            lrMask: () => 0,
            multiplier: ready.backbone.multiplier,
          }),
          chain(() => fromTE(session.export())),
          chain((trained) => mapValue((picks: ReadonlyMap<string, PickMask>) => ({ trained, picks }))(fromTE(session.picks()))),
          chain(({ trained, picks }) => finishTask(ctx, s, data, k, trained, picks, { goal: null, seconds: ctx.env.clock.seconds() - t0 })),
        ),
      ),
    ),
  );
};

export const headOnly: LearningMethod = {
  name: 'head-only',
  summary: 'the first task as CPG learns it; later tasks train only their head over its frozen features',
  model: 'shared',
  protectsTasks: true,
  everyWeight: false,
  goalNetworks: () => false,
  meetsGoals: false,
  budgeted: () => false,
  learnTask: (ctx, s, data, k, goal) => (k === 1 ? cpg.learnTask(ctx, s, data, k, goal) : headTask(ctx, s, data, k)),
};
