/**
 * Learning one task into the shared network, driven by the life-cycle
 * machine (CPG-SPEC §3): claim, pick + train, goal check, grow, compact,
 * choose, retrain the pick, freeze. PackNet runs through the same machine
 * with a fixed sparsity, every older weight reused and no growth.
 *
 * Every completed stage is committed to the manifest, so a killed run
 * resumes at the stage it was in, with the same seeds.
 */
import * as E from 'fp-ts/lib/Either.js';
import type { CycleConfig, CycleState } from '../algebra/lifecycle.js';
import { advance, startCycle } from '../algebra/lifecycle.js';
import { stepLr } from '../algebra/schedule.js';
import { claimAll, currentTask } from '../algebra/backbone.js';
import type { PickMask } from '../algebra/pickMask.js';
import type { CurrentTask } from '../algebra/manifest.js';
import type { SnapshotIndex } from '../algebra/snapshot.js';
import { type NetState, growNet, startTaskPrivates } from '../effects/network.js';
import { type PickMode, openSession } from '../effects/trainer.js';
import type { TaskData } from '../effects/data/index.js';
import { type RunCtx, commit, load, save, sessionOptionsOf } from './context.js';
import { must, runStage } from './stages.js';
import { finishTask } from './finish.js';

/** Which method's rules the cycle follows. */
export type LearnMethod = 'cpg' | 'packnet';

const cycleConfigFor = (ctx: RunCtx, method: LearnMethod, task: number): CycleConfig => {
  const c = ctx.config;
  return method === 'cpg'
    ? {
        growStep: c.growStep,
        maxMultiplier: c.maxMultiplier,
        trainAccThreshold: c.trainAccThreshold,
        allowedLoss: c.allowedLoss,
        sparsities: c.sparsities,
        retrainPick: task > 1,
        prune: true,
      }
    : // PackNet: one compacting target, always recorded and kept, never grown.
      {
        growStep: c.growStep,
        maxMultiplier: 1,
        trainAccThreshold: 0,
        allowedLoss: 1,
        sparsities: [c.packnetSparsity],
        retrainPick: false,
        prune: true,
      };
};

/** A one-line account of what the life cycle decided. */
const describePhase = (s: CycleState): string => {
  const p = s.phase;
  switch (p.tag) {
    case 'train':
      return `grow to ×${p.multiplier} and train again`;
    case 'prune':
      return `compact ${p.from} → ${p.to}`;
    case 'retrainPick':
      return `keep sparsity ${p.chosen}, then retrain the pick mask`;
    case 'done':
      return `done: ${p.reason}`;
  }
};

