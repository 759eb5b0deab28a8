/**
 * Owner maps (CPG-SPEC §1): for one sharable tensor, which task owns each
 * cell. `0` is free; `k` is task k's. Transitions never mutate a map: they
 * return a copy, so a map handed out once is frozen data.
 */
import * as E from 'fp-ts/lib/Either.js';
import { type CpgError, numericError, ownershipError } from './errors.js';
import { type TensorPlan, embed, embedIndex, newSize, oldSize } from './widen.js';

/** A task's number: 1..MAX_TASKS. In an owner map, 0 means free. */
export type TaskId = number;

/** Cells are bytes, so at most 255 tasks can own weights in one backbone. */
export const MAX_TASKS = 255;

/** Who owns each cell of one sharable tensor (flat, row-major, same shape as the tensor). */
export interface OwnerMap {
  readonly tensor: string;
  readonly cells: Uint8Array;
}

/** Whether `task` is a task id a cell can hold (an integer in 1..MAX_TASKS). */
export const isTaskId = (task: number): task is TaskId => Number.isInteger(task) && task >= 1 && task <= MAX_TASKS;

/** The task id itself, or an error naming the tensor it was meant for. */
export const checkTask = (task: number, tensor?: string): E.Either<CpgError, TaskId> =>
  isTaskId(task) ? E.right(task) : E.left(ownershipError(tensor, `task id must be an integer in 1..${MAX_TASKS}, got ${task}`));

/** A map of `size` free cells. */
export const freeOwners = (tensor: string, size: number): OwnerMap => ({ tensor, cells: new Uint8Array(size) });

/**
 * Every free cell becomes `task`'s (CPG-SPEC §3.1); owned cells are untouched.
 * `task` must be a TaskId (see `checkTask`); anything else claims nothing,
 * because writing it into a byte would silently store another task's id.
 */
export const claim =
  (task: TaskId) =>
  (o: OwnerMap): OwnerMap => {
    if (!isTaskId(task)) return o;
    const cells = o.cells.slice();
    for (let i = 0; i < cells.length; i++) if (cells[i] === 0) cells[i] = task;
    return { tensor: o.tensor, cells };
  };

/**
 * Moves exactly the listed cells from `from` to `to` (0: free), `task` being
 * the one that claims or releases them. If any cell is out of range, not an
 * integer, or not `from`'s, nothing changes and the error names the tensor
 * and the first such cell. A cell listed twice moves once.
 */
const moveCells =
  (task: number, from: number, to: number, verb: 'claim' | 'release', cells: ArrayLike<number>) =>
  (o: OwnerMap): E.Either<CpgError, OwnerMap> => {
    if (!isTaskId(task)) return checkTask(task, o.tensor) as E.Either<CpgError, never>;
    const n = o.cells.length;
    // Check everything before copying: a refused move changes nothing.
    for (let j = 0; j < cells.length; j++) {
      const c = cells[j]!;
      if (!Number.isInteger(c) || c < 0 || c >= n)
        return E.left(ownershipError(o.tensor, `cannot ${verb} cell ${c} (entry ${j}): out of range 0..${n - 1}`));
      const owner = o.cells[c]!;
      if (owner !== from)
        return E.left(ownershipError(o.tensor, `task ${task} cannot ${verb} cell ${c} (entry ${j}): it is ${owner === 0 ? 'free' : `owned by task ${owner}`}`));
    }
    const out = o.cells.slice();
    for (let j = 0; j < cells.length; j++) out[cells[j]!] = to;
    return E.right({ tensor: o.tensor, cells: out });
  };

/**
 * The listed cells, all of which must be free, become `task`'s (a partial
 * claim); otherwise nothing changes (see `moveCells`).
 */
export const claimCells = (task: TaskId, cells: ArrayLike<number>): ((o: OwnerMap) => E.Either<CpgError, OwnerMap>) => moveCells(task, 0, task, 'claim', cells);

/**
 * Frees exactly the listed cells, all of which must be `task`'s; otherwise
 * nothing changes (see `moveCells`).
 */
export const release = (task: TaskId, cells: ArrayLike<number>): ((o: OwnerMap) => E.Either<CpgError, OwnerMap>) => moveCells(task, task, 0, 'release', cells);

const planMismatch = (plan: TensorPlan, o: OwnerMap, expected: number, what: string): CpgError | undefined => {
  if (plan.name !== o.tensor) return ownershipError(o.tensor, `the plan is for tensor '${plan.name}'`);
  if (o.cells.length !== expected)
    return ownershipError(o.tensor, `owner map has ${o.cells.length} cells, the plan's ${what} shape has ${expected}`);
  return undefined;
};

/**
 * The owner map of the wider tensor (CPG-SPEC §3.4): every old cell keeps its
 * owner at its new position (`embedIndex`), every new cell is free. A map of
 * another tensor or of the wrong size is refused.
 */
