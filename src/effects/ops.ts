/**
 * Tensor operations the library needs beyond tfjs's own: batch
 * normalisation for training with a closed-form gradient (tfjs's batchNorm
 * gradient goes through Tile, about a second per VGG-small step on wasm), and
 * its inference form. Channels are the last axis; statistics are taken over
 * all the others (PyTorch's BatchNorm semantics).
 */
import * as tf from '@tensorflow/tfjs';

const leadingAxes = (rank: number): number[] => Array.from({ length: rank - 1 }, (_, i) => i);

/** Output of a training-mode batch norm. */
export interface BatchNormTrainResult {
  /** The normalised, scaled and shifted input. */
  readonly y: tf.Tensor;
  /** Per-channel batch mean. */
  readonly mean: tf.Tensor1D;
  /** Per-channel biased batch variance (divides by `count`): the one `y` is normalised with. */
  readonly variance: tf.Tensor1D;
  /**
   * Elements per channel. A running-variance update in PyTorch's manner uses
   * the unbiased variance, `variance · count / (count − 1)`.
   */
  readonly count: number;
}

/**
 * Training-mode batch norm over all axes but the last: y plus the batch mean
 * and (biased) variance, for running statistics. Gradients flow to x, gamma
 * and beta only (never through `mean`/`variance`, which are statistics), and
 * equal the autodiff of the plain formula
 *   y = gamma · (x − mean) / sqrt(variance + eps) + beta.
 */
export const batchNormTrain = (x: tf.Tensor, gamma: tf.Tensor1D, beta: tf.Tensor1D, eps: number): BatchNormTrainResult => {
  const axes = leadingAxes(x.rank);
  const channels = x.shape[x.rank - 1] ?? 1;
  const count = x.size / channels;
  const { y, mean, variance } = tf.tidy(() => {
    const mean = tf.mean(x, axes) as tf.Tensor1D;
    const centred = tf.sub(x, mean);
    const variance = tf.mean(tf.square(centred), axes) as tf.Tensor1D;
    // The statistics are computed outside the custom gradient (the tape never
    // needs them: the loss sees them only through this op) and closed over.
    const normalise = tf.customGrad((...args) => {
      const [, g, b] = args as [tf.Tensor, tf.Tensor1D, tf.Tensor1D];
      const save = args[3] as tf.GradSaveFunc;
      const inv = tf.rsqrt(tf.add(variance, eps));
      const xhat = tf.mul(centred, inv);
      save([xhat, inv, g]);
      return {
        value: tf.add(tf.mul(xhat, g), b),
        gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
          const [xh, iv, gm] = saved as [tf.Tensor, tf.Tensor1D, tf.Tensor1D];
          const dbeta = tf.sum(dy, axes) as tf.Tensor1D;
          const dgamma = tf.sum(tf.mul(dy, xh), axes) as tf.Tensor1D;
          // dx = k·(dy − dbeta/N − xhat·dgamma/N), k = gamma/sqrt(var+eps),
          // folded into per-channel vectors: dy·k + xhat·c1 + c0.
          const k = tf.mul(gm, iv);
          const c1 = tf.mul(k, tf.mul(dgamma, -1 / count));
          const c0 = tf.mul(k, tf.mul(dbeta, -1 / count));
          const dx = tf.add(tf.add(tf.mul(dy, k), tf.mul(xh, c1)), c0);
          return [dx, dgamma, dbeta];
        },
      };
    });
    return { y: normalise(x, gamma, beta), mean, variance };
  });
  return { y, mean, variance, count };
};

/** Inference-mode batch norm with running statistics: gamma · (x − mean) / sqrt(var + eps) + beta. */
export const batchNormInfer = (
  x: tf.Tensor,
  gamma: tf.Tensor1D,
  beta: tf.Tensor1D,
  movingMean: tf.Tensor1D,
  movingVar: tf.Tensor1D,
  eps: number,
): tf.Tensor =>
  tf.tidy(() => {
    const scale = tf.mul(gamma, tf.rsqrt(tf.add(movingVar, eps)));
    const shift = tf.sub(beta, tf.mul(movingMean, scale));
    return tf.add(tf.mul(x, scale), shift);
  });
