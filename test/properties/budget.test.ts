/**
 * Capacity as a budget: properties of the room and share arithmetic
 * (budget.ts) and of the life cycle under a budget and under each record
 * rule, for any measured accuracies — above all: whatever the goal and
 * threshold rules say, a task keeps no more than its share.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as E from 'fp-ts/lib/Either.js';
import fc from 'fast-check';
import { mlp as mlpGraph } from '../../src/algebra/architectures.js';
import { type Backbone, claimAll, createBackbone, growTo } from '../../src/algebra/backbone.js';
import { MIN_SHARE, budgetOutcomeOf, cellsAt, neededFor, roomOf, shareFor, startingWidth } from '../../src/algebra/budget.js';
import { claimCounts, claimLimit } from '../../src/algebra/claim.js';
import { CycleStateCodec } from '../../src/algebra/cycleState.js';
import { decodeWith } from '../../src/algebra/json.js';
import {
  MAX_FLOOR,
  advance,
  budgetBound,
  chooseRatio,
  floorOf,
  nextTargetOf,
  startCycle,
  targetsOf,
  type CycleConfig,
  type CycleState,
  type Measured,
  type Phase,
  type RecordRule,
  type TaskContext,
} from '../../src/algebra/lifecycle.js';

const RUNS = { seed: 7, numRuns: 300 } as const;
const refSparsities = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95];

interface Raw {
  readonly trainAcc: number;
  readonly valAcc: number;
}

const arbAcc = (valSize: number): fc.Arbitrary<number> =>
  fc.oneof(fc.double({ min: 0, max: 1, noNaN: true }), fc.integer({ min: 0, max: valSize }).map((k) => k / valSize), fc.constantFrom(0, 0.95, 1));

/** A task under a budget: knobs, context, how many cells it will own after training, and raw measurements. */
const arbBudgeted = fc
  .record({
    rule: fc.constantFrom<RecordRule | undefined>(undefined, 'reference', 'goal'),
    sparsities: fc.oneof(
      fc.constant(refSparsities),
      fc.uniqueArray(fc.integer({ min: 1, max: 99 }), { minLength: 1, maxLength: 10 }).map((xs) => [...xs].sort((a, b) => a - b).map((x) => x / 100)),
    ),
    threshold: fc.constantFrom(0.95, 0.5, 1),
    allowedLoss: fc.constantFrom(0, 0.005, 0.05),
    maxMultiplier: fc.constantFrom(1, 1.5, 2),
    tasksTotal: fc.integer({ min: 1, max: 40 }),
    taskPick: fc.nat(),
    valSize: fc.integer({ min: 10, max: 500 }),
    goalCount: fc.nat(),
    owned: fc.integer({ min: 1, max: 100_000 }),
    shareOfOwned: fc.oneof(fc.double({ min: 0, max: 1.2, noNaN: true }), fc.constantFrom(0, 0.05, 1 / 30, 1)),
  })
  .chain((p) =>
    fc
      .array(fc.record({ trainAcc: arbAcc(p.valSize), valAcc: arbAcc(p.valSize) }), { minLength: 40, maxLength: 40 })
      .map((raws) => {
        const config: CycleConfig = {
          growStep: 0.5,
          maxMultiplier: p.maxMultiplier,
          trainAccThreshold: p.threshold,
          allowedLoss: p.allowedLoss,
          sparsities: p.sparsities,
          retrainPick: true,
          prune: true,
          ...(p.rule !== undefined ? { recordRule: p.rule } : {}),
        };
        const share = p.shareOfOwned * p.owned;
        const ctx: TaskContext = {
          task: (p.taskPick % p.tasksTotal) + 1,
          tasksTotal: p.tasksTotal,
          goal: (p.goalCount % (p.valSize + 1)) / p.valSize,
          valSize: p.valSize,
          multiplier: 1,
          budget: { share, needed: share, free: p.owned, size: p.owned },
        };
        return { config, ctx, owned: p.owned, share, raws };
      }),
  );

