import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import * as E from 'fp-ts/lib/Either.js';
import { mlp, lenet } from '../../src/algebra/architectures.js';
import { type Graph, paramSpecs } from '../../src/algebra/graph.js';
import {
  type OwnerMap,
  MAX_TASKS,
  capacity,
  claim,
  claimCells,
  countFree,
  countOwned,
  freeOwners,
  ownedBy,
  pruneByMagnitude,
  pruneTarget,
  release,
  restrictOwners,
  roundHalfEven,
  totalCapacity,
  visibleTo,
  widenOwners,
} from '../../src/algebra/ownerMap.js';
import { type TensorPlan, atMultiplier, embedIndex, newSize, oldSize, widen } from '../../src/algebra/widen.js';


/** The value of a Right (the test fails on a Left). */
const ok = <A>(e: E.Either<unknown, A>): A => {
  assert.ok(E.isRight(e), JSON.stringify(E.isLeft(e) ? e.left : ''));
  return e.right;
};

const runs = { seed: 42, numRuns: 300 };

/** Owner maps over tasks 0..5 (0 free), up to 64 cells. */
const ownerMapArb: fc.Arbitrary<OwnerMap> = fc
  .array(fc.integer({ min: 0, max: 5 }), { maxLength: 64 })
  .map((xs) => ({ tensor: 'w', cells: Uint8Array.from(xs) }));

const taskArb = fc.integer({ min: 1, max: 5 });

/** Random widening plans: rank 1..4, each axis [groups, per] growing per, groups > 1 included. */
const planArb: fc.Arbitrary<TensorPlan> = fc
  .array(
    fc.record({ groups: fc.integer({ min: 1, max: 3 }), oldPer: fc.integer({ min: 1, max: 3 }), grow: fc.integer({ min: 0, max: 2 }) }),
    { minLength: 1, maxLength: 4 },
  )
  .map((axes) => ({
    name: 'w',
    oldShape: axes.map((a) => a.groups * a.oldPer),
    newShape: axes.map((a) => a.groups * (a.oldPer + a.grow)),
    axes: axes.map((a) => ({ groups: a.groups, oldPer: a.oldPer, newPer: a.oldPer + a.grow })),
  }));

/** A plan with an owner map of its old size. */
const planAndMapArb = planArb.chain((plan) =>
  fc
    .array(fc.integer({ min: 0, max: 5 }), { minLength: oldSize(plan), maxLength: oldSize(plan) })
    .map((xs) => ({ plan, o: { tensor: 'w', cells: Uint8Array.from(xs) } as OwnerMap })),
);

/** A tiny conv net whose flatten makes the dense kernel's input axis grouped (groups = 4). */
const tinyConv = (): Graph => ({
  name: 'tiny-conv',
  multiplier: 1,
  init: 'he-fan-in',
  nodes: [
    { kind: 'input', id: 'input', shape: [4, 4, 2] },
    { kind: 'conv2d', id: 'conv1', input: 'input', filters: 3, baseFilters: 3, kernel: 3, stride: 1, padding: 'same', bias: true },
    { kind: 'relu', id: 'relu1', input: 'conv1' },
    { kind: 'maxPool', id: 'pool1', input: 'relu1', size: 2, stride: 2 },
    { kind: 'flatten', id: 'flatten1', input: 'pool1' },
    { kind: 'dense', id: 'dense1', input: 'flatten1', units: 5, baseUnits: 5 },
    { kind: 'relu', id: 'relu2', input: 'dense1' },
    { kind: 'head', id: 'head', input: 'relu2' },
  ],
});

const realGraphs: readonly Graph[] = [mlp(6, [5, 4]), tinyConv(), lenet([8, 8, 1])];

const sharablePlans = (g: Graph, to: number): readonly TensorPlan[] => {
  const r = widen(g, to, 3);
  assert.ok(E.isRight(r), JSON.stringify(E.isLeft(r) ? r.left : ''));
  const specs = paramSpecs(g, 3);
  assert.ok(E.isRight(specs));
  const sharable = new Set(specs.right.filter((s) => s.role === 'sharable').map((s) => s.name));
  return r.right.plan.tensors.filter((t) => sharable.has(t.name));
};

const copy = (o: OwnerMap): Uint8Array => o.cells.slice();

