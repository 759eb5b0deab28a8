/**
 * A training session for the task being learned (CPG-SPEC §3.2, §3.5, §3.7):
 * steps, evaluation, compacting, and the network handed back at the end.
 *
 * The sharable tensors live in a store (sharedStore.ts): the task's own cells,
 * the frozen cells of older tasks it may use, and the pick mask while it
 * trains. A step takes the loss gradient with respect to the effective
 * weights and the task's private tensors; the store applies the masked
 * update. The network handed back takes only the task's own cells from the
 * session, so a session cannot write a frozen weight at all.
 *
 * Everything that reads tensor values back is a TaskEither and reads with
 * `await t.data()`: tfjs's webgpu backend has no synchronous read in Node.
 * On wasm and cpu the asynchronous read resolves at once.
 */
import * as tf from '@tensorflow/tfjs-core';
// tfjs-core's own build registers no gradients; tfjs-layers registers all of them (as the @tensorflow/tfjs union did).
import '@tensorflow/tfjs-layers';
import * as E from 'fp-ts/lib/Either.js';
import type * as TE from 'fp-ts/lib/TaskEither.js';
import { type CpgError, configError, internalError, lifecycleError, numericError } from '../algebra/errors.js';
import { type Graph, paramSpecs, shapeSize, type ParamSpec } from '../algebra/graph.js';
import { type TaskId, type OwnerMap, pruneByMagnitude } from '../algebra/ownerMap.js';
import { type PickMask, binarize, emptyPick, pack, unpack } from '../algebra/pickMask.js';
import { type Backbone, currentTask, graphAt, releaseCells } from '../algebra/backbone.js';
import { type BatchStats, type ParamLookup, forward } from './forward.js';
import { type SharedStore, type SlotInit, deviceStore, hostStore } from './sharedStore.js';
import { type Evaluation, evaluateWith } from './evaluate.js';
import type { NetState } from './network.js';
import { nonFiniteIn } from './store.js';

/**
 * How older tasks' weights take part:
 * - 'train': CPG picking — M̂ starts at maskInit and is trained with Adam;
 *   with `from`, it starts at a learned binary pick instead: maskInit where
 *   picked, as far below the threshold elsewhere;
 * - 'fixed': a given binary pick mask (compacting stage);
 * - 'all': every older weight (PackNet);
 * - 'none': no older weight (task 1, individual networks).
 */
export type PickMode =
  | { readonly kind: 'train'; readonly init: number; readonly from?: ReadonlyMap<string, PickMask> }
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
  /** Where the sharable tensors live (see sharedStore.ts); default: device on 'tensorflow', 'webgl' and 'webgpu' (which needs it), host elsewhere. */
  readonly store?: 'host' | 'device';
  /** Per tensor, the free cells a partial claim left out: compacting counts only what the task claimed. */
  readonly unclaimed?: ReadonlyMap<string, number>;
}

/** What one training step measured. */
export interface StepResult {
  readonly loss: number;
  readonly correct: number;
  readonly count: number;
}

interface PrivateSlot {
  readonly name: string;
  readonly value: tf.Variable;
  readonly velocity: tf.Variable | undefined;
}

const BN_MOMENTUM = 0.1;

/** A live session; call `dispose` when done (tensors are not garbage collected). */
export interface Session {
  readonly task: TaskId;
  readonly graph: Graph;
  /** One SGD step on a batch (x: count × features, y: labels). Nothing is updated if the loss is not finite. */
  readonly step: (x: Float32Array, y: Int32Array, count: number, lr: number, lrMask: number) => TE.TaskEither<CpgError, StepResult>;
  /** Logits-based evaluation of the task as it stands (binary pick, running statistics). */
  readonly evaluate: (x: Float32Array, y: Int32Array, count: number, batchSize: number) => TE.TaskEither<CpgError, Evaluation>;
  /** Compacting: release the smallest of the task's weights per layer until `sparsity` of (own ∪ free, less the unclaimed cells) is free. */
  readonly prune: (sparsity: number) => TE.TaskEither<CpgError, void>;
  /** Number of cells the task owns now. */
  readonly ownedCount: () => number;
  /** The binary pick masks as they stand (old cells only). */
  readonly picks: () => TE.TaskEither<CpgError, ReadonlyMap<string, PickMask>>;
  /** The first non-finite value among what this session trains (own cells, pick mask, private tensors), in words. */
  readonly findNonFinite: () => TE.TaskEither<CpgError, string | undefined>;
  /** The network with this session's values written back (frozen cells untouched). */
  readonly export: () => TE.TaskEither<CpgError, NetState>;
  readonly dispose: () => void;
}