export const widenOwners =
  (plan: TensorPlan) =>
  (o: OwnerMap): E.Either<CpgError, OwnerMap> => {
    const bad = planMismatch(plan, o, oldSize(plan), 'old');
    if (bad !== undefined) return E.left(bad);
    return E.map((cells: Uint8Array) => ({ tensor: o.tensor, cells }))(embed(plan, o.cells, new Uint8Array(newSize(plan))));
  };

/** The old block of a widened owner map: the owners at the plan's old width (a map of another tensor or size is refused). */
export const restrictOwners =
  (plan: TensorPlan) =>
  (o: OwnerMap): E.Either<CpgError, OwnerMap> => {
    const bad = planMismatch(plan, o, newSize(plan), 'new');
    if (bad !== undefined) return E.left(bad);
    const index = embedIndex(plan);
    const cells = new Uint8Array(index.length);
    for (let i = 0; i < index.length; i++) cells[i] = o.cells[index[i]!]!;
    return E.right({ tensor: o.tensor, cells });
  };

/** 0/1 per cell: the cells `task` owns (its own weights, the ones it trains). */
export const ownedBy =
  (task: TaskId) =>
  (o: OwnerMap): Uint8Array => {
    const out = new Uint8Array(o.cells.length);
    for (let i = 0; i < out.length; i++) out[i] = o.cells[i] === task ? 1 : 0;
    return out;
  };

/** 0/1 per cell: the cells task `task` may see at all (1 ≤ O ≤ task; CPG-SPEC §2). */
export const visibleTo =
  (task: TaskId) =>
  (o: OwnerMap): Uint8Array => {
    const out = new Uint8Array(o.cells.length);
    for (let i = 0; i < out.length; i++) {
      const c = o.cells[i]!;
      out[i] = c >= 1 && c <= task ? 1 : 0;
    }
    return out;
  };

/** How many cells `task` owns. */
export const countOwned =
  (task: TaskId) =>
  (o: OwnerMap): number => {
    let n = 0;
    for (let i = 0; i < o.cells.length; i++) if (o.cells[i] === task) n++;
    return n;
  };

/** How many cells are free. */
export const countFree = (o: OwnerMap): number => {
  let n = 0;
  for (let i = 0; i < o.cells.length; i++) if (o.cells[i] === 0) n++;
  return n;
};

/** How much of one tensor is free and how much each task owns. */
export interface Capacity {
  readonly tensor: string;
  readonly size: number;
  readonly free: number;
  /** Only tasks that own at least one cell, in increasing task order. */
  readonly owned: ReadonlyMap<TaskId, number>;
}

const histogram = (cells: Uint8Array): Float64Array => {
  const h = new Float64Array(256);
  for (let i = 0; i < cells.length; i++) h[cells[i]!]! += 1;
  return h;
};

const capacityOfHistogram = (tensor: string, size: number, h: Float64Array): Capacity => {
  const owned = new Map<TaskId, number>();
  for (let t = 1; t < 256; t++) if (h[t]! > 0) owned.set(t, h[t]!);
  return { tensor, size, free: h[0]!, owned };
};

/** Free and owned cell counts of one owner map (one pass). */
export const capacity = (o: OwnerMap): Capacity => capacityOfHistogram(o.tensor, o.cells.length, histogram(o.cells));

/** Free and owned cell counts summed over several owner maps (e.g. a whole backbone); `tensor` is `label`. */
export const totalCapacity = (maps: Iterable<OwnerMap>, label = 'all'): Capacity => {
  const h = new Float64Array(256);
  let size = 0;
  for (const o of maps) {
    const hi = histogram(o.cells);
    for (let t = 0; t < 256; t++) h[t]! += hi[t]!;
    size += o.cells.length;
  }
  return capacityOfHistogram(label, size, h);
};

/** Share of the cells that are free (0 for an empty tensor). */
export const freeFraction = (c: Capacity): number => (c.size === 0 ? 0 : c.free / c.size);

/** Share of the cells `task` owns (0 for an empty tensor). */
export const ownedFraction =
  (task: TaskId) =>
  (c: Capacity): number =>
    c.size === 0 ? 0 : (c.owned.get(task) ?? 0) / c.size;

/**
 * Python's round() (half to even), which the reference applies to
 * `sparsity · n`; e.g. 2.5 → 2, 3.5 → 4.
 */
export const roundHalfEven = (x: number): number => {
  const f = Math.floor(x);
  const d = x - f;
  if (d < 0.5) return f;
  if (d > 0.5) return f + 1;
  return f % 2 === 0 ? f : f + 1;
};

/**
 * The number of free cells pruning at `sparsity` aims for among `n`
 * prunable cells (the task's own plus the free ones): round(sparsity · n).
 */
export const pruneTarget = (sparsity: number, n: number): number => roundHalfEven(sparsity * n);

