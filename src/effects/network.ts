/**
 * The network's values on the host: one copy of every sharable tensor at the
 * current width, and each task's private tensors at that task's width, next
 * to the pure ownership state (backbone). Training sessions load from and
 * export to this; checkpoints store it.
 *
 * Arrays here are never mutated after construction: every transition builds
 * new maps (copying only what changes).
 */
import * as E from 'fp-ts/lib/Either.js';
import { pipe } from 'fp-ts/lib/function.js';
import { type CpgError, ownershipError } from '../algebra/errors.js';
import { type Graph, type Init, type ParamSpec, paramSpecs, shapeSize } from '../algebra/graph.js';
import { type TensorPlan, embed, restrict, widen } from '../algebra/widen.js';
import { type Backbone, type TaskId, claimAll, claimCellsOf, createBackbone, currentTask, graphAt, growTo, sharableSpecs, taskPlan } from '../algebra/backbone.js';
import { rngFor } from './random.js';

/** A task's private tensors (head, batch-norm, biases) at the width it was learned at. */
export interface TaskPrivates {
  readonly classes: number;
  readonly multiplier: number;
  readonly values: ReadonlyMap<string, Float32Array>;
}

/** Everything a run knows about the network's values. */
export interface NetState {
  readonly backbone: Backbone;
  readonly sharable: ReadonlyMap<string, Float32Array>;
  readonly privates: ReadonlyMap<TaskId, TaskPrivates>;
}

/** Draws a tensor's initial values; the label makes it reproducible per tensor and width. */
export const initValues = (init: Init, size: number, seed: number, label: string): Float32Array => {
  const out = new Float32Array(size);
  switch (init.kind) {
    case 'zeros':
      return out;
    case 'ones':
      return out.fill(1);
    case 'normal':
    case 'heNormal': {
      const std = init.kind === 'normal' ? init.std : Math.sqrt(2 / init.fan);
      const rng = rngFor(seed, label);
      for (let i = 0; i < size; i++) out[i] = rng.normal() * std;
      return out;
    }
  }
};

/** A map from named results, or the first error among them. */
const entries = <A>(xs: readonly (readonly [string, E.Either<CpgError, A>])[]): E.Either<CpgError, Map<string, A>> => {
  const out = new Map<string, A>();
  for (const [name, r] of xs) {
    if (E.isLeft(r)) return r;
    out.set(name, r.right);
  }
  return E.right(out);
};

const specsOrFail = (g: Graph, classes: number): E.Either<CpgError, readonly ParamSpec[]> => paramSpecs(g, classes);

/**
 * A fresh network: every sharable cell free and randomly initialised, no task
 * yet. `label` separates independent networks drawn from one seed.
 */
export const initNet = (base: Graph, seed: number, label = 'init'): E.Either<CpgError, NetState> =>
  pipe(
    E.Do,
    E.bind('backbone', () => createBackbone(base)),
    E.bind('specs', () => specsOrFail(base, 1)),
    E.map(({ backbone, specs }) => ({
      backbone,
      sharable: new Map(
        specs
          .filter((s) => s.role === 'sharable')
          .map((s) => [s.name, initValues(s.init, shapeSize(s.shape), seed, `${label}/${s.name}@${base.multiplier}`)] as const),
      ),
      privates: new Map(),
    })),
  );

/** The graph of the network at its current width. */
export const currentGraph = (s: NetState): Graph => graphAt(s.backbone, s.backbone.multiplier);

/**
 * Private tensors for the task about to be learned, at the current width:
 * copied from the previous task (widened where that task was narrower, new
 * cells at their initial values), with a freshly initialised head sized to
 * `classes`. The first task gets initial values throughout.
 */
export const startTaskPrivates = (s: NetState, classes: number, seed: number): E.Either<CpgError, NetState> => {
  const task = currentTask(s.backbone);
  const g = currentGraph(s);
  return pipe(
    specsOrFail(g, classes),
    E.chain((specs) => {
      const prev = s.privates.get(task - 1);
      const fresh = (spec: ParamSpec) =>
        initValues(spec.init, shapeSize(spec.shape), seed, `init/task${task}/${spec.name}@${g.multiplier}`);
      const carry = prev === undefined ? E.right(undefined) : planFrom(s, prev, classes);
      if (E.isLeft(carry)) return carry;
      const values = entries(
        specs
          .filter((p) => p.role === 'private')
          .map((spec) => {
            const old = prev?.values.get(spec.name);
            const plan = carry.right?.get(spec.name);
            const isHead = spec.node === 'head';
            return [spec.name, old === undefined || plan === undefined || isHead ? E.right(fresh(spec)) : embed(plan, old, fresh(spec))] as const;
          }),
      );
      if (E.isLeft(values)) return values;
      const privates = new Map(s.privates);
      privates.set(task, { classes, multiplier: g.multiplier, values: values.right });
      return E.right({ ...s, privates });
    }),
  );
};

/** Plans that move a previous task's private tensors to the current width. */
const planFrom = (s: NetState, prev: TaskPrivates, classes: number): E.Either<CpgError, ReadonlyMap<string, TensorPlan>> =>
  pipe(
    widen(graphAt(s.backbone, prev.multiplier), s.backbone.multiplier, classes),
    E.map(({ plan }) => new Map(plan.tensors.map((t) => [t.name, t] as const))),
  );

/**
 * Grow the network to multiplier `to`: owner maps widen (new cells free),
 * sharable tensors keep every old cell in place and get random new cells.
 * Finished tasks' private tensors stay at their own width; the current task's
 * (if any) widen like the sharable ones.
 */
