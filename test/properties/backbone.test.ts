/**
 * The no-forgetting invariant at the level of ownership: a model-based test
 * that drives a backbone of small real graphs through random sequences of
 * claim / release / compact / grow / finish and, after every command, checks
 * every finished task's effective selector against the one recorded when it
 * finished.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import * as E from 'fp-ts/lib/Either.js';
import { mlp } from '../../src/algebra/architectures.js';
import { type Graph, inferShapes } from '../../src/algebra/graph.js';
import {
  type Backbone,
  claimAll,
  createBackbone,
  currentTask,
  finishTask,
  finishedTask,
  graphAt,
  growTo,
  ownersOf,
  releaseCells,
  selectorOf,
  taskPlan,
  validateBackbone,
} from '../../src/algebra/backbone.js';
import { MAX_TASKS, countFree, pruneByMagnitude } from '../../src/algebra/ownerMap.js';
import { type PickMask, effective, emptyPick, pack } from '../../src/algebra/pickMask.js';
import { rngFor } from '../../src/effects/random.js';

/** A tiny conv net; its flatten makes dense1's input axis grouped (4 spatial positions). */
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

const MAX_MULTIPLIER = 3;
const MAX_FINISHED = 10;

const right = <A>(r: E.Either<unknown, A>, what: string): A => {
  if (E.isLeft(r)) assert.fail(`${what}: ${JSON.stringify(r.left)}`);
  return r.right;
};

/** What the model remembers of a task at the moment it finished. */
interface Frozen {
  readonly id: number;
  readonly multiplier: number;
  readonly classes: number;
  readonly selector: ReadonlyMap<string, Uint8Array>;
  readonly owners: ReadonlyMap<string, Uint8Array>;
  readonly picks: ReadonlyMap<string, PickMask>;
  readonly headInput: readonly number[];
}

interface Model {
  multiplier: number;
  frozen: Frozen[];
}

interface Real {
  b: Backbone;
}

const headInput = (g: Graph): readonly number[] => {
  const shapes = right(inferShapes(g), 'shapes');
  const head = g.nodes[g.nodes.length - 1]!;
  assert.ok(head.kind === 'head');
  return shapes.get(head.input)!.dims;
};

/** The invariants that must hold after every command. */
const checkInvariants = (m: Model, r: Real): void => {
  const b = r.b;
  right(validateBackbone(b), 'backbone stays valid');
  assert.equal(b.multiplier, m.multiplier);
  assert.equal(b.finished.length, m.frozen.length);
  for (const f of m.frozen) {
    // The selector is what it was when the task finished, bit for bit.
    const sel = right(selectorOf(f.id)(b), `selector of task ${f.id}`);
    assert.deepEqual([...sel.keys()], [...f.selector.keys()]);
    for (const [name, s] of sel) assert.deepEqual(s, f.selector.get(name), `task ${f.id} selector of ${name}`);
    // Its cells and its elders' cells (restricted to its width) never change; its free cells only go to later tasks.
    const owners = right(ownersOf(f.id)(b), `owners of task ${f.id}`);
    for (const [name, o] of owners) {
      const then = f.owners.get(name)!;
      assert.equal(o.cells.length, then.length);
      for (let i = 0; i < then.length; i++) {
        if (then[i] !== 0) assert.equal(o.cells[i], then[i], `task ${f.id}: ${name} cell ${i} changed owner`);
        else assert.ok(o.cells[i] === 0 || o.cells[i]! > f.id, `task ${f.id}: ${name} free cell ${i} went to task ${o.cells[i]}`);
      }
    }
    // The record (width, classes, picks) is untouched, and so is its graph's head input.
    const t = right(finishedTask(f.id)(b), 'record');
    assert.equal(t.multiplier, f.multiplier);
    assert.equal(t.classes, f.classes);
    for (const [name, p] of f.picks) assert.deepEqual(t.picks.get(name)?.bits, p.bits, `task ${f.id} pick of ${name}`);
    assert.deepEqual(headInput(graphAt(b, t.multiplier)), f.headInput);
    const plan = right(taskPlan(f.id)(b), 'task plan');
    const head = plan.tensors.find((x) => x.name === 'head/kernel')!;
    assert.deepEqual(head.oldShape, [...f.headInput, f.classes]);
  }
};

