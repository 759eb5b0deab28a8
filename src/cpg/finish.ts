/**
 * Freezing a task (CPG-SPEC §3.8) and the proof that nothing was forgotten:
 * every finished task is rebuilt from the network's values alone and its
 * logits on a fixed probe batch are compared with the ones recorded when it
 * finished. Any difference is reported as `maxLogitDrift` (which must be
 * exactly 0). The probe inputs are kept in the store, so the proof needs no
 * task's data; where this process has a task's data, its accuracy is
 * re-measured too.
 */
import * as E from 'fp-ts/lib/Either.js';
import * as TE from 'fp-ts/lib/TaskEither.js';
import { pipe } from 'fp-ts/lib/function.js';
import { deviceOf } from '../effects/backend.js';
import { defer } from 'rxjs';
import { type Backbone, finishTask as finishBackbone, ownersOf } from '../algebra/backbone.js';
import { budgetOutcomeOf } from '../algebra/budget.js';
import { type CpgError, dataError } from '../algebra/errors.js';
import { totalCapacity, countOwned, type OwnerMap } from '../algebra/ownerMap.js';
import { pickedCount, type PickMask } from '../algebra/pickMask.js';
import { type CurrentTask, type TaskResult, modelShape } from '../algebra/manifest.js';
import { classCount, pixelsOf, reportSplit, type Task } from '../algebra/task.js';
import { type BlobRef, bytesFloat32, float32Bytes } from '../effects/store.js';
import { evaluateWith, logitsWith, taskModel } from '../effects/evaluate.js';
import type { NetState } from '../effects/network.js';
import { type RunCtx, type RunState, commit, save } from './context.js';
import { type Flow, bind, bindTo, chain, emit, fail, fold, fromEither, fromTE, let_, mapValue, pure, tap } from './flow.js';

/** The probe batch of a task, from its data: the first `probeSize` inputs of the split reports measure. */
export const probeFromData = (probeSize: number, data: Task): { readonly x: Float32Array; readonly count: number } => {
  const split = reportSplit(data);
  const count = Math.min(probeSize, split.count);
  return { x: split.x.subarray(0, count * pixelsOf(data.inputShape)), count };
};

/** The probe inputs of finished task k: from its data when this process has it, else from the store. */
export const probeOf = (ctx: RunCtx, s: RunState, k: number): Flow<{ readonly x: Float32Array; readonly count: number }> => {
  const data = ctx.dataOf(k);
  if (data !== undefined) return pure(probeFromData(ctx.config.probeSize, data));
  const entry = s.manifest.tasks[k - 1];
  const ref = entry?.probeInputs;
  if (ref === undefined)
    return fail(dataError(undefined, `task ${k} ('${entry?.name ?? '?'}'): neither its data nor its probe inputs are available to check it`));
  const pixels = pixelsOf(modelShape(s.manifest));
  return pipe(
    fromTE(ctx.env.store.getBlob(ref)),
    mapValue((b) => {
      const x = bytesFloat32(b);
      return { x, count: Math.floor(x.length / pixels) };
    }),
  );
};

/** A finished task measured now: probe logits always; accuracies where the data is here. */
export interface Measured {
  readonly logits: Float32Array;
  /** Accuracy on the report split (test, else validation) and on validation; undefined without the data. */
  readonly testAcc: number | undefined;
  readonly valAcc: number | undefined;
}

/** Measure finished task `j` on state `s` from the network's values alone. */
export const measureTask = (
  ctx: RunCtx,
  s: NetState,
  j: number,
  ignoreOwners: boolean,
  probe: { readonly x: Float32Array; readonly count: number },
  data: Task | undefined,
): TE.TaskEither<CpgError, Measured> =>
  TE.bracket(
    TE.fromEither(taskModel(s, j, ignoreOwners)),
    (model) => {
      const bs = ctx.config.evalBatchSize;
      return pipe(
        logitsWith(model.graph, model.param, probe.x, probe.count, bs),
        TE.chain((logits) => {
          if (data === undefined) return TE.right<CpgError, Measured>({ logits, testAcc: undefined, valAcc: undefined });
          const rep = reportSplit(data);
          return pipe(
            evaluateWith(model.graph, model.param, rep.x, rep.y, rep.count, bs),
            TE.bindTo('test'),
            TE.bind('val', () => evaluateWith(model.graph, model.param, data.val.x, data.val.y, data.val.count, bs)),
            TE.map(({ test, val }) => ({ logits, testAcc: test.accuracy, valAcc: val.accuracy })),
          );
        }),
      );
    },
    (model) => TE.fromIO(() => model.dispose()),
  );

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

