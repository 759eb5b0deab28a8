/**
 * The bisecting compacting search (lifecycle.ts, CompactSearch 'bisect'):
 * where a target's success is monotone it keeps what the reference's sweep
 * keeps, in about log2 of the probes; for any measured accuracies it ends,
 * never probes a target twice, compacts only from models it recorded, and
 * keeps the budget's floor.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as E from 'fp-ts/lib/Either.js';
import fc from 'fast-check';
import { CycleStateCodec } from '../../src/algebra/cycleState.js';
import { decodeWith } from '../../src/algebra/json.js';
import {
  MAX_FLOOR,
  advance,
  bisectBounds,
  floorOf,
  probeTargets,
  startCycle,
  type CompactSearch,
  type CycleConfig,
  type CycleState,
  type Measured,
  type Phase,
  type TaskContext,
} from '../../src/algebra/lifecycle.js';

const RUNS = { seed: 11, numRuns: 300 } as const;
const refSparsities = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95];

const arbSparsities = fc.oneof(
  fc.constant(refSparsities),
  fc.uniqueArray(fc.integer({ min: 1, max: 99 }), { minLength: 1, maxLength: 12 }).map((xs) => [...xs].sort((a, b) => a - b).map((x) => x / 100)),
);

const configOf = (sparsities: readonly number[], search: CompactSearch, maxMultiplier = 1.5): CycleConfig => ({
  growStep: 0.5,
  maxMultiplier,
  trainAccThreshold: 0.95,
  allowedLoss: 0,
  sparsities,
  retrainPick: true,
  prune: true,
  search,
});

/** Drive a cycle to its end; `at` answers each phase. */
const drive = (ctx: TaskContext, config: CycleConfig, at: (p: Phase, i: number) => Measured): { phases: Phase[]; last: CycleState } => {
  const s0 = startCycle(ctx, config);
  assert.ok(E.isRight(s0), JSON.stringify(E.isLeft(s0) ? s0.left : null));
  let s = s0.right;
  const phases: Phase[] = [];
  for (let i = 0; i < 100 && s.phase.tag !== 'done'; i++) {
    phases.push(s.phase);
    const next = advance(at(s.phase, i))(s);
    assert.ok(E.isRight(next), JSON.stringify(E.isLeft(next) ? next.left : null));
    s = next.right;
  }
  assert.equal(s.phase.tag, 'done', 'the cycle ends');
  return { phases, last: s };
};

const prunes = (phases: readonly Phase[]): Extract<Phase, { tag: 'prune' }>[] => phases.filter((p): p is Extract<Phase, { tag: 'prune' }> => p.tag === 'prune');
const chosen = (s: CycleState): number => (s.phase.tag === 'done' ? s.phase.chosen : Number.NaN);

/**
 * A monotone task: training accuracy holds up to θtrain, validation meets the
 * goal up to θgoal; at the maximum width the goal may have been missed already.
 */
const arbMonotone = fc.record({
  sparsities: arbSparsities,
  thetaTrain: fc.oneof(fc.double({ min: 0, max: 1, noNaN: true }), fc.constantFrom(0, 0.5, 0.95, 1)),
  thetaGoal: fc.oneof(fc.double({ min: 0, max: 1, noNaN: true }), fc.constantFrom(0, 0.5, 0.95, 1)),
  missedAtMax: fc.boolean(),
  tasksTotal: fc.integer({ min: 2, max: 30 }),
  taskPick: fc.nat(),
});