class Claim implements fc.Command<Model, Real> {
  check = (): boolean => true;
  run(m: Model, r: Real): void {
    const task = currentTask(r.b);
    if (task > 1) assert.ok(E.isLeft(claimAll(task - 1)(r.b)), 'a finished task cannot claim');
    assert.ok(E.isLeft(claimAll(task + 1)(r.b)), 'a future task cannot claim');
    r.b = right(claimAll(task)(r.b), 'claim');
    for (const o of r.b.owners.values()) assert.equal(countFree(o), 0);
    checkInvariants(m, r);
  }
  toString = (): string => 'claim';
}

class Release implements fc.Command<Model, Real> {
  constructor(
    readonly tensor: number,
    readonly picks: readonly number[],
  ) {}
  check = (): boolean => true;
  run(m: Model, r: Real): void {
    const task = currentTask(r.b);
    const names = [...r.b.owners.keys()];
    const name = names[this.tensor % names.length]!;
    const o = r.b.owners.get(name)!;
    const own = [...o.cells.keys()].filter((i) => o.cells[i] === task);
    const cells = own.length === 0 ? [] : this.picks.map((p) => own[p % own.length]!);
    r.b = right(releaseCells(task, name, cells)(r.b), 'release');
    for (const c of cells) assert.equal(r.b.owners.get(name)!.cells[c], 0);
    checkInvariants(m, r);
  }
  toString = (): string => `release(${this.tensor}, [${this.picks.join(',')}])`;
}

/** Tries to release what the current task does not own, or as a finished task: always refused, nothing changes. */
class ReleaseForeign implements fc.Command<Model, Real> {
  constructor(
    readonly tensor: number,
    readonly cell: number,
    readonly asFinished: boolean,
  ) {}
  check = (m: Readonly<Model>): boolean => !this.asFinished || m.frozen.length > 0;
  run(m: Model, r: Real): void {
    const task = currentTask(r.b);
    const names = [...r.b.owners.keys()];
    const name = names[this.tensor % names.length]!;
    const o = r.b.owners.get(name)!;
    const before = r.b;
    if (this.asFinished) {
      const old = 1 + (this.cell % (task - 1));
      const theirs = [...o.cells.keys()].filter((i) => o.cells[i] === old);
      const res = releaseCells(old, name, theirs.slice(0, 1))(r.b);
      assert.ok(E.isLeft(res) && res.left.tag === 'LifecycleError', 'a finished task cannot release');
    } else {
      const notMine = [...o.cells.keys()].filter((i) => o.cells[i] !== task);
      const c = notMine.length === 0 ? o.cells.length + this.cell : notMine[this.cell % notMine.length]!;
      const res = releaseCells(task, name, [c])(r.b);
      assert.ok(E.isLeft(res) && res.left.tag === 'OwnershipError' && res.left.tensor === name);
    }
    assert.equal(r.b, before);
    checkInvariants(m, r);
  }
  toString = (): string => `releaseForeign(${this.tensor}, ${this.cell}, ${this.asFinished})`;
}

/** The compact step: prune the current task's cells of one tensor by magnitude of random weights. */
class Compact implements fc.Command<Model, Real> {
  constructor(
    readonly tensor: number,
    readonly sparsity: number,
    readonly seed: number,
  ) {}
  check = (): boolean => true;
  run(m: Model, r: Real): void {
    const task = currentTask(r.b);
    const names = [...r.b.owners.keys()];
    const name = names[this.tensor % names.length]!;
    const o = r.b.owners.get(name)!;
    const rng = rngFor(this.seed, `weights/${name}`);
    const w = Float32Array.from(o.cells, () => rng.normal());
    const pruned = right(pruneByMagnitude(task, this.sparsity, w)(o), 'prune');
    r.b = right(releaseCells(task, name, pruned.released)(r.b), 'release pruned');
    assert.deepEqual(r.b.owners.get(name)!.cells, pruned.owners.cells);
    checkInvariants(m, r);
  }
  toString = (): string => `compact(${this.tensor}, ${this.sparsity}, ${this.seed})`;
}

