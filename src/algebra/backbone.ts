/**
 * The ownership state of the whole network: the architecture, its current
 * width, one owner map per sharable tensor and the record of every finished
 * task. Pure; every transition returns a new backbone or an error and leaves
 * the old one as it was.
 *
 * What keeps finished tasks intact (CPG-SPEC §2): only the current task may
 * claim (free cells only) or release (its own cells only), widening keeps
 * every old cell at its `embedIndex` position, and a finished task's pick is
 * stored at its own width and never touched again.
 */
import * as E from 'fp-ts/lib/Either.js';
import { pipe } from 'fp-ts/lib/function.js';
import { type CpgError, graphError, lifecycleError, ownershipError } from './errors.js';
import { type Graph, type ParamSpec, paramSpecs, shapeSize } from './graph.js';
import {
  MAX_TASKS,
  type OwnerMap,
  type TaskId,
  claim,
  claimCells,
  freeOwners,
  ownersFromBytes,
  release,
  restrictOwners,
  widenOwners,
} from './ownerMap.js';
import { type PickMask, effective } from './pickMask.js';
import { type WideningPlan, atMultiplier, widen } from './widen.js';

export type { TaskId, OwnerMap } from './ownerMap.js';
export type { PickMask } from './pickMask.js';

/** What stays of a finished task in the backbone: frozen forever. */
export interface FinishedTask {
  readonly id: TaskId;
  readonly name: string;
  readonly classes: number;
  /** The width the task was learned at. */
  readonly multiplier: number;
  /** Per sharable tensor, at the task's width (task 1 may have none). */
  readonly picks: ReadonlyMap<string, PickMask>;
}

/** The ownership state of the network. */
export interface Backbone {
  /** The architecture at multiplier 1. */
  readonly base: Graph;
  /** The current width. */
  readonly multiplier: number;
  /** One per sharable tensor, at the current width, keyed by ParamSpec.name. */
  readonly owners: ReadonlyMap<string, OwnerMap>;
  /** In order; task ids 1, 2, ... */
  readonly finished: readonly FinishedTask[];
}

/** The sharable tensors of a graph (classes do not size any of them). */
export const sharableSpecs = (g: Graph): E.Either<CpgError, readonly ParamSpec[]> =>
  pipe(
    paramSpecs(g, 1),
    E.map((specs) => specs.filter((s) => s.role === 'sharable')),
  );

/** A backbone with every cell free and no finished task; `base` must be at multiplier 1. */
export const createBackbone = (base: Graph): E.Either<CpgError, Backbone> => {
  if (base.multiplier !== 1)
    return E.left(graphError(undefined, `the base graph must be at multiplier 1, got ${base.multiplier}`));
  return pipe(
    sharableSpecs(base),
    E.map((specs) => ({
      base,
      multiplier: 1,
      owners: new Map(specs.map((s) => [s.name, freeOwners(s.name, shapeSize(s.shape))] as const)),
      finished: [],
    })),
  );
};

/** The task being learned now (the one after the last finished). */
export const currentTask = (b: Backbone): TaskId => b.finished.length + 1;

/** The architecture at multiplier `multiplier`. */
export const graphAt = (b: Backbone, multiplier: number): Graph => atMultiplier(b.base, multiplier);

const mustBeCurrent = (task: TaskId, b: Backbone, what: string): E.Either<CpgError, TaskId> => {
  const cur = currentTask(b);
  if (task !== cur)
    return E.left(
      lifecycleError(
        task >= 1 && task < cur
          ? `task ${task} is finished and can no longer ${what}`
          : `only the current task ${cur} can ${what}, not task ${task}`,
      ),
    );
  if (cur > MAX_TASKS) return E.left(lifecycleError(`the backbone holds at most ${MAX_TASKS} tasks`));
  return E.right(task);
};

/** Every free cell of every sharable tensor becomes the current task's (CPG-SPEC §3.1). */
export const claimAll =
  (task: TaskId) =>
  (b: Backbone): E.Either<CpgError, Backbone> =>
    pipe(
      mustBeCurrent(task, b, 'claim weights'),
      E.map(() => ({ ...b, owners: new Map([...b.owners].map(([k, o]) => [k, claim(task)(o)] as const)) })),
    );

/**
 * The listed free cells of one tensor become the current task's (a partial
 * claim); only the current task may claim, and only free cells (see
 * `claimCells`); otherwise nothing changes.
 */
