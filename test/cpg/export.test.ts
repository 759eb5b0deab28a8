/**
 * Handing a task to any app: for every built-in net, two tiny tasks are
 * learned and each is exported as a tfjs LayersModel and as an ONNX file.
 * The LayersModel loads with plain `tf.loadLayersModel` (through
 * `tf.io.fromMemory` of the files), the ONNX file runs in ONNX Runtime (web
 * build, in Node); both take pixels in [0, 1] and match cpg's logits on the
 * task's probe batch to 1e-5 (relative to the largest logit where it is above 1), at the width the task was learned at.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import * as E from 'fp-ts/lib/Either.js';
import * as ort from 'onnxruntime-web';
import type { ArchitectureName } from '../../src/algebra/architectures.js';
import { openModel } from '../../src/node/defaults.js';
import { bytesFloat32 } from '../../src/effects/store.js';
import { memoryStore } from '../../src/effects/stores/memory.js';
import { learner } from '../../src/node/defaults.js';
import { eventsOrError, manifestIn, tinyConfig, tinyTask } from '../helpers/tinyTasks.js';

process.env['CPG_BACKEND'] ??= 'wasm';
ort.env.wasm.numThreads = 1;

const TOLERANCE = 1e-5;

// The small nets grow (their tasks miss the training-accuracy threshold), so exports are sliced from a wider
// network; the big ones pass the goal check at once (threshold 0), which keeps them to about a minute.
const nets: readonly (readonly [ArchitectureName, readonly [number, number, number], number, Record<string, unknown>])[] = [
  ['mlp', [28, 28, 1], 40, {}],
  ['lenet', [28, 28, 1], 40, {}],
  ['vgg-small', [32, 32, 3], 16, {}],
  ['vgg16', [32, 32, 3], 8, { trainAccThreshold: 0 }],
  ['resnet18', [32, 32, 3], 8, { trainAccThreshold: 0 }],
];

const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
};

for (const [net, shape, train, over] of nets) {
  test(`${net}: both tasks export to tfjs and ONNX, and each runs in its stock runtime with cpg's logits to 1e-5`, { timeout: 600_000 }, async () => {
    const store = memoryStore();
    const config = tinyConfig({ net, trainEpochs: 1, sparsities: [0.5], batchSize: 8, ...over });
    const first = tinyTask('first', 11, shape, { train, val: 10, normalise: 'fit' });
    const tasks = [first, tinyTask('second', 12, shape, { train, val: 10, normalise: first.normalisation! })];
    const learned = await eventsOrError(learner({ store, config, goal: { kind: 'none' } })(tasks));
    assert.ok(E.isRight(learned), JSON.stringify(E.isLeft(learned) ? learned.left : null));
    const m = await manifestIn(store);
    const opened = await openModel(store)();
    assert.ok(E.isRight(opened), JSON.stringify(E.isLeft(opened) ? opened.left : null));
    const model = opened.right;
    const n = model.normalisation!;
    try {
      for (const [i, t] of model.tasks.entries()) {
        // The probe batch (stored normalised) as the pixels an app would feed.
        const probe = await store.getBlob(m.tasks[i]!.probeInputs!)();
        assert.ok(E.isRight(probe));
        const normalised = bytesFloat32(probe.right);
        const channels = n.mean.length;
        const pixels = Float32Array.from(normalised, (v, j) => v * n.std[j % channels]! + n.mean[j % channels]!);
        const count = pixels.length / (shape[0] * shape[1] * shape[2]);
        const ours = model.logits(t.name, pixels);
        assert.ok(E.isRight(ours));
        // VGG16's reference initialisation keeps its logits small (~1e-3): a relative bound as well, so a wrong layer cannot hide under 1e-5.
        // Logits above 1 (a partial claim starts its weights scaled up) get float32's relative rounding: 1e-5 of the largest.
        const scale = Math.max(...ours.right.map(Math.abs));
        assert.ok(scale > 0);
        const close = (d: number) => d <= TOLERANCE * Math.max(1, scale) && d <= 1e-3 * scale;

        const layers = await model.export(t.name, 'tfjs')();
        assert.ok(E.isRight(layers), JSON.stringify(E.isLeft(layers) ? layers.left : null));
        const json = JSON.parse(new TextDecoder().decode(layers.right.get('model.json'))) as {
          modelTopology: tf.io.ModelArtifacts['modelTopology'];
          weightsManifest: { paths: string[]; weights: tf.io.WeightsManifestEntry[] }[];
        };
        const classes = json.modelTopology as { config: { layers: { class_name: string }[] } };
        for (const l of classes.config.layers)
          assert.ok(['InputLayer', 'BatchNormalization', 'Conv2D', 'Dense', 'ReLU', 'MaxPooling2D', 'GlobalAveragePooling2D', 'Flatten', 'Add'].includes(l.class_name), `stock layer: ${l.class_name}`);
        const bin = layers.right.get(json.weightsManifest[0]!.paths[0]!)!;
        const loaded = await tf.loadLayersModel(
          tf.io.fromMemory({ modelTopology: json.modelTopology, weightSpecs: json.weightsManifest[0]!.weights, weightData: bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.byteLength) as ArrayBuffer }),
        );
        const viaTfjs = tf.tidy(() => (loaded.predict(tf.tensor(pixels, [count, ...shape])) as tf.Tensor).dataSync());
        loaded.dispose();
        const dTfjs = maxDiff(viaTfjs, ours.right);
        assert.ok(close(dTfjs), `${net} ${t.name} tfjs: max logit difference ${dTfjs}`);

        const onnx = await model.export(t.name, 'onnx')();
        assert.ok(E.isRight(onnx), JSON.stringify(E.isLeft(onnx) ? onnx.left : null));
        const session = await ort.InferenceSession.create(onnx.right.get('model.onnx')!);
        const out = await session.run({ pixels: new ort.Tensor('float32', pixels, [count, ...shape]) });
        await session.release();
        const logits = out['logits']!;
        assert.deepEqual(logits.dims, [count, t.classNames.length]);
        const dOnnx = maxDiff(logits.data as Float32Array, ours.right);
        assert.ok(close(dOnnx), `${net} ${t.name} onnx: max logit difference ${dOnnx}`);

        const about = JSON.parse(new TextDecoder().decode(onnx.right.get('task.json'))) as { task: string; classNames: string[]; multiplier: number; runManifestSha256: string; net: string };
        assert.deepEqual([about.task, about.classNames, about.multiplier, about.net], [t.name, t.classNames, t.multiplier, net]);
        assert.equal(about.runManifestSha256, model.runManifestSha256);
        console.log(`${net} ${t.name} ×${t.multiplier}: logits up to ${scale.toExponential(1)}; tfjs ${dTfjs.toExponential(1)}, onnx ${dOnnx.toExponential(1)} off`);
      }
    } finally {
      model.dispose();
    }
  });
}
