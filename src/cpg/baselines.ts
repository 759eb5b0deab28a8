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
import { claimAll } from '../algebra/backbone.js';
import { stepLr } from '../algebra/schedule.js';
import type { IndividualResult } from '../algebra/manifest.js';
import { initNet, startTaskPrivates, type NetState } from '../effects/network.js';
import { openSession } from '../effects/trainer.js';
import { emptyPick } from '../algebra/pickMask.js';
import type { TaskData } from '../effects/data/index.js';
import { type RunCtx, commit, load, sessionOptionsOf } from './context.js';
import { must, runStage } from './stages.js';
import { finishTask } from './finish.js';

/** Train task k on a network of its own; record its validation and test accuracy. */
export const trainIndividual = async (ctx: RunCtx, data: TaskData, k: number): Promise<IndividualResult> => {
  const c = ctx.config;
  const t0 = ctx.env.now();
  ctx.env.emit({ type: 'task-started', task: k, name: data.name, of: ctx.bench.tasks.length, purpose: 'goal' });
  const fresh = must(initNet(ctx.base, c.seed, `individual/task${k}`));
  const claimed: NetState = { ...fresh, backbone: must(claimAll(1)(fresh.backbone)) };
  const ready = must(startTaskPrivates(claimed, data.classes, c.seed));
  const session = must(openSession(ready, sessionOptionsOf(c, { kind: 'none' })));
  try {
    const r = await runStage(session, data, ctx.env, {
      task: k,
      name: data.name,
      kind: 'individual',
      label: `individual/task${k}`,
      epochs: c.individualEpochs,
      lr: stepLr({ base: c.lr, epochs: c.individualEpochs, milestones: c.lrMilestones }),
      lrMask: () => 0,
      multiplier: 1,
    });
    const test = session.evaluate(data.test.x, data.test.y, data.test.count, c.evalBatchSize);
    const result: IndividualResult = { name: data.name, valAccuracy: r.valAcc, testAccuracy: test.accuracy, seconds: ctx.env.now() - t0 };
    await commit(ctx, { ...ctx.manifest, individual: [...ctx.manifest.individual, result] });
    ctx.env.emit({
      type: 'task-finished',
      task: k,
      name: data.name,
      purpose: 'goal',
      accuracyRow: [test.accuracy],
      valAcc: r.valAcc,
      goal: null,
      multiplier: 1,
      sparsity: 0,
      ownedFraction: 1,
      freeFraction: 0,
      maxLogitDrift: ctx.maxLogitDrift,
      seconds: result.seconds,
    });
    return result;
  } finally {
    session.dispose();
  }
};

/** Fine-tune task k into the one shared network: every weight trains, nothing is protected. */
export const fineTuneTask = async (ctx: RunCtx, data: TaskData, k: number): Promise<void> => {
  const c = ctx.config;
  const committed = ctx.manifest.state;
  if (committed === null) must(E.left({ tag: 'CheckpointError', file: undefined, message: 'the checkpoint lacks the network to fine-tune' }));
  const { state } = await load(ctx, committed!);
  const ready = must(startTaskPrivates(state, data.classes, c.seed));
  const session = must(openSession(ready, sessionOptionsOf(c, { kind: 'none' }, 'everything')));
  try {
    const t0 = ctx.env.now();
    const r = await runStage(session, data, ctx.env, {
      task: k,
      name: data.name,
      kind: 'finetune',
      label: `finetune/task${k}`,
      epochs: c.trainEpochs,
      lr: stepLr({ base: c.lr, epochs: c.trainEpochs, milestones: c.lrMilestones }),
      lrMask: () => 0,
      multiplier: 1,
    });
    ctx.env.emit({ type: 'stage-ended', task: k, name: data.name, stage: 'finetune', trainAcc: r.trainAcc, valAcc: r.valAcc, next: 'done' });
    const trained = session.export();
    // No pick masks: the fine-tuned network has no owners, every task sees every weight.
    const picks = new Map([...trained.backbone.owners].map(([name, o]) => [name, emptyPick(o.cells.length)] as const));
    await finishTask(ctx, data, k, trained, picks, { goal: null, ignoreOwners: true, seconds: ctx.env.now() - t0 });
  } finally {
    session.dispose();
  }
};