export const claimCellsOf =
  (task: TaskId, tensor: string, cells: ArrayLike<number>) =>
  (b: Backbone): E.Either<CpgError, Backbone> =>
    pipe(
      mustBeCurrent(task, b, 'claim weights'),
      E.chain(() => {
        const o = b.owners.get(tensor);
        return o === undefined ? E.left(ownershipError(tensor, 'no such sharable tensor')) : claimCells(task, cells)(o);
      }),
      E.map((o) => ({ ...b, owners: new Map(b.owners).set(tensor, o) })),
    );

/**
 * Frees the listed cells of one tensor. Only the current task may release,
 * and only its own cells (see `release`); otherwise nothing changes.
 */
export const releaseCells =
  (task: TaskId, tensor: string, cells: ArrayLike<number>) =>
  (b: Backbone): E.Either<CpgError, Backbone> =>
    pipe(
      mustBeCurrent(task, b, 'release weights'),
      E.chain(() => {
        const o = b.owners.get(tensor);
        return o === undefined ? E.left(ownershipError(tensor, 'no such sharable tensor')) : release(task, cells)(o);
      }),
      E.map((o) => ({ ...b, owners: new Map(b.owners).set(tensor, o) })),
    );

/**
 * Grows the backbone to `multiplier` (≥ the current one; CPG-SPEC §3.4):
 * every owner map is widened, new cells free. The plan (from the graph with
 * one class) also lists the private tensors, for the effects layer.
 */
export const growTo =
  (multiplier: number) =>
  (b: Backbone): E.Either<CpgError, { readonly backbone: Backbone; readonly plan: WideningPlan }> =>
    pipe(
      widen(graphAt(b, b.multiplier), multiplier, 1) as E.Either<CpgError, { readonly plan: WideningPlan }>,
      E.chain(({ plan }) => {
        const byName = new Map(plan.tensors.map((t) => [t.name, t] as const));
        const owners = new Map<string, OwnerMap>();
        for (const [name, o] of b.owners) {
          const t = byName.get(name);
          if (t === undefined) return E.left(ownershipError(name, `the widening plan has no tensor '${name}'`));
          const w = widenOwners(t)(o);
          if (E.isLeft(w)) return w;
          owners.set(name, w.right);
        }
        return E.right({ backbone: { ...b, multiplier, owners }, plan });
      }),
    );

/**
 * Records the current task as finished at the current width, with its
 * binary picks (copied: the record must not share bytes with the caller).
 * Every sharable tensor needs a pick of its current size, except for task 1
 * (which may have none); picks for unknown tensors, a task name already
 * used, a class count that is not a positive integer, or more than
 * MAX_TASKS tasks are refused.
 */
export const finishTask =
  (t: { readonly name: string; readonly classes: number; readonly picks: ReadonlyMap<string, PickMask> }) =>
  (b: Backbone): E.Either<CpgError, Backbone> => {
    const id = currentTask(b);
    if (id > MAX_TASKS) return E.left(lifecycleError(`the backbone holds at most ${MAX_TASKS} tasks`));
    if (!Number.isInteger(t.classes) || t.classes < 1)
      return E.left(lifecycleError(`task '${t.name}' must have a positive integer number of classes, got ${t.classes}`));
    if (b.finished.some((f) => f.name === t.name))
      return E.left(lifecycleError(`a task named '${t.name}' is already finished`));
    for (const name of t.picks.keys())
      if (!b.owners.has(name)) return E.left(ownershipError(name, `task ${id} has a pick mask for a tensor the backbone does not share`));
    const picks = new Map<string, PickMask>();
    for (const [name, o] of b.owners) {
      const p = t.picks.get(name);
      if (p === undefined) {
        if (id > 1) return E.left(ownershipError(name, `task ${id} has no pick mask for this tensor`));
        continue;
      }
      if (p.length !== o.cells.length || p.bits.length !== (o.cells.length + 7) >>> 3)
        return E.left(ownershipError(name, `task ${id}'s pick mask has ${p.length} cells, the tensor has ${o.cells.length}`));
      picks.set(name, { length: p.length, bits: p.bits.slice() });
    }
    const record: FinishedTask = { id, name: t.name, classes: t.classes, multiplier: b.multiplier, picks };
    return E.right({ ...b, finished: [...b.finished, record] });
  };

/** The record of a finished task. */
export const finishedTask =
  (task: TaskId) =>
  (b: Backbone): E.Either<CpgError, FinishedTask> => {
    const t = Number.isInteger(task) ? b.finished[task - 1] : undefined;
    return t === undefined
      ? E.left(lifecycleError(`task ${task} is not finished (${b.finished.length} finished so far)`))
      : E.right(t);
  };