class Grow implements fc.Command<Model, Real> {
  constructor(readonly step: number) {}
  check = (m: Readonly<Model>): boolean => m.multiplier + this.step <= MAX_MULTIPLIER;
  run(m: Model, r: Real): void {
    const to = m.multiplier + this.step;
    assert.ok(E.isLeft(growTo(m.multiplier - 0.5)(r.b)), 'cannot shrink');
    const freeBefore = [...r.b.owners.values()].reduce((a, o) => a + countFree(o), 0);
    const sizeBefore = [...r.b.owners.values()].reduce((a, o) => a + o.cells.length, 0);
    const g = right(growTo(to)(r.b), 'grow');
    assert.equal(g.plan.from, m.multiplier);
    assert.equal(g.plan.to, to);
    r.b = g.backbone;
    m.multiplier = to;
    const freeAfter = [...r.b.owners.values()].reduce((a, o) => a + countFree(o), 0);
    const sizeAfter = [...r.b.owners.values()].reduce((a, o) => a + o.cells.length, 0);
    assert.equal(freeAfter - freeBefore, sizeAfter - sizeBefore, 'every new cell is free');
    checkInvariants(m, r);
  }
  toString = (): string => `grow(+${this.step})`;
}

class Finish implements fc.Command<Model, Real> {
  constructor(
    readonly seed: number,
    readonly classes: number,
    readonly omitFirstPicks: boolean,
  ) {}
  check = (m: Readonly<Model>): boolean => m.frozen.length < MAX_FINISHED;
  run(m: Model, r: Real): void {
    const id = currentTask(r.b);
    const picks = new Map<string, PickMask>();
    if (!(id === 1 && this.omitFirstPicks))
      for (const [name, o] of r.b.owners) {
        const rng = rngFor(this.seed, `pick/${name}`);
        picks.set(name, pack(Array.from(o.cells, () => (rng.next() < 0.5 ? 1 : 0))));
      }
    // Refusals first: a missing pick (task > 1), a pick of the wrong size, a name used before.
    const first = [...r.b.owners.keys()][0]!;
    if (id > 1) {
      const missing = new Map(picks);
      missing.delete(first);
      assert.ok(E.isLeft(finishTask({ name: `task${id}`, classes: this.classes, picks: missing })(r.b)));
      assert.ok(E.isLeft(finishTask({ name: 'task1', classes: this.classes, picks })(r.b)), 'duplicate name');
    }
    const wrong = new Map(picks).set(first, emptyPick(r.b.owners.get(first)!.cells.length + 1));
    assert.ok(E.isLeft(finishTask({ name: `task${id}`, classes: this.classes, picks: wrong })(r.b)));

    const before = r.b;
    r.b = right(finishTask({ name: `task${id}`, classes: this.classes, picks })(r.b), 'finish');
    assert.equal(currentTask(r.b), id + 1);
    // The model's own account of the selector, computed from the state at finish time.
    const selector = new Map<string, Uint8Array>();
    const owners = new Map<string, Uint8Array>();
    for (const [name, o] of before.owners) {
      selector.set(name, right(effective(id, o, picks.get(name)), 'selector'));
      owners.set(name, o.cells.slice());
    }
    m.frozen.push({
      id,
      multiplier: m.multiplier,
      classes: this.classes,
      selector,
      owners,
      picks: new Map([...picks].map(([k, p]) => [k, { length: p.length, bits: p.bits.slice() }])),
      headInput: headInput(graphAt(r.b, m.multiplier)),
    });
    // The caller's pick bytes are copied: scribbling on them later changes nothing.
    for (const p of picks.values()) p.bits.fill(0xff);
    checkInvariants(m, r);
  }
  toString = (): string => `finish(${this.seed}, ${this.classes}, ${this.omitFirstPicks})`;
}

