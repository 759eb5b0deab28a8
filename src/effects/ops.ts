/**
 * Tensor operations the library needs beyond tfjs's own: batch
 * normalisation for training with a closed-form gradient (tfjs's batchNorm
 * gradient goes through Tile, about a second per VGG-small step on wasm), and
 * its inference form. Channels are the last axis; statistics are taken over
 * all the others (PyTorch's BatchNorm semantics).
 */
import * as tf from '@tensorflow/tfjs-core';

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
  const channels = x.shape[x.rank - 1] ?? 1;
  const count = x.size / channels;
  const { y, mean, variance } = hasKernels(batchNormKernels) ? batchNormByKernels(x, gamma, beta, eps) : batchNormByOps(x, gamma, beta, eps);
  return { y, mean, variance, count };
};

type Parts = { y: tf.Tensor; mean: tf.Tensor1D; variance: tf.Tensor1D };

const batchNormKernels = ['CpgBatchNormStats', 'CpgBatchNormGradSums'] as const;

/** Whether the current backend has these kernels (the wasm backend, once ours are installed). */
const hasKernels = (names: readonly string[]): boolean => {
  const backend = tf.getBackend();
  return names.every((n) => tf.getKernel(n, backend) !== undefined);
};

const run = (name: string, inputs: tf.NamedTensorMap, attrs: tf.NamedAttrMap = {}): tf.Tensor[] => {
  const out = tf.engine().runKernel(name, inputs, attrs);
  return Array.isArray(out) ? out : [out];
};

/**
 * With the backend's reduction kernels (one pass each for the statistics and
 * for the parameter gradients; no transposes) and tfjs ops for the
 * elementwise rest. x̂ is recomputed in the backward pass, not stored.
 */
const batchNormByKernels = (x: tf.Tensor, gamma: tf.Tensor1D, beta: tf.Tensor1D, eps: number): Parts =>
  tf.tidy(() => {
    const [mean, variance, inv] = run('CpgBatchNormStats', { x }, { eps }) as [tf.Tensor1D, tf.Tensor1D, tf.Tensor1D];
    const count = x.size / (x.shape[x.rank - 1] ?? 1);
    const normalise = tf.customGrad((...args) => {
      const [xx, g, b] = args as [tf.Tensor, tf.Tensor1D, tf.Tensor1D];
      const save = args[3] as tf.GradSaveFunc;
      save([xx, mean, inv, g]);
      return {
        value: tf.add(tf.mul(tf.sub(xx, mean), tf.mul(inv, g)), b),
        gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
          const [sx, sm, si, sg] = saved as [tf.Tensor, tf.Tensor1D, tf.Tensor1D, tf.Tensor1D];
          const [dgamma, dbeta] = run('CpgBatchNormGradSums', { dy, x: sx, mean: sm, inv: si }) as [tf.Tensor1D, tf.Tensor1D];
          // dx = k·(dy − dbeta/N − x̂·dgamma/N) with k = gamma·inv and x̂ = (x − mean)·inv.
          const k = tf.mul(sg, si);
          const cx = tf.mul(k, tf.mul(si, tf.mul(dgamma, -1 / count)));
          const c0 = tf.mul(k, tf.mul(dbeta, -1 / count));
          const dx = tf.add(tf.add(tf.mul(dy, k), tf.mul(tf.sub(sx, sm), cx)), c0);
          return [dx, dgamma, dbeta];
        },
      };
    });
    return { y: normalise(x, gamma, beta), mean, variance };
  });

/** With plain tfjs ops (any backend). */
const batchNormByOps = (x: tf.Tensor, gamma: tf.Tensor1D, beta: tf.Tensor1D, eps: number): Parts => {
  const axes = leadingAxes(x.rank);
  const count = x.size / (x.shape[x.rank - 1] ?? 1);
  return tf.tidy(() => {
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
