/**
 * Freezing a task (CPG-SPEC §3.8) and the proof that nothing was forgotten:
 * every finished task is rebuilt from the network's values alone, its test
 * accuracy re-measured, and its logits on a fixed probe batch compared with
 * the ones recorded when it finished. Any difference is reported as
 * `maxLogitDrift` (which must be exactly 0).
 */
import { finishTask as finishBackbone, ownersOf } from '../algebra/backbone.js';
import { totalCapacity, countOwned, type OwnerMap } from '../algebra/ownerMap.js';
import { pickedCount, type PickMask } from '../algebra/pickMask.js';
import type { CurrentTask, TaskResult } from '../algebra/manifest.js';
import type { BlobRef } from '../effects/store.js';
import { bytesFloat32, float32Bytes, getBlob, putBlob } from '../effects/store.js';
import { evaluateWith, logitsWith, taskModel } from '../effects/evaluate.js';
import type { NetState } from '../effects/network.js';
import type { TaskData } from '../effects/data/index.js';
import { type RunCtx, commit, run, save } from './context.js';
import { must } from './stages.js';

/** The probe batch of a task: its first `probeSize` test images. */
export const probeOf = (ctx: RunCtx, data: TaskData): { x: Float32Array; count: number } => {
  const pixels = ctx.bench.inputShape[0] * ctx.bench.inputShape[1] * ctx.bench.inputShape[2];
  const count = Math.min(ctx.config.probeSize, data.test.count);
  return { x: data.test.x.subarray(0, count * pixels), count };
};

/** Test accuracy, validation accuracy and probe logits of finished task `j`, from the state alone. */
export const measureTask = (
  ctx: RunCtx,
  s: NetState,
  j: number,
  ignoreOwners: boolean,
): { testAcc: number; valAcc: number; logits: Float32Array } => {
  const data = ctx.bench.tasks[j - 1]!;
  const model = must(taskModel(s, j, ignoreOwners));
  try {
    const bs = ctx.config.evalBatchSize;
    const test = evaluateWith(model.graph, model.param, data.test.x, data.test.y, data.test.count, bs);
    const val = evaluateWith(model.graph, model.param, data.val.x, data.val.y, data.val.count, bs);
    const probe = probeOf(ctx, data);
    return { testAcc: test.accuracy, valAcc: val.accuracy, logits: logitsWith(model.graph, model.param, probe.x, probe.count, bs) };
  } finally {
    model.dispose();
  }
};

/** Largest absolute difference between two logit arrays (Infinity if their sizes differ). */
export const logitDrift = (a: Float32Array, b: Float32Array): number => {
  if (a.length !== b.length) return Number.POSITIVE_INFINITY;
  let d = 0;
  for (let i = 0; i < a.length; i++) {
    const x = Math.abs(a[i]! - b[i]!);
    if (!(x <= d)) d = Number.isNaN(x) ? Number.POSITIVE_INFINITY : x;
  }
  return d;
};

/**
 * Re-measure finished tasks 1..upTo on `s` and compare each one's probe
 * logits with its record; raises ctx.maxLogitDrift. Returns the test accuracies.
 */
export const recheckFinished = async (ctx: RunCtx, s: NetState, upTo: number, ignoreOwners: boolean): Promise<number[]> => {
  const accs: number[] = [];
  for (let j = 1; j <= upTo; j++) {
    const m = measureTask(ctx, s, j, ignoreOwners);
    accs.push(m.testAcc);
    const probe = ctx.manifest.finished[j - 1]?.probe ?? null;
    if (probe !== null) {
      const before = bytesFloat32(await run(getBlob(ctx.dir, probe)));
      ctx.maxLogitDrift = Math.max(ctx.maxLogitDrift, logitDrift(before, m.logits));
    }
  }
  return accs;
};

/**
 * Fractions of the network (at the current width) task `k` owns and leaves
 * free, and of the older weights within its width that its pick mask reuses.
 */
export const shareOf = (s: NetState, k: number): { owned: number; picked: number; free: number } => {
  const maps: OwnerMap[] = [...s.backbone.owners.values()];
  const total = maps.reduce((a, o) => a + o.cells.length, 0);
  const owned = maps.reduce((a, o) => a + countOwned(k)(o), 0);
  const free = totalCapacity(maps).free;
  const rec = s.backbone.finished[k - 1];
  let picked = 0;
  let old = 0;
  if (rec !== undefined)
    for (const [name, o] of must(ownersOf(k)(s.backbone))) {
      const c = pickedCount(k, o, rec.picks.get(name));
      picked += c.picked;
      old += c.old;
    }
  return { owned: total === 0 ? 0 : owned / total, picked: old === 0 ? 0 : picked / old, free: total === 0 ? 0 : free / total };
};

/**
 * Freeze task k: record it in the backbone with its binary picks, prove
 * every earlier task unchanged, store the new committed network, and emit
 * the task's row of the accuracy matrix.
 */
export const finishTask = async (
  ctx: RunCtx,
  data: TaskData,
  k: number,
  trained: NetState,
  picks: ReadonlyMap<string, PickMask>,
  o: { readonly cur?: CurrentTask; readonly goal: number | null; readonly ignoreOwners?: boolean; readonly seconds: number },
): Promise<void> => {
  const { cur, goal } = o;
  const ignoreOwners = o.ignoreOwners ?? false;
  const backbone = must(finishBackbone({ name: data.name, classes: data.classes, picks })(trained.backbone));
  const state: NetState = { ...trained, backbone };
  const row = await recheckFinished(ctx, state, k - 1, ignoreOwners);
  const mine = measureTask(ctx, state, k, ignoreOwners);
  row.push(mine.testAcc);
  const probe: BlobRef = await run(putBlob(ctx.dir, float32Bytes(mine.logits)));
  const share = shareOf(state, k);
  const cycle = cur?.cycle;
  const done = cycle?.phase.tag === 'done' ? cycle.phase : undefined;
  const seconds = o.seconds;
  const result: TaskResult = {
    name: data.name,
    classes: data.classes,
    goal,
    valAccuracy: mine.valAcc,
    testAccuracy: mine.testAcc,
    multiplier: backbone.finished[k - 1]!.multiplier,
    sparsity: done?.chosen ?? 0,
    retrainKept: done?.keptRetrain ?? false,
    growths: cycle?.growths ?? [],
    pruneCurve: cycle?.record ?? [],
    unprunedValAcc: cycle?.unprunedValAcc ?? null,
    accuracyRow: row,
    probe,
    ownedFraction: share.owned,
    pickedFraction: share.picked,
    seconds,
    note: done !== undefined ? done.reason : null,
  };
  const snapshot = await save(ctx, state, undefined);
  await commit(ctx, { ...ctx.manifest, state: snapshot, finished: [...ctx.manifest.finished, result], current: null });
  ctx.env.emit({
    type: 'task-finished',
    task: k,
    name: data.name,
    purpose: 'learn',
    accuracyRow: row,
    valAcc: mine.valAcc,
    goal,
    multiplier: result.multiplier,
    sparsity: result.sparsity,
    ownedFraction: share.owned,
    freeFraction: share.free,
    maxLogitDrift: ctx.maxLogitDrift,
    seconds,
  });
};