const measure = (p: Phase, r: Raw, owned: number): Measured =>
  p.tag === 'train'
    ? { tag: 'trained', trainAcc: r.trainAcc, valAcc: r.valAcc, ownsAny: true, owned }
    : p.tag === 'prune'
      ? { tag: 'pruned', trainAcc: r.trainAcc, valAcc: r.valAcc }
      : { tag: 'retrained', valAcc: r.valAcc };

interface Step {
  readonly before: CycleState;
  readonly m: Measured;
}

const drive = (ctx: TaskContext, config: CycleConfig, raws: readonly Raw[], owned: number): { steps: Step[]; last: CycleState } => {
  const s0 = startCycle(ctx, config);
  assert.ok(E.isRight(s0), JSON.stringify(E.isLeft(s0) ? s0.left : null));
  let s = s0.right;
  const steps: Step[] = [];
  for (const r of raws) {
    if (s.phase.tag === 'done') break;
    const m = measure(s.phase, r, owned);
    const next = advance(m)(s);
    assert.ok(E.isRight(next), JSON.stringify(E.isLeft(next) ? next.left : null));
    steps.push({ before: s, m });
    s = next.right;
  }
  assert.equal(s.phase.tag, 'done', 'the cycle ends');
  return { steps, last: s };
};

const meets = (valAcc: number, ctx: TaskContext, c: CycleConfig): boolean => valAcc + c.allowedLoss >= ctx.goal - 1e-9;

test('whatever the goal and threshold rules say, a task keeps no more than its share: the chosen sparsity is at least its floor', () => {
  fc.assert(
    fc.property(arbBudgeted, ({ config, ctx, owned, share, raws }) => {
      const { last } = drive(ctx, config, raws, owned);
      assert.ok(last.phase.tag === 'done');
      const floor = floorOf(share, owned);
      assert.equal(last.floor ?? 0, floor);
      assert.ok(last.phase.chosen >= floor, `kept sparsity ${last.phase.chosen} under the floor ${floor}`);
      // Within the share, up to the floor's cap (a task keeps at least 1 % of its claim).
      if (floor < MAX_FLOOR) assert.ok((1 - last.phase.chosen) * owned <= share + 1e-9 * owned, `keeps ${(1 - last.phase.chosen) * owned} > share ${share}`);
      assert.equal(chooseRatio(last), last.phase.chosen);
      assert.equal(budgetBound(last), floor > 0 && chooseRatio({ ...last, floor: 0, record: last.record.filter((r) => r.forced !== true) }) < floor);
      if (budgetBound(last)) assert.match(last.phase.reason, /the budget bound/);
      // The report's account of it.
      const out = budgetOutcomeOf(last).budget;
      assert.ok(out !== undefined && out.floor === floor && out.bound === budgetBound(last));
      // Plain JSON that the checkpoint codec reads back unchanged.
      assert.deepEqual(decodeWith(CycleStateCodec, 'state')(JSON.parse(JSON.stringify(last))), E.right(last));
    }),
    RUNS,
  );
});

test('a task that can never pass the training-accuracy threshold still leaves the room its budget reserves', () => {
  fc.assert(
    fc.property(arbBudgeted, ({ config, ctx, owned, share, raws }) => {
      // Training accuracy never above the threshold, validation anything: the reference would keep the whole claim.
      const hopeless = raws.map((r) => ({ ...r, trainAcc: Math.min(r.trainAcc, config.trainAccThreshold) }));
      const reference = { ...config, recordRule: 'reference' as const };
      const { last } = drive(ctx, reference, hopeless, owned);
      assert.ok(last.phase.tag === 'done');
      assert.ok(last.phase.chosen >= floorOf(share, owned));
      // The reference's rules alone record nothing and keep the whole claim: the starvation the budget prevents.
      const { budget: _b, ...unbudgeted } = ctx;
      void _b;
      const alone = drive(unbudgeted, reference, hopeless, owned).last;
      assert.ok(alone.phase.tag === 'done');
      assert.equal(alone.phase.chosen, 0);
    }),
    RUNS,
  );
});