test('on a task whose targets succeed up to a point, bisect keeps what the reference sweep keeps, in at most 1 + ⌈log2(n + 1)⌉ probes', () => {
  fc.assert(
    fc.property(arbMonotone, ({ sparsities, thetaTrain, thetaGoal, missedAtMax, tasksTotal, taskPick }) => {
      const goal = 0.8;
      const ctx: TaskContext = { task: (taskPick % tasksTotal) + 1, tasksTotal, goal, valSize: 1000, multiplier: missedAtMax ? 1.5 : 1 };
      const at = (p: Phase): Measured =>
        p.tag === 'train'
          ? { tag: 'trained', trainAcc: 0.99, valAcc: missedAtMax ? 0.7 : goal, ownsAny: true }
          : p.tag === 'prune'
            ? { tag: 'pruned', trainAcc: p.to <= thetaTrain ? 0.99 : 0.9, valAcc: p.to <= thetaGoal ? goal : 0.7 }
            : { tag: 'retrained', valAcc: 0.5 };
      const ref = drive(ctx, configOf(sparsities, 'reference'), at);
      const bis = drive(ctx, configOf(sparsities, 'bisect'), at);
      assert.equal(chosen(bis.last), chosen(ref.last), `bisect ${JSON.stringify(prunes(bis.phases))} against the sweep ${JSON.stringify(prunes(ref.phases))}`);
      assert.equal(bis.last.chosenValAcc, ref.last.chosenValAcc);
      const n = sparsities.length;
      assert.ok(prunes(bis.phases).length <= 1 + Math.ceil(Math.log2(n + 1)), `${prunes(bis.phases).length} probes for ${n} targets`);
      // Where every target succeeds, one probe: the highest, from the unpruned model.
      if (!missedAtMax && Math.min(thetaTrain, thetaGoal) >= sparsities[n - 1]!)
        assert.deepEqual(prunes(bis.phases), [{ tag: 'prune', from: 0, to: sparsities[n - 1] }]);
    }),
    RUNS,
  );
});

/** Any measured accuracies, under a budget (or none: share ≥ owned). */
const arbAny = fc
  .record({
    sparsities: arbSparsities,
    owned: fc.integer({ min: 1, max: 100_000 }),
    shareOfOwned: fc.oneof(fc.double({ min: 0, max: 1.2, noNaN: true }), fc.constantFrom(0, 0.05, 1 / 30, 1)),
    goalCount: fc.integer({ min: 0, max: 200 }),
    maxMultiplier: fc.constantFrom(1, 1.5),
    tasksTotal: fc.integer({ min: 1, max: 30 }),
    taskPick: fc.nat(),
    accs: fc.array(fc.record({ trainAcc: fc.oneof(fc.constantFrom(0.9, 0.99), fc.double({ min: 0, max: 1, noNaN: true })), valCount: fc.integer({ min: 0, max: 200 }) }), { minLength: 40, maxLength: 40 }),
  })
  .map((p) => {
    const share = p.shareOfOwned * p.owned;
    const ctx: TaskContext = {
      task: (p.taskPick % p.tasksTotal) + 1,
      tasksTotal: p.tasksTotal,
      goal: p.goalCount / 200,
      valSize: 200,
      multiplier: 1,
      budget: { share, needed: share, free: p.owned, size: p.owned },
    };
    return { ...p, share, ctx, config: configOf(p.sparsities, 'bisect', p.maxMultiplier) };
  });

