/**
 * Flow, the run's effect type, on its own: `bracket` releases once however
 * the piece ends, `acquired` gives back a resource that arrives after its
 * subscriber left, `unfold` passes events as they happen and starts a step
 * only when the one before has ended, and the do-notation binds names in
 * order, passing every event on. Marble tests on a TestScheduler, and the
 * test environment's manual tick where a promise is in the way.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as E from 'fp-ts/lib/Either.js';
import { pipe } from 'fp-ts/lib/function.js';
import { defer, lastValueFrom, toArray } from 'rxjs';
import type { CpgError } from '../../src/algebra/errors.js';
import type { RunEvent } from '../../src/cpg/events.js';
import * as F from '../../src/cpg/flow.js';
import { type Emit, type Flow, Do, bind, bindTo, bracket, chain, emit, emitIf, fail, pure, tap, unfold, when } from '../../src/cpg/flow.js';
import { manualTick, marbles, settle } from '../helpers/testEnv.js';

/** A numbered event (a checkpoint with `n` seconds), to tell events apart in marbles. */
const note = (n: number): RunEvent => ({ type: 'checkpoint', seconds: n, bytes: 0 });
const ev = (n: number): Emit<never> => ({ _tag: 'event', event: note(n) });
const done = <A>(value: A): Emit<A> => ({ _tag: 'done', value });
const oops = (message: string): CpgError => ({ tag: 'InternalError', message });

/** What a flow emitted, in order: event numbers and `done:<value>` (or its error). */
const run = async <A>(f: Flow<A>): Promise<E.Either<unknown, Array<number | string>>> => {
  try {
    const all = await lastValueFrom(f.pipe(toArray()));
    return E.right(all.map((x) => (x._tag === 'event' ? (x.event as { seconds: number }).seconds : `done:${JSON.stringify(x.value)}`)));
  } catch (e) {
    return E.left(e);
  }
};

test('bracket: use completes, then release runs once; its events come before the value', () => {
  marbles().run(({ cold, expectObservable, expectSubscriptions }) => {
    const acquire = cold('-(a|)', { a: done('r') });
    const use = cold<Emit<number>>('-x-(d|)', { x: ev(1), d: done(42) });
    const release = cold<Emit<void>>('-(y|)', { y: ev(2) });
    const out = bracket(
      (r: string) => (r === 'r' ? use : fail(oops(`resource ${r}`))),
      () => release,
    )(acquire);
    expectObservable(out).toBe('--x--(yd|)', { x: ev(1), y: ev(2), d: done(42) });
    expectSubscriptions(use.subscriptions).toBe('-^--!');
    expectSubscriptions(release.subscriptions).toBe('----^!');
  });
});

test('bracket: use fails, release runs once, and the first error wins over the release failing too', () => {
  marbles().run(({ cold, expectObservable, expectSubscriptions }) => {
    const acquire = cold('(a|)', { a: done('r') });
    const use = cold<Emit<number>>('-x-#', { x: ev(1) }, oops('use'));
    const release = cold<Emit<void>>('-#', undefined, oops('release'));
    expectObservable(bracket(() => use, () => release)(acquire)).toBe('-x--#', { x: ev(1) }, oops('use'));
    expectSubscriptions(release.subscriptions).toBe('---^!');
  });
});

test('bracket: a release failing after a use that completed is the flow error', () => {
  marbles().run(({ cold, expectObservable }) => {
    const acquire = cold('(a|)', { a: done('r') });
    const use = cold<Emit<number>>('-(d|)', { d: done(1) });
    const release = cold<Emit<void>>('-#', undefined, oops('release'));
    expectObservable(bracket(() => use, () => release)(acquire)).toBe('--#', undefined, oops('release'));
  });
});

