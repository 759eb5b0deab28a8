import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import * as E from 'fp-ts/lib/Either.js';
import {
  cubicSparsity,
  defaultSparsities,
  pickLrMilestones,
  pruneSteps,
  stepLr,
  validateCubic,
  validatePruneSteps,
  weightLrMilestones,
} from '../../src/algebra/schedule.js';

const runs = { seed: 42, numRuns: 300 };

const sparsity = fc.oneof(fc.constantFrom(0, 0.1, 0.3, 0.5, 0.9, 0.95, 1), fc.double({ min: 0, max: 1, noNaN: true }));

const scheduleArb = fc.record({
  initial: sparsity,
  final: sparsity,
  beginStep: fc.nat({ max: 500 }),
  length: fc.nat({ max: 500 }),
  frequency: fc.integer({ min: 1, max: 600 }),
});

test('the pruning schedule is monotone from s_i towards s_f and never leaves [s_i, s_f]', () => {
  fc.assert(
    fc.property(scheduleArb, fc.array(fc.integer({ min: -50, max: 1100 }), { minLength: 2, maxLength: 30 }), (o, steps) => {
      const s = cubicSparsity({ ...o, endStep: o.beginStep + o.length });
      // Fractional steps just after the start, where (1 − p)^3 rounds to 1 and s_f + (s_i − s_f) may miss s_i by an ulp.
      const near = [5e-324, 1e-20, 1e-12, 1e-6, 0.5].map((e) => o.beginStep + e);
      const sorted = [...steps, ...near].sort((a, b) => a - b);
      const lo = Math.min(o.initial, o.final);
      const hi = Math.max(o.initial, o.final);
      for (let i = 0; i < sorted.length; i++) {
        const v = s(sorted[i]!);
        assert.ok(v >= lo && v <= hi, `s(${sorted[i]}) = ${v} outside [${lo}, ${hi}]`);
        if (i > 0) {
          const prev = s(sorted[i - 1]!);
          if (o.initial <= o.final) assert.ok(prev <= v, `s(${sorted[i - 1]}) = ${prev} > s(${sorted[i]}) = ${v}`);
          else assert.ok(prev >= v, `s(${sorted[i - 1]}) = ${prev} < s(${sorted[i]}) = ${v}`);
        }
      }
    }),
    runs,
  );
});

test('the pruning schedule starts at s_i, ends exactly at s_f at the last mask update, and updates at begin, every f steps, and end', () => {
  fc.assert(
    fc.property(scheduleArb, (o) => {
      const endStep = o.beginStep + o.length;
      const s = cubicSparsity({ ...o, endStep });
      const steps = pruneSteps({ beginStep: o.beginStep, endStep, frequency: o.frequency });
      assert.equal(steps[0], o.beginStep);
      assert.equal(steps[steps.length - 1], endStep);
      for (let i = 1; i < steps.length; i++) assert.ok(steps[i]! > steps[i - 1]!, 'strictly increasing');
      for (let i = 1; i < steps.length - 1; i++) assert.equal(steps[i]! - steps[i - 1]!, o.frequency);
      // end is not repeated and not more than f after the previous update.
      if (steps.length > 1) assert.ok(endStep - steps[steps.length - 2]! <= o.frequency);
      assert.equal(s(steps[steps.length - 1]!), o.final);
      assert.equal(s(endStep + 1), o.final);
      assert.equal(s(o.beginStep - 1), o.initial);
      // A ramp of zero length reaches s_f at once; otherwise the first update is at s_i.
      assert.equal(s(o.beginStep), o.length === 0 ? o.final : o.initial);
      if (o.length === 0) assert.deepEqual(steps, [o.beginStep]);
      if (o.frequency >= o.length && o.length > 0) assert.deepEqual(steps, [o.beginStep, endStep]);
    }),
    runs,
  );
});