export const growNet = (s: NetState, to: number, seed: number): E.Either<CpgError, NetState> =>
  pipe(
    growTo(to)(s.backbone),
    E.chain(({ backbone, plan }) => {
      const task = currentTask(s.backbone);
      const current = s.privates.get(task);
      const from = graphAt(s.backbone, s.backbone.multiplier);
      return pipe(
        E.Do,
        E.bind('specs', () => specsOrFail(graphAt(backbone, to), current?.classes ?? 1)),
        // The current task's head has its own class count: plan its tensors separately.
        E.bind('privatePlan', () => (current === undefined ? E.right(undefined) : widen(from, to, current.classes))),
        E.chain(({ specs, privatePlan }) => {
          const byName = new Map(specs.map((p) => [p.name, p] as const));
          const fresh = (t: TensorPlan, label: string) => {
            const spec = byName.get(t.name)!;
            return initValues(spec.init, shapeSize(spec.shape), seed, `${label}/${t.name}@${to}`);
          };
          const sharable = entries(
            plan.tensors.filter((t) => byName.get(t.name)?.role === 'sharable').map((t) => [t.name, embed(t, s.sharable.get(t.name)!, fresh(t, 'grow'))] as const),
          );
          if (E.isLeft(sharable)) return sharable;
          const privates = new Map(s.privates);
          if (current !== undefined && privatePlan !== undefined) {
            const values = entries(
              privatePlan.plan.tensors.flatMap((t) => {
                const old = current.values.get(t.name);
                return old === undefined ? [] : [[t.name, embed(t, old, fresh(t, `grow/task${task}`))] as const];
              }),
            );
            if (E.isLeft(values)) return values;
            privates.set(task, { ...current, multiplier: to, values: values.right });
          }
          return E.right({ backbone, sharable: sharable.right, privates });
        }),
      );
    }),
  );

/**
 * The sharable tensors of a finished (or the current) task at its own width:
 * the current values sliced back to the task's block. Masking with the task's
 * selector is the caller's job.
 */
export const sharableAtTask = (s: NetState, task: TaskId): E.Either<CpgError, ReadonlyMap<string, Float32Array>> => {
  if (task === currentTask(s.backbone)) return E.right(s.sharable);
  return pipe(
    taskPlan(task)(s.backbone),
    E.chain((plan) =>
      entries(
        plan.tensors.flatMap((t) => {
          const w = s.sharable.get(t.name);
          return w === undefined ? [] : [[t.name, restrict(t, w, (n) => new Float32Array(n))] as const];
        }),
      ),
    ),
  );
};

/** Per sharable tensor, its free cells. */
export const freePerTensor = (b: Backbone): Map<string, number> => {
  const out = new Map<string, number>();
  for (const [name, o] of b.owners) {
    let f = 0;
    for (let i = 0; i < o.cells.length; i++) if (o.cells[i] === 0) f++;
    out.set(name, f);
  }
  return out;
};

/**
 * The current task claims free weights: every one (no counts; CPG-SPEC §3.1,
 * values untouched), or a partial claim (algebra/claim.ts, the 'share' rule)
 * of `counts` cells of each tensor's free ones, drawn at random and starts them from the initialiser, its deviation scaled by
 * 1/√density (density: the claimed and older tasks' cells over the tensor's),
 * so that a sparse layer passes on the signal a dense one would. Measured on
 * the short-budget stream: started from released zeros, or at the dense
 * scale, a sparse claim learns far less in a short budget (BENCHMARKS.md).
 */
export const claimFree = (s: NetState, counts: ReadonlyMap<string, number> | undefined, seed: number): E.Either<CpgError, NetState> => {
  const b = s.backbone;
  const task = currentTask(b);
  if (counts === undefined) return E.map((backbone: Backbone) => ({ ...s, backbone }))(claimAll(task)(b));
  const specs = sharableSpecs(graphAt(b, b.multiplier));
  if (E.isLeft(specs)) return specs;
  let backbone = b;
  const sharable = new Map(s.sharable);
  for (const spec of specs.right) {
    const o = b.owners.get(spec.name);
    const old = s.sharable.get(spec.name);
    const take = counts.get(spec.name) ?? 0;
    if (o === undefined || old === undefined) return E.left(ownershipError(spec.name, 'no owner map or values for this sharable tensor'));
    const free: number[] = [];
    let older = 0;
    for (let i = 0; i < o.cells.length; i++) {
      if (o.cells[i] === 0) free.push(i);
      else older++;
    }
    // A partial Fisher–Yates: the first `take` entries are a uniform draw.
    const rng = rngFor(seed, `claim/task${task}/${spec.name}@${b.multiplier}`);
    for (let i = 0; i < take; i++) {
      const j = i + rng.int(free.length - i);
      const t = free[i]!;
      free[i] = free[j]!;
      free[j] = t;
    }
    const cells = Int32Array.from(free.slice(0, take)).sort();
    const claimed = claimCellsOf(task, spec.name, cells)(backbone);
    if (E.isLeft(claimed)) return claimed;
    backbone = claimed.right;
    const density = (take + older) / Math.max(1, o.cells.length);
    const scale = density > 0 ? 1 / Math.sqrt(density) : 1;
    const fresh = initValues(spec.init, shapeSize(spec.shape), seed, `claim-init/task${task}/${spec.name}@${b.multiplier}`);
    const values = old.slice();
    for (let j = 0; j < cells.length; j++) values[cells[j]!] = fresh[cells[j]!]! * scale;
    sharable.set(spec.name, values);
  }
  return E.right({ ...s, backbone, sharable });
};
