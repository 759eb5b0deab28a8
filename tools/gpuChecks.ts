/**
 * The numerical checks of a GPU backend against tfjs's cpu backend, shared by
 * the webgpu test (test/effects/webgpu.test.ts) and `npm run check:gpu`:
 *
 * - the gradients of a small CNN (a stride-2 'same' convolution, a second
 *   convolution, a dense layer, softmax cross-entropy);
 * - one masked CPG training step of the library's own session (task 2 over
 *   a finished task 1, the pick mask training with Adam): the weights after
 *   the step, and task 1's frozen cells, which must be bit-for-bit what they
 *   were;
 * - one finished task's logits.
 *
 * Every input is made on the host from seeded streams and uploaded to each
 * backend separately: tfjs would otherwise move a webgpu tensor to the cpu
 * with a synchronous read, which webgpu cannot do in Node.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as E from 'fp-ts/lib/Either.js';
import type * as TE from 'fp-ts/lib/TaskEither.js';
import { describeError, type CpgError } from '../src/algebra/errors.js';
import type { Graph } from '../src/algebra/graph.js';
import { claimAll, finishTask } from '../src/algebra/backbone.js';
import { type NetState, initNet, startTaskPrivates } from '../src/effects/network.js';
import { type SessionOptions, openSession } from '../src/effects/trainer.js';
import { logitsWith, taskModel } from '../src/effects/evaluate.js';
import { rngFor } from '../src/effects/random.js';
import { selectBackend, type BackendName } from '../src/node/backend.js';

const right = <A>(e: E.Either<CpgError, A>): A => {
  if (E.isLeft(e)) throw new Error(describeError(e.left));
  return e.right;
};
const run = async <A>(te: TE.TaskEither<CpgError, A>): Promise<A> => right(await te());

/** Sets a backend that is already loaded (or loads it); throws with the reason when it cannot. */
export const useBackend = async (name: BackendName): Promise<void> => {
  await run(selectBackend({ prefer: name }));
};

/** How far `a` is from `b`: the largest absolute difference, and that over the largest magnitude in `b`. */
export interface Difference {
  readonly maxAbs: number;
  readonly relative: number;
  readonly scale: number;
}

export const difference = (a: Float32Array, b: Float32Array): Difference => {
  if (a.length !== b.length) return { maxAbs: Number.POSITIVE_INFINITY, relative: Number.POSITIVE_INFINITY, scale: 0 };
  let maxAbs = 0;
  let scale = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i]! - b[i]!);
    maxAbs = Number.isNaN(d) ? Number.POSITIVE_INFINITY : Math.max(maxAbs, d);
    scale = Math.max(scale, Math.abs(b[i]!));
  }
  return { maxAbs, relative: maxAbs / Math.max(scale, 1e-30), scale };
};

const normal = (seed: number, label: string, n: number, std = 1): Float32Array => {
  const rng = rngFor(seed, label);
  return Float32Array.from({ length: n }, () => rng.normal() * std);
};

// ---- gradients of a small CNN ----------------------------------------------

const cnn = { batch: 8, size: 12, cin: 3, c1: 8, c2: 16, classes: 5 } as const;

/** The gradients (by parameter name) of a small CNN's loss, on the backend that is set now. */
export const cnnGradients = async (seed = 1): Promise<Map<string, Float32Array>> => {
  const { batch, size, cin, c1, c2, classes } = cnn;
  const flat = Math.ceil(size / 2) * Math.ceil(size / 2) * c2;
  const host = {
    x: normal(seed, 'x', batch * size * size * cin),
    w1: normal(seed, 'w1', 3 * 3 * cin * c1, Math.sqrt(2 / (9 * cin))),
    w2: normal(seed, 'w2', 3 * 3 * c1 * c2, Math.sqrt(2 / (9 * c1))),
    w3: normal(seed, 'w3', flat * classes, Math.sqrt(2 / flat)),
    b3: normal(seed, 'b3', classes, 0.1),
  };
  const labels = Int32Array.from({ length: batch }, (_, i) => (i * 3) % classes);
  const x = tf.tensor4d(host.x, [batch, size, size, cin]);
  const y = tf.oneHot(tf.tensor1d(labels, 'int32'), classes);
  const params = {
    w1: tf.tensor4d(host.w1, [3, 3, cin, c1]),
    w2: tf.tensor4d(host.w2, [3, 3, c1, c2]),
    w3: tf.tensor2d(host.w3, [flat, classes]),
    b3: tf.tensor1d(host.b3),
  };
  const names = Object.keys(params) as (keyof typeof params)[];
  const grads = tf.grads((w1: tf.Tensor, w2: tf.Tensor, w3: tf.Tensor, b3: tf.Tensor) => {
    const h1 = tf.relu(tf.conv2d(x, w1 as tf.Tensor4D, 1, 'same'));
    const h2 = tf.relu(tf.conv2d(h1, w2 as tf.Tensor4D, 2, 'same'));
    const logits = tf.add(tf.matMul(tf.reshape(h2, [batch, flat]), w3 as tf.Tensor2D), b3);
    return tf.losses.softmaxCrossEntropy(y, logits);
  })(names.map((n) => params[n]));
  const out = new Map<string, Float32Array>();
  try {
    for (const [i, n] of names.entries()) out.set(n, (await grads[i]!.data()) as Float32Array);
  } finally {
    tf.dispose([x, y, ...Object.values(params), ...grads]);
  }
  return out;
};

