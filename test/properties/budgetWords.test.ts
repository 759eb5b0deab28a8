/**
 * The budget's words (budgetWords.ts): every warning names the constraint
 * that actually bound — the open stream's reserve, the equal share among the
 * tasks planned, or the maximum width — with its figures, and suggests a
 * larger --max-multiplier only where the width bound.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { type Plan, type Room, accountOf, accountOfOutcome, budgetOutcomeOf, imposedSparsity, neededFor, shareFor } from '../../src/algebra/budget.js';
import { endedShortMessage, floorBeyondMessage, remedyWords, startedShortMessage } from '../../src/algebra/budgetWords.js';
import { type TaskContext, startCycle } from '../../src/algebra/lifecycle.js';
import * as E from 'fp-ts/lib/Either.js';

/** A task's context with its budget made as cpg/learn.ts makes it: the share of the room by the plan, what it needs to start. */
const contextFor = (o: { readonly task: number; readonly tasksTotal: number; readonly reserve?: number; readonly room: Room; readonly base: number; readonly multiplier?: number }): TaskContext => {
  const plan: Plan = o.reserve !== undefined ? { reserve: o.reserve } : { tasksLeft: o.tasksTotal - o.task };
  const share = shareFor(o.room, plan);
  const needed = neededFor(share, o.base, o.reserve !== undefined ? { reserve: o.reserve } : { tasksTotal: o.tasksTotal });
  return {
    task: o.task,
    tasksTotal: o.tasksTotal,
    goal: 0.95,
    valSize: 40,
    multiplier: o.multiplier ?? 1,
    ...(o.reserve !== undefined ? { reserve: o.reserve } : {}),
    budget: { share, needed, free: o.room.free, size: o.room.size },
  };
};