/** The drift of finished task j's probe logits from its record (0 when it recorded none). */
const driftOf = (ctx: RunCtx, s: RunState, j: number, logits: Float32Array): Flow<number> => {
  const probe = s.manifest.finished[j - 1]?.probe ?? null;
  return probe === null ? pure(0) : pipe(fromTE(ctx.env.store.getBlob(probe)), mapValue((b) => logitDrift(bytesFloat32(b), logits)));
};

/** Finished task j re-measured on `net`: its drift raises the state's maxLogitDrift, its accuracy joins the row (the last recorded one without its data). */
const recheckOne = (
  ctx: RunCtx,
  net: NetState,
  ignoreOwners: boolean,
  lastRow: readonly number[],
  acc: { readonly state: RunState; readonly row: number[] },
  j: number,
): Flow<{ readonly state: RunState; readonly row: number[] }> =>
  pipe(
    probeOf(ctx, acc.state, j),
    chain((probe) => fromTE(measureTask(ctx, net, j, ignoreOwners, probe, ctx.dataOf(j)))),
    bindTo('m'),
    bind('d', ({ m }) => driftOf(ctx, acc.state, j, m.logits)),
    mapValue(({ m, d }) => ({
      state: { ...acc.state, maxLogitDrift: Math.max(acc.state.maxLogitDrift, d) },
      row: [...acc.row, m.testAcc ?? lastRow[j - 1] ?? acc.state.manifest.finished[j - 1]?.testAccuracy ?? 0],
    })),
  );

/**
 * Re-measure finished tasks 1..upTo on `net` and compare each one's probe
 * logits with its record; raises the state's maxLogitDrift. Returns the
 * accuracy row: measured where this process has the data, else the last
 * recorded value (which the probe check then proves unchanged).
 */
export const recheckFinished = (ctx: RunCtx, s: RunState, net: NetState, upTo: number, ignoreOwners: boolean): Flow<{ readonly state: RunState; readonly row: number[] }> => {
  const lastRow = s.manifest.finished[s.manifest.finished.length - 1]?.accuracyRow ?? [];
  return fold(
    Array.from({ length: upTo }, (_, i) => i + 1),
    { state: s, row: [] as number[] },
    (acc, j) => recheckOne(ctx, net, ignoreOwners, lastRow, acc, j),
  );
};

interface PickCounts {
  readonly picked: number;
  readonly old: number;
}

/** Counts so far plus the next tensor's (the first error stops the sum; the next tensor is not counted after it). */
const addCounts = (acc: E.Either<CpgError, PickCounts>, next: () => E.Either<CpgError, PickCounts>): E.Either<CpgError, PickCounts> =>
  pipe(
    acc,
    E.chain((a) => E.map((c: PickCounts) => ({ picked: a.picked + c.picked, old: a.old + c.old }))(next())),
  );

/** Of the older weights within finished task k's width, how many its pick mask reuses, and how many there are. */
const pickCountsOf = (s: NetState, k: number): E.Either<CpgError, PickCounts> => {
  const rec = s.backbone.finished[k - 1];
  if (rec === undefined) return E.right({ picked: 0, old: 0 });
  return pipe(
    ownersOf(k)(s.backbone),
    E.chain((restricted) =>
      [...restricted].reduce<E.Either<CpgError, PickCounts>>(
        (acc, [name, o]) => addCounts(acc, () => pickedCount(k, o, rec.picks.get(name))),
        E.right({ picked: 0, old: 0 }),
      ),
    ),
  );
};

/**
 * Fractions of the network (at the current width) task `k` owns and leaves
 * free, and of the older weights within its width that its pick mask reuses.
 */
export const shareOf = (s: NetState, k: number): E.Either<CpgError, { readonly owned: number; readonly picked: number; readonly free: number }> => {
  const maps: OwnerMap[] = [...s.backbone.owners.values()];
  const total = maps.reduce((a, o) => a + o.cells.length, 0);
  const owned = maps.reduce((a, o) => a + countOwned(k)(o), 0);
  const free = totalCapacity(maps).free;
  return E.map(({ picked, old }: PickCounts) => ({
    owned: total === 0 ? 0 : owned / total,
    picked: old === 0 ? 0 : picked / old,
    free: total === 0 ? 0 : free / total,
  }))(pickCountsOf(s, k));
};

