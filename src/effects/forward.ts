/**
 * The graph interpreter: runs a Graph on a batch with whatever tensors the
 * caller supplies for its parameters. Masking, picking and per-task private
 * parameters are the caller's business (see trainer.ts, evaluate.ts); this
 * module only knows how each node computes.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Graph, Node } from '../algebra/graph.js';
import { batchNormInfer, batchNormTrain } from './ops.js';

/** Batch-norm epsilon, as PyTorch's BatchNorm2d. */
export const BN_EPS = 1e-5;

/** Parameter lookup by ParamSpec name (e.g. 'conv1/kernel', 'bn1/gamma'). */
export type ParamLookup = (name: string) => tf.Tensor;

/** Batch statistics a training forward pass produced, per batch-norm node. */
export interface BatchStats {
  readonly mean: tf.Tensor1D;
  readonly variance: tf.Tensor1D;
  readonly count: number;
}

/**
 * Logits of the graph for a batch `x` ([B, ...] with the input's number of
 * features per example). With `training`, batch norm normalises with batch
 * statistics and reports them in `stats` (the caller updates running ones).
 */
export const forward = (
  g: Graph,
  param: ParamLookup,
  x: tf.Tensor,
  training: boolean,
  stats?: Map<string, BatchStats>,
): tf.Tensor2D => {
  const values = new Map<string, tf.Tensor>();
  const get = (id: string): tf.Tensor => values.get(id)!;
  const batch = x.shape[0]!;
  let out: tf.Tensor | undefined;
  for (const n of g.nodes) {
    const y = step(n, get, param, x, batch, training, stats);
    values.set(n.id, y);
    out = y;
  }
  return out as tf.Tensor2D;
};

const step = (
  n: Node,
  get: (id: string) => tf.Tensor,
  param: ParamLookup,
  x: tf.Tensor,
  batch: number,
  training: boolean,
  stats: Map<string, BatchStats> | undefined,
): tf.Tensor => {
  switch (n.kind) {
    case 'input':
      return tf.reshape(x, [batch, ...n.shape]);
    case 'conv2d': {
      const y = tf.conv2d(get(n.input) as tf.Tensor4D, param(`${n.id}/kernel`) as tf.Tensor4D, n.stride, n.padding);
      return n.bias ? tf.add(y, param(`${n.id}/bias`)) : y;
    }
    case 'dense':
      return tf.add(tf.matMul(get(n.input) as tf.Tensor2D, param(`${n.id}/kernel`) as tf.Tensor2D), param(`${n.id}/bias`));
    case 'batchNorm': {
      const gamma = param(`${n.id}/gamma`) as tf.Tensor1D;
      const beta = param(`${n.id}/beta`) as tf.Tensor1D;
      const input = get(n.input);
      if (!training)
        return batchNormInfer(input, gamma, beta, param(`${n.id}/movingMean`) as tf.Tensor1D, param(`${n.id}/movingVar`) as tf.Tensor1D, BN_EPS);
      const r = batchNormTrain(input, gamma, beta, BN_EPS);
      stats?.set(n.id, { mean: r.mean, variance: r.variance, count: input.size / input.shape[input.shape.length - 1]! });
      return r.y;
    }
    case 'relu':
      return tf.relu(get(n.input));
    case 'maxPool':
      return tf.maxPool(get(n.input) as tf.Tensor4D, n.size, n.stride, 'valid');
    case 'globalAvgPool':
      return tf.mean(get(n.input), [1, 2]);
    case 'flatten':
      return tf.reshape(get(n.input), [batch, -1]);
    case 'add':
      return tf.add(get(n.inputs[0]), get(n.inputs[1]));
    case 'head':
      return tf.add(tf.matMul(get(n.input) as tf.Tensor2D, param('head/kernel') as tf.Tensor2D), param('head/bias'));
  }
};