test('claim never changes a cell owned by any task, and turns every free cell into the claiming task', () => {
  fc.assert(
    fc.property(ownerMapArb, taskArb, (o, task) => {
      const before = copy(o);
      const c = claim(task)(o);
      assert.deepEqual(o.cells, before, 'input not mutated');
      for (let i = 0; i < before.length; i++) assert.equal(c.cells[i], before[i] === 0 ? task : before[i]);
    }),
    runs,
  );
});

test('claim of an id that is not a task id claims nothing', () => {
  const o = freeOwners('w', 4);
  for (const bad of [0, -1, 1.5, MAX_TASKS + 1, Number.NaN]) assert.deepEqual(claim(bad)(o).cells, o.cells);
});

test('release frees exactly the given cells of the task and never changes another task\'s cell', () => {
  fc.assert(
    fc.property(
      ownerMapArb,
      taskArb,
      fc.array(fc.nat()),
      (o, task, picks) => {
        const own = [...o.cells.keys()].filter((i) => o.cells[i] === task);
        // A random subset (with repeats) of the task's cells.
        const cells = own.length === 0 ? [] : picks.map((p) => own[p % own.length]!);
        const before = copy(o);
        const r = release(task, cells)(o);
        assert.ok(E.isRight(r));
        assert.deepEqual(o.cells, before, 'input not mutated');
        const freed = new Set(cells);
        for (let i = 0; i < before.length; i++) assert.equal(r.right.cells[i], freed.has(i) ? 0 : before[i]);
      },
    ),
    runs,
  );
});

test('release refuses any cell the task does not own or that is out of range, naming tensor and cell, and changes nothing', () => {
  fc.assert(
    fc.property(
      ownerMapArb.filter((o) => o.cells.length > 0),
      taskArb,
      fc.array(fc.nat()),
      fc.constantFrom('foreign', 'above', 'negative', 'fraction'),
      fc.nat(),
      fc.nat(),
      (o, task, picks, kind, n, at) => {
        const own = [...o.cells.keys()].filter((i) => o.cells[i] === task);
        const notOwn = [...o.cells.keys()].filter((i) => o.cells[i] !== task);
        const good = own.length === 0 ? [] : picks.map((p) => own[p % own.length]!);
        // A cell the task does not own: another task's or a free one, or one that does not exist.
        const bad =
          kind === 'foreign' && notOwn.length > 0
            ? notOwn[n % notOwn.length]!
            : kind === 'negative'
              ? -1 - (n % 5)
              : kind === 'fraction'
                ? (n % o.cells.length) + 0.5
                : o.cells.length + (n % 5);
        const cells = [...good];
        cells.splice(at % (cells.length + 1), 0, bad);
        const before = copy(o);
        const r = release(task, cells)(o);
        assert.ok(E.isLeft(r));
        assert.ok(r.left.tag === 'OwnershipError' && r.left.tensor === 'w');
        assert.match(r.left.message, new RegExp(`cell ${String(bad).replace('.', '\\.')} `));
        assert.deepEqual(o.cells, before, 'nothing changed');
      },
    ),
    runs,
  );
});

test('widen keeps every old cell\'s owner at its embedIndex position and leaves every new cell free (random plans, groups > 1)', () => {
  fc.assert(
    fc.property(planAndMapArb, ({ plan, o }) => {
      const before = copy(o);
      const w = ok(widenOwners(plan)(o));
      assert.deepEqual(o.cells, before);
      assert.equal(w.cells.length, newSize(plan));
      const index = embedIndex(plan);
      const isOld = new Uint8Array(w.cells.length);
      for (let i = 0; i < index.length; i++) {
        assert.equal(w.cells[index[i]!], before[i], `old cell ${i}`);
        isOld[index[i]!] = 1;
      }
      for (let j = 0; j < w.cells.length; j++) if (isOld[j] === 0) assert.equal(w.cells[j], 0, `new cell ${j} is free`);
      // The grouped layout: along each axis, old index g·oldPer + c lands at g·newPer + c.
      assert.equal(countFree(w) - countFree(o), newSize(plan) - oldSize(plan));
    }),
    runs,
  );
});

