/**
 * The network as an immutable graph of typed nodes, with shape inference and
 * the list of parameter tensors it needs.
 *
 * Widths are stored twice on every widenable node: `base*` (at parameter
 * multiplier 1) and the current value. The current value is always
 * `floor(base * sqrt(multiplier))`, as in the reference code, so a graph at
 * multiplier m is a pure function of the base graph and m (see widen.ts).
 */
import * as E from 'fp-ts/lib/Either.js';
import { pipe } from 'fp-ts/lib/function.js';
import { type ErrorOf, graphError } from './errors.js';

export type Padding = 'same' | 'valid';

interface NodeBase {
  readonly id: string;
}

/** The input: [H, W, C] images or [F] vectors. */
export interface InputNode extends NodeBase {
  readonly kind: 'input';
  readonly shape: readonly number[];
}
/** A convolution whose kernel is sharable; its bias (if any) is task-private. */
export interface Conv2dNode extends NodeBase {
  readonly kind: 'conv2d';
  readonly input: string;
  readonly filters: number;
  readonly baseFilters: number;
  readonly kernel: number;
  readonly stride: number;
  readonly padding: Padding;
  readonly bias: boolean;
}
/** A fully connected layer whose weight is sharable and whose bias is task-private. */
export interface DenseNode extends NodeBase {
  readonly kind: 'dense';
  readonly input: string;
  readonly units: number;
  readonly baseUnits: number;
}
/** Batch normalisation: gamma, beta and running statistics are task-private. */
export interface BatchNormNode extends NodeBase {
  readonly kind: 'batchNorm';
  readonly input: string;
}
export interface ReluNode extends NodeBase {
  readonly kind: 'relu';
  readonly input: string;
}
export interface MaxPoolNode extends NodeBase {
  readonly kind: 'maxPool';
  readonly input: string;
  readonly size: number;
  readonly stride: number;
}
/** Mean over the spatial axes: [H, W, C] -> [C]. */
export interface GlobalAvgPoolNode extends NodeBase {
  readonly kind: 'globalAvgPool';
  readonly input: string;
}
export interface FlattenNode extends NodeBase {
  readonly kind: 'flatten';
  readonly input: string;
}
export interface AddNode extends NodeBase {
  readonly kind: 'add';
  readonly inputs: readonly [string, string];
}
/** The per-task classifier: weight and bias are task-private, sized per task. */
export interface HeadNode extends NodeBase {
  readonly kind: 'head';
  readonly input: string;
}

export type Node =
  | InputNode
  | Conv2dNode
  | DenseNode
  | BatchNormNode
  | ReluNode
  | MaxPoolNode
  | GlobalAvgPoolNode
  | FlattenNode
  | AddNode
  | HeadNode;

export type NodeKind = Node['kind'];

/** How weights are initialised when a tensor (or its new cells after widening) is created. */
export type Init =
  | { readonly kind: 'heNormal'; readonly fan: number }
  | { readonly kind: 'normal'; readonly std: number }
  | { readonly kind: 'zeros' }
  | { readonly kind: 'ones' };

/** Which initialisation family an architecture uses for its sharable weights. */
export type InitScheme =
  /** He normal over fan-in for convs and dense layers (small nets). */
  | 'he-fan-in'
  /** The reference VGG: He normal over fan-out for convs, N(0, 0.01) for dense layers. */
  | 'reference-vgg';

/** An immutable network graph, nodes in topological order, ending in one head. */
export interface Graph {
  readonly name: string;
  readonly nodes: readonly Node[];
  /** Parameter multiplier (1, 1.5, ...): channel widths scale by its square root. */
  readonly multiplier: number;
  readonly init: InitScheme;
}

/** A graph that does not describe a network we can run. */
export type GraphError = ErrorOf<'GraphError'>;

/** Kept here too: `graph.graphError` is part of the public `graph` namespace. */
export { graphError };

/**
 * The shape of a node's output for one example. `groups` is the number of
 * spatial positions a feature vector was flattened from (1 otherwise): the
 * vector is laid out [groups, channels], so widening the channels moves old
 * features to `g * newChannels + c` (see widen.ts).
 */
export interface OutShape {
  readonly dims: readonly number[];
  readonly groups: number;
}

