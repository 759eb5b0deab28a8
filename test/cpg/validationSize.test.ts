/**
 * A goal tested on too few validation images is not tested: images never
 * make the goal's tolerance more than one point, a task whose validation set
 * is too small for its tolerance (or for one point) is warned about when it
 * starts, and its report says so; the command line's summary never calls a
 * task more than a point under its goal "within the allowed loss".
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as E from 'fp-ts/lib/Either.js';
import fc from 'fast-check';
import type { RunReport, TaskReport } from '../../src/algebra/report.js';
import { memoryStore } from '../../src/effects/stores/memory.js';
import { type RunEvent } from '../../src/streams/run.js';
import { learner } from '../../src/node/defaults.js';
import { summary } from '../../src/node/cli/render.js';
import { eventsOrError, tinyConfig, tinyTask } from '../helpers/tinyTasks.js';

process.env['CPG_BACKEND'] ??= 'wasm';

test('a validation set too small for the goal is warned about when the task starts, and its report says so; images add at most a point', { timeout: 120_000 }, async () => {
  // The MNIST preset's tolerance: half a point, at least one image. 20 validation images: one is 5 points.
  const config = tinyConfig({ allowedLoss: 0.005, allowedLossImages: 1 });
  const run = await eventsOrError(learner({ store: memoryStore(), config })([tinyTask('small', 1), tinyTask('large', 2, [2, 2, 1], { train: 64, val: 200 })]));
  assert.ok(E.isRight(run), JSON.stringify(E.isLeft(run) ? run.left : ''));
  const events = run.right;
  const warnings = events.filter((e): e is Extract<RunEvent, { type: 'validation-small' }> => e.type === 'validation-small');
  assert.deepEqual(warnings.map((w) => w.name), ['small'], 'only the task with 20 validation images');
  const w = warnings[0]!;
  assert.equal(w.images, 20);
  assert.equal(w.imageWorth, 0.05);
  assert.equal(w.tolerance, 0.01, 'one image of 20 would be 5 points: capped at one');
  assert.match(w.message, /^task 'small' tests its goal on 20 validation images: one image is 5 points, more than the 1 point its goal is tested to.*at least 100 validation images/);
  const at = events.indexOf(w);
  const trains = events.findIndex((e) => e.type === 'stage-started' && e.name === 'small' && e.stage === 'train');
  const started = events.findIndex((e) => e.type === 'task-started' && e.name === 'small' && e.purpose === 'learn');
  assert.ok(started < at && at < trains, 'said when the task starts, before it trains');

  const end = events[events.length - 1];
  assert.ok(end?.type === 'run-finished');
  const [small, large] = end.report.tasks;
  assert.equal(small?.validationImages, 20);
  assert.equal(small?.validationTooSmall, true);
  assert.equal(small?.allowedLoss, 0.01);
  assert.equal(large?.validationImages, 200);
  assert.equal(large?.validationTooSmall, false);
  assert.equal(large?.allowedLoss, 0.005, 'one image of 200 is half a point: as before');
  assert.match(summary(end.report, 'mem'), /validation too small to test the goal .*: small \(20 images: one is 5 points\); give a task at least 100 validation images/);
  assert.doesNotMatch(summary(end.report, 'mem'), /large \(200 images/);
});

const task = (name: string, valAccuracy: number, goal: number, allowedLoss: number): TaskReport => ({
  name,
  accuracy: valAccuracy,
  valAccuracy,
  goal,
  widthMultiplier: 1,
  sparsity: 0.5,
  ownedFraction: 0.5,
  pickedFraction: 0,
  growths: [],
  pruneCurve: [],
  retrainKept: false,
  note: null,
  allowedLoss,
});

const reportOf = (tasks: readonly TaskReport[]): RunReport => ({
  method: 'cpg',
  benchmark: 'custom',
  net: 'mlp',
  backend: 'wasm',
  seed: 1,
  tasks: [...tasks],
  accuracyMatrix: tasks.map((_, i) => tasks.map((t, j) => (j <= i ? t.accuracy : null))),
  averageAccuracy: 0.9,
  forgetting: 0,
  backwardTransfer: 0,
  maxLogitDrift: 0,
  modelSize: { parameters: 1, relativeToOneNetwork: 1, checkpointBytes: 1 },
  capacity: [],
  timing: { totalSeconds: 1, perTask: [] },
  createdAt: '2027-01-01T00:00:00.000Z',
});

/** The tasks the summary's "within the allowed loss" line names. */
const withinLine = (text: string): string => text.split('\n').find((l) => l.startsWith('within the allowed loss')) ?? '';

test('the summary never says "within the allowed loss" of a task more than a point under its goal', () => {
  // The case reported: 11 of 12 validation images against a goal of 100 %, with the tolerance a run before the cap learned with.
  const reported = summary(reportOf([task('tiny', 11 / 12, 1, 1 / 12)]), 'run');
  assert.doesNotMatch(reported, /within the allowed loss/);
  assert.match(reported, /more than 1 point under the goal, accepted by a tolerance over 1 point \(validation\): tiny 91\.67%, goal 100\.00% − 8\.33 points/);
  // A point under with a point allowed is within it.
  assert.match(summary(reportOf([task('close', 0.99, 1, 0.01)]), 'run'), /within the allowed loss \(validation\): close 99\.00%, goal 100\.00% − 1 point/);
  fc.assert(
    fc.property(
      fc.array(
        fc.record({
          val: fc.integer({ min: 0, max: 1000 }).map((x) => x / 1000),
          goal: fc.integer({ min: 0, max: 1000 }).map((x) => x / 1000),
          allowedLoss: fc.oneof(fc.constantFrom(0, 0.005, 0.01, 0.02, 1 / 12), fc.double({ min: 0, max: 0.2, noNaN: true })),
        }),
        { minLength: 1, maxLength: 6 },
      ),
      (ts) => {
        const tasks = ts.map((t, i) => task(`t${i}`, t.val, t.goal, t.allowedLoss));
        const line = withinLine(summary(reportOf(tasks), 'run'));
        for (const t of tasks) {
          const named = line.includes(` ${t.name} `);
          if (t.goal! - t.valAccuracy > 0.01 + 1e-9) assert.ok(!named, `${t.name}: ${t.valAccuracy} against ${t.goal} is more than a point under: ${line}`);
          // Within a point and within its tolerance, under the goal: named there.
          else if (t.valAccuracy + 1e-12 < t.goal! && t.valAccuracy + t.allowedLoss! >= t.goal! - 1e-9) assert.ok(named, `${t.name} missing from: ${line}`);
        }
      },
    ),
    { seed: 3, numRuns: 300 },
  );
});