test('restrict ∘ widen = id on owner maps (random plans)', () => {
  fc.assert(
    fc.property(planAndMapArb, ({ plan, o }) => {
      assert.deepEqual(ok(restrictOwners(plan)(ok(widenOwners(plan)(o)))).cells, o.cells);
    }),
    runs,
  );
});

test('widen and restrict refuse a map of the wrong size or of another tensor', () => {
  fc.assert(
    fc.property(planArb, fc.integer({ min: 1, max: 3 }), (plan, extra) => {
      const wrong = freeOwners('w', oldSize(plan) + extra);
      assert.ok(E.isLeft(widenOwners(plan)(wrong)));
      assert.ok(E.isLeft(restrictOwners(plan)(freeOwners('w', newSize(plan) + extra))));
      assert.ok(E.isLeft(widenOwners(plan)(freeOwners('other', oldSize(plan)))));
      assert.ok(E.isRight(widenOwners(plan)(freeOwners('w', oldSize(plan)))));
    }),
    { seed: 42, numRuns: 100 },
  );
});

test('widen on real graphs: restrict ∘ widen = id, and growing in two steps places every cell where growing in one step does', () => {
  const mults = [1, 1.5, 2, 2.5, 3];
  fc.assert(
    fc.property(
      fc.constantFrom(...realGraphs),
      fc.integer({ min: 0, max: 4 }),
      fc.integer({ min: 0, max: 4 }),
      fc.integer({ min: 0, max: 4 }),
      fc.integer(),
      (g, i, j, k, seed) => {
        const [a, b, c] = [i, j, k].sort((x, y) => x - y).map((n) => mults[n]!) as [number, number, number];
        const ga = atMultiplier(g, a);
        const gb = atMultiplier(g, b);
        const ab = sharablePlans(ga, b);
        const bc = sharablePlans(gb, c);
        const ac = sharablePlans(ga, c);
        for (let t = 0; t < ab.length; t++) {
          let s = seed >>> 0;
          const cells = new Uint8Array(oldSize(ab[t]!)).map(() => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) >>> 29));
          const o: OwnerMap = { tensor: ab[t]!.name, cells };
          assert.deepEqual(ok(restrictOwners(ab[t]!)(ok(widenOwners(ab[t]!)(o)))).cells, cells);
          const twoSteps = ok(widenOwners(bc[t]!)(ok(widenOwners(ab[t]!)(o))));
          const oneStep = ok(widenOwners(ac[t]!)(o));
          assert.deepEqual(twoSteps.cells, oneStep.cells, `${g.name} ${ab[t]!.name} ${a}→${b}→${c}`);
        }
      },
    ),
    { seed: 42, numRuns: 60 },
  );
});

test('ownedBy, visibleTo, countOwned, countFree and capacity agree with their definitions', () => {
  fc.assert(
    fc.property(fc.array(ownerMapArb, { maxLength: 3 }), taskArb, (maps, task) => {
      let free = 0;
      let owned = 0;
      let size = 0;
      for (const o of maps) {
        const own = ownedBy(task)(o);
        const vis = visibleTo(task)(o);
        for (let i = 0; i < o.cells.length; i++) {
          const c = o.cells[i]!;
          assert.equal(own[i], c === task ? 1 : 0);
          assert.equal(vis[i], c >= 1 && c <= task ? 1 : 0);
        }
        assert.equal(countOwned(task)(o), own.reduce((a, b) => a + b, 0));
        const cap = capacity(o);
        assert.equal(cap.free, countFree(o));
        assert.equal(cap.free + [...cap.owned.values()].reduce((a, b) => a + b, 0), o.cells.length);
        assert.equal(cap.owned.get(task) ?? 0, countOwned(task)(o));
        free += countFree(o);
        owned += countOwned(task)(o);
        size += o.cells.length;
      }
      const total = totalCapacity(maps);
      assert.equal(total.size, size);
      assert.equal(total.free, free);
      assert.equal(total.owned.get(task) ?? 0, owned);
    }),
    runs,
  );
});