test('for any accuracies, bisect ends, probes each target once and only between its bounds, compacts from recorded models, and keeps the floor', () => {
  fc.assert(
    fc.property(arbAny, ({ ctx, config, owned, share, accs }) => {
      const states: CycleState[] = [];
      const s0 = startCycle(ctx, config);
      assert.ok(E.isRight(s0));
      let s = s0.right;
      for (let i = 0; i < 40 && s.phase.tag !== 'done'; i++) {
        states.push(s);
        const a = accs[i]!;
        const m: Measured =
          s.phase.tag === 'train'
            ? { tag: 'trained', trainAcc: a.trainAcc, valAcc: a.valCount / 200, ownsAny: true, owned }
            : s.phase.tag === 'prune'
              ? { tag: 'pruned', trainAcc: a.trainAcc, valAcc: a.valCount / 200 }
              : { tag: 'retrained', valAcc: a.valCount / 200 };
        const next = advance(m)(s);
        assert.ok(E.isRight(next), JSON.stringify(E.isLeft(next) ? next.left : null));
        s = next.right;
      }
      assert.equal(s.phase.tag, 'done');
      const ts = probeTargets(s);
      const floor = floorOf(share, owned);
      // Stepping stones (below the floor) walk the configured targets in order, from the unpruned model, after the floor missed straight from it.
      const all = states.filter((x) => x.phase.tag === 'prune').map((x) => ({ x, p: x.phase as Extract<Phase, { tag: 'prune' }> }));
      const stones = all.filter(({ p }) => p.to < floor).map(({ p }) => p);
      const below = config.sparsities.filter((t) => t < floor);
      if (stones.length > 0) {
        assert.deepEqual(stones.map((p) => p.to), below, 'the walk steps on every configured target below the floor');
        assert.deepEqual(stones.map((p) => p.from), [0, ...below.slice(0, -1)], 'each stone from the one before');
        const iFirst = all.findIndex(({ p }) => p.to < floor);
        assert.deepEqual(all[iFirst - 1]?.p, { tag: 'prune', from: 0, to: floor }, 'the walk follows the floor probed straight from the unpruned model');
        assert.deepEqual(all[iFirst + stones.length]?.p, { tag: 'prune', from: below[below.length - 1], to: floor }, 'and ends on the floor');
      }
      const probed = all.filter(({ p }) => p.to >= floor && !(stones.length > 0 && p.from === 0 && p.to === floor));
      assert.ok(probed.length <= ts.length, `${probed.length} probes for ${ts.length} targets`);
      const seen = new Set<number>();
      for (const { x, p } of probed) {
        assert.ok(ts.includes(p.to), `probe ${p.to} is not among ${ts.join(', ')}`);
        assert.ok(!seen.has(p.to), `probed ${p.to} twice`);
        seen.add(p.to);
        const b = bisectBounds(x);
        const i = ts.indexOf(p.to);
        assert.ok(i > b.passed && i < b.missed, `probe ${p.to} outside (${b.passed}, ${b.missed})`);
        // The model it compacts from: the unpruned one, a recorded target that passed, or the walk's last stone.
        const fromStone = stones.length > 0 && p.from === stones[stones.length - 1]!.to;
        assert.ok(p.from === 0 || fromStone || x.record.some((r) => r.sparsity === p.from && r.forced !== true), `from ${p.from}, not recorded`);
        assert.ok(p.from < p.to);
      }
      // The budget holds as under the reference's sweep.
      assert.ok(chosen(s) >= floor, `kept ${chosen(s)} under the floor ${floor}`);
      if (floor > 0 && floor < MAX_FLOOR) assert.ok((1 - chosen(s)) * owned <= share + 1e-9 * owned);
      // The kept model was measured: the unpruned one, or a recorded target.
      assert.ok(chosen(s) === 0 || s.record.some((r) => r.sparsity === chosen(s)));
      for (const x of [...states, s]) assert.deepEqual(decodeWith(CycleStateCodec, 'state')(JSON.parse(JSON.stringify(x))), E.right(x));
    }),
    RUNS,
  );
});

test('bisect, step by step: the highest target misses, 0.5 passes, then 0.7 and 0.8 pass, 0.9 misses: 0.8 is kept after 5 probes where the sweep took 10', () => {
  const ctx: TaskContext = { task: 2, tasksTotal: 20, goal: 0.63, valSize: 500, multiplier: 1 };
  const val = (t: number): number => (t <= 0.8 ? 0.64 : 0.6);
  const { phases, last } = drive(ctx, configOf(refSparsities, 'bisect'), (p) =>
    p.tag === 'train' ? { tag: 'trained', trainAcc: 0.99, valAcc: 0.66, ownsAny: true } : p.tag === 'prune' ? { tag: 'pruned', trainAcc: 0.99, valAcc: val(p.to) } : { tag: 'retrained', valAcc: 0.6 },
  );
  assert.deepEqual(
    prunes(phases).map((p) => [p.from, p.to]),
    [
      [0, 0.95],
      [0, 0.5],
      [0.5, 0.7],
      [0.7, 0.8],
      [0.8, 0.9],
    ],
  );
  assert.equal(chosen(last), 0.8);
  assert.deepEqual(last.missed, [0.95, 0.9]);
  assert.match(last.phase.tag === 'done' ? last.phase.reason : '', /goal met at sparsity 0.8/);
});

