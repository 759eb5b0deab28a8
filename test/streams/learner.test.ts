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
import { Subject, lastValueFrom, tap, toArray } from 'rxjs';
import { decodeConfig, type RunConfig } from '../../src/algebra/codecs.js';
import type { CpgError } from '../../src/algebra/errors.js';
import type { Task } from '../../src/algebra/task.js';
import { readManifest } from '../../src/effects/checkpoint.js';
import { taskFromArrays } from '../../src/effects/sources/memory.js';
import { memoryStore } from '../../src/effects/stores/memory.js';
import { type RunEvent, learner } from '../../src/streams/run.js';

process.env['CPG_BACKEND'] ??= 'wasm';

/** A small two-class task on 4 features: class k's inputs centred on a task-specific direction. */
const task = (name: string, seed: number, shape: readonly [number, number, number] = [2, 2, 1]): Task => {
  let s = seed >>> 0;
  const rnd = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32) * 2 - 1;
  const pixels = shape[0] * shape[1] * shape[2];
  const centre = [Array.from({ length: pixels }, rnd), Array.from({ length: pixels }, rnd)];
  const split = (n: number) => {
    const x: number[] = [];
    const y: number[] = [];
    for (let i = 0; i < n; i++) {
      const k = i % 2;
      y.push(k);
      for (let p = 0; p < pixels; p++) x.push(centre[k]![p]! + 0.3 * rnd());
    }
    return { x: Float32Array.from(x), y: Int32Array.from(y) };
  };
  const t = taskFromArrays({ name, classNames: ['a', 'b'], inputShape: shape, train: split(64), val: split(20), test: split(20) });
  assert.ok(E.isRight(t));
  return t.right;
};

const config = (): RunConfig => {
  const c = decodeConfig(undefined)({ trainEpochs: 2, individualEpochs: 2, pruneEpochs: 1, pruneRampEpochs: 1, sparsities: [0.5, 0.8], retrainEpochs: 1, batchSize: 16, threads: 1 });
  assert.ok(E.isRight(c));
  return c.right;
};

const run = (events: ReturnType<ReturnType<typeof learner>>): Promise<E.Either<CpgError, RunEvent[]>> =>
  lastValueFrom(events.pipe(toArray())).then(E.right, (e: CpgError) => E.left(e));

const manifestOf = async (store: ReturnType<typeof memoryStore>) => {
  const m = await readManifest(store)();
  assert.ok(E.isRight(m) && m.right !== null);
  return m.right;
};

test('tasks arrive as a stream and are learned in turn; one arriving mid-task waits; skipped when held; refused ones change nothing', { timeout: 180_000 }, async () => {
  const store = memoryStore();
  const tasks = new Subject<Task>();
  const seen: RunEvent[] = [];
  const done = run(learner({ store, config: config() })(tasks).pipe(tap((e) => seen.push(e))));
  tasks.next(task('one', 1));
  // The second task arrives while the first is being learned: it waits its turn.
  tasks.next(task('two', 2));
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
  const before = JSON.stringify(await manifestOf(store));
  for (const [bad, field] of [
    [task('three', 3, [2, 2, 2]), 'inputShape'],
    [task('one', 99), 'one'],
  ] as const) {
    const r = await run(learner({ store })([bad]));
    assert.ok(E.isLeft(r), `${bad.name} was accepted`);
    assert.ok(r.left.tag === 'TaskError' || r.left.tag === 'DataError', JSON.stringify(r.left));
    assert.match(JSON.stringify(r.left), new RegExp(field));
    assert.equal(JSON.stringify(await manifestOf(store)), before, 'nothing changed');
  }

  // The same task again is skipped; a new one is learned after it.
  const again = await run(learner({ store })([task('one', 1), task('three', 3)]));
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
  const w = await run(learner({ store: whole, config: config() })([task('one', 1), task('two', 2)]));
  assert.ok(E.isRight(w));

  const store = memoryStore();
  const stop = new AbortController();
  const stopped = await run(
    learner({ store, config: config(), signal: stop.signal })([task('one', 1), task('two', 2)]).pipe(
      tap((e) => {
        if (e.type === 'stage-ended' && e.name === 'two' && e.stage === 'prune') stop.abort();
      }),
    ),
  );
  assert.ok(E.isRight(stopped));
  assert.equal(stopped.right[stopped.right.length - 1]?.type, 'stopped');
  const mid = await manifestOf(store);
  assert.equal(mid.finished.length, 1);
  assert.equal(mid.current?.task, 2, 'task two is in progress');

  // A different task is refused while 'two' is unfinished; 'two' again finishes it.
  const other = await run(learner({ store })([task('three', 3)]));
  assert.ok(E.isLeft(other) && other.left.tag === 'TaskError' && /still learning task 'two'/.test(other.left.message));
  const resumed = await run(learner({ store })([task('one', 1), task('two', 2)]));
  assert.ok(E.isRight(resumed), JSON.stringify(E.isLeft(resumed) ? resumed.left : ''));
  const a = await manifestOf(store);
  const b = await manifestOf(whole);
  assert.deepEqual(a.state, b.state, 'the same weights, owner maps, pick masks and private tensors');
  assert.deepEqual(a.finished.map((f) => f.probe), b.finished.map((f) => f.probe), 'the same probe logits');
});

test('an unexpected failure (a store that breaks its contract) is an InternalError carrying its message, never a checkpoint or configuration error', { timeout: 60_000 }, async () => {
  const inner = memoryStore();
  const broken = { ...inner, putBlob: () => () => Promise.reject(new Error('the disk controller caught fire')) };
  const r = await run(learner({ store: broken, config: config() })([task('one', 1)]));
  assert.ok(E.isLeft(r));
  assert.equal(r.left.tag, 'InternalError');
  assert.match(r.left.message, /caught fire/);
  assert.ok(r.left.tag === 'InternalError' && r.left.stack !== undefined, 'the stack is kept for a debug flag');
});