test('bracket: unsubscribed while in use, release starts then, once, and runs to its end', () => {
  marbles().run(({ cold, expectObservable, expectSubscriptions }) => {
    const acquire = cold('(a|)', { a: done('r') });
    const use = cold<Emit<number>>('-x-----(d|)', { x: ev(1), d: done(1) });
    const release = cold<Emit<void>>('--(v|)', { v: done(undefined) });
    expectObservable(bracket(() => use, () => release)(acquire), '^---!').toBe('-x--', { x: ev(1) });
    expectSubscriptions(use.subscriptions).toBe('^---!');
    expectSubscriptions(release.subscriptions).toBe('----^-!');
  });
});

test('bracket: an acquire that fails runs neither use nor release', () => {
  marbles().run(({ cold, expectObservable, expectSubscriptions }) => {
    const use = cold<Emit<number>>('(d|)', { d: done(1) });
    const release = cold<Emit<void>>('(v|)', { v: done(undefined) });
    expectObservable(bracket(() => use, () => release)(cold<Emit<string>>('-#', undefined, oops('acquire')))).toBe('-#', undefined, oops('acquire'));
    expectSubscriptions(use.subscriptions).toBe([]);
    expectSubscriptions(release.subscriptions).toBe([]);
  });
});

/** A resource that arrives when the test says, and a record of what was given back. */
const pending = () => {
  const held = manualTick();
  const released: string[] = [];
  const acquire = (outcome: E.Either<CpgError, string>) => () => held.tick().then(() => outcome);
  const release = (r: string) => () => {
    released.push(r);
    return Promise.resolve(E.right<unknown, void>(undefined));
  };
  return { held, released, acquire, release };
};

test('acquired: the resource as the value once it arrives, nothing released', async () => {
  const p = pending();
  const got = run(F.acquired(p.acquire(E.right('lock')), p.release));
  await settle();
  assert.equal(p.held.waiting(), 1, 'the acquire is under way');
  await p.held.release();
  assert.deepEqual(await got, E.right(['done:"lock"']));
  assert.deepEqual(p.released, []);
});

test('acquired: unsubscribed while acquiring, the resource is released as soon as it arrives', async () => {
  const p = pending();
  const seen: unknown[] = [];
  const sub = F.acquired(p.acquire(E.right('lock')), p.release).subscribe({ next: (x) => seen.push(x), error: (e) => seen.push(e) });
  await settle();
  sub.unsubscribe();
  assert.deepEqual(p.released, [], 'not arrived yet: nothing to release');
  await p.held.release();
  assert.deepEqual(p.released, ['lock']);
  assert.deepEqual(seen, [], 'the subscriber that left hears nothing');
});

test('acquired: unsubscribed while acquiring, an acquire that fails releases nothing and reports nothing', async () => {
  const p = pending();
  const seen: unknown[] = [];
  const sub = F.acquired(p.acquire(E.left(oops('busy'))), p.release).subscribe({ next: (x) => seen.push(x), error: (e) => seen.push(e) });
  sub.unsubscribe();
  await p.held.release();
  assert.deepEqual(p.released, []);
  assert.deepEqual(seen, []);
});

test('acquired: a failed acquire is the flow error; a rejected one an InternalError', async () => {
  const p = pending();
  const failed = run(F.acquired(p.acquire(E.left(oops('busy'))), p.release));
  await p.held.release();
  assert.deepEqual(await failed, E.left(oops('busy')));
  const rejected = await run(F.acquired(() => Promise.reject(new Error('disk gone')), p.release));
  assert.ok(E.isLeft(rejected) && (rejected.left as CpgError).tag === 'InternalError' && /disk gone/.test((rejected.left as CpgError).message), JSON.stringify(rejected));
});

