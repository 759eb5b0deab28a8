import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import * as E from 'fp-ts/lib/Either.js';
import type { OwnerMap } from '../../src/algebra/ownerMap.js';
import {
  binarize,
  byteLength,
  countPicked,
  effective,
  emptyPick,
  isPicked,
  pack,
  pickEquals,
  pickFromBytes,
  pickedCount,
  restrictPick,
  unpack,
  widenPick,
} from '../../src/algebra/pickMask.js';
import { type TensorPlan, embedIndex, newSize, oldSize } from '../../src/algebra/widen.js';


/** The value of a Right (the test fails on a Left). */
const ok = <A>(e: E.Either<unknown, A>): A => {
  assert.ok(E.isRight(e), JSON.stringify(E.isLeft(e) ? e.left : ''));
  return e.right;
};

const runs = { seed: 42, numRuns: 300 };

/** 0/1 flags of any length, not only multiples of 8. */
const flagsArb = fc.array(fc.integer({ min: 0, max: 1 }), { maxLength: 100 }).map((xs) => Uint8Array.from(xs));

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

const ownersAndPickArb = fc
  .array(fc.tuple(fc.integer({ min: 0, max: 6 }), fc.integer({ min: 0, max: 1 })), { maxLength: 100 })
  .map((xs) => ({
    owners: { tensor: 'w', cells: Uint8Array.from(xs.map(([o]) => o)) } as OwnerMap,
    flags: Uint8Array.from(xs.map(([, p]) => p)),
  }));

test('unpack ∘ pack is the identity on 0/1 flags of any length', () => {
  fc.assert(
    fc.property(flagsArb, (flags) => {
      const p = pack(flags);
      assert.equal(p.length, flags.length);
      assert.equal(p.bits.length, byteLength(flags.length));
      assert.deepEqual(unpack(p), flags);
    }),
    runs,
  );
});

test('pack ∘ unpack is the identity on valid masks of any length (padding bits stay 0)', () => {
  fc.assert(
    fc.property(
      fc.nat({ max: 100 }).chain((n) => fc.uint8Array({ minLength: byteLength(n), maxLength: byteLength(n) }).map((b) => ({ n, b }))),
      ({ n, b }) => {
        // Clear the padding bits to get a valid mask from random bytes.
        const bits = b.slice();
        if (n % 8 !== 0) bits[bits.length - 1]! &= (1 << n % 8) - 1;
        const p = { length: n, bits };
        assert.deepEqual(pack(unpack(p)).bits, bits);
        assert.equal(pack(unpack(p)).length, n);
      },
    ),
    runs,
  );
});

test('equal flags give byte-equal bits; any nonzero flag counts as picked', () => {
  fc.assert(
    fc.property(fc.array(fc.integer({ min: -3, max: 3 }), { maxLength: 100 }), (xs) => {
      const a = pack(xs);
      const b = pack(xs.map((x) => (x !== 0 ? 1 : 0)));
      assert.deepEqual(a.bits, b.bits);
      assert.ok(pickEquals(a, b));
      assert.equal(countPicked(a), xs.filter((x) => x !== 0).length);
      for (let i = 0; i < xs.length; i++) assert.equal(isPicked(a, i), xs[i] !== 0);
    }),
    runs,
  );
});

test('binarize picks exactly the cells above the threshold (NaN never)', () => {
  fc.assert(
    fc.property(fc.array(fc.float(), { maxLength: 100 }), fc.float({ noNaN: true }), (xs, th) => {
      const real = Float32Array.from(xs);
      const flags = unpack(binarize(real, th));
      for (let i = 0; i < real.length; i++) assert.equal(flags[i], real[i]! > th ? 1 : 0);
    }),
    runs,
  );
});