const commandArbs = [
  fc.constant(new Claim()),
  fc.tuple(fc.nat(), fc.array(fc.nat(), { maxLength: 12 })).map(([t, p]) => new Release(t, p)),
  fc.tuple(fc.nat(), fc.nat(), fc.boolean()).map(([t, c, f]) => new ReleaseForeign(t, c, f)),
  fc.tuple(fc.nat(), fc.constantFrom(0, 0.1, 0.5, 0.9, 0.95, 1), fc.integer()).map(([t, s, seed]) => new Compact(t, s, seed)),
  fc.constantFrom(0.5, 1).map((s) => new Grow(s)),
  fc.tuple(fc.integer(), fc.integer({ min: 1, max: 4 }), fc.boolean()).map(([s, c, o]) => new Finish(s, c, o)),
];
// Finishing and growing are what put tasks at different widths: draw them more often.
const weighted = [...commandArbs, commandArbs[4]!, commandArbs[5]!, commandArbs[5]!];

test('the effective selector of every finished task depends only on data frozen when it finished (model-based: claim / release / compact / grow / finish)', () => {
  fc.assert(
    fc.property(fc.constantFrom(mlp(6, [5, 4]), tinyConv()), fc.commands(weighted, { maxCommands: 50, size: 'max' }), (g, cmds) => {
      const setup = () => ({ model: { multiplier: 1, frozen: [] } as Model, real: { b: right(createBackbone(g), 'create') } as Real });
      fc.modelRun(setup, cmds);
    }),
    { seed: 42, numRuns: 150 },
  );
});

test('a backbone starts all free at multiplier 1 and refuses a base graph at another width', () => {
  for (const g of [mlp(6, [5, 4]), tinyConv()]) {
    const b = right(createBackbone(g), 'create');
    assert.equal(currentTask(b), 1);
    assert.deepEqual([...b.owners.keys()], g.nodes.filter((n) => n.kind === 'conv2d' || n.kind === 'dense').map((n) => `${n.id}/kernel`));
    for (const o of b.owners.values()) assert.equal(countFree(o), o.cells.length);
    const wide = right(growTo(2)(b), 'grow').backbone;
    assert.ok(E.isLeft(createBackbone(graphAt(wide, 2))));
  }
});

test('selectorOf and taskPlan refuse a task that is not finished', () => {
  const b = right(createBackbone(mlp(6, [5, 4])), 'create');
  for (const t of [0, 1, 2, 1.5]) {
    assert.ok(E.isLeft(selectorOf(t)(b)));
    assert.ok(E.isLeft(taskPlan(t)(b)));
  }
  const done = right(finishTask({ name: 'a', classes: 2, picks: new Map() })(right(claimAll(1)(b), 'claim')), 'finish');
  assert.ok(E.isRight(selectorOf(1)(done)));
  assert.ok(E.isLeft(selectorOf(2)(done)));
});

test('a backbone holds at most MAX_TASKS tasks: the next one can neither claim nor finish', () => {
  let b = right(createBackbone(mlp(2, [1])), 'create');
  const picks = (bb: Backbone) => new Map([...bb.owners].map(([k, o]) => [k, emptyPick(o.cells.length)] as const));
  for (let t = 1; t <= MAX_TASKS; t++) b = right(finishTask({ name: `t${t}`, classes: 1, picks: picks(b) })(b), `finish ${t}`);
  assert.equal(currentTask(b), MAX_TASKS + 1);
  assert.ok(E.isLeft(claimAll(MAX_TASKS + 1)(b)));
  assert.ok(E.isLeft(finishTask({ name: 'one too many', classes: 1, picks: picks(b) })(b)));
});

test('validateBackbone refuses an owner map that names a task after the current one, or of the wrong size', () => {
  const b = right(claimAll(1)(right(createBackbone(tinyConv()), 'create')), 'claim');
  const [name, o] = [...b.owners][0]!;
  const ahead = o.cells.slice();
  ahead[0] = 2;
  assert.ok(E.isLeft(validateBackbone({ ...b, owners: new Map(b.owners).set(name, { tensor: name, cells: ahead }) })));
  assert.ok(E.isLeft(validateBackbone({ ...b, owners: new Map(b.owners).set(name, { tensor: name, cells: o.cells.subarray(1) }) })));
  assert.ok(E.isRight(validateBackbone(b)));
});