/** Channels (last axis) scale by √multiplier, floored as the reference's int(). */
export const scaledWidth = (base: number, multiplier: number): number =>
  Math.max(1, Math.floor(base * Math.sqrt(multiplier) + 1e-9));

const convOut = (size: number, kernel: number, stride: number, padding: Padding): number =>
  padding === 'same' ? Math.ceil(size / stride) : Math.floor((size - kernel) / stride) + 1;

const inputsOf = (n: Node): readonly string[] => {
  switch (n.kind) {
    case 'input':
      return [];
    case 'add':
      return n.inputs;
    default:
      return [n.input];
  }
};

export { inputsOf };

const isPosInt = (x: number): boolean => Number.isInteger(x) && x > 0;

/**
 * Shapes of every node's output, or the first reason the graph is ill-formed:
 * unknown or later inputs, duplicate ids, a rank the node cannot take, sizes
 * that vanish, an `add` of different shapes, or not exactly one head at the end.
 */
export const inferShapes = (g: Graph): E.Either<GraphError, ReadonlyMap<string, OutShape>> => {
  const shapes = new Map<string, OutShape>();
  if (!(g.multiplier >= 1) || !Number.isFinite(g.multiplier))
    return E.left(graphError(undefined, `multiplier must be a finite number >= 1, got ${g.multiplier}`));
  if (g.nodes.length === 0) return E.left(graphError(undefined, 'graph has no nodes'));
  const heads = g.nodes.filter((n) => n.kind === 'head');
  if (heads.length !== 1)
    return E.left(graphError(undefined, `graph must have exactly one head, found ${heads.length}`));
  if (g.nodes[g.nodes.length - 1]!.kind !== 'head')
    return E.left(graphError(g.nodes[g.nodes.length - 1]!.id, 'the head must be the last node'));
  if (g.nodes[0]!.kind !== 'input' || g.nodes.filter((n) => n.kind === 'input').length !== 1)
    return E.left(graphError(g.nodes[0]!.id, 'the first node, and only it, must be the input'));
  const consumed = new Set<string>();
  for (const n of g.nodes) {
    if (shapes.has(n.id)) return E.left(graphError(n.id, `duplicate node id '${n.id}'`));
    const ins: OutShape[] = [];
    for (const i of inputsOf(n)) {
      const s = shapes.get(i);
      if (s === undefined)
        return E.left(graphError(n.id, `input '${i}' is not defined before '${n.id}'`));
      ins.push(s);
      consumed.add(i);
    }
    const r = nodeShape(n, ins, g.multiplier);
    if (E.isLeft(r)) return r;
    shapes.set(n.id, r.right);
  }
  const dangling = g.nodes.find((n) => n.kind !== 'head' && !consumed.has(n.id));
  if (dangling !== undefined)
    return E.left(graphError(dangling.id, `output of '${dangling.id}' is never used`));
  return E.right(shapes);
};

