/**
 * Capacity as a budget, on real training: a task that can never pass the
 * training-accuracy threshold still leaves the tasks after it their room; a
 * model that has run out of room says so when it happens; raising the
 * maximum width for a later task gives it room by growing first; a share
 * the sweep cannot reach from a whole claim is met by a partial one, which a
 * stopped learner resumes bit for bit.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as E from 'fp-ts/lib/Either.js';
import type { RunReport } from '../../src/algebra/report.js';
import { memoryStore } from '../../src/effects/stores/memory.js';
import { type RunEvent } from '../../src/streams/run.js';
import { learner } from '../../src/node/defaults.js';
import { tap } from 'rxjs';
import { eventsOrError, manifestIn, tinyConfig, tinyTask } from '../helpers/tinyTasks.js';

process.env['CPG_BACKEND'] ??= 'wasm';

const reportOf = (events: readonly RunEvent[]): RunReport => {
  const end = events[events.length - 1];
  assert.ok(end?.type === 'run-finished', `ended with ${end?.type}`);
  return end.report;
};

test('a task that can never pass the training-accuracy threshold keeps no more than its share; the reference alone keeps its whole claim', { timeout: 120_000 }, async () => {
  // No training accuracy is above 1: under the reference's rules nothing is recorded and the task keeps every weight.
  const hopeless = { trainAccThreshold: 1, expectedTasks: 10, sparsities: [0.5, 0.8], maxMultiplier: 1 };
  const reference = await eventsOrError(learner({ store: memoryStore(), config: tinyConfig({ ...hopeless, capacityBudget: 'none', recordRule: 'reference' }) })([tinyTask('one', 1)]));
  assert.ok(E.isRight(reference));
  const ref = reportOf(reference.right).tasks[0]!;
  assert.equal(ref.sparsity, 0);
  assert.equal(ref.ownedFraction, 1, 'the whole network');

  // The whole claim ('all'), compacted to the share.
  const budgeted = await eventsOrError(learner({ store: memoryStore(), config: tinyConfig({ ...hopeless, capacityBudget: 'share', recordRule: 'reference', claim: 'all' }) })([tinyTask('one', 1)]));
  assert.ok(E.isRight(budgeted));
  const report = reportOf(budgeted.right);
  const t = report.tasks[0]!;
  assert.ok(t.budget !== undefined);
  // An equal share among 10 expected tasks of a network that may not grow: a tenth.
  assert.ok(Math.abs(t.budget.share - 0.1) < 1e-9, `share ${t.budget.share}`);
  assert.equal(t.budget.floor, 0.9);
  assert.ok(t.budget.bound);
  assert.ok(t.sparsity >= 0.9);
  assert.ok(t.ownedFraction <= t.budget.share + 1e-9, `owns ${t.ownedFraction} > share ${t.budget.share}`);
  assert.match(t.note ?? '', /the budget bound/);
  // What bound, with its figures: the equal share among the 10 expected tasks, at the maximum width ×1.
  assert.equal(t.budget.constraint, 'planned');
  assert.equal(t.budget.plannedTasks, 10);
  assert.ok(Math.abs((t.budget.shareOfRoom ?? 0) - 0.1) < 1e-9);
  assert.equal(t.budget.maxWidth, 1);
  // Its floor, 0.9, lies beyond the requested 0.5, 0.8: the report shows both, and the run said so when training settled.
  assert.deepEqual(t.budget.requestedSparsities, [0.5, 0.8]);
  assert.equal(t.budget.imposedSparsity, 0.9);
  const floorAt = budgeted.right.findIndex((e) => e.type === 'budget-floor');
  const firstPrune = budgeted.right.findIndex((e) => e.type === 'stage-started' && e.stage === 'prune');
  assert.ok(floorAt >= 0 && floorAt < firstPrune, 'said when it happens: before the sweep compacts');
  const notice = budgeted.right[floorAt] as Extract<RunEvent, { type: 'budget-floor' }>;
  assert.equal(notice.floor, 0.9);
  assert.equal(notice.constraint, 'planned');
  assert.match(notice.message, /^task 'one' may keep 10\.0 % of the network at ×1 \(bound by the equal share among the 10 tasks still planned .*sparsity ≥ 0\.9, beyond the requested --sparsities 0\.5,0\.8$/);
  // The reference alone requests nothing beyond its targets.
  assert.ok(!reference.right.some((e) => e.type === 'budget-floor'));
  assert.match(report.capacityPolicy ?? '', /budget/);
  assert.equal(report.maxLogitDrift, 0);
});

test('a share the sweep cannot reach from a whole claim: the task claims what the last target compacts to its share, at random, and is compacted to it; a stop mid-task resumes bit for bit', { timeout: 180_000 }, async () => {
  // A tenth of a network that may not grow, and a sweep that ends at 0.8: a whole claim would need 0.9.
  const hopeless = { trainAccThreshold: 1, expectedTasks: 10, sparsities: [0.5, 0.8], maxMultiplier: 1, capacityBudget: 'share', claim: 'share' };
  const whole = memoryStore();
  const w = await eventsOrError(learner({ store: whole, config: tinyConfig(hopeless) })([tinyTask('one', 1), tinyTask('two', 2)]));
  assert.ok(E.isRight(w), JSON.stringify(E.isLeft(w) ? w.left : ''));
  const report = reportOf(w.right);
  for (const t of report.tasks) {
    const b = t.budget;
    assert.ok(b?.claimed !== undefined, `${t.name}: the claim is reported`);
    // share / (1 − 0.8): five times the share.
    assert.ok(Math.abs(b.claimed - 5 * b.share) < 0.01, `${t.name}: claimed ${b.claimed}, share ${b.share}`);
    assert.ok(b.claimed < b.freeAtStart, `${t.name}: less than was free`);
    assert.ok(t.ownedFraction <= b.share + 1e-9, `${t.name}: owns ${t.ownedFraction} > share ${b.share}`);
    // Compacted within its claim to the share by the sweep's own last target, not beyond it.
    assert.equal(t.sparsity, 0.8, `${t.name}: sparsity ${t.sparsity}`);
  }
  assert.equal(report.maxLogitDrift, 0);

  const store = memoryStore();
  const stop = new AbortController();
  const stopped = await eventsOrError(
    learner({ store, config: tinyConfig(hopeless), signal: stop.signal })([tinyTask('one', 1), tinyTask('two', 2)]).pipe(
      tap((e) => {
        if (e.type === 'stage-ended' && e.name === 'two' && e.stage === 'train') stop.abort();
      }),
    ),
  );
  assert.ok(E.isRight(stopped));
  assert.equal(stopped.right[stopped.right.length - 1]?.type, 'stopped');
  const resumed = await eventsOrError(learner({ store })([tinyTask('one', 1), tinyTask('two', 2)]));
  assert.ok(E.isRight(resumed), JSON.stringify(E.isLeft(resumed) ? resumed.left : ''));
  const [a, b] = await Promise.all([manifestIn(store), manifestIn(whole)]);
  assert.deepEqual(a.state, b.state, 'the same weights, owner maps, pick masks and private tensors');
});

test('a model out of room warns when the task starts (and its report says so); a larger maximum width lets the next task grow first', { timeout: 180_000 }, async () => {
  const store = memoryStore();
  // Task one takes the whole network (the reference's rules, a threshold it cannot pass).
  const first = await eventsOrError(
    learner({ store, config: tinyConfig({ trainAccThreshold: 1, sparsities: [0.5], maxMultiplier: 1, capacityBudget: 'none', recordRule: 'reference' }) })([tinyTask('one', 1)]),
  );
  assert.ok(E.isRight(first));
  assert.equal(reportOf(first.right).tasks[0]!.ownedFraction, 1);

  // Task two under a budget, at the maximum width: nothing is free.
  const second = await eventsOrError(learner({ store, config: tinyConfig({ maxMultiplier: 1, capacityBudget: 'share', expectedTasks: 4 }) })([tinyTask('two', 2)]));
  assert.ok(E.isRight(second), JSON.stringify(E.isLeft(second) ? second.left : ''));
  const types = second.right.map((e) => e.type);
  const warned = types.indexOf('capacity-low');
  assert.ok(warned >= 0, 'a capacity-low event');
  const training = second.right.findIndex((e) => e.type === 'stage-started' && e.stage === 'train');
  assert.ok(warned < training, 'said when it happens: before the task trains');
  const warning = second.right[warned] as Extract<RunEvent, { type: 'capacity-low' }>;
  assert.equal(warning.freeFraction, 0);
  assert.equal(warning.at, 'start');
  assert.equal(warning.constraint, 'width', 'nothing free at the maximum width: the width bound');
  assert.match(warning.message, /task 'two' starts with 0\.0 % of the network free.*--max-multiplier/);
  assert.equal(reportOf(second.right).tasks[1]!.budget?.ranOut, true);
  assert.equal(reportOf(second.right).tasks[1]!.budget?.constraint, 'width');
  assert.equal(reportOf(second.right).maxLogitDrift, 0);

  // Task three with the maximum width raised: the network grows before training, for capacity.
  const third = await eventsOrError(learner({ store, config: tinyConfig({ maxMultiplier: 1.5, capacityBudget: 'share', expectedTasks: 4 }) })([tinyTask('three', 3)]));
  assert.ok(E.isRight(third), JSON.stringify(E.isLeft(third) ? third.left : ''));
  const grow = third.right.find((e) => e.type === 'stage-started' && e.stage === 'grow');
  assert.ok(grow?.type === 'stage-started' && grow.why === 'capacity' && grow.multiplier === 1.5);
  assert.ok(!third.right.some((e) => e.type === 'capacity-low'));
  const r3 = reportOf(third.right);
  assert.equal(r3.tasks[2]!.budget?.grewFirstTo, 1.5);
  assert.equal(r3.tasks[2]!.budget?.ranOut, false);
  assert.equal(r3.maxLogitDrift, 0);

  // Lowering the maximum below the model's width is refused, naming the field.
  const lowered = await eventsOrError(learner({ store, config: tinyConfig({ maxMultiplier: 1 }) })([tinyTask('four', 4)]));
  assert.ok(E.isLeft(lowered) && lowered.left.tag === 'ConfigError' && lowered.left.field === 'maxMultiplier');
});