/** What tfjs threw (a kernel that fails, a lost device): a failure nothing above expected, as the stream reports any throw. */
const backendFailure = (e: unknown): CpgError => internalError(e);

/** An async body as a TaskEither: whatever tfjs throws on the way is an InternalError value, never a rejection. */
const attempt =
  <A>(f: () => Promise<E.Either<CpgError, A>>): TE.TaskEither<CpgError, A> =>
  () =>
    f().catch((e: unknown) => E.left(backendFailure(e)));

/**
 * Where a trained pick mask starts: maskInit everywhere (the reference), or a
 * learned binary pick, each cell as far from the threshold as maskInit is
 * (or by the threshold itself, when equal) on its own side: it binarises to
 * the learned pick until training moves it across.
 */
const pickStart = (pick: Extract<PickMode, { kind: 'train' }>, name: string, size: number, threshold: number): number | Float32Array => {
  const learned = pick.from?.get(name);
  if (learned === undefined) return pick.init;
  const bits = unpack(learned);
  const d = Math.abs(pick.init - threshold) || threshold;
  const start = new Float32Array(size);
  for (let i = 0; i < size; i++) start[i] = bits[i] === 1 ? threshold + d : threshold - d;
  return start;
};

/** A variable from a fresh tensor, releasing the tensor (tf.variable keeps its own reference). */
const variableFrom = (t: tf.Tensor, trainable: boolean): tf.Variable => {
  // Unnamed: tfjs numbers variables itself, so two sessions (two learners) never clash.
  const v = tf.variable(t, trainable);
  t.dispose();
  return v;
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
    return E.left(lifecycleError(`task ${task} has no private tensors: start the task before training it`));
  if (priv.multiplier !== graph.multiplier)
    return E.left(lifecycleError(`task ${task}'s private tensors are at width ${priv.multiplier}, the network at ${graph.multiplier}`));
  const specs = paramSpecs(graph, priv.classes);
  if (E.isLeft(specs)) return specs;
  if (o.store === 'host' && tf.getBackend() === 'webgpu')
    return E.left(configError('store', "the host store reads gradients synchronously, which webgpu cannot in Node: use the device store (the default there)"));
  return E.right(makeSession(state, o, task, graph, specs.right, priv.values));
};

/**
 * The forward pass's tensors for one step: `args` holds the effective weights
 * (`names`, in order), then the trainable private tensors, which are what the
 * gradients are taken with respect to; other private tensors are as stored.
 */