test('the sweep: below the floor the budget forces it on and lands on the floor itself; at or above it the rule ends it, recording the first such target', () => {
  fc.assert(
    fc.property(arbBudgeted, ({ config, ctx, owned, raws }) => {
      const { steps, last } = drive(ctx, config, raws, owned);
      const floor = last.floor ?? 0;
      const targets = targetsOf(last);
      const prunes = steps.filter((st) => st.m.tag === 'pruned');
      const rule = config.recordRule ?? 'reference';
      const recordable = (m: Extract<Measured, { tag: 'pruned' }>) => m.trainAcc > config.trainAccThreshold || (rule === 'goal' && meets(m.valAcc, ctx, config));
      const recorded: number[] = [];
      prunes.forEach((st, i) => {
        const p = st.before.phase as Extract<Phase, { tag: 'prune' }>;
        const m = st.m as Extract<Measured, { tag: 'pruned' }>;
        assert.ok(targets.includes(p.to) || p.to === floor, `target ${p.to} is neither among ${targets.join(', ')} nor the floor ${floor}`);
        if (i > 0) assert.ok(p.to > (prunes[i - 1]!.before.phase as { to: number }).to, 'targets increase');
        const demanded = floor > 0 && p.to >= floor && !recorded.some((x) => x >= floor);
        if (recordable(m) || demanded) recorded.push(p.to);
        // A target the rule refuses ends the sweep unless it is below the floor: then the next target comes, never beyond the floor.
        // Recorded and going on: the next target, except that a sweep about to step over the floor with the goal missed at this target stops at the floor on the way.
        if (recordable(m) && i < prunes.length - 1) {
          const unmet = !last.goalMissedAtMax && !meets(m.valAcc, ctx, config);
          const after = targets.find((x) => x > p.to);
          const expected = unmet && floor > p.to && after !== undefined ? Math.min(after, floor) : after;
          assert.equal((prunes[i + 1]!.before.phase as { to: number }).to, expected);
        }
        if (!recordable(m) && !demanded && i < prunes.length - 1) {
          assert.ok(p.to < floor);
          assert.equal((prunes[i + 1]!.before.phase as { to: number }).to, Math.min(targets.find((x) => x > p.to) ?? floor, floor));
          assert.equal((prunes[i + 1]!.before.phase as { to: number }).to, nextTargetOf(last, p.to, true));
        }
      });
      assert.deepEqual(last.record.map((r) => r.sparsity), recorded);
      // Marked forced exactly when only the budget recorded it.
      for (const r of last.record) {
        const st = prunes.find((p) => (p.before.phase as { to: number }).to === r.sparsity)!;
        assert.equal(r.forced === true, !recordable(st.m as Extract<Measured, { tag: 'pruned' }>));
      }
      // Under a budget the sweep always reaches its floor.
      if (floor > 0) assert.ok(recorded.some((x) => x >= floor), `${floor} never compacted to: ${JSON.stringify(prunes.map((p) => p.before.phase))}`);
    }),
    RUNS,
  );
});

test("the 'goal' rule passes the goal check on validation alone and records a target that meets the goal; 'reference' and absent are the same rule", () => {
  fc.assert(
    fc.property(arbBudgeted, ({ config, ctx, owned, raws }) => {
      const noBudget: TaskContext = { task: ctx.task, tasksTotal: ctx.tasksTotal, goal: ctx.goal, valSize: ctx.valSize, multiplier: 1 };
      const { recordRule: _drop, ...absent } = config;
      void _drop;
      const a = drive(noBudget, absent, raws, owned).last;
      const b = drive(noBudget, { ...config, recordRule: 'reference' }, raws, owned).last;
      assert.deepEqual({ ...a, config: null }, { ...b, config: null });
      const g = drive(noBudget, { ...config, recordRule: 'goal' }, raws, owned);
      const firstTrain = g.steps[0]!.m as Extract<Measured, { tag: 'trained' }>;
      // Passing validation at the first width never grows under 'goal'.
      if (meets(firstTrain.valAcc, ctx, config)) assert.equal(g.last.growths.length, 0);
    }),
    RUNS,
  );
});

// ---- room, share and the width to start at, on a real backbone --------------

const mlp = (): Backbone => {
  const b = createBackbone(mlpGraph());
  assert.ok(E.isRight(b));
  return b.right;
};

