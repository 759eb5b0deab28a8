/**
 * Inference for any finished task, from the network's values alone: the
 * current sharable tensors sliced back to the task's width, masked by the
 * task's effective selector (CPG-SPEC §2), with the task's private tensors.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as E from 'fp-ts/lib/Either.js';
import type * as TE from 'fp-ts/lib/TaskEither.js';
import { type CpgError, backendError, internalError, lifecycleError } from '../algebra/errors.js';
import { type Graph, paramSpecs } from '../algebra/graph.js';
import { type TaskId, graphAt, selectorOf } from '../algebra/backbone.js';
import { type ParamLookup, forward } from './forward.js';
import { type NetState, sharableAtTask } from './network.js';

/** Accuracy and mean loss over a split. */
export interface Evaluation {
  readonly accuracy: number;
  readonly loss: number;
  readonly count: number;
}

/** What tfjs threw (a kernel that fails, a lost device): a failure nothing above expected, as the stream reports any throw. */
const backendFailure = (e: unknown): CpgError => internalError(e);

/**
 * Evaluate a graph with given parameters over (x, y) in batches. Results are
 * read back with `await data()`, never synchronously, so it runs on every
 * backend (tfjs's webgpu has no synchronous read in Node).
 */
export const evaluateWith =
  (graph: Graph, param: ParamLookup, x: Float32Array, y: Int32Array, count: number, batchSize: number): TE.TaskEither<CpgError, Evaluation> =>
  () =>
    (async (): Promise<E.Either<CpgError, Evaluation>> => {
      const features = count === 0 ? 0 : x.length / count;
      let correct = 0;
      let lossSum = 0;
      for (let start = 0; start < count; start += batchSize) {
        const n = Math.min(batchSize, count - start);
        const [ok, loss] = tf.tidy(() => {
          const xs = tf.tensor2d(x.subarray(start * features, (start + n) * features), [n, features]);
          const ys = tf.tensor1d(y.subarray(start, start + n), 'int32');
          const logits = forward(graph, param, xs, false);
          const l = tf.losses.softmaxCrossEntropy(tf.oneHot(ys, logits.shape[1]!), logits, undefined, undefined, tf.Reduction.SUM);
          return [tf.sum(tf.cast(tf.equal(tf.argMax(logits, 1), ys), 'float32')), l] as const;
        });
        try {
          const [c, l] = await Promise.all([ok.data(), loss.data()]);
          correct += c[0]!;
          lossSum += l[0]!;
        } finally {
          tf.dispose([ok, loss]);
        }
      }
      return E.right({ accuracy: count === 0 ? 0 : correct / count, loss: count === 0 ? 0 : lossSum / count, count });
    })().catch((e: unknown) => E.left(backendFailure(e)));

/** One batch of logits as a tensor (the caller disposes it). */
const logitsBatch = (graph: Graph, param: ParamLookup, x: Float32Array, features: number, start: number, n: number): tf.Tensor =>
  tf.tidy(() => forward(graph, param, tf.tensor2d(x.subarray(start * features, (start + n) * features), [n, features]), false));

const concatParts = (parts: readonly Float32Array[]): Float32Array => {
  const out = new Float32Array(parts.reduce((a, p) => a + p.length, 0));
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
};

/** Logits for `count` examples, row-major [count, classes], read back asynchronously (every backend, webgpu included). */
export const logitsWith =
  (graph: Graph, param: ParamLookup, x: Float32Array, count: number, batchSize: number): TE.TaskEither<CpgError, Float32Array> =>
  () =>
    (async (): Promise<E.Either<CpgError, Float32Array>> => {
      const features = count === 0 ? 0 : x.length / count;
      const parts: Float32Array[] = [];
      for (let start = 0; start < count; start += batchSize) {
        const t = logitsBatch(graph, param, x, features, start, Math.min(batchSize, count - start));
        try {
          parts.push((await t.data()) as Float32Array);
        } finally {
          t.dispose();
        }
      }
      return E.right(concatParts(parts));
    })().catch((e: unknown) => E.left(backendFailure(e)));

/**
 * `logitsWith`, read back synchronously: for the synchronous model API
 * (`Model.logits`, `Model.predict`). Backends with a synchronous read only
 * (wasm, cpu, tensorflow, webgl); on webgpu it is a BackendError that names
 * the asynchronous twins.
 */
export const logitsSync = (graph: Graph, param: ParamLookup, x: Float32Array, count: number, batchSize: number): E.Either<CpgError, Float32Array> => {
  if (tf.getBackend() === 'webgpu')
    return E.left(backendError('webgpu', 'webgpu has no synchronous read: use logitsAsync or predictAsync, or open the model on wasm or cpu (CPG_BACKEND=wasm)'));
  const features = count === 0 ? 0 : x.length / count;
  const parts: Float32Array[] = [];
  for (let start = 0; start < count; start += batchSize) {
    const t = logitsBatch(graph, param, x, features, start, Math.min(batchSize, count - start));
    try {
      parts.push(t.dataSync() as Float32Array);
    } finally {
      t.dispose();
    }
  }
  return E.right(concatParts(parts));
};

/** A finished task's network, ready for inference. Dispose when done. */
export interface TaskModel {
  readonly task: TaskId;
  readonly graph: Graph;
  readonly param: ParamLookup;
  /**
   * A parameter's values as the host built them (what `param` uploaded):
   * for exports, which need them on the host, without reading back from the
   * backend (webgpu has no synchronous read in Node).
   */
  readonly hostValues: (name: string) => Float32Array;
  readonly dispose: () => void;
}

/**
 * Build task `task`'s network from the state alone (recomputed, never cached
 * across states). `ignoreOwners` evaluates with the shared weights as they
 * are now, unmasked — the fine-tune baseline, which keeps no owner maps.
 */
export const taskModel = (s: NetState, task: TaskId, ignoreOwners = false): E.Either<CpgError, TaskModel> => {
  const record = s.backbone.finished[task - 1];
  const priv = s.privates.get(task);
  if (record === undefined || priv === undefined)
    return E.left(lifecycleError(`task ${task} is not finished: there is no network to evaluate for it`));
  const sliced = sharableAtTask(s, task);
  if (E.isLeft(sliced)) return sliced;
  const selector = ignoreOwners ? E.right(undefined) : selectorOf(task)(s.backbone);
  if (E.isLeft(selector)) return selector;
  const graph = graphAt(s.backbone, record.multiplier);
  const specs = paramSpecs(graph, priv.classes);
  if (E.isLeft(specs)) return specs;
  const shapes = new Map(specs.right.map((p) => [p.name, [...p.shape]]));
  const tensors = new Map<string, tf.Tensor>();
  const host = new Map<string, Float32Array>();
  for (const [name, w] of sliced.right) {
    const sel = selector.right?.get(name);
    const eff = new Float32Array(w.length);
    for (let i = 0; i < w.length; i++) eff[i] = sel === undefined || sel[i] === 1 ? w[i]! : 0;
    host.set(name, eff);
    tensors.set(name, tf.tensor(eff, shapes.get(name)!));
  }
  for (const [name, v] of priv.values) {
    host.set(name, v);
    tensors.set(name, tf.tensor(v, shapes.get(name)!));
  }
  return E.right({
    task,
    graph,
    param: (name) => tensors.get(name)!,
    hostValues: (name) => host.get(name)!,
    dispose: () => tf.dispose([...tensors.values()]),
  });
};