const nodeShape = (n: Node, ins: readonly OutShape[], m: number): E.Either<GraphError, OutShape> => {
  const fail = (msg: string) => E.left(graphError(n.id, msg));
  const x = ins[0];
  const rank3 = (what: string): E.Either<GraphError, readonly [number, number, number]> =>
    x !== undefined && x.dims.length === 3
      ? E.right([x.dims[0]!, x.dims[1]!, x.dims[2]!] as const)
      : E.left(graphError(n.id, `${what} needs an [H, W, C] input, got [${x?.dims.join(', ')}]`));
  switch (n.kind) {
    case 'input':
      if (!(n.shape.length === 1 || n.shape.length === 3) || !n.shape.every(isPosInt))
        return fail(`input shape must be [H, W, C] or [F] of positive integers, got [${n.shape.join(', ')}]`);
      return E.right({ dims: n.shape, groups: 1 });
    case 'conv2d': {
      if (!isPosInt(n.baseFilters) || !isPosInt(n.kernel) || !isPosInt(n.stride))
        return fail('filters, kernel and stride must be positive integers');
      if (n.filters !== scaledWidth(n.baseFilters, m))
        return fail(`filters ${n.filters} do not match base ${n.baseFilters} at multiplier ${m}`);
      return pipe(
        rank3('conv2d'),
        E.chain(([h, w]) => {
          const ho = convOut(h, n.kernel, n.stride, n.padding);
          const wo = convOut(w, n.kernel, n.stride, n.padding);
          return ho >= 1 && wo >= 1
            ? E.right({ dims: [ho, wo, n.filters], groups: 1 })
            : fail(`a ${n.kernel}x${n.kernel} kernel does not fit a ${h}x${w} input with '${n.padding}' padding`);
        }),
      );
    }
    case 'dense':
      if (!isPosInt(n.baseUnits)) return fail('units must be a positive integer');
      if (n.units !== scaledWidth(n.baseUnits, m))
        return fail(`units ${n.units} do not match base ${n.baseUnits} at multiplier ${m}`);
      if (x === undefined || x.dims.length !== 1)
        return fail(`dense needs a vector input (flatten first), got [${x?.dims.join(', ')}]`);
      return E.right({ dims: [n.units], groups: 1 });
    case 'batchNorm':
    case 'relu':
      return x === undefined ? fail('missing input') : E.right(x);
    case 'maxPool':
      if (!isPosInt(n.size) || !isPosInt(n.stride)) return fail('size and stride must be positive integers');
      return pipe(
        rank3('maxPool'),
        E.chain(([h, w, c]) => {
          const ho = Math.floor((h - n.size) / n.stride) + 1;
          const wo = Math.floor((w - n.size) / n.stride) + 1;
          return ho >= 1 && wo >= 1
            ? E.right({ dims: [ho, wo, c], groups: 1 })
            : fail(`a ${n.size}x${n.size} pool does not fit a ${h}x${w} input`);
        }),
      );
    case 'globalAvgPool':
      return pipe(
        rank3('globalAvgPool'),
        E.map(([, , c]) => ({ dims: [c], groups: 1 })),
      );
    case 'flatten':
      return pipe(
        rank3('flatten'),
        E.map(([h, w, c]) => ({ dims: [h * w * c], groups: h * w })),
      );
    case 'add': {
      const [a, b] = ins;
      if (a === undefined || b === undefined) return fail('add needs two inputs');
      if (a.dims.join(',') !== b.dims.join(','))
        return fail(`add of different shapes [${a.dims.join(', ')}] and [${b.dims.join(', ')}]`);
      return E.right(a);
    }
    case 'head':
      if (x === undefined || x.dims.length !== 1)
        return fail(`head needs a vector input, got [${x?.dims.join(', ')}]`);
      return E.right(x);
  }
};

/** Sharable tensors are owned cell by cell (owner maps); private ones are copied per task. */
export type ParamRole = 'sharable' | 'private';

/**
 * How one axis of a parameter tensor grows: the axis is laid out as
 * [groups, per] and `per` is a channel count of some node (or fixed).
 * `width` names the node whose output width `per` is, or is undefined for a
 * fixed axis (kernel size, image channels, classes).
 */
export interface AxisSpec {
  readonly groups: number;
  readonly per: number;
  readonly width: string | undefined;
}

/** One parameter tensor of a graph (for a given number of classes). */
export interface ParamSpec {
  readonly name: string;
  readonly node: string;
  readonly role: ParamRole;
  /** Running statistics are private but not trained by gradient. */
  readonly trainable: boolean;
  readonly shape: readonly number[];
  readonly axes: readonly AxisSpec[];
  readonly init: Init;
}

const size = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);
export { size as shapeSize };

/**
 * Every parameter tensor of the graph, in a stable order: for each node in
 * order, its tensors. `classes` sizes the head. Kernels are in tfjs layout:
 * conv [kh, kw, in, out], dense and head [in, out].
 */