test("the open stream's reserve on a nearly empty network: named with its figures, the remedy is --reserve / --expected-tasks, never --max-multiplier", () => {
  // The case reported: MNIST 3 vs 5, the first task of an open stream, every weight free at ×1, growth to ×1.5 allowed.
  const ctx = contextFor({ task: 1, tasksTotal: 1, reserve: 0.9, room: { free: 1000, growth: 314.4, size: 1000 }, base: 1000 });
  const a = accountOf(ctx, 1, 1.5);
  assert.ok(a !== undefined);
  assert.equal(a.constraint, 'reserve');
  assert.ok(Math.abs(a.shareOfRoom - 0.1) < 1e-12 && Math.abs(a.share - 0.13144) < 1e-12 && a.freeAtStart === 1);
  const end = endedShortMessage('three-five', 0.15, 0.8686, a);
  assert.match(end, /^task 'three-five' ended 15\.0 points under its goal \(validation\): its compacting was bound to sparsity ≥ 0\.8686 of its own weights by the open stream's reserve, which keeps 90 % of the room for the tasks to come/);
  assert.match(end, /it may keep 13\.1 % of the network at ×1 \(10 % of the room: free weights plus the growth still allowed up to ×1\.5\), where 100\.0 % was free when it started; width ×1, maximum ×1\.5/);
  assert.match(end, /a smaller --reserve \(now 0\.9\) or --expected-tasks N/);
  assert.doesNotMatch(end, /max-multiplier|short of room|out of room/);
  assert.equal(
    floorBeyondMessage('three-five', 0.8686, [0.5, 0.8], a),
    "task 'three-five' may keep 13.1 % of the network at ×1 (bound by the open stream's reserve, which keeps 90 % of the room for the tasks to come): its own weights must reach sparsity ≥ 0.8686, beyond the requested --sparsities 0.5,0.8",
  );
});

test('the equal share among the tasks planned: named with the count, its share of the room and of the network; the remedy is fewer planned tasks', () => {
  // Task 2 of 5 planned: this one and 3 after it share the room equally.
  const ctx = contextFor({ task: 2, tasksTotal: 5, room: { free: 800, growth: 0, size: 1000 }, base: 1000, multiplier: 1.5 });
  const a = accountOf(ctx, 1.5, 1.5);
  assert.ok(a !== undefined);
  assert.equal(a.constraint, 'planned');
  assert.equal(a.plannedTasks, 4);
  assert.equal(a.shareOfRoom, 0.25);
  const end = endedShortMessage('digits-2-3', 0.02, 0.75, a);
  assert.match(end, /bound to sparsity ≥ 0\.75 of its own weights by the equal share among the 4 tasks still planned \(this one and 3 after it\)/);
  assert.match(end, /it may keep 20\.0 % of the network at ×1\.5 \(25 % of the room: free weights plus the growth still allowed up to ×1\.5\), where 80\.0 % was free when it started; width ×1\.5, maximum ×1\.5/);
  assert.match(end, /fewer planned tasks \(--expected-tasks/);
  assert.doesNotMatch(end, /max-multiplier|--reserve/);
});

test('the maximum width reached with fewer free weights than the task needs: the width is named, and only then a larger --max-multiplier', () => {
  // Nothing free, no growth allowed: the task needs 1 % of one network (MIN_SHARE) and has none.
  const ctx = contextFor({ task: 2, tasksTotal: 4, room: { free: 0, growth: 0, size: 1000 }, base: 1000 });
  const a = accountOf(ctx, 1, 1);
  assert.ok(a !== undefined);
  assert.equal(a.constraint, 'width');
  const start = startedShortMessage('two', a);
  assert.match(start, /^task 'two' starts with 0\.0 % of the network free, less than the 1\.0 % it needs, at width ×1 \(maximum ×1\): bound by the maximum width ×1, where fewer weights are free than the task needs/);
  assert.match(start, /its share: 0\.0 % of the network, 33\.3 % of the room/);
  assert.match(start, /give the model room with a larger --max-multiplier$/);
  assert.match(endedShortMessage('two', 0.1, 0.5, a), /by the maximum width ×1, .*--max-multiplier$/);
  assert.doesNotMatch(start, /--reserve|--expected-tasks/);
});

test('for any budget: the width is what bound exactly when the task starts short of what it needs; only then is --max-multiplier suggested; the report keeps the same figures', () => {
  fc.assert(
    fc.property(
      fc.record({
        free: fc.integer({ min: 0, max: 10_000 }),
        growth: fc.integer({ min: 0, max: 10_000 }),
        extra: fc.integer({ min: 0, max: 10_000 }),
        tasksTotal: fc.integer({ min: 1, max: 30 }),
        taskPick: fc.nat(),
        reserve: fc.option(fc.double({ min: 0.01, max: 0.99, noNaN: true }), { nil: undefined }),
        floor: fc.integer({ min: 0, max: 99 }).map((x) => x / 100),
      }),
      (p) => {
        const size = Math.max(1, p.free + p.extra);
        const task = (p.taskPick % p.tasksTotal) + 1;
        const ctx = contextFor({ task, tasksTotal: p.tasksTotal, ...(p.reserve !== undefined ? { reserve: p.reserve } : {}), room: { free: p.free, growth: p.growth, size }, base: size });
        const a = accountOf(ctx, 1, 2);
        assert.ok(a !== undefined);
        const b = ctx.budget!;
        assert.equal(a.constraint === 'width', b.free < b.needed);
        if (a.constraint !== 'width') assert.equal(a.constraint, p.reserve !== undefined ? 'reserve' : 'planned');
        assert.equal(remedyWords(a).includes('--max-multiplier'), a.constraint === 'width');
        assert.equal(endedShortMessage('t', 0.05, p.floor, a).includes('--max-multiplier'), a.constraint === 'width');
        // The share of the room is the plan's: 1 − reserve, or one part among this task and those left.
        assert.ok(Math.abs(a.shareOfRoom - (p.reserve !== undefined ? 1 - p.reserve : 1 / (p.tasksTotal - task + 1))) < 1e-12);
        // What the report keeps reads back as the same figures.
        const s = startCycle(ctx, { growStep: 0.5, maxMultiplier: 2, trainAccThreshold: 0.95, allowedLoss: 0, sparsities: [0.5, 0.8], retrainPick: false, prune: true });
        assert.ok(E.isRight(s));
        const out = budgetOutcomeOf(s.right).budget;
        assert.ok(out !== undefined);
        assert.deepEqual(accountOfOutcome(out), a);
        assert.deepEqual(out.requestedSparsities, [0.5, 0.8]);
      },
    ),
    { seed: 5, numRuns: 400 },
  );
  // The budget imposes a sparsity only beyond the last requested target.
  assert.equal(imposedSparsity(0.8686, [0.5, 0.8]), 0.8686);
  assert.equal(imposedSparsity(0.7, [0.5, 0.8]), undefined);
  assert.equal(imposedSparsity(0, [0.5, 0.8]), undefined);
});
