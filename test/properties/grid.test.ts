/**
 * Sweep grids and job identity: the product has one job per point, a job's
 * id depends on what it computes (not on key order, backend or threads), and
 * bad grids are refused naming the field.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import * as E from 'fp-ts/lib/Either.js';
import fc from 'fast-check';
import { describeError } from '../../src/algebra/errors.js';
import { canonicalJson, decodeGrid, dependenciesOf, gridPoints, gridSize, jobIdOf, taskCountOf } from '../../src/algebra/grid.js';
import { sha256OfBytes, sha256OfText } from '../../src/algebra/sha256.js';
import { sweepJobs } from '../../src/cpg/sweep.js';
import { MAX_WASM_THREADS } from '../../src/algebra/threads.js';

test('SHA-256 agrees with node:crypto on any bytes and text', () => {
  fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), (b) => sha256OfBytes(b) === createHash('sha256').update(b).digest('hex')));
  fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 200 }), (s) => sha256OfText(s) === createHash('sha256').update(s, 'utf8').digest('hex')));
  assert.equal(sha256OfText(''), 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
});

/** Axes over fields with valid values: each axis a non-empty list of distinct values. */
const axesArb = fc
  .record(
    {
      seed: fc.uniqueArray(fc.integer({ min: 0, max: 1000 }), { minLength: 1, maxLength: 4 }),
      method: fc.uniqueArray(fc.constantFrom('cpg', 'packnet', 'finetune', 'individual'), { minLength: 1, maxLength: 4 }),
      trainEpochs: fc.uniqueArray(fc.integer({ min: 1, max: 50 }), { minLength: 1, maxLength: 3 }),
      sparsities: fc.uniqueArray(
        fc.uniqueArray(fc.integer({ min: 1, max: 99 }), { minLength: 1, maxLength: 3 }).map((xs) => [...xs].sort((a, b) => a - b).map((x) => x / 100)),
        { minLength: 1, maxLength: 3, selector: (xs) => xs.join(',') },
      ),
    },
    { requiredKeys: [] },
  );

/** The same object with its keys (at every depth) in another order. */
const shuffled = (u: unknown, rnd: () => number): unknown => {
  if (Array.isArray(u)) return u.map((x) => shuffled(x, rnd));
  if (typeof u !== 'object' || u === null) return u;
  const entries = Object.entries(u).sort(() => rnd() - 0.5);
  return Object.fromEntries(entries.map(([k, v]) => [k, shuffled(v, rnd)]));
};

test('a grid makes one job per point of the product, all different', () => {
  fc.assert(
    fc.property(axesArb, (axes) => {
      const grid = { config: { benchmark: 'split-mnist', tasks: 2 }, axes };
      const jobs = sweepJobs('grid.json')(grid);
      assert.ok(E.isRight(jobs), E.isLeft(jobs) ? describeError(jobs.left) : '');
      const expected = Object.values(axes).reduce((n, v) => n * v.length, 1);
      // The grid's own points (not the goal jobs added for CPG jobs that train their goals first).
      const own = jobs.right.filter((j) => j.point['onlyTask'] === undefined && (j.point['method'] === undefined || (axes.method as readonly unknown[] | undefined)?.includes(j.point['method']) === true));
      assert.equal(own.length, expected);
      assert.equal(new Set(jobs.right.map((j) => j.id)).size, jobs.right.length, 'ids distinct');
      const g = decodeGrid('grid.json')(grid);
      assert.ok(E.isRight(g));
      assert.equal(gridSize(g.right), expected);
      assert.equal(gridPoints(g.right).length, expected);
      // Each job's configuration holds its point's values.
      for (const j of jobs.right) for (const [k, v] of Object.entries(j.point)) assert.deepEqual((j.config as Record<string, unknown>)[k], v);
      // Every CPG job that trains its goals names its goal job: the same configuration as an individual run.
      jobs.right.forEach((j, i) => {
        if (j.config.method !== 'cpg') return assert.equal(j.goalsFrom, undefined);
        const g = jobs.right.findIndex((x) => x.id === j.goalsFrom);
        assert.ok(g !== -1 && g !== i, 'its goal job is a job of the sweep');
        assert.deepEqual(jobs.right[g]!.config, { ...j.config, method: 'individual' });
      });
      // Every individual run is made of one goal-network job per task, each that task's network alone.
      for (const j of jobs.right) {
        if (j.config.method !== 'individual' || j.config.onlyTask !== undefined) {
          assert.equal(j.parts, undefined);
          continue;
        }
        assert.deepEqual(
          j.parts?.map((id): unknown => jobs.right.find((x) => x.id === id)?.config),
          Array.from({ length: taskCountOf(j.config) }, (_, i) => ({ ...j.config, onlyTask: i + 1 })),
        );
      }
      // The jobs form trees in order: each needed by at most one job, and placed before it.
      const neededBy = new Map<string, string>();
      jobs.right.forEach((j, i) => {
        for (const d of dependenciesOf(j)) {
          assert.ok(!neededBy.has(d), `job ${d} is needed by ${neededBy.get(d)} and ${j.id}`);
          neededBy.set(d, j.id);
          const at = jobs.right.findIndex((x) => x.id === d);
          assert.ok(at !== -1 && at < i, 'a dependency comes first');
        }
      });
    }),
    { numRuns: 60 },
  );
});

