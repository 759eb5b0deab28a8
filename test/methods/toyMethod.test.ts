/**
 * A method registered from outside the library learns through the public
 * learner: its module (headOnly.ts) plus one registry line, nothing else.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as E from 'fp-ts/lib/Either.js';
import { builtInMethods, withMethod } from '../../src/cpg/methods/registry.js';
import { memoryStore } from '../../src/effects/stores/memory.js';
import { learner } from '../../src/node/defaults.js';
import { openModel } from '../../src/node/defaults.js';
import { eventsOrError, manifestIn, tinyConfig, tinyTask } from '../helpers/tinyTasks.js';
import { headOnly } from './headOnly.js';

const methods = withMethod(headOnly)(builtInMethods);

test('a toy method registered with the learner learns two tasks: the second trains its head only, and the first keeps its exact outputs', { timeout: 120_000 }, async () => {
  const store = memoryStore();
  const config = tinyConfig({ method: 'head-only' });
  const r = await eventsOrError(learner({ store, config, goal: { kind: 'none' }, methods })([tinyTask('one', 1), tinyTask('two', 2)]));
  assert.ok(E.isRight(r), E.isLeft(r) ? JSON.stringify(r.left) : '');
  const finished = r.right.flatMap((e) => (e.type === 'task-finished' && e.purpose === 'learn' ? [e] : []));
  assert.deepEqual(
    finished.map((e) => e.name),
    ['one', 'two'],
  );
  // The first task claimed weights as CPG does; the second owns none and reuses the first's.
  const m = await manifestIn(store);
  assert.equal(m.config.method, 'head-only');
  assert.ok(m.finished[0]!.ownedFraction > 0);
  assert.equal(m.finished[1]!.ownedFraction, 0);
  assert.ok(m.finished[1]!.pickedFraction > 0);
  const stages = r.right.flatMap((e) => (e.type === 'stage-started' && e.task === 2 ? [e.stage] : []));
  assert.deepEqual(stages, ['train'], 'the second task trains its head and nothing else');
  const last = r.right[r.right.length - 1]!;
  assert.ok(last.type === 'run-finished');
  assert.equal(last.report.maxLogitDrift, 0);
  // The model opens with the registry that knows its method, and predicts with either task.
  const model = await openModel(store, { methods })();
  assert.ok(E.isRight(model), E.isLeft(model) ? JSON.stringify(model.left) : '');
  assert.deepEqual(
    model.right.tasks.map((t) => t.name),
    ['one', 'two'],
  );
  model.right.dispose();
});

test('a learner whose registry lacks the method refuses it, naming the methods it knows', async () => {
  const r = await eventsOrError(learner({ store: memoryStore(), config: tinyConfig({ method: 'head-only' }), goal: { kind: 'none' } })([tinyTask('one', 1)]));
  assert.ok(E.isLeft(r));
  assert.equal(r.left.tag, 'ConfigError');
  assert.match(r.left.message, /unknown method 'head-only' \(known: cpg, packnet, finetune, individual\)/);
});
