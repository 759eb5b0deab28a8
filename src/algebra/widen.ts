/**
 * Growing: a graph at a larger parameter multiplier, and the plan that says
 * where every cell of every old tensor sits in the wider one.
 *
 * Each axis of a tensor is laid out [groups, per]; widening changes `per`
 * (a channel count) and keeps `groups` (spatial positions a vector was
 * flattened from). Old index `g * oldPer + c` moves to `g * newPer + c`. For
 * plain axes (groups = 1) that is the reference's "top-left block".
 */
import * as E from 'fp-ts/lib/Either.js';
import { pipe } from 'fp-ts/lib/function.js';
import { type CpgError, graphError, ownershipError } from './errors.js';
import { type Graph, type GraphError, type Node, type ParamSpec, paramSpecs, scaledWidth, shapeSize } from './graph.js';

/** How one axis grows. */
export interface AxisMap {
  readonly groups: number;
  readonly oldPer: number;
  readonly newPer: number;
}

/** Where one old tensor sits inside its wider version. */
export interface TensorPlan {
  readonly name: string;
  readonly oldShape: readonly number[];
  readonly newShape: readonly number[];
  readonly axes: readonly AxisMap[];
}

/** The widening plan of a whole graph (for a given number of classes). */
export interface WideningPlan {
  readonly from: number;
  readonly to: number;
  readonly tensors: readonly TensorPlan[];
}

const rescale = (n: Node, m: number): Node => {
  switch (n.kind) {
    case 'conv2d':
      return { ...n, filters: scaledWidth(n.baseFilters, m) };
    case 'dense':
      return { ...n, units: scaledWidth(n.baseUnits, m) };
    default:
      return n;
  }
};

/** The same architecture at parameter multiplier `m` (≥ 1); widths are floor(base·√m). */
export const atMultiplier = (g: Graph, m: number): Graph => ({
  ...g,
  multiplier: m,
  nodes: g.nodes.map((n) => rescale(n, m)),
});

const planOf = (o: ParamSpec, n: ParamSpec): E.Either<GraphError, TensorPlan> => {
  if (o.name !== n.name || o.shape.length !== n.shape.length)
    return E.left(graphError(o.node, `tensor '${o.name}' changes rank or name when widened`));
  const axes: AxisMap[] = [];
  for (let i = 0; i < o.axes.length; i++) {
    const a = o.axes[i]!;
    const b = n.axes[i]!;
    if (a.groups !== b.groups || b.per < a.per)
      return E.left(graphError(o.node, `axis ${i} of '${o.name}' cannot grow from ${a.groups}x${a.per} to ${b.groups}x${b.per}`));
    axes.push({ groups: a.groups, oldPer: a.per, newPer: b.per });
  }
  return E.right({ name: o.name, oldShape: o.shape, newShape: n.shape, axes });
};

/**
 * Grow `g` to multiplier `to` (≥ its own): the wider graph and, for every
 * tensor of both graphs, where the old one sits in the new one.
 */
export const widen = (
  g: Graph,
  to: number,
  classes: number,
): E.Either<GraphError, { readonly graph: Graph; readonly plan: WideningPlan }> => {
  if (!(to >= g.multiplier))
    return E.left(graphError(undefined, `cannot widen from multiplier ${g.multiplier} to a smaller ${to}`));
  const wide = atMultiplier(g, to);
  return pipe(
    E.Do,
    E.bind('olds', () => paramSpecs(g, classes)),
    E.bind('news', () => paramSpecs(wide, classes)),
    E.chain(({ olds, news }) => {
      if (olds.length !== news.length) return E.left(graphError(undefined, 'widening changed the number of tensors'));
      return pipe(
        olds.map((o, i) => planOf(o, news[i]!)),
        E.sequenceArray,
        E.map((tensors) => ({ graph: wide, plan: { from: g.multiplier, to, tensors } })),
      );
    }),
  );
};

/** Cells in the tensor's old shape. */
export const oldSize = (p: TensorPlan): number => shapeSize(p.oldShape);
/** Cells in the tensor's new shape. */
export const newSize = (p: TensorPlan): number => shapeSize(p.newShape);

/**
 * For every old flat (row-major) index, its flat index in the wider tensor.
 * Pure and total: a bijection from the old cells onto a subset of the new.
 */
export const embedIndex = (p: TensorPlan): Int32Array => {
  const rank = p.axes.length;
  const out = new Int32Array(oldSize(p));
  // Row-major strides of the new shape.
  const newStride = new Array<number>(rank).fill(1);
  for (let i = rank - 2; i >= 0; i--) newStride[i] = newStride[i + 1]! * p.newShape[i + 1]!;
  const idx = new Array<number>(rank).fill(0);
  for (let flat = 0; flat < out.length; flat++) {
    let target = 0;
    for (let a = 0; a < rank; a++) {
      const m = p.axes[a]!;
      const i = idx[a]!;
      const mapped = Math.floor(i / m.oldPer) * m.newPer + (i % m.oldPer);
      target += mapped * newStride[a]!;
    }
    out[flat] = target;
    // Advance the multi-index over the old shape.
    for (let a = rank - 1; a >= 0; a--) {
      idx[a]! += 1;
      if (idx[a]! < p.oldShape[a]!) break;
      idx[a] = 0;
    }
  }
  return out;
};

type Cells = Float32Array | Uint8Array;

/**
 * The wider tensor: `fresh` (already of the new size, e.g. random or zeros)
 * with every old cell written at its new position. Inputs are not mutated.
 */
export const embed = <T extends Cells>(p: TensorPlan, old: T, fresh: T): E.Either<CpgError, T> => {
  const index = embedIndex(p);
  if (old.length !== index.length) return E.left(sizeError(p, `has ${old.length} cells, the plan's old shape has ${index.length}`));
  if (fresh.length !== newSize(p)) return E.left(sizeError(p, `new cells: ${fresh.length}, the plan's new shape has ${newSize(p)}`));
  const out = fresh.slice() as T;
  for (let i = 0; i < index.length; i++) out[index[i]!] = old[i]!;
  return E.right(out);
};

/** The old block of a wider tensor: the inverse of `embed` on the old cells. */
export const restrict = <T extends Cells>(p: TensorPlan, wide: T, make: (n: number) => T): E.Either<CpgError, T> => {
  const index = embedIndex(p);
  if (wide.length !== newSize(p)) return E.left(sizeError(p, `has ${wide.length} cells, the plan's new shape has ${newSize(p)}`));
  const out = make(index.length);
  for (let i = 0; i < index.length; i++) out[i] = wide[index[i]!]!;
  return E.right(out);
};

const sizeError = (p: TensorPlan, message: string): CpgError => ownershipError(p.name, message);