const lookupOf = (names: readonly string[], trainable: readonly PrivateSlot[], privByName: ReadonlyMap<string, PrivateSlot>, args: readonly tf.Tensor[]): ParamLookup => {
  const shared = new Map(names.map((n, i) => [n, args[i]!] as const));
  const priv = new Map(trainable.map((p, j) => [p.name, args[names.length + j]!] as const));
  return (name) => shared.get(name) ?? priv.get(name) ?? privByName.get(name)!.value;
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
  const everything = o.scope === 'everything';
  const threshold = o.maskThreshold;
  const slots: SlotInit[] = [];
  for (const spec of specs.filter((s) => s.role === 'sharable')) {
    const w = state.sharable.get(spec.name)!;
    const owners = backbone.owners.get(spec.name)!.cells;
    const size = shapeSize(spec.shape);
    const ownFlag = new Uint8Array(size);
    const own = new Float32Array(size);
    const old = new Float32Array(size);
    let anyOld = false;
    const picked = o.pick.kind === 'fixed' ? o.pick.picks.get(spec.name) : undefined;
    const pickFlags = picked === undefined ? undefined : unpack(picked);
    for (let i = 0; i < size; i++) {
      const c = owners[i]!;
      if (everything || c === task) {
        ownFlag[i] = 1;
        own[i] = w[i]!;
      } else if (c >= 1 && c < task && o.pick.kind !== 'none' && (pickFlags === undefined || pickFlags[i] === 1)) {
        old[i] = w[i]!;
        anyOld = true;
      }
    }
    slots.push({
      name: spec.name,
      shape: spec.shape,
      own,
      ownFlag,
      frozen: !everything && anyOld ? old : undefined,
      pickInit: o.pick.kind === 'train' ? pickStart(o.pick, spec.name, size, threshold) : undefined,
    });
  }
  // GPU backends keep the tensors on the device: reading them back each step would cost more than the step.
  const kind = o.store ?? (['tensorflow', 'webgl', 'webgpu'].includes(tf.getBackend()) ? 'device' : 'host');
  const store: SharedStore = kind === 'host' ? hostStore(slots, threshold) : deviceStore(slots, threshold);
  const privates: PrivateSlot[] = specs
    .filter((s) => s.role === 'private')
    .map((s) => ({
      name: s.name,
      value: variableFrom(tf.tensor(privValues.get(s.name)!, [...s.shape]), s.trainable),
      velocity: s.trainable ? variableFrom(tf.zeros([...s.shape]), false) : undefined,
    }));
  const privByName = new Map(privates.map((p) => [p.name, p] as const));
  const trainablePrivates = privates.filter((p) => p.velocity !== undefined);
  let adamStep = 0;

  const step: Session['step'] = (x, y, count, lr, lrMask) =>
    attempt(async () => {
      const stats = new Map<string, BatchStats>();
      const effs = store.effective();
      const names = [...effs.keys()];
      const xs = tf.tensor2d(x, [count, x.length / count]);
      const ys = tf.tensor1d(y, 'int32');
      let correct: tf.Tensor | undefined;
      // Gradients with respect to the effective weights and the trainable private tensors.
      const lossOf = (...args: tf.Tensor[]): tf.Scalar => {
        const logits = forward(graph, lookupOf(names, trainablePrivates, privByName, args), xs, true, stats);
        for (const st of stats.values()) {
          tf.keep(st.mean);
          tf.keep(st.variance);
        }
        correct = tf.keep(tf.sum(tf.cast(tf.equal(tf.argMax(logits, 1), ys), 'float32')));
        return tf.losses.softmaxCrossEntropy(tf.oneHot(ys, logits.shape[1]!), logits) as tf.Scalar;
      };
      const { value, grads } = tf.valueAndGrads(lossOf)([...effs.values(), ...trainablePrivates.map((p) => p.value)]);
      let loss = Number.NaN;
      let nCorrect = 0;
      try {
        // The one read of a step: whether the loss is finite decides whether anything is updated.
        const [lv, cv] = await Promise.all([value.data(), correct!.data()]);
        loss = lv[0]!;
        nCorrect = cv[0]!;
        if (Number.isFinite(loss)) {
          if (store.picking && lrMask > 0) adamStep += 1;
          store.update(new Map(names.map((n, i) => [n, grads[i]!] as const)), {
            lr,
            lrMask,
            weightDecay: o.weightDecay,
            momentum: o.momentum,
            adamStep: Math.max(1, adamStep),
          });
          updatePrivates(grads.slice(names.length), lr, stats);
        }
      } finally {
        tf.dispose([xs, ys, value, ...(correct !== undefined ? [correct] : []), ...grads, ...effs.values()]);
        for (const st of stats.values()) tf.dispose([st.mean, st.variance]);
      }
      if (!Number.isFinite(loss))
        return E.left<CpgError, StepResult>(numericError(`the training loss of task ${task} became ${loss} (learning rate ${lr}); no weight was updated by that step`));
      return E.right({ loss, correct: nCorrect, count });
    });

  const updatePrivates = (grads: readonly tf.Tensor[], lr: number, stats: Map<string, BatchStats>): void => {
    const mu = o.momentum;
    tf.tidy(() => {
      trainablePrivates.forEach((p, j) => {
        const g = grads[j]!;
        const v = tf.add(tf.mul(p.velocity!, mu), g);
        p.velocity!.assign(v);
        p.value.assign(tf.sub(p.value, tf.mul(tf.add(g, tf.mul(v, mu)), lr)));
      });
      for (const [node, st] of stats) {
        const mean = privByName.get(`${node}/movingMean`)!.value;
        const variance = privByName.get(`${node}/movingVar`)!.value;
        const unbiased = st.count > 1 ? tf.mul(st.variance, st.count / (st.count - 1)) : st.variance;
        mean.assign(tf.add(tf.mul(mean, 1 - BN_MOMENTUM), tf.mul(st.mean, BN_MOMENTUM)));
        variance.assign(tf.add(tf.mul(variance, 1 - BN_MOMENTUM), tf.mul(unbiased, BN_MOMENTUM)));
      }
    });
  };

  const evaluate: Session['evaluate'] = (x, y, count, batchSize) =>
    attempt(async () => {
      // The effective weights do not change during an evaluation: compute them once.
      const effs = store.effective();
      try {
        return await evaluateWith(graph, (name) => effs.get(name) ?? privByName.get(name)!.value, x, y, count, batchSize)();
      } finally {
        tf.dispose([...effs.values()]);
      }
    });

  const prune: Session['prune'] = (sparsity) =>
    attempt(async () => {
      if (everything) return E.left<CpgError, void>(lifecycleError('compacting needs owner maps; this session ignores them'));
      let next = backbone;
      const released: [string, Int32Array][] = [];
      for (const name of store.names) {
        const r = pruneByMagnitude(task, sparsity, await store.own(name), o.unclaimed?.get(name) ?? 0)(next.owners.get(name)!);
        if (E.isLeft(r)) return r;
        if (r.right.released.length === 0) continue;
        const b = releaseCells(task, name, r.right.released)(next);
        if (E.isLeft(b)) return b;
        next = b.right;
        released.push([name, r.right.released]);
      }
      // Released weights are zero and inert at once: value, momentum and own flag cleared.
      for (const [name, cells] of released) store.release(name, cells);
      backbone = next;
      return E.right(undefined);
    });

  const ownedCount = (): number => {
    let n = 0;
    for (const name of store.names) {
      const flags = store.flags(name);
      for (let i = 0; i < flags.length; i++) n += flags[i]!;
    }
    return n;
  };

  const picks: Session['picks'] = () =>
    attempt(async () => {
      const out = new Map<string, PickMask>();
      for (const name of store.names) {
        const owners: OwnerMap = backbone.owners.get(name)!;
        const size = owners.cells.length;
        const real = await store.pickReal(name);
        const isOld = (i: number) => {
          const c = owners.cells[i]!;
          return c >= 1 && c < task;
        };
        if (everything) out.set(name, emptyPick(size));
        else if (real !== undefined) {
          const bits = unpack(binarize(real, threshold));
          for (let i = 0; i < size; i++) if (!isOld(i)) bits[i] = 0;
          out.set(name, pack(bits));
        } else if (o.pick.kind === 'fixed' && o.pick.picks.has(name)) out.set(name, o.pick.picks.get(name)!);
        else if (o.pick.kind === 'all' || o.pick.kind === 'train') out.set(name, pack(Uint8Array.from({ length: size }, (_, i) => (isOld(i) ? 1 : 0))));
        else out.set(name, emptyPick(size));
      }
      return E.right<CpgError, ReadonlyMap<string, PickMask>>(out);
    });

  const exportState: Session['export'] = () =>
    attempt(async () => {
      const sharable = new Map(state.sharable);
      for (const name of store.names) {
        const prev = state.sharable.get(name)!;
        const own = await store.own(name);
        const before = state.backbone.owners.get(name)!.cells;
        const out = Float32Array.from(prev);
        for (let i = 0; i < out.length; i++) if (everything || before[i] === task) out[i] = own[i]!;
        sharable.set(name, out);
      }
      const values = new Map<string, Float32Array>();
      for (const p of privates) values.set(p.name, Float32Array.from((await p.value.data()) as Float32Array));
      const privatesOut = new Map(state.privates);
      privatesOut.set(task, { ...state.privates.get(task)!, values });
      return E.right<CpgError, NetState>({ backbone, sharable, privates: privatesOut });
    });

  const findNonFinite: Session['findNonFinite'] = () =>
    attempt(async () => {
      for (const name of store.names) {
        const bad = nonFiniteIn(name, await store.own(name)) ?? nonFiniteIn(`${name} (pick mask)`, (await store.pickReal(name)) ?? []);
        if (bad !== undefined) return E.right<CpgError, string | undefined>(bad);
      }
      for (const p of privates) {
        const bad = nonFiniteIn(p.name, await p.value.data());
        if (bad !== undefined) return E.right<CpgError, string | undefined>(bad);
      }
      return E.right<CpgError, string | undefined>(undefined);
    });

  const dispose = (): void => {
    store.dispose();
    for (const p of privates) {
      p.value.dispose();
      p.velocity?.dispose();
    }
  };

  return { task, graph, step, evaluate, prune, ownedCount, picks, findNonFinite, export: exportState, dispose };
};