/**
 * The k-th smallest value (0-based) of `a`, reordering `a` in place
 * (Hoare partition with median-of-three; equal values split both ways, so
 * runs of ties stay linear).
 */
const selectKth = (a: Float32Array, k: number): number => {
  let lo = 0;
  let hi = a.length - 1;
  while (hi > lo) {
    const mid = lo + ((hi - lo) >>> 1);
    const x = a[lo]!;
    const y = a[mid]!;
    const z = a[hi]!;
    const pivot = x < y ? (y < z ? y : x < z ? z : x) : x < z ? x : y < z ? z : y;
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (a[i]! < pivot) i++;
      while (a[j]! > pivot) j--;
      if (i <= j) {
        const t = a[i]!;
        a[i] = a[j]!;
        a[j] = t;
        i++;
        j--;
      }
    }
    if (k <= j) hi = j;
    else if (k >= i) lo = i;
    else return a[k]!;
  }
  return a[k]!;
};

/** What a compact step did to one tensor: the new map and the cells it freed (ascending). */
export interface Pruned {
  readonly owners: OwnerMap;
  readonly released: Int32Array;
}

/**
 * The compact step of CPG-SPEC §3.5 for one tensor, as the reference does it.
 * Among the n cells that are `task`'s or free, round(sparsity · n) should be
 * free; `task`'s cells with the smallest |w| are released (ties: lower index
 * first) until that many are. If that many are already free, nothing is
 * released. Cells of other tasks are never touched. The caller zeroes the
 * released weights.
 *
 * `unclaimed` free cells (a partial claim left them out) are not the task's
 * to count: the sparsity is then of what it claimed. 0: the reference.
 */
export const pruneByMagnitude =
  (task: TaskId, sparsity: number, weights: Float32Array, unclaimed = 0) =>
  (o: OwnerMap): E.Either<CpgError, Pruned> => {
    if (!isTaskId(task)) return checkTask(task, o.tensor) as E.Either<CpgError, never>;
    if (!(sparsity >= 0 && sparsity <= 1))
      return E.left(ownershipError(o.tensor, `sparsity must be in [0, 1], got ${sparsity}`));
    if (!(Number.isSafeInteger(unclaimed) && unclaimed >= 0))
      return E.left(ownershipError(o.tensor, `unclaimed cells must be an integer ≥ 0, got ${unclaimed}`));
    const size = o.cells.length;
    if (weights.length !== size)
      return E.left(ownershipError(o.tensor, `${weights.length} weights for an owner map of ${size} cells`));
    let owned = 0;
    let free = 0;
    for (let i = 0; i < size; i++) {
      const c = o.cells[i]!;
      if (c === task) {
        if (!Number.isFinite(weights[i]!))
          return E.left(numericError(`tensor '${o.tensor}': weight ${weights[i]} at cell ${i} (owned by task ${task})`));
        owned++;
      } else if (c === 0) free++;
    }
    if (unclaimed > free) return E.left(ownershipError(o.tensor, `${unclaimed} unclaimed cells, but only ${free} are free`));
    free -= unclaimed;
    const k = pruneTarget(sparsity, owned + free) - free;
    if (k <= 0) return E.right({ owners: o, released: new Int32Array(0) });
    // k ≤ owned because the target never exceeds owned + free.
    const mags = new Float32Array(owned);
    for (let i = 0, j = 0; i < size; i++) if (o.cells[i] === task) mags[j++] = Math.abs(weights[i]!);
    const cutoff = selectKth(mags, k - 1);
    // Everything strictly below the cutoff goes; ties at the cutoff go by index.
    let below = 0;
    for (let i = 0; i < size; i++) if (o.cells[i] === task && Math.abs(weights[i]!) < cutoff) below++;
    let ties = k - below;
    const released = new Int32Array(k);
    const cells = o.cells.slice();
    let r = 0;
    for (let i = 0; i < size; i++) {
      if (cells[i] !== task) continue;
      const m = Math.abs(weights[i]!);
      if (m < cutoff || (m === cutoff && ties > 0)) {
        if (m === cutoff) ties--;
        cells[i] = 0;
        released[r++] = i;
      }
    }
    return E.right({ owners: { tensor: o.tensor, cells }, released });
  };

/**
 * Validates an owner map read from disk: `size` cells, none naming a task
 * above `maxTask` (the tasks that exist). Returns a copy.
 */
export const ownersFromBytes = (tensor: string, size: number, bytes: Uint8Array, maxTask: number): E.Either<CpgError, OwnerMap> => {
  if (bytes.length !== size) return E.left(ownershipError(tensor, `owner map has ${bytes.length} cells, expected ${size}`));
  for (let i = 0; i < bytes.length; i++)
    if (bytes[i]! > maxTask) return E.left(ownershipError(tensor, `cell ${i} is owned by task ${bytes[i]}, but only ${maxTask} task(s) exist`));
  return E.right({ tensor, cells: bytes.slice() });
};