test('pickFromBytes accepts exactly what pack produces and refuses wrong byte counts or set padding bits', () => {
  fc.assert(
    fc.property(flagsArb, fc.integer({ min: 0, max: 7 }), fc.integer({ min: 1, max: 3 }), (flags, bit, extra) => {
      const p = pack(flags);
      const ok = pickFromBytes(flags.length, p.bits);
      assert.ok(E.isRight(ok) && pickEquals(ok.right, p));
      assert.notEqual(E.isRight(ok) && ok.right.bits, p.bits, 'a copy, not the caller\'s bytes');
      assert.ok(E.isLeft(pickFromBytes(flags.length, new Uint8Array(p.bits.length + extra))));
      if (p.bits.length > 0) assert.ok(E.isLeft(pickFromBytes(flags.length, p.bits.subarray(1))));
      const used = flags.length % 8;
      if (used !== 0 && bit >= used) {
        const bad = p.bits.slice();
        bad[bad.length - 1]! |= 1 << bit;
        const r = pickFromBytes(flags.length, bad, 'conv1/kernel');
        assert.ok(E.isLeft(r) && r.left.tag === 'DecodeError' && /padding/.test(r.left.message) && /conv1\/kernel/.test(r.left.field));
      }
    }),
    runs,
  );
  assert.ok(E.isLeft(pickFromBytes(-1, new Uint8Array(0))));
  assert.ok(E.isLeft(pickFromBytes(2.5, new Uint8Array(1))));
});

test('widenPick keeps every old bit at its embedIndex position and leaves new cells unpicked; restrict ∘ widen = id', () => {
  fc.assert(
    fc.property(
      planArb.chain((plan) =>
        fc.array(fc.integer({ min: 0, max: 1 }), { minLength: oldSize(plan), maxLength: oldSize(plan) }).map((xs) => ({ plan, flags: Uint8Array.from(xs) })),
      ),
      ({ plan, flags }) => {
        const p = pack(flags);
        const w = ok(widenPick(plan)(p));
        assert.equal(w.length, newSize(plan));
        const wide = unpack(w);
        const index = embedIndex(plan);
        const expected = new Uint8Array(newSize(plan));
        for (let i = 0; i < index.length; i++) expected[index[i]!] = flags[i]!;
        assert.deepEqual(wide, expected);
        assert.ok(pickEquals(ok(restrictPick(plan)(w)), p));
        assert.ok(E.isRight(pickFromBytes(w.length, w.bits)), 'padding stays clear');
        assert.ok(E.isLeft(widenPick(plan)(emptyPick(oldSize(plan) + 1))));
        assert.ok(E.isLeft(restrictPick(plan)(emptyPick(newSize(plan) + 1))));
      },
    ),
    runs,
  );
});

test('effective = [O == task] ∨ ([1 ≤ O < task] ∧ pick): never a free cell or a later task\'s cell', () => {
  fc.assert(
    fc.property(ownersAndPickArb, fc.integer({ min: 1, max: 6 }), fc.boolean(), ({ owners, flags }, task, withPick) => {
      const pick = withPick ? pack(flags) : undefined;
      const sel = ok(effective(task, owners, pick));
      for (let i = 0; i < owners.cells.length; i++) {
        const o = owners.cells[i]!;
        const want = o === task || (o >= 1 && o < task && withPick && flags[i] === 1);
        assert.equal(sel[i], want ? 1 : 0, `cell ${i} owner ${o}`);
      }
      const { picked, old } = ok(pickedCount(task, owners, pick));
      let o1 = 0;
      let p1 = 0;
      for (let i = 0; i < owners.cells.length; i++) {
        const o = owners.cells[i]!;
        if (o >= 1 && o < task) {
          o1++;
          if (withPick && flags[i] === 1) p1++;
        }
      }
      assert.deepEqual({ picked, old }, { picked: p1, old: o1 });
    }),
    runs,
  );
});

test('effective and pickedCount refuse a pick mask whose length is not the owner map\'s', () => {
  fc.assert(
    fc.property(ownersAndPickArb, fc.integer({ min: 1, max: 3 }), ({ owners }, extra) => {
      const r = effective(2, owners, emptyPick(owners.cells.length + extra));
      assert.ok(E.isLeft(r) && r.left.tag === 'OwnershipError');
      assert.ok(E.isRight(effective(2, owners, emptyPick(owners.cells.length))));
      const c = pickedCount(2, owners, emptyPick(owners.cells.length + extra));
      assert.ok(E.isLeft(c) && c.left.tag === 'OwnershipError');
    }),
    { seed: 42, numRuns: 50 },
  );
});