export const paramSpecs = (g: Graph, classes: number): E.Either<GraphError, readonly ParamSpec[]> =>
  pipe(
    inferShapes(g),
    E.chain((shapes) => {
      if (!isPosInt(classes)) return E.left(graphError(undefined, `classes must be a positive integer, got ${classes}`));
      const specs: ParamSpec[] = [];
      // Which node's width each node's output channels follow (through relu, bn, pool, ...).
      const widthOf = new Map<string, string | undefined>();
      const fixed = (n: number): AxisSpec => ({ groups: 1, per: n, width: undefined });
      for (const n of g.nodes) {
        const out = shapes.get(n.id)!;
        const inId = n.kind === 'input' ? undefined : n.kind === 'add' ? n.inputs[0] : n.input;
        const inShape = inId === undefined ? undefined : shapes.get(inId)!;
        const inWidth = inId === undefined ? undefined : widthOf.get(inId);
        const inAxis = (): AxisSpec => {
          const s = inShape!;
          const total = s.dims[s.dims.length - 1]!;
          return { groups: s.groups, per: total / s.groups, width: inWidth };
        };
        const channels = (): AxisSpec => ({ groups: 1, per: out.dims[out.dims.length - 1]!, width: widthOf.get(n.id) });
        switch (n.kind) {
          case 'input':
            widthOf.set(n.id, undefined);
            break;
          case 'conv2d': {
            widthOf.set(n.id, n.id);
            const cin = inShape!.dims[2]!;
            const fan = g.init === 'reference-vgg' ? n.kernel * n.kernel * n.filters : n.kernel * n.kernel * cin;
            specs.push({
              name: `${n.id}/kernel`,
              node: n.id,
              role: 'sharable',
              trainable: true,
              shape: [n.kernel, n.kernel, cin, n.filters],
              axes: [fixed(n.kernel), fixed(n.kernel), inAxis(), channels()],
              init: { kind: 'heNormal', fan },
            });
            if (n.bias)
              specs.push({ name: `${n.id}/bias`, node: n.id, role: 'private', trainable: true, shape: [n.filters], axes: [channels()], init: { kind: 'zeros' } });
            break;
          }
          case 'dense': {
            widthOf.set(n.id, n.id);
            const fin = inShape!.dims[0]!;
            specs.push({
              name: `${n.id}/kernel`,
              node: n.id,
              role: 'sharable',
              trainable: true,
              shape: [fin, n.units],
              axes: [inAxis(), channels()],
              init: g.init === 'reference-vgg' ? { kind: 'normal', std: 0.01 } : { kind: 'heNormal', fan: fin },
            });
            specs.push({ name: `${n.id}/bias`, node: n.id, role: 'private', trainable: true, shape: [n.units], axes: [channels()], init: { kind: 'zeros' } });
            break;
          }
          case 'batchNorm': {
            widthOf.set(n.id, inWidth);
            const c = out.dims[out.dims.length - 1]!;
            const ax = [channels()];
            specs.push(
              { name: `${n.id}/gamma`, node: n.id, role: 'private', trainable: true, shape: [c], axes: ax, init: { kind: 'ones' } },
              { name: `${n.id}/beta`, node: n.id, role: 'private', trainable: true, shape: [c], axes: ax, init: { kind: 'zeros' } },
              { name: `${n.id}/movingMean`, node: n.id, role: 'private', trainable: false, shape: [c], axes: ax, init: { kind: 'zeros' } },
              { name: `${n.id}/movingVar`, node: n.id, role: 'private', trainable: false, shape: [c], axes: ax, init: { kind: 'ones' } },
            );
            break;
          }
          case 'head': {
            widthOf.set(n.id, undefined);
            const fin = inShape!.dims[0]!;
            specs.push(
              {
                name: `${n.id}/kernel`,
                node: n.id,
                role: 'private',
                trainable: true,
                shape: [fin, classes],
                axes: [inAxis(), fixed(classes)],
                init: g.init === 'reference-vgg' ? { kind: 'normal', std: 0.01 } : { kind: 'heNormal', fan: fin },
              },
              { name: `${n.id}/bias`, node: n.id, role: 'private', trainable: true, shape: [classes], axes: [fixed(classes)], init: { kind: 'zeros' } },
            );
            break;
          }
          default:
            widthOf.set(n.id, inWidth);
        }
      }
      return E.right(specs);
    }),
  );

/** Number of scalars in all sharable tensors (the shared backbone). */
export const sharableSize = (specs: readonly ParamSpec[]): number =>
  specs.filter((s) => s.role === 'sharable').reduce((a, s) => a + size(s.shape), 0);

/** The shape of one example the graph takes (its input node). */
export const inputShape = (g: Graph): readonly number[] => {
  const first = g.nodes[0];
  return first !== undefined && first.kind === 'input' ? first.shape : [];
};