test('bisect skips the pick retraining when the chosen model is 100 % on validation (nothing can beat it); the reference sweep retrains all the same', () => {
  fc.assert(
    fc.property(fc.integer({ min: 2, max: 20 }), fc.constantFrom(1, 0.99), (task, best) => {
      const ctx: TaskContext = { task, tasksTotal: 20, goal: 0.98, valSize: 200, multiplier: 1 };
      const at = (p: Phase): Measured =>
        p.tag === 'train' ? { tag: 'trained', trainAcc: 1, valAcc: best, ownsAny: true } : p.tag === 'prune' ? { tag: 'pruned', trainAcc: 1, valAcc: best } : { tag: 'retrained', valAcc: 0.5 };
      for (const search of ['bisect', 'reference'] as const) {
        const { phases, last } = drive(ctx, configOf(refSparsities, search), at);
        const retrained = phases.some((p) => p.tag === 'retrainPick');
        assert.equal(retrained, !(search === 'bisect' && best === 1), `${search} at validation ${best}`);
        assert.equal(chosen(last), 0.95);
        assert.equal(last.chosenValAcc, best);
        if (!retrained) assert.match(last.phase.tag === 'done' ? last.phase.reason : '', /pick not retrained: 100% on validation cannot be beaten/);
      }
    }),
    RUNS,
  );
});

test('bisect, a floor the budget forces: straight from the unpruned model it misses, so the search walks the sweep\'s targets up to it and keeps the floor as the walk reached it', () => {
  // Owning 1,000 cells with a share of 100: the floor is 0.9, a configured target.
  const ctx: TaskContext = { task: 1, tasksTotal: 10, goal: 0.9, valSize: 200, multiplier: 1, budget: { share: 100, needed: 100, free: 1000, size: 1000 } };
  for (const walked of [0.92, 0.85]) {
    const { phases, last } = drive(ctx, configOf(refSparsities, 'bisect'), (p) =>
      p.tag === 'train'
        ? { tag: 'trained', trainAcc: 0.99, valAcc: 0.92, ownsAny: true, owned: 1000 }
        : p.tag === 'prune'
          ? // A jump from the unpruned model loses accuracy; the gradual way keeps it (or not: 0.85).
            { tag: 'pruned', trainAcc: 0.99, valAcc: p.from === 0 && p.to >= 0.9 ? 0.8 : p.to === 0.9 ? walked : 0.92 }
          : { tag: 'retrained', valAcc: 0.5 },
    );
    assert.deepEqual(
      prunes(phases).map((p) => [p.from, p.to]),
      [[0, 0.95], [0, 0.9], [0, 0.1], [0.1, 0.2], [0.2, 0.3], [0.3, 0.4], [0.4, 0.5], [0.5, 0.6], [0.6, 0.7], [0.7, 0.8], [0.8, 0.9]],
    );
    assert.equal(chosen(last), 0.9);
    assert.equal(last.chosenValAcc, walked, 'the floor as the walk reached it, not as the jump did');
    assert.deepEqual(last.record.map((r) => r.sparsity), [0.95, 0.9], 'stones are never recorded; the floor once, as the walk reached it');
    assert.match(last.phase.tag === 'done' ? last.phase.reason : '', walked >= 0.9 ? /goal met at sparsity 0.9/ : /no compacted model met the goal: kept sparsity 0.9; the budget bound/);
  }
});