test('room is the free cells plus the growth still allowed; equal shares of a known count never overdraw it', () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 40 }), fc.constantFrom(1, 1.5, 2), (tasks, maxMultiplier) => {
      const b = mlp();
      const room = roomOf(b, maxMultiplier);
      const now = cellsAt(b, 1);
      const max = cellsAt(b, maxMultiplier);
      assert.ok(E.isRight(room) && E.isRight(now) && E.isRight(max));
      assert.deepEqual(room.right, { free: now.right, growth: max.right - now.right, size: now.right });
      // Each task keeps exactly its share of what is left: the room is never overdrawn, and the last task's share is what remains.
      let left = room.right.free + room.right.growth;
      for (let k = 1; k <= tasks; k++) {
        const share = shareFor({ free: left, growth: 0, size: room.right.size }, { tasksLeft: tasks - k });
        assert.ok(share <= left + 1e-6);
        assert.ok(Math.abs(share - (room.right.free + room.right.growth) / tasks) <= 1e-6 * left + 1e-6, 'equal shares');
        left -= share;
      }
      assert.ok(Math.abs(left) <= 1e-6 * (room.right.free + room.right.growth));
      // An open-ended reserve keeps its fraction of the room for the tasks to come.
      assert.ok(Math.abs(shareFor(room.right, { reserve: 0.9 }) - 0.1 * (room.right.free + room.right.growth)) <= 1e-6 * room.right.free);
    }),
    { seed: 3, numRuns: 30 },
  );
});

test('a task starts at the first width whose free cells cover what it needs, or at the maximum short of it', () => {
  // The first task keeps everything at width 1: nothing is free for the second.
  const taken = claimAll(1)(mlp());
  assert.ok(E.isRight(taken));
  const full = taken.right;
  const base = E.getOrElse(() => -1)(cellsAt(full, 1));
  const needed = MIN_SHARE * base;
  for (const maxMultiplier of [1, 1.5, 2]) {
    const room = roomOf(full, maxMultiplier);
    assert.ok(E.isRight(room));
    assert.equal(room.right.free, 0);
    const start = startingWidth(full, room.right, Math.max(needed, shareFor(room.right, { tasksLeft: 3 })), 0.5, maxMultiplier);
    assert.ok(E.isRight(start));
    if (maxMultiplier === 1) assert.deepEqual({ m: start.right.multiplier, covered: start.right.covered, free: start.right.free }, { m: 1, covered: false, free: 0 });
    else {
      // One growth step frees its new cells, which cover a quarter of the room.
      assert.equal(start.right.multiplier, 1.5);
      assert.ok(start.right.covered && start.right.free >= shareFor(room.right, { tasksLeft: 3 }));
      const grown = growTo(1.5)(full);
      assert.ok(E.isRight(grown));
      assert.equal(start.right.size, E.getOrElse(() => -1)(cellsAt(grown.right.backbone, 1.5)));
      assert.equal(start.right.free, start.right.size - base);
    }
  }
});

test('a budget that does not bind changes nothing: where the rules alone keep at least the floor and never stop below it, the cycle is the same', () => {
  fc.assert(
    fc.property(arbBudgeted, ({ config, ctx, owned, raws }) => {
      const { budget: _b, ...unbudgeted } = ctx;
      void _b;
      const alone = drive(unbudgeted, config, raws, owned);
      const withBudget = drive(ctx, config, raws, owned);
      const floor = withBudget.last.floor ?? 0;
      const prunes = alone.steps.filter((st) => st.m.tag === 'pruned').map((st) => (st.before.phase as { to: number }).to);
      const lastTried = prunes[prunes.length - 1] ?? 0;
      // …and where the sweep never stopped at the floor on its way (it does when the target before the floor missed the goal).
      const budgetPrunes = withBudget.steps.filter((st) => st.m.tag === 'pruned').map((st) => (st.before.phase as { to: number }).to);
      fc.pre(
        alone.last.phase.tag === 'done' &&
          alone.last.phase.chosen >= floor &&
          (floor === 0 || lastTried >= floor) &&
          budgetPrunes.every((x) => targetsOf(withBudget.last).includes(x)),
      );
      // The budget's own bookkeeping (its context, floor and the claim it records) aside.
      const strip = (s: CycleState) => ({ ...s, ctx: null, floor: null, claimed: null });
      assert.deepEqual(strip(withBudget.last), strip(alone.last));
      assert.equal(budgetBound(withBudget.last), false);
    }),
    { ...RUNS, numRuns: 500 },
  );
});