/** The plan from a finished task's width to the current width: slices current tensors back to its block. */
export const taskPlan =
  (task: TaskId) =>
  (b: Backbone): E.Either<CpgError, WideningPlan> =>
    pipe(
      finishedTask(task)(b),
      E.chain((t) => widen(graphAt(b, t.multiplier), b.multiplier, t.classes) as E.Either<CpgError, { readonly plan: WideningPlan }>),
      E.map(({ plan }) => plan),
    );

/** A finished task's owner maps, restricted to the task's width. */
export const ownersOf =
  (task: TaskId) =>
  (b: Backbone): E.Either<CpgError, ReadonlyMap<string, OwnerMap>> =>
    pipe(
      taskPlan(task)(b),
      E.chain((plan) => {
        const byName = new Map(plan.tensors.map((t) => [t.name, t] as const));
        const out = new Map<string, OwnerMap>();
        for (const [name, o] of b.owners) {
          const t = byName.get(name);
          if (t === undefined) return E.left(ownershipError(name, `the plan of task ${task} has no tensor '${name}'`));
          const r = restrictOwners(t)(o);
          if (E.isLeft(r)) return r;
          out.set(name, r.right);
        }
        return E.right(out as ReadonlyMap<string, OwnerMap>);
      }),
    );

/**
 * The effective-weight selector of a finished task (CPG-SPEC §2), per
 * sharable tensor, at the task's width: 1 where the task uses the weight.
 */
export const selectorOf =
  (task: TaskId) =>
  (b: Backbone): E.Either<CpgError, ReadonlyMap<string, Uint8Array>> =>
    pipe(
      E.Do,
      E.bind('t', () => finishedTask(task)(b)),
      E.bind('owners', () => ownersOf(task)(b)),
      E.chain(({ t, owners }) => {
        const out = new Map<string, Uint8Array>();
        for (const [name, o] of owners) {
          const s = effective(task, o, t.picks.get(name));
          if (E.isLeft(s)) return s;
          out.set(name, s.right);
        }
        return E.right(out as ReadonlyMap<string, Uint8Array>);
      }),
    );

/**
 * Checks a backbone assembled from decoded parts (a checkpoint): multiplier
 * valid, one owner map per sharable tensor of the right size and no cell
 * owned by a task after the current one, finished ids 1, 2, ... in order,
 * each task's picks of its own width.
 */
export const validateBackbone = (b: Backbone): E.Either<CpgError, Backbone> => {
  if (b.base.multiplier !== 1) return E.left(graphError(undefined, `the base graph must be at multiplier 1, got ${b.base.multiplier}`));
  const specsNow = sharableSpecs(graphAt(b, b.multiplier));
  if (E.isLeft(specsNow)) return specsNow;
  if (b.finished.length >= MAX_TASKS + 1) return E.left(lifecycleError(`more than ${MAX_TASKS} tasks`));
  const names = new Set(specsNow.right.map((s) => s.name));
  for (const name of b.owners.keys()) if (!names.has(name)) return E.left(ownershipError(name, 'owner map for a tensor the graph does not share'));
  for (const s of specsNow.right) {
    const o = b.owners.get(s.name);
    if (o === undefined) return E.left(ownershipError(s.name, 'no owner map'));
    if (o.tensor !== s.name) return E.left(ownershipError(s.name, `owner map is labelled '${o.tensor}'`));
    const ok = ownersFromBytes(s.name, shapeSize(s.shape), o.cells, currentTask(b));
    if (E.isLeft(ok)) return ok;
  }
  let prev = 1;
  for (const [i, t] of b.finished.entries()) {
    if (t.id !== i + 1) return E.left(lifecycleError(`finished task at position ${i + 1} has id ${t.id}`));
    if (!(t.multiplier >= prev && t.multiplier <= b.multiplier))
      return E.left(lifecycleError(`task ${t.id} was learned at multiplier ${t.multiplier}, outside ${prev}..${b.multiplier}`));
    prev = t.multiplier;
    const specs = sharableSpecs(graphAt(b, t.multiplier));
    if (E.isLeft(specs)) return specs;
    for (const s of specs.right) {
      const p = t.picks.get(s.name);
      if (p === undefined) {
        if (t.id > 1) return E.left(ownershipError(s.name, `task ${t.id} has no pick mask`));
        continue;
      }
      if (p.length !== shapeSize(s.shape) || p.bits.length !== (p.length + 7) >>> 3)
        return E.left(ownershipError(s.name, `task ${t.id}'s pick mask has ${p.length} cells, its width needs ${shapeSize(s.shape)}`));
    }
  }
  return E.right(b);
};
