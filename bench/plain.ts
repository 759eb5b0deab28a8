/**
 * The 'plain' mode of the step benchmark: an ordinary, unmasked training step
 * written with raw tfjs ops (conv2d, matMul, maxPool, our batchNormTrain,
 * softmax cross-entropy, variableGrads) and SGD with Nesterov momentum 0.9 —
 * the baseline the library's own interpreter is measured against. Data are
 * synthetic (timing does not depend on values); weights are He-initialised
 * from seeded streams.
 */
import * as tf from '@tensorflow/tfjs-core';
import { batchNormTrain } from '../src/effects/ops.js';
import { rngFor } from '../src/effects/random.js';
import type { BenchNet, MakeStep } from './harness.js';

const CLASSES = 10;
const BN_MOMENTUM = 0.1;
const BN_EPS = 1e-5;

const normal = (label: string, shape: number[], std: number): tf.Tensor => {
  const rng = rngFor(0, label);
  const n = shape.reduce((p, d) => p * d, 1);
  return tf.tensor(Float32Array.from({ length: n }, () => rng.normal() * std), shape);
};

/** The parameters of a net, created once per benchmark. */
class Params {
  readonly trainable: tf.Variable[] = [];
  private static made = 0;
  /** Variable names are global in tfjs: each Params gets its own prefix. */
  private readonly prefix = `plain${Params.made++}/`;
  weight(name: string, shape: number[], fanIn: number): tf.Variable {
    const v = tf.variable(normal(name, shape, Math.sqrt(2 / fanIn)), true, this.prefix + name);
    this.trainable.push(v);
    return v;
  }
  constant(name: string, shape: number[], value: number, trainable = true): tf.Variable {
    const v = tf.variable(tf.fill(shape, value), trainable, this.prefix + name);
    if (trainable) this.trainable.push(v);
    return v;
  }
}

type Layer = (x: tf.Tensor) => tf.Tensor;

const dense = (p: Params, name: string, inputs: number, units: number, relu: boolean): Layer => {
  const w = p.weight(`${name}/kernel`, [inputs, units], inputs);
  const b = p.constant(`${name}/bias`, [units], 0);
  return (x) => {
    const y = tf.add(tf.matMul(x as tf.Tensor2D, w as tf.Tensor2D), b);
    return relu ? tf.relu(y) : y;
  };
};

const conv = (p: Params, name: string, k: number, cin: number, cout: number, bias: boolean): Layer => {
  const w = p.weight(`${name}/kernel`, [k, k, cin, cout], k * k * cin);
  const b = bias ? p.constant(`${name}/bias`, [cout], 0) : undefined;
  return (x) => {
    const y = tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 1, 'same');
    return b === undefined ? y : tf.add(y, b);
  };
};

/** Training-mode batch norm whose running statistics move by momentum 0.1 (PyTorch's). */
const batchNorm = (p: Params, name: string, channels: number): Layer => {
  const gamma = p.constant(`${name}/gamma`, [channels], 1) as tf.Variable<tf.Rank.R1>;
  const beta = p.constant(`${name}/beta`, [channels], 0) as tf.Variable<tf.Rank.R1>;
  const runMean = p.constant(`${name}/mean`, [channels], 0, false);
  const runVar = p.constant(`${name}/var`, [channels], 1, false);
  return (x) => {
    const r = batchNormTrain(x, gamma, beta, BN_EPS);
    const unbiased = tf.mul(r.variance, r.count / Math.max(1, r.count - 1));
    runMean.assign(tf.add(tf.mul(runMean, 1 - BN_MOMENTUM), tf.mul(r.mean, BN_MOMENTUM)));
    runVar.assign(tf.add(tf.mul(runVar, 1 - BN_MOMENTUM), tf.mul(unbiased, BN_MOMENTUM)));
    return r.y;
  };
};

const relu: Layer = (x) => tf.relu(x);
const pool: Layer = (x) => tf.maxPool(x as tf.Tensor4D, 2, 2, 'valid');
const flatten: Layer = (x) => tf.reshape(x, [x.shape[0]!, -1]);

/** The layers of each benchmark net (as in src/algebra/architectures.ts) and its input shape. */
const build = (net: BenchNet, p: Params): { input: number[]; layers: Layer[] } => {
  switch (net) {
    case 'mlp':
      return { input: [784], layers: [dense(p, 'dense1', 784, 400, true), dense(p, 'dense2', 400, 400, true), dense(p, 'head', 400, CLASSES, false)] };
    case 'lenet':
      return {
        input: [28, 28, 1],
        layers: [
          conv(p, 'conv1', 5, 1, 20, true), relu, pool,
          conv(p, 'conv2', 5, 20, 50, true), relu, pool,
          flatten, dense(p, 'dense1', 7 * 7 * 50, 500, true), dense(p, 'head', 500, CLASSES, false),
        ],
      };
    case 'vgg-small': {
      const layers: Layer[] = [];
      let cin = 3;
      let i = 0;
      for (const v of [64, 64, 'M', 128, 128, 'M', 256, 256, 'M'] as const) {
        if (v === 'M') layers.push(pool);
        else {
          i++;
          layers.push(conv(p, `conv${i}`, 3, cin, v, false), batchNorm(p, `bn${i}`, v), relu);
          cin = v;
        }
      }
      layers.push(flatten, dense(p, 'head', 4 * 4 * 256, CLASSES, false));
      return { input: [32, 32, 3], layers };
    }
  }
};

/** 'plain': one SGD step (Nesterov momentum 0.9) on a fixed synthetic batch; reads the loss back. */
export const makePlainStep: MakeStep = async (net, batch) => {
  const p = new Params();
  const { input, layers } = build(net, p);
  const x = normal(`data/${net}`, [batch, ...input], 1);
  const rng = rngFor(0, `labels/${net}`);
  const labels = tf.oneHot(tf.tensor1d(Array.from({ length: batch }, () => rng.int(CLASSES)), 'int32'), CLASSES);
  const optimizer = tf.train.momentum(0.01, 0.9, true);
  return async () => {
    const { value, grads } = tf.variableGrads(() => {
      const logits = layers.reduce((h, layer) => layer(h), x);
      return tf.losses.softmaxCrossEntropy(labels, logits) as tf.Scalar;
    }, p.trainable);
    optimizer.applyGradients(Object.entries(grads).map(([name, tensor]) => ({ name, tensor })));
    const loss = (await value.data())[0]!;
    tf.dispose([value, ...Object.values(grads)]);
    if (!Number.isFinite(loss)) throw new Error(`non-finite loss ${loss}`);
  };
};
