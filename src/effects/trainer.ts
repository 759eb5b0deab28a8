/**
 * A training session for the task being learned (CPG-SPEC §3.2, §3.5, §3.7).
 *
 * Per sharable tensor the session keeps the task's OWN cells as a variable
 * (zero elsewhere), the frozen cells of older tasks as a constant, and —
 * while picking — the real-valued pick mask M̂. The effective weight is
 *
 *     own + frozen ⊙ [M̂ > threshold]
 *
 * with a straight-through gradient for M̂ (its gradient is dy ⊙ frozen, zero
 * wherever no older task owns the cell). The weight update is masked by the
 * task's cells, so momentum and weight decay can never move a frozen weight;
 * the host copy of frozen cells is never written by a session at all.
 */
import * as tf from '@tensorflow/tfjs';
import * as E from 'fp-ts/lib/Either.js';
import type { CpgError } from '../algebra/errors.js';
import { type Graph, paramSpecs, shapeSize, type ParamSpec } from '../algebra/graph.js';
import { type TaskId, type OwnerMap, pruneByMagnitude } from '../algebra/ownerMap.js';
import { type PickMask, binarize, emptyPick, pack, unpack } from '../algebra/pickMask.js';
import { type Backbone, currentTask, graphAt, releaseCells } from '../algebra/backbone.js';
import { type BatchStats, forward } from './forward.js';
import { type Evaluation, evaluateWith } from './evaluate.js';
import type { NetState } from './network.js';

/**
 * How older tasks' weights take part:
 * - 'train': CPG picking — M̂ starts at maskInit and is trained with Adam;
 * - 'fixed': a given binary pick mask (compacting stage);
 * - 'all': every older weight (PackNet);
 * - 'none': no older weight (task 1, individual networks).
 */
export type PickMode =
  | { readonly kind: 'train'; readonly init: number }
  | { readonly kind: 'fixed'; readonly picks: ReadonlyMap<string, PickMask> }
  | { readonly kind: 'all' }
  | { readonly kind: 'none' };

export interface SessionOptions {
  readonly pick: PickMode;
  /** The reference binarizer threshold (0.005). */
  readonly maskThreshold: number;
  readonly weightDecay: number;
  readonly momentum: number;
  /**
   * 'owners': train only the current task's cells (CPG, PackNet).
   * 'everything': every cell trains, owner maps are ignored (the fine-tune baseline).
   */
  readonly scope: 'owners' | 'everything';
}

/** What one training step measured. */
export interface StepResult {
  readonly loss: number;
  readonly correct: number;
  readonly count: number;
}

interface SharedSlot {
  readonly name: string;
  readonly shape: number[];
  readonly size: number;
  /** The task's cells (zero elsewhere): the only thing gradient descent moves. */
  readonly own: tf.Variable;
  readonly velocity: tf.Variable;
  /** 1 on the task's cells. Replaced when compacting releases cells. */
  ownMask: tf.Tensor;
  /** Older tasks' cells (zero elsewhere); constant for the session. */
  readonly frozen: tf.Tensor | undefined;
  /** frozen ⊙ binary pick, cached while the pick does not train. */
  readonly picked: tf.Tensor | undefined;
  /** Real-valued pick mask and its Adam moments, while picking. */
  readonly mask: { readonly value: tf.Variable; readonly m: tf.Variable; readonly v: tf.Variable } | undefined;
}

interface PrivateSlot {
  readonly name: string;
  readonly value: tf.Variable;
  readonly velocity: tf.Variable | undefined;
}

let sessionCounter = 0;
const ADAM = { beta1: 0.9, beta2: 0.999, eps: 1e-8 } as const;
const BN_MOMENTUM = 0.1;