test('roundHalfEven is Python round(): nearest integer, halves to the even one', () => {
  assert.deepEqual([0.5, 1.5, 2.5, 3.5, -0.5, -1.5, 2.4999, 2.5001].map(roundHalfEven), [0, 2, 2, 4, 0, -2, 2, 3]);
  fc.assert(
    fc.property(fc.double({ min: -1e6, max: 1e6, noNaN: true }), (x) => {
      const r = roundHalfEven(x);
      assert.ok(Number.isInteger(r));
      assert.ok(Math.abs(x - r) <= 0.5);
      if (Math.abs(x - r) === 0.5) assert.equal(Math.abs(r) % 2, 0);
    }),
    runs,
  );
});

// ---- compact: pruneByMagnitude ----

/** Weights with many ties (small integers, signed zeros) mixed with arbitrary finite floats. */
const weightArb = fc.oneof(
  fc.integer({ min: -3, max: 3 }).map((n) => n / 2),
  fc.constant(-0),
  fc.float({ noNaN: true, noDefaultInfinity: true }),
);

const pruneCaseArb = fc
  .array(fc.tuple(fc.integer({ min: 0, max: 4 }), weightArb), { maxLength: 80 })
  .map((xs) => ({
    o: { tensor: 'w', cells: Uint8Array.from(xs.map(([c]) => c)) } as OwnerMap,
    w: Float32Array.from(xs.map(([, v]) => v)),
  }));

const sparsityArb = fc.oneof(fc.constantFrom(0, 0.1, 0.5, 0.95, 1), fc.double({ min: 0, max: 1, noNaN: true }));

/** The reference model: the task's cells sorted by (|w|, index); the first k are released. */
const expectedRelease = (o: OwnerMap, w: Float32Array, task: number, s: number): number[] => {
  const own = [...o.cells.keys()].filter((i) => o.cells[i] === task);
  const free = o.cells.filter((c) => c === 0).length;
  const k = Math.max(0, pruneTarget(s, own.length + free) - free);
  return own
    .sort((a, b) => Math.abs(w[a]!) - Math.abs(w[b]!) || a - b)
    .slice(0, k)
    .sort((a, b) => a - b);
};

test('pruneByMagnitude releases only the task\'s cells and never touches another task\'s', () => {
  fc.assert(
    fc.property(pruneCaseArb, taskArb, sparsityArb, ({ o, w }, task, s) => {
      const before = copy(o);
      const r = pruneByMagnitude(task, s, w)(o);
      assert.ok(E.isRight(r));
      assert.deepEqual(o.cells, before, 'input not mutated');
      const released = new Set(r.right.released);
      for (let i = 0; i < before.length; i++) {
        if (released.has(i)) {
          assert.equal(before[i], task, `cell ${i} was the task's`);
          assert.equal(r.right.owners.cells[i], 0);
        } else assert.equal(r.right.owners.cells[i], before[i], `cell ${i} unchanged`);
      }
      assert.deepEqual([...r.right.released], [...r.right.released].sort((a, b) => a - b), 'ascending');
    }),
    runs,
  );
});

test('pruneByMagnitude reaches exactly round(s·n) free cells among the task\'s and free ones, or releases nothing if already there', () => {
  fc.assert(
    fc.property(pruneCaseArb, taskArb, sparsityArb, ({ o, w }, task, s) => {
      const n = countOwned(task)(o) + countFree(o);
      const free0 = countFree(o);
      const r = pruneByMagnitude(task, s, w)(o);
      assert.ok(E.isRight(r));
      const target = pruneTarget(s, n);
      assert.equal(countFree(r.right.owners), Math.max(free0, target));
      if (free0 >= target) assert.equal(r.right.released.length, 0);
    }),
    runs,
  );
});

test('pruneByMagnitude is monotone in sparsity: a higher sparsity releases a superset', () => {
  fc.assert(
    fc.property(pruneCaseArb, taskArb, sparsityArb, sparsityArb, ({ o, w }, task, s1, s2) => {
      const [lo, hi] = s1 <= s2 ? [s1, s2] : [s2, s1];
      const a = pruneByMagnitude(task, lo, w)(o);
      const b = pruneByMagnitude(task, hi, w)(o);
      assert.ok(E.isRight(a) && E.isRight(b));
      const big = new Set(b.right.released);
      for (const c of a.right.released) assert.ok(big.has(c), `cell ${c} released at ${lo} but not at ${hi}`);
    }),
    runs,
  );
});

