/**
 * The learner in a program, with tasks from arrays and the model in memory:
 * tasks arrive as a stream and are learned one after another; a task the
 * model holds comes back as skipped; a refused task leaves the model as it
 * was; a learner stopped mid-task finishes the task when it is given again,
 * bit-identical to one that was never stopped.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as E from 'fp-ts/lib/Either.js';
import { Subject, type Subscription, tap } from 'rxjs';
import type { Task } from '../../src/algebra/task.js';
import { manifestBlobs } from '../../src/effects/checkpoint.js';
import { memoryStore } from '../../src/effects/stores/memory.js';
import { type RunEvent, storeReleased } from '../../src/streams/run.js';
import { learner } from '../../src/node/defaults.js';
import { eventsOrError, manifestIn, tinyConfig, tinyTask } from '../helpers/tinyTasks.js';

process.env['CPG_BACKEND'] ??= 'wasm';

test('tasks arrive as a stream and are learned in turn; one arriving mid-task waits; skipped when held; refused ones change nothing', { timeout: 180_000 }, async () => {
  const store = memoryStore();
  const tasks = new Subject<Task>();
  const seen: RunEvent[] = [];
  const done = eventsOrError(learner({ store, config: tinyConfig() })(tasks).pipe(tap((e) => seen.push(e))));
  tasks.next(tinyTask('one', 1));
  // The second task arrives while the first is being learned: it waits its turn.
  tasks.next(tinyTask('two', 2));
  tasks.complete();
  const first = await done;
  assert.ok(E.isRight(first), JSON.stringify(E.isLeft(first) ? first.left : ''));
  const order = seen.filter((e) => e.type === 'task-started' && e.purpose === 'learn').map((e) => (e as { name: string }).name);
  assert.deepEqual(order, ['one', 'two']);
  const end = first.right[first.right.length - 1];
  assert.ok(end?.type === 'run-finished');
  assert.equal(end.report.tasks.length, 2);
  assert.equal(end.report.maxLogitDrift, 0);
  assert.equal(end.report.benchmark, 'custom');

  // Refused: another input shape; a held name with other data. The model does not change.
  const before = JSON.stringify(await manifestIn(store));
  for (const [bad, field] of [
    [tinyTask('three', 3, [2, 2, 2]), 'inputShape'],
    [tinyTask('one', 99), 'one'],
  ] as const) {
    const r = await eventsOrError(learner({ store })([bad]));
    assert.ok(E.isLeft(r), `${bad.name} was accepted`);
    assert.ok(r.left.tag === 'TaskError' || r.left.tag === 'DataError', JSON.stringify(r.left));
    assert.match(JSON.stringify(r.left), new RegExp(field));
    assert.equal(JSON.stringify(await manifestIn(store)), before, 'nothing changed');
  }

  // The same task again is skipped; a new one is learned after it.
  const again = await eventsOrError(learner({ store })([tinyTask('one', 1), tinyTask('three', 3)]));
  assert.ok(E.isRight(again), JSON.stringify(E.isLeft(again) ? again.left : ''));
  assert.ok(again.right.some((e) => e.type === 'task-skipped' && e.name === 'one'));
  const last = again.right[again.right.length - 1];
  assert.ok(last?.type === 'run-finished');
  assert.deepEqual(last.report.tasks.map((t) => t.name), ['one', 'two', 'three']);
  assert.equal(last.report.maxLogitDrift, 0);
  assert.equal(last.report.forgetting, 0);
});

test('a learner stopped mid-task finishes the task when it is given again, bit-identical to one never stopped', { timeout: 180_000 }, async () => {
  const whole = memoryStore();
  const w = await eventsOrError(learner({ store: whole, config: tinyConfig() })([tinyTask('one', 1), tinyTask('two', 2)]));
  assert.ok(E.isRight(w));

  const store = memoryStore();
  const stop = new AbortController();
  const stopped = await eventsOrError(
    learner({ store, config: tinyConfig(), signal: stop.signal })([tinyTask('one', 1), tinyTask('two', 2)]).pipe(
      tap((e) => {
        if (e.type === 'stage-ended' && e.name === 'two' && e.stage === 'train') stop.abort(); // compacting (and perhaps retraining) still to come
      }),
    ),
  );
  assert.ok(E.isRight(stopped));
  assert.equal(stopped.right[stopped.right.length - 1]?.type, 'stopped');
  const mid = await manifestIn(store);
  assert.equal(mid.finished.length, 1);
  assert.equal(mid.current?.task, 2, 'task two is in progress');

  // A different task is refused while 'two' is unfinished; 'two' again finishes it.
  const other = await eventsOrError(learner({ store })([tinyTask('three', 3)]));
  assert.ok(E.isLeft(other) && other.left.tag === 'TaskError' && /still learning task 'two'.*give 'two' again first/.test(other.left.message));
  assert.doesNotMatch(other.left.message, /cpg resume/, 'a memory store is not a run directory: `cpg resume` cannot reach it');
  const resumed = await eventsOrError(learner({ store })([tinyTask('one', 1), tinyTask('two', 2)]));
  assert.ok(E.isRight(resumed), JSON.stringify(E.isLeft(resumed) ? resumed.left : ''));
  const a = await manifestIn(store);
  const b = await manifestIn(whole);
  assert.deepEqual(a.state, b.state, 'the same weights, owner maps, pick masks and private tensors');
  assert.deepEqual(a.finished.map((f) => f.probe), b.finished.map((f) => f.probe), 'the same probe logits');
});

test('an unexpected failure (a store that breaks its contract) is an InternalError carrying its message, never a checkpoint or configuration error', { timeout: 60_000 }, async () => {
  const inner = memoryStore();
  const broken = { ...inner, putBlob: () => () => Promise.reject(new Error('the disk controller caught fire')) };
  const r = await eventsOrError(learner({ store: broken, config: tinyConfig() })([tinyTask('one', 1)]));
  assert.ok(E.isLeft(r));
  assert.equal(r.left.tag, 'InternalError');
  assert.match(r.left.message, /caught fire/);
  assert.ok(r.left.tag === 'InternalError' && r.left.stack !== undefined, 'the stack is kept for a debug flag');
});

test("a new task named '../evil' is refused naming '/', nothing changed; a model that holds such a name from before the rule skips it when given again", { timeout: 120_000 }, async () => {
  const store = memoryStore();
  const first = await eventsOrError(learner({ store, config: tinyConfig() })([tinyTask('legacy', 1)]));
  assert.ok(E.isRight(first), JSON.stringify(E.isLeft(first) ? first.left : ''));

  // A source reads the data under any name; the learner judges the name as the task enters the model.
  const before = JSON.stringify(await manifestIn(store));
  for (const [name, why] of [['../evil', /holds '\/' at position 2/], ['a\\b', /holds '\\' at position 1/], ['..', /cannot be '\.\.'/]] as const) {
    const r = await eventsOrError(learner({ store })([tinyTask(name, 2)]));
    assert.ok(E.isLeft(r) && r.left.tag === 'TaskError', `${name}: ${JSON.stringify(r)}`);
    assert.equal(r.left.field, 'name');
    assert.match(r.left.message, why);
    assert.equal(JSON.stringify(await manifestIn(store)), before, 'nothing changed');
  }

  // A model learned before the rule: its task is named '../evil' (the tiny task's data does not depend on its name).
  const m = await manifestIn(store);
  const bytes = await store.readManifest();
  assert.ok(E.isRight(bytes) && bytes.right !== null);
  const renamed = new TextDecoder().decode(bytes.right).replaceAll('"legacy"', '"../evil"');
  assert.ok(E.isRight(await store.writeManifest(new TextEncoder().encode(renamed), manifestBlobs(m))()));
  const again = await eventsOrError(learner({ store })([tinyTask('../evil', 1), tinyTask('next', 3)]));
  assert.ok(E.isRight(again), JSON.stringify(E.isLeft(again) ? again.left : ''));
  assert.ok(again.right.some((e) => e.type === 'task-skipped' && e.name === '../evil'), 'the held task is skipped, not refused for its name');
  assert.deepEqual((await manifestIn(store)).finished.map((f) => f.name), ['../evil', 'next']);
});

test('a learner unsubscribed mid-task: a new one on the same store, subscribed at once, finishes the task; storeReleased says when the store is free', { timeout: 180_000 }, async () => {
  const whole = memoryStore();
  assert.ok(E.isRight(await eventsOrError(learner({ store: whole, config: tinyConfig() })([tinyTask('one', 1), tinyTask('two', 2)]))));

  const store = memoryStore();
  assert.ok(E.isRight(await eventsOrError(learner({ store, config: tinyConfig() })([tinyTask('one', 1)]))));
  let sub: Subscription | undefined;
  await new Promise<void>((resolve, reject) => {
    sub = learner({ store })([tinyTask('two', 2)]).subscribe({
      next: (e) => {
        // Mid-stage, with checkpoint writes of the stage before behind it.
        if (e.type === 'epoch-ended' && e.name === 'two' && e.stage !== 'individual' && e.epoch >= 1) resolve();
      },
      error: reject,
      complete: () => reject(new Error('finished before it was stopped')),
    });
  });
  sub!.unsubscribe();
  // At once: no LockError, the task is finished as if the learner had never stopped.
  const again = await eventsOrError(learner({ store })([tinyTask('two', 2)]));
  assert.ok(E.isRight(again), JSON.stringify(E.isLeft(again) ? again.left : ''));
  assert.deepEqual((await manifestIn(store)).state, (await manifestIn(whole)).state, 'bit-identical to an uninterrupted learner');

  // Stopped again; once storeReleased resolves, the store's lock is free for anyone.
  let sub2: Subscription | undefined;
  await new Promise<void>((resolve) => {
    sub2 = learner({ store })([tinyTask('three', 3)]).subscribe({ next: (e) => (e.type === 'epoch-ended' ? resolve() : undefined), error: () => resolve() });
  });
  sub2!.unsubscribe();
  await storeReleased(store);
  const lock = await store.lock();
  assert.ok(E.isRight(lock), JSON.stringify(E.isLeft(lock) ? lock.left : ''));
  await lock.right.release();
});