/** A live session; call `dispose` when done (tensors are not garbage collected). */
export interface Session {
  readonly task: TaskId;
  readonly graph: Graph;
  /** One SGD step on a batch (x: count × features, y: labels). Nothing is updated if the loss is not finite. */
  readonly step: (x: Float32Array, y: Int32Array, count: number, lr: number, lrMask: number) => E.Either<CpgError, StepResult>;
  /** Logits-based evaluation of the task as it stands (binary pick, running statistics). */
  readonly evaluate: (x: Float32Array, y: Int32Array, count: number, batchSize: number) => Evaluation;
  /** Compacting: release the smallest of the task's weights per layer until `sparsity` of (own ∪ free) is free. */
  readonly prune: (sparsity: number) => E.Either<CpgError, void>;
  /** Number of cells the task owns now. */
  readonly ownedCount: () => number;
  /** The binary pick masks as they stand (old cells only). */
  readonly picks: () => ReadonlyMap<string, PickMask>;
  /** The network with this session's values written back (frozen cells untouched). */
  readonly export: () => NetState;
  readonly dispose: () => void;
}

/** A variable from a fresh tensor, releasing the tensor (tf.variable keeps its own reference). */
const variableFrom = (t: tf.Tensor, trainable: boolean, name?: string): tf.Variable => {
  const v = tf.variable(t, trainable, name);
  t.dispose();
  return v;
};

const bool = (cells: Uint8Array, test: (o: number) => boolean): Float32Array => {
  const out = new Float32Array(cells.length);
  for (let i = 0; i < cells.length; i++) out[i] = test(cells[i]!) ? 1 : 0;
  return out;
};

/**
 * Open a session for the current task of `state` at the current width. The
 * task's private tensors must already exist (startTaskPrivates).
 */
export const openSession = (state: NetState, o: SessionOptions): E.Either<CpgError, Session> => {
  const task = currentTask(state.backbone);
  const graph = graphAt(state.backbone, state.backbone.multiplier);
  const priv = state.privates.get(task);
  if (priv === undefined)
    return E.left({ tag: 'LifecycleError', message: `task ${task} has no private tensors: start the task before training it` });
  if (priv.multiplier !== graph.multiplier)
    return E.left({ tag: 'LifecycleError', message: `task ${task}'s private tensors are at width ${priv.multiplier}, the network at ${graph.multiplier}` });
  const specs = paramSpecs(graph, priv.classes);
  if (E.isLeft(specs)) return specs;
  return E.right(makeSession(state, o, task, graph, specs.right, priv.values));
};