test('what a task needs to start: its share up to a fair part of one network, at least MIN_SHARE of one; the last task of a plan never has to grow for its share', () => {
  fc.assert(
    fc.property(
      fc.double({ min: 0, max: 5e6, noNaN: true }),
      fc.integer({ min: 1, max: 1e6 }),
      fc.oneof(fc.integer({ min: 1, max: 60 }).map((n) => ({ tasksTotal: n })), fc.double({ min: 0.01, max: 0.99, noNaN: true }).map((r) => ({ reserve: r }))),
      (share, base, fair) => {
        const needed = neededFor(share, base, fair);
        const part = 'reserve' in fair ? (1 - fair.reserve) * base : base / fair.tasksTotal;
        assert.ok(needed >= MIN_SHARE * base - 1e-9);
        assert.ok(needed <= Math.max(MIN_SHARE * base, share) + 1e-9, 'never more than the share (or the minimum)');
        assert.ok(needed <= Math.max(MIN_SHARE * base, part) + 1e-9, 'never more than a fair part of one network');
        if (share >= MIN_SHARE * base && share <= part) assert.equal(needed, share);
      },
    ),
    { seed: 11, numRuns: 500 },
  );
  // Split MNIST's last task: every free weight and all the growth is its share, yet 20 % of one network free is enough to start.
  const base = 1000;
  assert.equal(neededFor(850 + 500, base, { tasksTotal: 5 }), 200);
});

// ---- the claim rule ----

const arbClaim = fc.record({
  share: fc.oneof(fc.double({ min: 0, max: 1e6, noNaN: true }), fc.integer({ min: 0, max: 1e6 })),
  free: fc.array(fc.integer({ min: 0, max: 300_000 }), { minLength: 1, maxLength: 6 }),
  // Sparsity targets as configured: a few decimals (the floor is rounded up to 4).
  last: fc.oneof(fc.constantFrom(0.5, 0.9, 0.95), fc.integer({ min: 1, max: 99 }).map((x) => x / 100)),
});

test('claim rule: "all", or a share the last target reaches, claims every free cell; otherwise the claim stays under the free cells and the last target brings it to the share', () => {
  fc.assert(
    fc.property(arbClaim, ({ share, free, last }) => {
      const perTensor = new Map<string, number>(free.map((f, i) => [`t${i}`, f]));
      const total = free.reduce((a, b) => a + b, 0);
      assert.equal(claimLimit('all', share, total, last), undefined);
      const limit = claimLimit('share', share, total, last);
      const counts = claimCounts(perTensor, limit);
      const taken = [...counts.values()].reduce((a, b) => a + b, 0);
      for (const [name, n] of counts) assert.ok(n >= 0 && n <= perTensor.get(name)!, `${name}: ${n} of ${perTensor.get(name)} free`);
      if (limit === undefined) {
        // Compacting all of them to the share needs no target beyond the last.
        assert.ok(floorOf(share, total) <= last, `floor ${floorOf(share, total)} beyond ${last}`);
        assert.deepEqual(counts, perTensor);
        return;
      }
      assert.ok(limit < total && taken <= limit, `took ${taken} of limit ${limit} (${total} free)`);
      assert.ok(taken >= limit - free.length, 'each tensor rounds down by less than a cell');
      // The sweep's own last target compacts the claim to (at most) the share.
      assert.ok(floorOf(share, taken) <= last, `floor ${floorOf(share, taken)} beyond the last target ${last}`);
      // Exactly what the last target brings to the share: continuous where the whole claim goes out of reach.
      assert.equal(limit, Math.floor(share / (1 - last)));
    }),
    RUNS,
  );
});