test('unfold: events pass as they happen, each step starts when the one before ended, the final state is the value', () => {
  marbles().run(({ cold, expectObservable, expectSubscriptions }) => {
    const steps = [cold<Emit<number>>('-a-(d|)', { a: ev(10), d: done(1) }), cold<Emit<number>>('-b-(f|)', { b: ev(11), f: done(2) })];
    const out = unfold(
      0,
      (s) => s >= 2,
      (s) => steps[s] ?? fail(oops(`no step ${s}`)),
    );
    expectObservable(out).toBe('-a--b-(f|)', { a: ev(10), b: ev(11), f: done(2) });
    expectSubscriptions(steps[0]!.subscriptions).toBe('^--!');
    expectSubscriptions(steps[1]!.subscriptions).toBe('---^--!');
  });
});

test('unfold: a state finished from the start runs no step; a failing step ends it', () => {
  marbles().run(({ cold, expectObservable, expectSubscriptions }) => {
    const step = cold<Emit<number>>('-(d|)', { d: done(9) });
    expectObservable(unfold(5, (s) => s >= 5, () => step)).toBe('(d|)', { d: done(5) });
    expectSubscriptions(step.subscriptions).toBe([]);
    const failing = cold<Emit<number>>('-a-#', { a: ev(1) }, oops('step'));
    expectObservable(unfold(0, (s) => s >= 5, () => failing)).toBe('-a-#', { a: ev(1) }, oops('step'));
  });
});

test('unfold: with a manual tick in every step, the next step is not subscribed before the tick lets the one before end', async () => {
  const clock = manualTick();
  const started: number[] = [];
  const step = (s: number): Flow<number> =>
    defer(() => {
      started.push(s);
      return pipe(
        emit(note(s)),
        chain(() => F.fromTE(() => clock.tick().then(() => E.right(s + 1)))),
      );
    });
  const all = run(unfold(0, (s) => s >= 3, step));
  await settle();
  assert.deepEqual(started, [0]);
  await clock.release();
  assert.deepEqual(started, [0, 1]);
  await clock.release(2);
  assert.deepEqual(await all, E.right([0, 1, 2, 'done:3']));
});

test('Do-notation: names bound in order, each step reading the ones before; every event passes on in order', () => {
  marbles().run(({ cold, expectObservable }) => {
    const first = cold<Emit<number>>('-a-(d|)', { a: ev(1), d: done(2) });
    const out = pipe(
      Do,
      bind('x', () => first),
      F.let('y', ({ x }) => x * 10),
      bind('z', ({ x, y }) => pipe(emit(note(x + y)), chain(() => pure(`${x}/${y}`)))),
      tap(({ z }) => emit(note(z.length))),
      tap(({ y }) => when(y > 100, () => emit(note(-1)))),
      tap(({ x }) => emitIf(x === 2 ? note(99) : undefined)),
    );
    expectObservable(out).toBe('-a-(bcef|)', { a: ev(1), b: ev(22), c: ev(4), e: ev(99), f: done({ x: 2, y: 20, z: '2/20' }) });
  });
});

test('Do-notation: bindTo starts a scope from a value; the first error ends the piece and later steps never run', () => {
  marbles().run(({ cold, expectObservable, expectSubscriptions }) => {
    const later = cold<Emit<number>>('(d|)', { d: done(1) });
    const out = pipe(
      pure(3),
      bindTo('n'),
      tap(({ n }) => emit(note(n))),
      bind('m', ({ n }): Flow<number> => (n > 2 ? fail(oops('too big')) : pure(n))),
      bind('k', () => later),
    );
    expectObservable(out).toBe('(a#)', { a: ev(3) }, oops('too big'));
    expectSubscriptions(later.subscriptions).toBe([]);
  });
});

test('Do-notation: `when` does not even build a flow whose condition fails; tap keeps the scope it was given', async () => {
  let built = 0;
  const counted = (): Flow<void> => {
    built += 1;
    return emit(note(7));
  };
  const out = pipe(
    Do,
    F.let('a', () => 1),
    tap(() => when(false, counted)),
    tap(() => pipe(when(true, counted), chain(() => pure('ignored')))),
  );
  assert.deepEqual(await run(out), E.right([7, 'done:{"a":1}']));
  assert.equal(built, 1);
});