test('the pruning schedule follows the cubic s_f + (s_i − s_f)(1 − p)^3 inside the ramp', () => {
  fc.assert(
    fc.property(scheduleArb.filter((o) => o.length > 0), fc.double({ min: 0, max: 1, noNaN: true }), (o, p) => {
      const endStep = o.beginStep + o.length;
      const t = o.beginStep + Math.floor(p * o.length);
      const q = 1 - (t - o.beginStep) / o.length;
      const want = o.final + (o.initial - o.final) * q ** 3;
      assert.ok(Math.abs(cubicSparsity({ ...o, endStep })(t) - want) <= 1e-12);
    }),
    runs,
  );
});

test('the default sparsities are the exact decimals 0.1 … 0.9, 0.95, increasing', () => {
  assert.equal(defaultSparsities.length, 10);
  defaultSparsities.forEach((s, i) => {
    assert.equal(String(s), i < 9 ? `0.${i + 1}` : '0.95');
    if (i > 0) assert.ok(s > defaultSparsities[i - 1]!);
  });
});

test('stepLr is non-increasing for factors in [0, 1] and equals base before the first milestone', () => {
  fc.assert(
    fc.property(
      fc.double({ min: 1e-6, max: 1, noNaN: true }),
      fc.integer({ min: 1, max: 200 }),
      fc.array(fc.record({ at: fc.double({ min: 0, max: 1, noNaN: true }), factor: fc.oneof(fc.constant(0), fc.double({ min: 0, max: 1, noNaN: true })) }), { maxLength: 4 }),
      (base, epochs, milestones) => {
        const lr = stepLr({ base, epochs, milestones });
        const first = Math.min(epochs, ...milestones.map((m) => Math.round(m.at * epochs)));
        for (let e = 0; e < epochs; e++) {
          assert.ok(lr(e) >= 0);
          if (e > 0) assert.ok(lr(e) <= lr(e - 1), `lr(${e}) = ${lr(e)} > lr(${e - 1}) = ${lr(e - 1)}`);
          if (e < first) assert.equal(lr(e), base);
        }
      },
    ),
    runs,
  );
});

test('stepLr multiplies by each milestone\'s factor from round(at × epochs) on (the reference steps)', () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 300 }), fc.double({ min: 1e-5, max: 1, noNaN: true }), (epochs, base) => {
      const w = stepLr({ base, epochs, milestones: weightLrMilestones });
      const m = stepLr({ base, epochs, milestones: pickLrMilestones });
      const [w1, w2] = [Math.round(0.5 * epochs), Math.round(0.8 * epochs)];
      const [m1, m2] = [Math.round(0.5 * epochs), Math.round(0.7 * epochs)];
      for (let e = 0; e < epochs; e++) {
        assert.equal(w(e), base * (e >= w1 ? 0.1 : 1) * (e >= w2 ? 0.1 : 1));
        assert.equal(m(e), e >= m2 ? 0 : e >= m1 ? base * 0.2 : base);
      }
    }),
    { seed: 42, numRuns: 100 },
  );
});

test('schedule parameters that make no sense are refused with the field named', () => {
  const bad = validateCubic({ initial: 0, final: 1.5, beginStep: 0, endStep: 10 });
  assert.ok(E.isLeft(bad) && bad.left.tag === 'ConfigError' && bad.left.field === 'final');
  const back = validateCubic({ initial: 0, final: 0.5, beginStep: 10, endStep: 5 });
  assert.ok(E.isLeft(back) && back.left.tag === 'ConfigError' && back.left.field === 'endStep');
  const freq = validatePruneSteps({ beginStep: 0, endStep: 10, frequency: 0 });
  assert.ok(E.isLeft(freq) && freq.left.tag === 'ConfigError' && freq.left.field === 'frequency');
  fc.assert(
    fc.property(scheduleArb, (o) => {
      const endStep = o.beginStep + o.length;
      assert.ok(E.isRight(validateCubic({ ...o, endStep })));
      assert.ok(E.isRight(validatePruneSteps({ beginStep: o.beginStep, endStep, frequency: o.frequency })));
    }),
    { seed: 42, numRuns: 100 },
  );
  // A frequency that is not positive cannot loop forever.
  assert.deepEqual(pruneSteps({ beginStep: 3, endStep: 9, frequency: 0 }), [3, 9]);
});