test("a job's id does not depend on key order, backend or thread count, and does depend on what it computes", () => {
  fc.assert(
    fc.property(
      axesArb,
      fc.integer(),
      fc.constantFrom('auto', 'wasm', 'cpu', 'tensorflow'),
      fc.integer({ min: 1, max: MAX_WASM_THREADS }),
      (axes, salt, backend, threads) => {
        let s = salt >>> 0;
        const rnd = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
        const config = { benchmark: 'split-mnist', tasks: 2, lr: 0.02, goals: { kind: 'individual' }, lrMilestones: [{ at: 0.5, factor: 0.1 }] };
        const ids = (grid: unknown) => {
          const j = sweepJobs(undefined)(grid);
          assert.ok(E.isRight(j), E.isLeft(j) ? describeError(j.left) : '');
          return j.right.map((x) => x.id).sort();
        };
        const base = ids({ config, axes });
        assert.deepEqual(ids(shuffled({ config, axes }, rnd)), base, 'key order');
        assert.deepEqual(ids({ config: { ...config, backend, threads }, axes }), base, 'backend and threads');
        assert.notDeepEqual(ids({ config: { ...config, lr: 0.03 }, axes }), base, 'another learning rate');
      },
    ),
    { numRuns: 40 },
  );
});

test('ids are of the resolved configuration: a preset value given explicitly is the same job', () => {
  const a = sweepJobs(undefined)({ config: { benchmark: 'split-mnist' }, axes: { seed: [1] } });
  const b = sweepJobs(undefined)({ config: { benchmark: 'split-mnist', trainEpochs: 8, net: 'mlp' }, axes: { seed: [1] } });
  assert.ok(E.isRight(a) && E.isRight(b));
  assert.equal(a.right[0]!.id, b.right[0]!.id);
  assert.match(a.right[0]!.id, /^[0-9a-f]{16}$/);
  assert.equal(a.right[0]!.id, jobIdOf(a.right[0]!.config));
  assert.equal(canonicalJson({ b: 1, a: { d: 2, c: 3 } }), '{"a":{"c":3,"d":2},"b":1}');
});

test('bad grids are refused, naming the file and field', () => {
  const refused = (u: unknown, pattern: RegExp, max?: number) => {
    const r = sweepJobs('g.json', max)(u);
    assert.ok(E.isLeft(r), `accepted ${JSON.stringify(u)}`);
    const line = describeError(r.left);
    assert.match(line, pattern);
    assert.ok(!line.includes('\n'), 'one line');
  };
  refused({ config: {}, axes: { sede: [1, 2] } }, /g\.json: .*'axes\.sede'.*unknown field/);
  refused({ config: { trainEpochz: 3 }, axes: {} }, /g\.json: .*'config\.trainEpochz'.*unknown field/);
  refused({ config: {}, axes: { seed: [] } }, /'axes\.seed'.*empty axis/);
  refused({ config: {}, axes: { seed: [1, 2, 3], lr: [0.1, 0.2] } }, /'axes'.*6 jobs: a grid may make at most 5/, 5);
  refused({ config: {}, axes: { seed: Array.from({ length: 101 }, (_, i) => i), trainEpochs: Array.from({ length: 100 }, (_, i) => i + 1) } }, /10,100 jobs: a grid may make at most 10,000/);
  // 2 CPG jobs, their 2 individual runs and 4 goal networks.
  refused({ config: { tasks: 2 }, axes: { seed: [1, 2] } }, /'axes'.*8 jobs with the goal networks .*at most 5/, 5);
  refused({ config: { onlyTask: 1 }, axes: {} }, /onlyTask.*individual baseline/);
  refused({ config: { method: 'individual', tasks: 2 }, axes: { onlyTask: [1, 3] } }, /onlyTask.*≤ tasks \(2\).*grid point onlyTask=3/);
  refused({ config: {}, axes: { sparsities: [[0.5, 0.8], [0.5, 1.2]] } }, /'axes\.sparsities\[1\]\[1\]'/);
  refused({ config: {}, axes: { seed: 3 } }, /'axes\.seed'.*list/);
  refused({ config: {}, axes: {}, extra: 1 }, /'extra'.*unknown field/);
  refused([1], /a grid is an object/);
  refused({ config: { pruneEpochs: 1 }, axes: { pruneRampEpochs: [1, 2] } }, /pruneRampEpochs.*grid point pruneRampEpochs=2/);
});