/** What a task that finished now measured, for its record. */
interface Finished {
  readonly row: readonly number[];
  readonly mine: Measured;
  readonly probeRef: BlobRef;
  readonly share: { readonly owned: number; readonly picked: number; readonly free: number };
}
/** Task k's record: what it measured, how it was learned (its life cycle, where it had one) and where. */
const resultOf = (
  ctx: RunCtx,
  data: Task,
  k: number,
  finished: Backbone,
  o: { readonly cur?: CurrentTask; readonly goal: number | null; readonly seconds: number },
  f: Finished,
): TaskResult => {
  const cycle = o.cur?.cycle;
  const done = cycle?.phase.tag === 'done' ? cycle.phase : undefined;
  const testAcc = f.mine.testAcc ?? 0;
  return {
    name: data.name,
    classes: classCount(data),
    goal: o.goal,
    valAccuracy: f.mine.valAcc ?? 0,
    testAccuracy: testAcc,
    multiplier: finished.finished[k - 1]!.multiplier,
    sparsity: done?.chosen ?? 0,
    retrainKept: done?.keptRetrain ?? false,
    growths: cycle?.growths ?? [],
    pruneCurve: cycle?.record ?? [],
    unprunedValAcc: cycle?.unprunedValAcc ?? null,
    accuracyRow: [...f.row, testAcc],
    probe: f.probeRef,
    ownedFraction: f.share.owned,
    pickedFraction: f.share.picked,
    seconds: o.seconds,
    note: done !== undefined ? done.reason : null,
    ...(data.test === undefined ? { accuracyOn: 'validation' as const } : {}),
    ...(cycle !== undefined ? budgetOutcomeOf(cycle) : {}),
    ...(cycle !== undefined && ctx.method.meetsGoals ? { allowedLoss: cycle.config.allowedLoss, validationImages: cycle.ctx.valSize } : {}),
    recordedOn: {
      backend: ctx.env.backend.name,
      threads: ctx.env.backend.threads,
      simd: ctx.env.backend.simd,
      ...(deviceOf(ctx.env.backend) !== undefined ? { device: deviceOf(ctx.env.backend)! } : {}),
    },
  };
};

/**
 * Freeze task k: record it in the backbone with its binary picks, prove
 * every earlier task unchanged, store the new committed network, and emit
 * the task's row of the accuracy matrix.
 */
export const finishTask = (
  ctx: RunCtx,
  s0: RunState,
  data: Task,
  k: number,
  trained: NetState,
  picks: ReadonlyMap<string, PickMask>,
  o: { readonly cur?: CurrentTask; readonly goal: number | null; readonly ignoreOwners?: boolean; readonly seconds: number },
): Flow<RunState> =>
  defer(() => {
    const ignoreOwners = o.ignoreOwners ?? false;
    const backbone = finishBackbone({ name: data.name, classes: classCount(data), picks })(trained.backbone);
    if (E.isLeft(backbone)) return fail<RunState>(backbone.left);
    const state: NetState = { ...trained, backbone: backbone.right };
    const probe = probeFromData(ctx.config.probeSize, data);
    return pipe(
      recheckFinished(ctx, s0, state, k - 1, ignoreOwners),
      bindTo('before'),
      bind('mine', () => fromTE(measureTask(ctx, state, k, ignoreOwners, probe, data))),
      bind('probeRef', ({ mine }) => fromTE(ctx.env.store.putBlob(float32Bytes(mine.logits)))),
      bind('share', () => fromEither(shareOf(state, k))),
      let_('result', ({ before, mine, probeRef, share }) => resultOf(ctx, data, k, backbone.right, o, { row: before.row, mine, probeRef, share })),
      bind('snapshot', () => save(ctx, state, undefined)),
      bind('after', ({ before, result, snapshot }) =>
        commit(ctx, before.state, { ...before.state.manifest, state: snapshot, finished: [...before.state.manifest.finished, result], current: null }),
      ),
      tap(({ result, share, after }) =>
        emit({
          type: 'task-finished',
          task: k,
          name: data.name,
          purpose: 'learn',
          accuracyRow: result.accuracyRow,
          valAcc: result.valAccuracy,
          goal: o.goal,
          multiplier: result.multiplier,
          sparsity: result.sparsity,
          ownedFraction: share.owned,
          freeFraction: share.free,
          maxLogitDrift: after.maxLogitDrift,
          seconds: o.seconds,
        }),
      ),
      mapValue(({ after }) => after),
    );
  });