/** Learn task `k` (1-based) of the benchmark into the committed network. */
export const learnTask = async (ctx: RunCtx, method: LearnMethod, data: TaskData, k: number, goal: number | null): Promise<void> => {
  const c = ctx.config;
  const m0 = ctx.manifest;
  const committed = must(E.fromNullable(missing('a committed network to learn into'))(m0.state));
  const s0 = (await load(ctx, committed)).state;
  if (currentTask(s0.backbone) !== k)
    must(E.left({ tag: 'LifecycleError', message: `the checkpoint's network has ${s0.backbone.finished.length} finished task(s); cannot learn task ${k} next` }));
  const taskStart = ctx.env.now();
  let cur: CurrentTask =
    m0.current !== null && m0.current.task === k
      ? m0.current
      : {
          task: k,
          cycle: must(
            startCycle(
              { task: k, tasksTotal: ctx.bench.tasks.length, goal: goal ?? 0, valSize: Math.max(1, data.val.count), multiplier: s0.backbone.multiplier },
              cycleConfigFor(ctx, method, k),
            ),
          ),
          trained: null,
          pruned: [],
          lastPruned: null,
          retrained: null,
          seconds: 0,
        };
  const secondsBefore = cur.seconds;
  const update = async (next: CurrentTask): Promise<void> => {
    cur = { ...next, seconds: secondsBefore + (ctx.env.now() - taskStart) };
    await commit(ctx, { ...ctx.manifest, current: cur });
  };
  if (m0.current === null || m0.current.task !== k) await update(cur);

  const pickFor = (picks: ReadonlyMap<string, PickMask> | undefined): PickMode =>
    k === 1 ? { kind: 'none' } : method === 'packnet' ? { kind: 'all' } : picks === undefined ? { kind: 'train', init: c.maskInit } : { kind: 'fixed', picks };
  const sessionOptions = (pick: PickMode) => sessionOptionsOf(c, pick);
  const emitEnd = (stage: 'train' | 'prune' | 'retrain', trainAcc: number, valAcc: number, s: CycleState) =>
    ctx.env.emit({ type: 'stage-ended', task: k, name: data.name, stage, trainAcc, valAcc, next: describePhase(s) });

  for (;;) {
    const phase = cur.cycle.phase;
    if (phase.tag === 'done') break;
    if (phase.tag === 'train') {
      // Claim + pick/train; after a growth, from the task's starting network widened.
      let start: NetState = s0;
      if (phase.multiplier > s0.backbone.multiplier) {
        ctx.env.emit({ type: 'stage-started', task: k, name: data.name, stage: 'grow', epochs: 0, multiplier: phase.multiplier, sparsity: null });
        start = must(growNet(s0, phase.multiplier, c.seed));
      }
      const claimed: NetState = { ...start, backbone: must(claimAll(k)(start.backbone)) };
      const ready = must(startTaskPrivates(claimed, data.classes, c.seed));
      const session = must(openSession(ready, sessionOptions(pickFor(undefined))));
      try {
        const r = await runStage(session, data, ctx.env, {
          task: k,
          name: data.name,
          kind: 'train',
          label: `task${k}/train@${phase.multiplier}`,
          epochs: c.trainEpochs,
          lr: stepLr({ base: c.lr, epochs: c.trainEpochs, milestones: c.lrMilestones }),
          lrMask: k > 1 && method === 'cpg' ? stepLr({ base: c.lrMask, epochs: c.trainEpochs, milestones: c.maskLrMilestones }) : () => 0,
          multiplier: phase.multiplier,
        });
        const owns = session.ownedCount() > 0;
        const cycle = must(advance({ tag: 'trained', trainAcc: r.trainAcc, valAcc: r.valAcc, ownsAny: owns })(cur.cycle));
        const trained = cycle.phase.tag === 'train' ? null : await save(ctx, session.export(), session.picks());
        emitEnd('train', r.trainAcc, r.valAcc, cycle);
        await update({ ...cur, cycle, trained, pruned: [], lastPruned: null, retrained: null });
      } finally {
        session.dispose();
      }
    } else if (phase.tag === 'prune') {
      const from = phase.from === 0 ? cur.trained : cur.lastPruned;
      const { state, currentPicks } = await load(ctx, must(E.fromNullable(missing('the network to compact'))(from)));
      const session = must(openSession(state, sessionOptions(pickFor(currentPicks))));
      try {
        const r = await runStage(session, data, ctx.env, {
          task: k,
          name: data.name,
          kind: 'prune',
          label: `task${k}/prune${phase.to}`,
          epochs: c.pruneEpochs,
          lr: () => c.pruneLr,
          lrMask: () => 0,
          multiplier: cur.cycle.multiplier,
          prune: { from: phase.from, to: phase.to, rampEpochs: c.pruneRampEpochs, frequency: c.pruneFrequency },
        });
        const cycle = must(advance({ tag: 'pruned', trainAcc: r.trainAcc, valAcc: r.valAcc })(cur.cycle));
        const snap = await save(ctx, session.export(), session.picks());
        const recorded = cycle.record.some((x) => x.sparsity === phase.to);
        emitEnd('prune', r.trainAcc, r.valAcc, cycle);
        await update({ ...cur, cycle, lastPruned: snap, pruned: recorded ? [...cur.pruned, { sparsity: phase.to, snapshot: snap }] : cur.pruned });
      } finally {
        session.dispose();
      }
    } else {
      // Retrain the pick mask from scratch on the chosen network; keep the best epoch only if it beats the chosen one.
      const chosen = snapshotAt(cur, phase.chosen);
      const { state } = await load(ctx, chosen);
      const session = must(openSession(state, sessionOptions({ kind: 'train', init: c.maskInit })));
      try {
        let best = cur.cycle.chosenValAcc ?? 0;
        let bestSeen = 0;
        let bestSnap: { state: NetState; picks: ReadonlyMap<string, PickMask> } | undefined;
        let stale = 0;
        const r = await runStage(session, data, ctx.env, {
          task: k,
          name: data.name,
          kind: 'retrain',
          label: `task${k}/retrain`,
          epochs: c.retrainEpochs,
          lr: () => c.retrainLr,
          lrMask: () => c.retrainMaskLr,
          multiplier: cur.cycle.multiplier,
          afterEpoch: (_epoch, valAcc) => {
            bestSeen = Math.max(bestSeen, valAcc);
            if (valAcc > best) {
              best = valAcc;
              bestSnap = { state: session.export(), picks: session.picks() };
              stale = 0;
            } else stale += 1;
            return stale >= c.retrainPatience ? 'stop' : 'continue';
          },
        });
        const valAcc = bestSnap !== undefined ? best : bestSeen;
        const cycle = must(advance({ tag: 'retrained', valAcc })(cur.cycle));
        const retrained = bestSnap !== undefined ? await save(ctx, bestSnap.state, bestSnap.picks) : null;
        emitEnd('retrain', r.trainAcc, valAcc, cycle);
        await update({ ...cur, cycle, retrained });
      } finally {
        session.dispose();
      }
    }
  }

  const done = cur.cycle.phase;
  if (done.tag !== 'done') return;
  const final = done.keptRetrain && cur.retrained !== null ? cur.retrained : snapshotAt(cur, done.chosen);
  const { state, currentPicks } = await load(ctx, final);
  await finishTask(ctx, data, k, state, currentPicks ?? new Map(), { cur, goal, seconds: secondsBefore + (ctx.env.now() - taskStart) });
};

const missing = (what: string) => ({ tag: 'CheckpointError' as const, file: undefined, message: `the checkpoint lacks ${what}` });

/** The stored network a chosen sparsity stands for (0: the trained, unpruned one). */
const snapshotAt = (cur: CurrentTask, sparsity: number): SnapshotIndex => {
  if (sparsity === 0) return must(E.fromNullable(missing('the trained network'))(cur.trained));
  const hit = cur.pruned.find((p) => p.sparsity === sparsity);
  return must(E.fromNullable(missing(`the network compacted to ${sparsity}`))(hit?.snapshot));
};