test('pruneByMagnitude releases the smallest magnitudes first, ties by lower index', () => {
  fc.assert(
    fc.property(pruneCaseArb, taskArb, sparsityArb, ({ o, w }, task, s) => {
      const r = pruneByMagnitude(task, s, w)(o);
      assert.ok(E.isRight(r));
      assert.deepEqual([...r.right.released], expectedRelease(o, w, task, s));
      // Stated directly: no kept cell of the task is smaller than a released one (or equal with a lower index).
      const released = new Set(r.right.released);
      for (const i of r.right.released)
        for (let j = 0; j < o.cells.length; j++)
          if (o.cells[j] === task && !released.has(j)) {
            const [mi, mj] = [Math.abs(w[i]!), Math.abs(w[j]!)];
            assert.ok(mi < mj || (mi === mj && i < j), `released ${i} (|w| ${mi}) before kept ${j} (|w| ${mj})`);
          }
    }),
    runs,
  );
});

test('pruneByMagnitude refuses a sparsity outside [0, 1], weights of the wrong length and non-finite weights of the task', () => {
  fc.assert(
    fc.property(
      pruneCaseArb.filter(({ o }) => o.cells.length > 0),
      taskArb,
      fc.oneof(fc.double({ min: 1.0000001, max: 10, noNaN: true }), fc.double({ min: -10, max: -1e-9, noNaN: true }), fc.constant(Number.NaN)),
      fc.nat(),
      fc.constantFrom(Number.NaN, Infinity, -Infinity),
      ({ o, w }, task, badS, at, nonFinite) => {
        assert.equal(E.isLeft(pruneByMagnitude(task, badS, w)(o)), true, `sparsity ${badS}`);
        assert.equal(E.isLeft(pruneByMagnitude(task, 0.5, w.subarray(1))(o)), true, 'short weights');
        const i = at % o.cells.length;
        const bad = w.slice();
        bad[i] = nonFinite;
        const r = pruneByMagnitude(task, 0.5, bad)(o);
        // Only the task's own weights are ranked; a non-finite weight elsewhere is not its business.
        assert.equal(E.isLeft(r), o.cells[i] === task);
        if (E.isLeft(r)) assert.match(r.left.message, new RegExp(`cell ${i}`));
      },
    ),
    runs,
  );
});

// ---- partial claims: claimCells, and compacting what was claimed ----

test('claimCells gives the task exactly the listed free cells, or refuses an owned or out-of-range cell and changes nothing', () => {
  fc.assert(
    fc.property(pruneCaseArb, taskArb, fc.array(fc.nat({ max: 90 }), { maxLength: 30 }), ({ o }, task, picks) => {
      const before = copy(o);
      const r = claimCells(task, picks)(o);
      assert.deepEqual(o.cells, before, 'input not mutated');
      const bad = picks.find((c) => c >= before.length || before[c] !== 0);
      if (bad !== undefined) {
        assert.ok(E.isLeft(r), `cell ${bad} is not free, yet claimed`);
        return;
      }
      assert.ok(E.isRight(r));
      const listed = new Set(picks);
      for (let i = 0; i < before.length; i++) assert.equal(r.right.cells[i], listed.has(i) ? task : before[i], `cell ${i}`);
    }),
    runs,
  );
});

test('pruneByMagnitude with unclaimed free cells compacts what the task claimed: round(s·claimed) of it free, the unclaimed ones not counted', () => {
  fc.assert(
    fc.property(pruneCaseArb, taskArb, sparsityArb, fc.nat(), ({ o, w }, task, s, u) => {
      const free0 = countFree(o);
      const unclaimed = free0 === 0 ? 0 : u % (free0 + 1);
      const claimed = countOwned(task)(o) + free0 - unclaimed;
      const r = pruneByMagnitude(task, s, w, unclaimed)(o);
      assert.ok(E.isRight(r));
      assert.equal(countFree(r.right.owners) - unclaimed, Math.max(free0 - unclaimed, pruneTarget(s, claimed)));
      // None unclaimed: exactly the reference's step.
      if (unclaimed === 0) assert.deepEqual([...r.right.released], expectedRelease(o, w, task, s));
      // More unclaimed than free is refused.
      assert.ok(E.isLeft(pruneByMagnitude(task, s, w, free0 + 1)(o)));
    }),
    runs,
  );
});
