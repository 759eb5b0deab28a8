/**
 * The no-forgetting guarantee, on real tensors: training, compacting and
 * growing for later tasks never change a finished task's weights, private
 * parameters or outputs — bit for bit.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu'; // the backend these tests run on (the library registers it where it chooses one)
import * as E from 'fp-ts/lib/Either.js';
import fc from 'fast-check';
import type { Graph } from '../../src/algebra/graph.js';
import { mlp } from '../../src/algebra/architectures.js';
import { claimAll, currentTask, finishTask, selectorOf } from '../../src/algebra/backbone.js';
import { type NetState, growNet, initNet, sharableAtTask, startTaskPrivates } from '../../src/effects/network.js';
import { type PickMode, openSession } from '../../src/effects/trainer.js';
import { logitsWith, taskModel } from '../../src/effects/evaluate.js';
import { rngFor } from '../../src/effects/random.js';

const right = <A>(e: E.Either<unknown, A>): A => {
  if (E.isLeft(e)) throw new Error(JSON.stringify(e.left));
  return e.right;
};

/** A tiny CNN with batch norm and a flatten (so widening moves grouped cells). */
const tinyCnn = (): Graph => ({
  name: 'tiny-cnn',
  multiplier: 1,
  init: 'he-fan-in',
  nodes: [
    { kind: 'input', id: 'input', shape: [6, 6, 1] },
    { kind: 'conv2d', id: 'conv1', input: 'input', filters: 4, baseFilters: 4, kernel: 3, stride: 1, padding: 'same', bias: false },
    { kind: 'batchNorm', id: 'bn1', input: 'conv1' },
    { kind: 'relu', id: 'relu1', input: 'bn1' },
    { kind: 'maxPool', id: 'pool1', input: 'relu1', size: 2, stride: 2 },
    { kind: 'flatten', id: 'flatten1', input: 'pool1' },
    { kind: 'dense', id: 'dense1', input: 'flatten1', units: 8, baseUnits: 8 },
    { kind: 'relu', id: 'relu2', input: 'dense1' },
    { kind: 'head', id: 'head', input: 'relu2' },
  ],
});

const data = (seed: number, label: string, count: number, features: number, classes: number) => {
  const rng = rngFor(seed, label);
  const x = new Float32Array(count * features).map(() => rng.normal());
  const y = new Int32Array(count).map(() => rng.int(classes));
  return { x, y, count };
};

interface Frozen {
  readonly logits: Float32Array;
  readonly cells: ReadonlyMap<string, Float32Array>;
  readonly privates: ReadonlyMap<string, Float32Array>;
}

/** What must never change for finished task k: its logits, its visible weights, its private tensors. */
const freeze = async (s: NetState, k: number, probe: Float32Array, n: number): Promise<Frozen> => {
  const m = right(taskModel(s, k));
  const logits = right(await logitsWith(m.graph, m.param, probe, n, 64)());
  m.dispose();
  const sliced = right(sharableAtTask(s, k));
  const sel = right(selectorOf(k)(s.backbone));
  const cells = new Map([...sliced].map(([name, w]) => [name, w.map((v, i) => (sel.get(name)![i] === 1 ? v : 0))] as const));
  return { logits, cells, privates: s.privates.get(k)!.values };
};

const same = (a: Float32Array, b: Float32Array): boolean => a.length === b.length && a.every((v, i) => Object.is(v, b[i]));

const scenario = fc.record({
  net: fc.constantFrom('mlp', 'cnn'),
  tasks: fc.array(
    fc.record({
      pick: fc.constantFrom('train', 'all', 'none'),
      steps: fc.integer({ min: 1, max: 3 }),
      sparsity: fc.option(fc.constantFrom(0.3, 0.6, 0.9), { nil: undefined }),
      grow: fc.boolean(),
      lr: fc.constantFrom(0.05, 0.5),
    }),
    { minLength: 2, maxLength: 3 },
  ),
  seed: fc.integer({ min: 0, max: 1000 }),
});

