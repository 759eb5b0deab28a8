/**
 * Stream behaviour: operator order and completion (marble tests), and
 * stopping a real run — a stop request ends it at the next step, the stream
 * then completes with 'stopped' once the checkpoint is valid and the run
 * directory released, and the run resumes; unsubscribing stops it too.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import { TestScheduler } from 'rxjs/testing';
import { lastValueFrom, map, takeWhile, tap, toArray } from 'rxjs';
import { type RunEvent, finalReport, ofType, progress, sequence } from '../../src/streams/run.js';
import { goalsThenCpg, readRun, runEvents } from '../../src/node/runs.js';
import { writeFileSync } from 'node:fs';
import { decodeConfig } from '../../src/algebra/config.js';
import type { RunReport } from '../../src/algebra/report.js';

const marbles = () => new TestScheduler((actual, expected) => assert.deepEqual(actual, expected));

const started: RunEvent = { type: 'run-started', method: 'cpg', benchmark: 'split-mnist', net: 'mlp', backend: 'cpu', threads: 1, tasks: ['a', 'b'], planned: 2, dir: 'd', resumed: false };
const taskA: RunEvent = { type: 'task-started', task: 1, name: 'a', of: 2, purpose: 'learn' };
const epoch: RunEvent = { type: 'epoch-ended', task: 1, name: 'a', stage: 'train', epoch: 1, epochs: 2, loss: 0.5, trainAcc: 0.9, valAcc: 0.8, sparsity: 0, lr: 0.01, samplesPerSec: 100, stageEtaSeconds: 3 };
const report = { method: 'cpg', averageAccuracy: 0.9 } as unknown as RunReport;
const finished: RunEvent = { type: 'run-finished', report, dir: 'd' };

test('finalReport emits the report once, when the run completes', () => {
  marbles().run(({ cold, expectObservable }) => {
    const events = cold('a b c d|', { a: started, b: taskA, c: epoch, d: finished });
    expectObservable(events.pipe(finalReport())).toBe('----(r|)', { r: report });
  });
});

test('finalReport of a run that errors is that error', () => {
  marbles().run(({ cold, expectObservable }) => {
    const failure = { tag: 'NumericError', message: 'loss became NaN' };
    const events = cold('a b #', { a: started, b: taskA }, failure);
    expectObservable(events.pipe(finalReport())).toBe('--#', undefined, failure);
  });
});

test('progress folds events in order and counts learned tasks', () => {
  marbles().run(({ cold, expectObservable }) => {
    const done: RunEvent = { type: 'task-finished', task: 1, name: 'a', purpose: 'learn', accuracyRow: [0.9], valAcc: 0.9, goal: 0.9, multiplier: 1, sparsity: 0.5, ownedFraction: 0.5, freeFraction: 0.5, maxLogitDrift: 0, seconds: 1 };
    const events = cold('a b c d|', { a: started, b: taskA, c: epoch, d: done });
    const view = events.pipe(
      progress(),
      map((p) => [p.task, p.tasks, p.stage, p.tasksDone]),
    );
    expectObservable(view).toBe('a b c d|', {
      a: [0, 2, '', 0],
      b: [1, 2, 'start', 0],
      c: [1, 2, 'start', 0],
      d: [1, 2, 'start', 1],
    });
  });
});

test('sequence runs one stream after the other, tagging each event with its run', () => {
  marbles().run(({ cold, expectObservable }) => {
    const one = cold('a b|', { a: started, b: finished });
    const two = cold('a|', { a: taskA });
    const out = sequence([
      { label: 'first', events: one },
      { label: 'second', events: two },
    ]);
    expectObservable(out).toBe('a b c|', {
      a: { run: 'first', event: started },
      b: { run: 'first', event: finished },
      c: { run: 'second', event: taskA },
    });
  });
});

test('ofType keeps only the events of one kind', () => {
  marbles().run(({ cold, expectObservable }) => {
    const events = cold('a b c|', { a: started, b: epoch, c: epoch });
    expectObservable(events.pipe(ofType('epoch-ended'))).toBe('-bc|', { b: epoch, c: epoch });
  });
});

test('a stop request ends a real run at the next step; the stream completes after the checkpoint is valid, and the run resumes', { timeout: 120_000 }, async () => {
  process.env['CPG_BACKEND'] ??= 'wasm';
  const dir = path.join(mkdtempSync(path.join(tmpdir(), 'cpg-stream-')), 'run');
  const config = decodeConfig(undefined)({ tasks: 2, limitPerTask: 64, trainEpochs: 3, individualEpochs: 1, pruneEpochs: 1, pruneRampEpochs: 1, sparsities: [0.5], retrainEpochs: 1, goals: { kind: 'individual' } });
  assert.ok(E.isRight(config));
  const stop = new AbortController();
  // Ask to stop during task 1's training, after the first training epoch of the learning phase; wait for the stream to complete.
  const seen = await lastValueFrom(
    runEvents({ kind: 'new', dir, config: config.right, signal: stop.signal }).pipe(
      tap((e) => {
        if (e.type === 'epoch-ended' && e.stage === 'train') stop.abort();
      }),
      toArray(),
    ),
  );
  assert.ok(seen.some((e) => e.type === 'goals-ready'));
  assert.equal(seen[seen.length - 1]?.type, 'stopped', 'the last event says the run stopped');
  assert.equal(seen.filter((e) => e.type === 'epoch-ended' && e.stage === 'train').length, 1, 'no epoch ended after the stop');
  const m = await readRun(dir)();
  assert.ok(E.isRight(m) && m.right !== null, 'the last checkpoint is valid');
  assert.equal(m.right.finished.length, 0);
  assert.ok(!existsSync(path.join(dir, 'lock')), 'the run directory is released');
  const events = await lastValueFrom(runEvents({ kind: 'resume', dir }).pipe(toArray()));
  const end = events[events.length - 1];
  assert.equal(end?.type, 'run-finished');
  if (end?.type === 'run-finished') {
    assert.equal(end.report.tasks.length, 2);
    assert.equal(end.report.maxLogitDrift, 0);
  }
});

test('unsubscribing stops a real run at its next step and releases the run directory at once', { timeout: 120_000 }, async () => {
  process.env['CPG_BACKEND'] ??= 'wasm';
  const dir = path.join(mkdtempSync(path.join(tmpdir(), 'cpg-unsub-')), 'run');
  const config = decodeConfig(undefined)({ tasks: 1, limitPerTask: 64, trainEpochs: 3, pruneEpochs: 1, pruneRampEpochs: 1, sparsities: [0.5], goals: { kind: 'file', path: path.join(dir, '..', 'goals.json') } });
  assert.ok(E.isRight(config));
  writeFileSync(path.join(dir, '..', 'goals.json'), JSON.stringify({ 'digits-0-1': 0.9 }));
  let steps = 0;
  const seen = await lastValueFrom(
    runEvents({ kind: 'new', dir, config: config.right }).pipe(
      tap((e) => {
        if (e.type === 'epoch-ended') steps += 1;
      }),
      takeWhile((e) => !(e.type === 'epoch-ended' && e.stage === 'train')),
      toArray(),
    ),
  );
  assert.ok(seen.length > 0);
  assert.ok(!existsSync(path.join(dir, 'lock')), 'the lock is gone when unsubscribe returns');
  const m = await readRun(dir)();
  assert.ok(E.isRight(m) && m.right !== null && m.right.finished.length === 0, 'the last checkpoint is valid');
  assert.equal(steps, 1);
});

test('goalsThenCpg: individual networks set the goals, written to a file, that the CPG run then reads', { timeout: 120_000 }, async () => {
  process.env['CPG_BACKEND'] ??= 'wasm';
  const root = mkdtempSync(path.join(tmpdir(), 'cpg-compose-'));
  const config = decodeConfig(undefined)({ tasks: 2, limitPerTask: 64, trainEpochs: 1, pruneEpochs: 1, pruneRampEpochs: 1, sparsities: [0.5], retrainEpochs: 1 });
  assert.ok(E.isRight(config));
  const goalFile = path.join(root, 'goals.json');
  const tagged = await lastValueFrom(
    goalsThenCpg(config.right, path.join(root, 'goals'), path.join(root, 'cpg'), async (r) => {
      writeFileSync(goalFile, JSON.stringify(Object.fromEntries(r.tasks.map((t) => [t.name, t.valAccuracy]))));
      return goalFile;
    }).pipe(toArray()),
  );
  const runs = [...new Set(tagged.map((t) => t.run))];
  assert.deepEqual(runs, ['goals', 'cpg'], 'the goal run first, then CPG');
  const goalsReport = tagged.find((t) => t.run === 'goals' && t.event.type === 'run-finished')!.event as Extract<RunEvent, { type: 'run-finished' }>;
  const cpgReport = tagged.find((t) => t.run === 'cpg' && t.event.type === 'run-finished')!.event as Extract<RunEvent, { type: 'run-finished' }>;
  assert.equal(goalsReport.report.method, 'individual');
  assert.equal(cpgReport.report.method, 'cpg');
  assert.deepEqual(
    cpgReport.report.tasks.map((t) => t.goal),
    goalsReport.report.tasks.map((t) => t.valAccuracy),
    "CPG's goals are the individual networks' validation accuracies",
  );
});
