/**
 * Many learners in one process. They share tfjs's one engine: the backend is
 * chosen once and claimed by each learner while it runs, and their training
 * steps interleave between ticks. Each keeps its own guarantees — it ends
 * bit-identical to the same learner alone, stops when unsubscribed, and
 * releases its store and its claim on the backend.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import * as tf from '@tensorflow/tfjs-core';
import { filter, firstValueFrom, lastValueFrom, merge, share, take, tap, toArray } from 'rxjs';
import { decodeConfig } from '../../src/algebra/config.js';
import { withPreset } from '../../src/cpg/presets.js';
import { describeError, type CpgError } from '../../src/algebra/errors.js';
import { backendUsers } from '../../src/node/backend.js';
import { memoryStore } from '../../src/effects/stores/memory.js';
import { type RunEvent, finalReport } from '../../src/streams/run.js';
import { runEvents } from '../../src/node/runs.js';
import { learner } from '../../src/node/defaults.js';
import { eventsOrError, manifestIn, tinyConfig, tinyTask } from '../helpers/tinyTasks.js';

process.env['CPG_BACKEND'] ??= 'wasm';

const tasksA = () => [tinyTask('a-one', 11), tinyTask('a-two', 12)];
const tasksB = () => [tinyTask('b-one', 21), tinyTask('b-two', 22)];

test('two learners at once share the backend, interleave their steps, and each ends bit-identical to the same learner alone', { timeout: 240_000 }, async () => {
  const aloneA = memoryStore();
  const aloneB = memoryStore();
  assert.ok(E.isRight(await eventsOrError(learner({ store: aloneA, config: tinyConfig() })(tasksA()))));
  assert.ok(E.isRight(await eventsOrError(learner({ store: aloneB, config: tinyConfig({ seed: 2 }) })(tasksB()))));

  const storeA = memoryStore();
  const storeB = memoryStore();
  const order: string[] = [];
  const both = await lastValueFrom(
    merge(
      learner({ store: storeA, config: tinyConfig() })(tasksA()).pipe(tap((e) => order.push(`A ${e.type}`))),
      learner({ store: storeB, config: tinyConfig({ seed: 2 }) })(tasksB()).pipe(tap((e) => order.push(`B ${e.type}`))),
    ).pipe(
      filter((e): e is Extract<RunEvent, { type: 'run-finished' }> => e.type === 'run-finished'),
      toArray(),
    ),
  );
  assert.equal(both.length, 2);
  for (const r of both) assert.equal(r.report.maxLogitDrift, 0);
  // Interleaved, not one after the other: B finished an epoch before A's run ended.
  assert.ok(order.indexOf('B epoch-ended') < order.indexOf('A run-finished'), 'the learners ran at the same time');
  for (const [together, alone] of [
    [storeA, aloneA],
    [storeB, aloneB],
  ] as const) {
    const m = await manifestIn(together);
    const n = await manifestIn(alone);
    assert.deepEqual(m.state, n.state, 'the same weights, owner maps, pick masks and private tensors');
    assert.deepEqual(m.finished.map((f) => f.probe), n.finished.map((f) => f.probe), 'the same probe logits');
  }
  assert.equal(backendUsers(), 0, 'both claims on the backend are released');
});

test('unsubscribing one of two learners stops it at its next step and frees its store; the other goes on to drift 0', { timeout: 240_000 }, async () => {
  const storeA = memoryStore();
  const storeB = memoryStore();
  const a = learner({ store: storeA, config: tinyConfig() })(tasksA()).pipe(share());
  const finishedA = lastValueFrom(a.pipe(finalReport()));
  const seenB: RunEvent[] = [];
  // B is unsubscribed (take ends it) after its first epoch.
  await lastValueFrom(
    learner({ store: storeB, config: tinyConfig({ seed: 2 }) })(tasksB()).pipe(
      tap((e) => seenB.push(e)),
      filter((e) => e.type === 'epoch-ended'),
      take(1),
    ),
  );
  const report = await finishedA;
  assert.equal(report.maxLogitDrift, 0);
  assert.equal(report.tasks.length, 2);
  assert.ok(!seenB.some((e) => e.type === 'task-finished' && e.purpose === 'learn'), 'B stopped before finishing a task');
  // B's store is free again, and B's tasks are learned there by a new learner.
  const again = await eventsOrError(learner({ store: storeB, config: tinyConfig({ seed: 2 }) })(tasksB()));
  assert.ok(E.isRight(again), JSON.stringify(E.isLeft(again) ? again.left : ''));
  assert.equal(backendUsers(), 0);
});

test('a learner unsubscribed before it starts holds nothing: not the store, not the backend', { timeout: 60_000 }, async () => {
  const store = memoryStore();
  learner({ store, config: tinyConfig() })([tinyTask('one', 1)]).subscribe().unsubscribe();
  await new Promise((r) => setTimeout(r, 200));
  assert.equal(backendUsers(), 0);
  const r = await eventsOrError(learner({ store, config: tinyConfig() })([tinyTask('one', 1)]));
  assert.ok(E.isRight(r), JSON.stringify(E.isLeft(r) ? r.left : ''));
});

test('a learner that asks for another backend than the one running is refused, naming what runs; the running one is unharmed', { timeout: 120_000 }, async () => {
  const a = learner({ store: memoryStore(), config: tinyConfig() })(tasksA()).pipe(share());
  const finished = lastValueFrom(a.pipe(finalReport()));
  await firstValueFrom(a.pipe(filter((e) => e.type === 'epoch-ended')));
  const other = await eventsOrError(learner({ store: memoryStore(), config: tinyConfig({ backend: 'cpu' }) })([tinyTask('x', 5)]));
  assert.ok(E.isLeft(other));
  assert.equal(other.left.tag, 'BackendError');
  assert.match(describeError(other.left), /already runs wasm .* one engine per process/);
  assert.ok(!describeError(other.left).includes('\n'), 'one line');
  assert.equal((await finished).maxLogitDrift, 0);
  assert.equal(backendUsers(), 0);
});

test('two subscriptions to one run in one directory: the second is refused by the lock with one line; the first runs to its end', { timeout: 240_000 }, async () => {
  const dir = path.join(mkdtempSync(path.join(tmpdir(), 'cpg-twice-')), 'run');
  try {
    const c = decodeConfig(undefined)(
      withPreset({ benchmark: 'split-mnist', tasks: 1, limitPerTask: 120, trainEpochs: 1, individualEpochs: 1, pruneEpochs: 1, pruneRampEpochs: 1, sparsities: [0.5], retrainEpochs: 1, threads: 1 }),
    );
    assert.ok(E.isRight(c));
    const run = runEvents({ kind: 'new', dir, config: c.right });
    const outcome = (o: typeof run) => lastValueFrom(o.pipe(finalReport())).then(E.right, (e: CpgError) => E.left(e));
    const [first, second] = await Promise.all([outcome(run), outcome(run)]);
    const refused = [first, second].filter(E.isLeft);
    const done = [first, second].filter(E.isRight);
    assert.equal(done.length, 1, 'exactly one run');
    assert.equal(done[0]!.right.maxLogitDrift, 0);
    assert.equal(refused.length, 1);
    const e = refused[0]!.left;
    assert.equal(e.tag, 'LockError', describeError(e));
    assert.match(describeError(e), /locked by this process .* share\(\)/);
  } finally {
    rmSync(path.dirname(dir), { recursive: true, force: true });
  }
});

test('a failure inside a training step (a kernel that throws) arrives as an InternalError with its message, and the store and backend are released', { timeout: 120_000 }, async () => {
  const engine = tf.engine() as unknown as { runKernel: (...a: unknown[]) => unknown };
  const original = engine.runKernel;
  const store = memoryStore();
  try {
    const r = await eventsOrError(
      learner({ store, config: tinyConfig() })([tinyTask('one', 1)]).pipe(
        tap((e) => {
          if (e.type === 'epoch-ended')
            engine.runKernel = () => {
              throw new Error('kernel exploded');
            };
        }),
      ),
    );
    assert.ok(E.isLeft(r));
    assert.equal(r.left.tag, 'InternalError', describeError(r.left));
    assert.match(r.left.message, /kernel exploded/);
  } finally {
    engine.runKernel = original;
  }
  assert.equal(backendUsers(), 0);
  const again = await eventsOrError(learner({ store, config: tinyConfig() })([tinyTask('one', 1)]));
  assert.ok(E.isRight(again), JSON.stringify(E.isLeft(again) ? again.left : ''));
});