test('training, compacting and growing for later tasks leave every finished task bit-identical (weights, privates, logits)', async () => {
  await tf.setBackend('cpu');
  await fc.assert(
    fc.asyncProperty(scenario, async ({ net, tasks, seed }) => {
      const base = net === 'mlp' ? mlp(12, [10, 8]) : tinyCnn();
      const features = net === 'mlp' ? 12 : 36;
      const probe = data(seed, 'probe', 5, features, 3);
      let s = right(initNet(base, seed));
      const frozen: Frozen[] = [];
      const tensorsBefore = tf.memory().numTensors;
      for (const [i, t] of tasks.entries()) {
        const k = i + 1;
        if (t.grow && k > 1) s = right(growNet(s, s.backbone.multiplier + 0.5, seed));
        s = { ...s, backbone: right(claimAll(k)(s.backbone)) };
        s = right(startTaskPrivates(s, 3, seed));
        const pick: PickMode = k === 1 || t.pick === 'none' ? { kind: 'none' } : t.pick === 'all' ? { kind: 'all' } : { kind: 'train', init: 0.01 };
        const session = right(openSession(s, { pick, maskThreshold: 0.005, weightDecay: 4e-5, momentum: 0.9, scope: 'owners' }));
        const batch = data(seed, `task${k}`, 8, features, 3);
        for (let step = 0; step < t.steps; step++) {
          const before = tf.memory().numTensors;
          right(await session.step(batch.x, batch.y, batch.count, t.lr, 0.05)());
          assert.equal(tf.memory().numTensors, before, 'a training step leaks no tensor');
          if (t.sparsity !== undefined && step === 0) right(await session.prune(t.sparsity)());
        }
        const picks = right(await session.picks()());
        s = right(await session.export()());
        session.dispose();
        // Every earlier task is exactly what it was when it finished.
        for (const [j, f] of frozen.entries()) {
          const now = await freeze({ ...s, backbone: { ...s.backbone } }, j + 1, probe.x, probe.count);
          assert.ok(same(now.logits, f.logits), `task ${j + 1}'s logits changed while learning task ${k}`);
          for (const [name, w] of f.cells) assert.ok(same(now.cells.get(name)!, w), `task ${j + 1}'s weights in '${name}' changed`);
          for (const [name, v] of f.privates) assert.ok(same(now.privates.get(name)!, v), `task ${j + 1}'s private '${name}' changed`);
        }
        s = { ...s, backbone: right(finishTask({ name: `t${k}`, classes: 3, picks })(s.backbone)) };
        assert.equal(currentTask(s.backbone), k + 1);
        frozen.push(await freeze(s, k, probe.x, probe.count));
      }
      assert.equal(tf.memory().numTensors, tensorsBefore, `sessions and evaluations release every tensor ${tf.memory().numTensors} vs ${tensorsBefore}`);
    }),
    { seed: 7, numRuns: 12 },
  );
});

test('the same seed gives bit-identical weights', async () => {
  await tf.setBackend('cpu');
  const once = async (): Promise<NetState> => {
    let s = right(initNet(mlp(12, [10, 8]), 3));
    s = { ...s, backbone: right(claimAll(1)(s.backbone)) };
    s = right(startTaskPrivates(s, 3, 3));
    const session = right(openSession(s, { pick: { kind: 'none' }, maskThreshold: 0.005, weightDecay: 4e-5, momentum: 0.9, scope: 'owners' }));
    const batch = data(3, 'task1', 8, 12, 3);
    for (let i = 0; i < 3; i++) right(await session.step(batch.x, batch.y, batch.count, 0.1, 0)());
    right(await session.prune(0.5)());
    const out = right(await session.export()());
    session.dispose();
    return out;
  };
  const a = await once();
  const b = await once();
  for (const [name, w] of a.sharable) assert.ok(same(w, b.sharable.get(name)!), name);
  for (const [name, o] of a.backbone.owners) assert.deepEqual(o.cells, b.backbone.owners.get(name)!.cells);
});

test('a non-finite loss stops the step and updates nothing', async () => {
  await tf.setBackend('cpu');
  let s = right(initNet(mlp(12, [10, 8]), 4));
  s = { ...s, backbone: right(claimAll(1)(s.backbone)) };
  s = right(startTaskPrivates(s, 3, 4));
  const session = right(openSession(s, { pick: { kind: 'none' }, maskThreshold: 0.005, weightDecay: 0, momentum: 0.9, scope: 'owners' }));
  const batch = data(4, 'task1', 8, 12, 3);
  const bad = { ...batch, x: batch.x.map(() => Number.POSITIVE_INFINITY) };
  const before = right(await session.export()());
  const r = await session.step(bad.x, bad.y, bad.count, 0.1, 0)();
  assert.ok(E.isLeft(r) && r.left.tag === 'NumericError', 'a NaN/Inf loss is a NumericError');
  const after = right(await session.export()());
  session.dispose();
  for (const [name, w] of before.sharable) assert.ok(same(w, after.sharable.get(name)!), `${name} unchanged`);
});
