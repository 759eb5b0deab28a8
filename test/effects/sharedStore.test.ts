/**
 * The three implementations of a step's per-cell work — wasm SIMD loops,
 * JavaScript loops, tfjs ops — agree, and none of them moves a cell that is
 * not the task's; the embedded wasm is exactly update.wat compiled.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu'; // the backend these tests run on (the library registers it where it chooses one)
import fc from 'fast-check';
import { type SharedStore, type SlotInit, deviceStore, hostStore } from '../../src/effects/sharedStore.js';
import { makeArena } from '../../src/effects/simd/arena.js';
import { updateWasmBase64 } from '../../src/effects/simd/updateWasm.js';
import { compileWat } from '../../tools/wasmSource.js';

test('the embedded wasm is update.wat compiled (regenerate with npm run build:wasm)', async () => {
  const fresh = await compileWat();
  assert.deepEqual(Buffer.from(updateWasmBase64, 'base64'), Buffer.from(fresh));
});

test('wasm SIMD is available here, so the host store runs the fused loops', () => {
  assert.ok(makeArena([10]) !== undefined);
});

const slotArb = fc.integer({ min: 1, max: 37 }).chain((n) =>
  fc.record({
    n: fc.constant(n),
    flags: fc.array(fc.boolean(), { minLength: n, maxLength: n }),
    old: fc.array(fc.boolean(), { minLength: n, maxLength: n }),
    values: fc.array(fc.float({ min: -2, max: 2, noNaN: true, noDefaultInfinity: true }), { minLength: n, maxLength: n }),
    grads: fc.array(fc.array(fc.float({ min: -3, max: 3, noNaN: true, noDefaultInfinity: true }), { minLength: n, maxLength: n }), { minLength: 1, maxLength: 4 }),
    pick: fc.constantFrom<'train' | 'fixed' | 'none'>('train', 'fixed', 'none'),
  }),
);

const slotOf = (x: { n: number; flags: boolean[]; old: boolean[]; values: number[]; pick: string }): SlotInit => {
  const own = new Float32Array(x.n);
  const ownFlag = new Uint8Array(x.n);
  const frozen = new Float32Array(x.n);
  x.flags.forEach((f, i) => {
    if (f) {
      ownFlag[i] = 1;
      own[i] = x.values[i]!;
    } else if (x.old[i]) frozen[i] = x.values[i]! + 0.5;
  });
  return { name: 'w', shape: [x.n], own, ownFlag, frozen: x.pick === 'none' ? undefined : frozen, pickInit: x.pick === 'train' ? 0.01 : undefined };
};

const run = async (store: SharedStore, grads: number[][]) => {
  const effs: Float32Array[] = [];
  grads.forEach((g, step) => {
    const e = store.effective();
    effs.push(Float32Array.from(e.get('w')!.dataSync() as Float32Array));
    tf.dispose([...e.values()]);
    const gt = tf.tensor(g);
    store.update(new Map([['w', gt]]), { lr: 0.1, lrMask: 0.05, weightDecay: 0.01, momentum: 0.9, adamStep: step + 1 });
    gt.dispose();
  });
  const real = await store.pickReal('w');
  const out = { own: Float32Array.from(await store.own('w')), real: real === undefined ? undefined : Float32Array.from(real), effs };
  store.dispose();
  return out;
};

const close = (a: Float32Array, b: Float32Array, what: string) => {
  assert.equal(a.length, b.length);
  for (let i = 0; i < a.length; i++) assert.ok(Math.abs(a[i]! - b[i]!) <= 1e-5 * Math.max(1, Math.abs(b[i]!)), `${what}[${i}]: ${a[i]} vs ${b[i]}`);
};

test('SIMD, JavaScript and tfjs-op stores compute the same steps; effective weights bit-exact; other cells untouched', async () => {
  await tf.setBackend('cpu');
  await fc.assert(
    fc.asyncProperty(slotArb, async (x) => {
      const slot = slotOf(x);
      const simd = await run(hostStore([slot], 0.005, true), x.grads);
      const js = await run(hostStore([slot], 0.005, false), x.grads);
      const dev = await run(deviceStore([slot], 0.005), x.grads);
      close(simd.own, js.own, 'own (simd vs js)');
      close(dev.own, js.own, 'own (device vs js)');
      if (js.real !== undefined) {
        close(simd.real!, js.real, 'pick (simd vs js)');
        close(dev.real!, js.real, 'pick (device vs js)');
      }
      // The first effective weight is exactly the stored values (own ∪ frozen, nothing else).
      for (const r of [simd, js, dev]) assert.deepEqual(r.effs[0], js.effs[0]);
      for (let i = 0; i < x.n; i++) {
        if (slot.ownFlag[i] === 0) {
          assert.equal(simd.own[i], 0, 'a cell that is not the task\'s never gets a value');
          assert.equal(js.own[i], 0);
        }
        if (x.pick !== 'none' && !(x.old[i] && !x.flags[i])) {
          if (js.real !== undefined) assert.equal(simd.real![i], Math.fround(0.01), 'the pick mask moves only over older weights');
        }
      }
    }),
    { seed: 11, numRuns: 150 },
  );
});

test('release clears value, momentum and flag the same way in every store (device: on the device, exact +0, flags mirrored on the host)', async () => {
  await tf.setBackend('cpu');
  const slot: SlotInit = {
    name: 'w',
    shape: [6],
    own: Float32Array.from([0.5, -0.25, 0, 0.75, -1, 0]),
    ownFlag: Uint8Array.from([1, 1, 0, 1, 1, 0]),
    frozen: Float32Array.from([0, 0, 0.3, 0, 0, 0.2]),
    pickInit: undefined,
  };
  const after = async (store: SharedStore) => {
    const g = tf.tensor([0.1, 0.2, 0.3, -0.4, 0.5, 0.6]);
    store.update(new Map([['w', g]]), { lr: 0.1, lrMask: 0, weightDecay: 0, momentum: 0.9, adamStep: 1 });
    store.release('w', Int32Array.from([1, 4]));
    // A later step: released cells must stay inert (momentum cleared with them).
    store.update(new Map([['w', g]]), { lr: 0.1, lrMask: 0, weightDecay: 0, momentum: 0.9, adamStep: 2 });
    g.dispose();
    const out = { own: Float32Array.from(await store.own('w')), flags: Array.from(store.flags('w')) };
    store.dispose();
    return out;
  };
  const host = await after(hostStore([slot], 0.005, false));
  const dev = await after(deviceStore([slot], 0.005));
  assert.deepEqual(dev.flags, [1, 0, 0, 1, 0, 0]);
  assert.deepEqual(host.flags, dev.flags);
  for (const i of [1, 2, 4, 5]) {
    assert.ok(Object.is(dev.own[i], 0), `device cell ${i} is +0, not ${dev.own[i]}`);
    assert.ok(Object.is(host.own[i], 0), `host cell ${i} is +0, not ${host.own[i]}`);
  }
  close(dev.own, host.own, 'own after release (device vs host)');
});