// ---- one masked CPG step ---------------------------------------------------

/** A small CNN as a cpg graph: conv, batch norm, pool, a stride-2 conv, dense, head. */
export const checkGraph = (): Graph => ({
  name: 'check-cnn',
  multiplier: 1,
  init: 'he-fan-in',
  nodes: [
    { kind: 'input', id: 'input', shape: [12, 12, 2] },
    { kind: 'conv2d', id: 'conv1', input: 'input', filters: 8, baseFilters: 8, kernel: 3, stride: 1, padding: 'same', bias: false },
    { kind: 'batchNorm', id: 'bn1', input: 'conv1' },
    { kind: 'relu', id: 'relu1', input: 'bn1' },
    { kind: 'maxPool', id: 'pool1', input: 'relu1', size: 2, stride: 2 },
    { kind: 'conv2d', id: 'conv2', input: 'pool1', filters: 12, baseFilters: 12, kernel: 3, stride: 2, padding: 'same', bias: true },
    { kind: 'relu', id: 'relu2', input: 'conv2' },
    { kind: 'flatten', id: 'flatten1', input: 'relu2' },
    { kind: 'dense', id: 'dense1', input: 'flatten1', units: 16, baseUnits: 16 },
    { kind: 'relu', id: 'relu3', input: 'dense1' },
    { kind: 'head', id: 'head', input: 'relu3' },
  ],
});

const classes = 4;
const features = 12 * 12 * 2;

export const batchOf = (seed: number, label: string, count: number): { x: Float32Array; y: Int32Array; count: number } => {
  const rng = rngFor(seed, label);
  return { x: normal(seed, `${label}/x`, count * features), y: Int32Array.from({ length: count }, () => rng.int(classes)), count };
};

/**
 * Pick mask learning rate of the compared step. Adam's first step moves each
 * mask value by about this much, in the direction of its gradient's sign:
 * below init − threshold (0.01 − 0.005), so no binary pick flips on a
 * rounding difference and the two backends see the same effective weights.
 */
const LR_MASK = 0.004;

const options = (pick: SessionOptions['pick']): SessionOptions => ({ pick, maskThreshold: 0.005, weightDecay: 4e-5, momentum: 0.9, scope: 'owners' });

/** Task 1 learned (a few steps, compacted to half) and task 2 claimed: the state the compared step starts from. Run on cpu. */
export const stateForStep = async (seed = 5): Promise<NetState> => {
  let s = right(initNet(checkGraph(), seed));
  s = { ...s, backbone: right(claimAll(1)(s.backbone)) };
  s = right(startTaskPrivates(s, classes, seed));
  const session = right(openSession(s, options({ kind: 'none' })));
  const batch = batchOf(seed, 'task1', 16);
  for (let i = 0; i < 3; i++) await run(session.step(batch.x, batch.y, batch.count, 0.05, 0));
  await run(session.prune(0.5));
  const picks = await run(session.picks());
  s = await run(session.export());
  session.dispose();
  s = { ...s, backbone: right(finishTask({ name: 'task1', classes, picks })(s.backbone)) };
  s = { ...s, backbone: right(claimAll(2)(s.backbone)) };
  return right(startTaskPrivates(s, classes, seed));
};

/** What one masked step of task 2 gave on the backend that is set now. */
export interface StepOutcome {
  readonly loss: number;
  readonly state: NetState;
  readonly picks: ReadonlyMap<string, Uint8Array>;
}

/** One CPG step of task 2 (pick mask training with Adam), on the backend that is set now. */
export const maskedStep = async (s: NetState, seed = 5): Promise<StepOutcome> => {
  const session = right(openSession(s, options({ kind: 'train', init: 0.01 })));
  try {
    const batch = batchOf(seed, 'task2', 16);
    const r = await run(session.step(batch.x, batch.y, batch.count, 0.05, LR_MASK));
    const picks = await run(session.picks());
    const state = await run(session.export());
    return { loss: r.loss, state, picks: new Map([...picks].map(([k, v]) => [k, v.bits] as const)) };
  } finally {
    session.dispose();
  }
};

/** Task `task`'s logits on `x` (count inputs), on the backend that is set now. */
export const taskLogits = async (s: NetState, task: number, x: Float32Array, count: number): Promise<Float32Array> => {
  const m = right(taskModel(s, task));
  try {
    return await run(logitsWith(m.graph, m.param, x, count, 64));
  } finally {
    m.dispose();
  }
};

/** The cells of `name` owned by task `task` in state `s`. */
export const cellsOf = (s: NetState, name: string, task: number): number[] => {
  const cells = s.backbone.owners.get(name)!.cells;
  const out: number[] = [];
  for (let i = 0; i < cells.length; i++) if (cells[i] === task) out.push(i);
  return out;
};