const makeSession = (
  state: NetState,
  o: SessionOptions,
  task: TaskId,
  graph: Graph,
  specs: readonly ParamSpec[],
  privValues: ReadonlyMap<string, Float32Array>,
): Session => {
  let backbone: Backbone = state.backbone;
  // tfjs variable names are global: make this session's unique.
  const tag = `s${(sessionCounter += 1)}`;
  const everything = o.scope === 'everything';
  const shared: SharedSlot[] = [];
  for (const spec of specs.filter((s) => s.role === 'sharable')) {
    const w = state.sharable.get(spec.name)!;
    const owners = backbone.owners.get(spec.name)!.cells;
    const size = shapeSize(spec.shape);
    const shape = [...spec.shape];
    const ownFlags = everything ? new Float32Array(size).fill(1) : bool(owners, (c) => c === task);
    const own = new Float32Array(size);
    for (let i = 0; i < size; i++) own[i] = ownFlags[i] === 1 ? w[i]! : 0;
    let frozen: tf.Tensor | undefined;
    let picked: tf.Tensor | undefined;
    let mask: SharedSlot['mask'];
    const usesOld = !everything && o.pick.kind !== 'none';
    if (usesOld) {
      const old = new Float32Array(size);
      let any = false;
      for (let i = 0; i < size; i++) {
        const c = owners[i]!;
        if (c >= 1 && c < task) {
          old[i] = w[i]!;
          any = true;
        }
      }
      if (any) {
        if (o.pick.kind === 'train') {
          frozen = tf.tensor(old, shape);
          mask = {
            value: variableFrom(tf.fill(shape, o.pick.init), true, `${spec.name}/pick/${tag}`),
            m: variableFrom(tf.zeros(shape), false),
            v: variableFrom(tf.zeros(shape), false),
          };
        } else {
          const bits = o.pick.kind === 'fixed' ? o.pick.picks.get(spec.name) : undefined;
          if (bits !== undefined) {
            const flags = unpack(bits);
            for (let i = 0; i < size; i++) if (flags[i] === 0) old[i] = 0;
          }
          frozen = tf.tensor(old, shape);
          picked = frozen;
        }
      }
    }
    shared.push({
      name: spec.name,
      shape,
      size,
      own: variableFrom(tf.tensor(own, shape), true, `${spec.name}/own/${tag}`),
      velocity: variableFrom(tf.zeros(shape), false),
      ownMask: tf.tensor(ownFlags, shape),
      frozen,
      picked,
      mask,
    });
  }
  const privates: PrivateSlot[] = specs
    .filter((s) => s.role === 'private')
    .map((s) => ({
      name: s.name,
      value: variableFrom(tf.tensor(privValues.get(s.name)!, [...s.shape]), s.trainable, `${s.name}/task${task}/${tag}`),
      velocity: s.trainable ? variableFrom(tf.zeros([...s.shape]), false) : undefined,
    }));
  const privByName = new Map(privates.map((p) => [p.name, p] as const));
  const sharedByName = new Map(shared.map((s) => [s.name, s] as const));
  let adamStep = 0;

  // Straight-through binarizer: forward own + frozen·[M̂ > t]; dM̂ = dy·frozen.
  const threshold = o.maskThreshold;
  const pickedWeight = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [own, m, frozen, save] = args as [tf.Tensor, tf.Tensor, tf.Tensor, tf.GradSaveFunc];
    save([frozen]);
    const value = tf.add(own, tf.mul(frozen, tf.cast(tf.greater(m, threshold), 'float32')));
    return { value, gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => [dy, tf.mul(dy, saved[0]!), tf.zerosLike(saved[0]!)] };
  }) as (own: tf.Tensor, m: tf.Tensor, frozen: tf.Tensor) => tf.Tensor;

  const effective = (s: SharedSlot, training: boolean): tf.Tensor => {
    if (s.mask !== undefined) {
      if (training) return pickedWeight(s.own, s.mask.value, s.frozen!);
      return tf.add(s.own, tf.mul(s.frozen!, tf.cast(tf.greater(s.mask.value, threshold), 'float32')));
    }
    return s.picked === undefined ? s.own : tf.add(s.own, s.picked);
  };

  const lookup = (training: boolean) => (name: string): tf.Tensor => {
    const s = sharedByName.get(name);
    if (s !== undefined) return effective(s, training);
    return privByName.get(name)!.value;
  };

  const trainable: tf.Variable[] = [
    ...shared.map((s) => s.own),
    ...shared.flatMap((s) => (s.mask === undefined ? [] : [s.mask.value])),
    ...privates.filter((p) => p.velocity !== undefined).map((p) => p.value),
  ];

  const step: Session['step'] = (x, y, count, lr, lrMask) => {
    const stats = new Map<string, BatchStats>();
    const xs = tf.tensor2d(x, [count, x.length / count]);
    const ys = tf.tensor1d(y, 'int32');
    const result = tf.variableGrads(() => {
      const logits = forward(graph, lookup(true), xs, true, stats);
      for (const st of stats.values()) {
        tf.keep(st.mean);
        tf.keep(st.variance);
      }
      const loss = tf.losses.softmaxCrossEntropy(tf.oneHot(ys, logits.shape[1]!), logits);
      const correct = tf.sum(tf.cast(tf.equal(tf.argMax(logits, 1), ys), 'float32'));
      lastCorrect = tf.keep(correct);
      return loss as tf.Scalar;
    }, trainable);
    const loss = result.value.dataSync()[0]!;
    const correct = lastCorrect!.dataSync()[0]!;
    const finite = Number.isFinite(loss);
    if (finite) applyUpdates(result.grads, lr, lrMask, stats);
    tf.dispose([xs, ys, result.value, lastCorrect!, ...Object.values(result.grads)]);
    for (const st of stats.values()) tf.dispose([st.mean, st.variance]);
    lastCorrect = undefined;
    if (!finite)
      return E.left({ tag: 'NumericError', message: `the training loss of task ${task} became ${loss} (learning rate ${lr}); no weight was updated by that step` });
    return E.right({ loss, correct, count });
  };
  let lastCorrect: tf.Tensor | undefined;

  const applyUpdates = (grads: tf.NamedTensorMap, lr: number, lrMask: number, stats: Map<string, BatchStats>): void => {
    const mu = o.momentum;
    tf.tidy(() => {
      for (const s of shared) {
        const raw = grads[s.own.name]!;
        // Weight decay by hand, on the task's own cells only (the built-in one would move frozen weights).
        const g = tf.mul(tf.add(raw, tf.mul(s.own, o.weightDecay)), s.ownMask);
        const v = tf.add(tf.mul(s.velocity, mu), g);
        s.velocity.assign(v);
        // Nesterov, as PyTorch: p -= lr · (g + μ·v).
        s.own.assign(tf.sub(s.own, tf.mul(tf.add(g, tf.mul(v, mu)), lr)));
        if (s.mask !== undefined && lrMask > 0) {
          const gm = grads[s.mask.value.name]!;
          adamUpdate(s.mask, gm, lrMask);
        }
      }
      if (shared.some((s) => s.mask !== undefined) && lrMask > 0) adamStep += 1;
      for (const p of privates) {
        if (p.velocity === undefined) continue;
        const g = grads[p.value.name]!;
        const v = tf.add(tf.mul(p.velocity, mu), g);
        p.velocity.assign(v);
        p.value.assign(tf.sub(p.value, tf.mul(tf.add(g, tf.mul(v, mu)), lr)));
      }
      for (const [node, st] of stats) {
        const mean = privByName.get(`${node}/movingMean`)!.value;
        const variance = privByName.get(`${node}/movingVar`)!.value;
        const unbiased = st.count > 1 ? tf.mul(st.variance, st.count / (st.count - 1)) : st.variance;
        mean.assign(tf.add(tf.mul(mean, 1 - BN_MOMENTUM), tf.mul(st.mean, BN_MOMENTUM)));
        variance.assign(tf.add(tf.mul(variance, 1 - BN_MOMENTUM), tf.mul(unbiased, BN_MOMENTUM)));
      }
    });
  };

  const adamUpdate = (mask: NonNullable<SharedSlot['mask']>, g: tf.Tensor, lr: number): void => {
    const t = adamStep + 1;
    const m = tf.add(tf.mul(mask.m, ADAM.beta1), tf.mul(g, 1 - ADAM.beta1));
    const v = tf.add(tf.mul(mask.v, ADAM.beta2), tf.mul(tf.square(g), 1 - ADAM.beta2));
    mask.m.assign(m);
    mask.v.assign(v);
    const mHat = tf.div(m, 1 - ADAM.beta1 ** t);
    const vHat = tf.div(v, 1 - ADAM.beta2 ** t);
    mask.value.assign(tf.sub(mask.value, tf.mul(tf.div(mHat, tf.add(tf.sqrt(vHat), ADAM.eps)), lr)));
  };

  const evaluate: Session['evaluate'] = (x, y, count, batchSize) => {
    // The effective weights do not change during an evaluation: compute them once.
    const params = new Map<string, tf.Tensor>();
    for (const s of shared) params.set(s.name, tf.tidy(() => tf.clone(effective(s, false))));
    try {
      return evaluateWith(graph, (name) => params.get(name) ?? privByName.get(name)!.value, x, y, count, batchSize);
    } finally {
      tf.dispose([...params.values()]);
    }
  };

  const prune: Session['prune'] = (sparsity) => {
    if (everything) return E.left({ tag: 'LifecycleError', message: 'compacting needs owner maps; this session ignores them' });
    let next = backbone;
    const updates: { slot: SharedSlot; released: Int32Array; own: Float32Array }[] = [];
    for (const s of shared) {
      const owners = next.owners.get(s.name)!;
      const own = s.own.dataSync() as Float32Array;
      const r = pruneByMagnitude(task, sparsity, own)(owners);
      if (E.isLeft(r)) return r;
      if (r.right.released.length === 0) continue;
      const b = releaseCells(task, s.name, r.right.released)(next);
      if (E.isLeft(b)) return b;
      next = b.right;
      updates.push({ slot: s, released: r.right.released, own: Float32Array.from(own) });
    }
    // Released weights are zero and inert at once: value, momentum and mask all cleared.
    for (const { slot, released, own } of updates) {
      const flags = slot.ownMask.dataSync() as Float32Array;
      const mask = Float32Array.from(flags);
      const velocity = Float32Array.from(slot.velocity.dataSync() as Float32Array);
      for (let k = 0; k < released.length; k++) {
        const i = released[k]!;
        own[i] = 0;
        mask[i] = 0;
        velocity[i] = 0;
      }
      tf.tidy(() => {
        slot.own.assign(tf.tensor(own, slot.shape));
        slot.velocity.assign(tf.tensor(velocity, slot.shape));
      });
      slot.ownMask.dispose();
      slot.ownMask = tf.tensor(mask, slot.shape);
    }
    backbone = next;
    return E.right(undefined);
  };

  const ownedCount = (): number => {
    let n = 0;
    for (const s of shared) n += tf.tidy(() => tf.sum(s.ownMask).dataSync()[0]!);
    return Math.round(n);
  };

  const picks = (): ReadonlyMap<string, PickMask> => {
    const out = new Map<string, PickMask>();
    for (const s of shared) {
      const owners: OwnerMap = backbone.owners.get(s.name)!;
      if (s.mask !== undefined) {
        const real = s.mask.value.dataSync() as Float32Array;
        const bits = unpack(binarize(real, threshold));
        for (let i = 0; i < bits.length; i++) {
          const c = owners.cells[i]!;
          if (!(c >= 1 && c < task)) bits[i] = 0;
        }
        out.set(s.name, pack(bits));
      } else if (o.pick.kind === 'fixed' && o.pick.picks.has(s.name)) out.set(s.name, o.pick.picks.get(s.name)!);
      else if (o.pick.kind === 'all' && !everything) out.set(s.name, pack(bool(owners.cells, (c) => c >= 1 && c < task)));
      else out.set(s.name, emptyPick(s.size));
    }
    return out;
  };

  const exportState = (): NetState => {
    const sharable = new Map(state.sharable);
    for (const s of shared) {
      const prev = state.sharable.get(s.name)!;
      const own = s.own.dataSync() as Float32Array;
      const before = state.backbone.owners.get(s.name)!.cells;
      const out = Float32Array.from(prev);
      for (let i = 0; i < out.length; i++) if (everything || before[i] === task) out[i] = own[i]!;
      sharable.set(s.name, out);
    }
    const values = new Map<string, Float32Array>();
    for (const p of privates) values.set(p.name, Float32Array.from(p.value.dataSync() as Float32Array));
    const privatesOut = new Map(state.privates);
    const prevPriv = state.privates.get(task)!;
    privatesOut.set(task, { ...prevPriv, values });
    return { backbone, sharable, privates: privatesOut };
  };

  const dispose = (): void => {
    for (const s of shared) {
      tf.dispose([s.own, s.velocity, s.ownMask]);
      if (s.frozen !== undefined) s.frozen.dispose();
      if (s.mask !== undefined) tf.dispose([s.mask.value, s.mask.m, s.mask.v]);
    }
    for (const p of privates) {
      p.value.dispose();
      p.velocity?.dispose();
    }
  };

  return { task, graph, step, evaluate, prune, ownedCount, picks, export: exportState, dispose };
};
