/**
 * Where a trained pick mask starts (trainer.ts, PickMode 'train'): from
 * maskInit, every older weight is picked (maskInit above the threshold);
 * from a learned pick, the session's pick before any step is that pick,
 * on the host and the device store alike, whatever maskInit is.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu'; // the backend these tests run on (the library registers it where it chooses one)
import * as E from 'fp-ts/lib/Either.js';
import fc from 'fast-check';
import { mlp } from '../../src/algebra/architectures.js';
import { claimAll, finishTask } from '../../src/algebra/backbone.js';
import { type PickMask, pack, unpack } from '../../src/algebra/pickMask.js';
import { type NetState, initNet, startTaskPrivates } from '../../src/effects/network.js';
import { openSession } from '../../src/effects/trainer.js';

const right = <A>(e: E.Either<unknown, A>): A => {
  if (E.isLeft(e)) throw new Error(JSON.stringify(e.left));
  return e.right;
};

/** Task 1 finished owning a random part of each tensor, task 2 claiming the rest. */
const twoTasks = (seed: number, owned: (name: string, i: number) => boolean): NetState => {
  let s = right(initNet(mlp(10, [7, 5]), seed));
  s = { ...s, backbone: right(claimAll(1)(s.backbone)) };
  s = right(startTaskPrivates(s, 3, seed));
  // Release what task 1 does not keep (as compacting would), then finish it and let task 2 claim the rest.
  const owners = new Map([...s.backbone.owners].map(([name, o]) => [name, { ...o, cells: o.cells.map((c, i) => (owned(name, i) ? c : 0)) }] as const));
  s = { ...s, backbone: { ...s.backbone, owners } };
  s = { ...s, backbone: right(finishTask({ name: 't1', classes: 3, picks: new Map() })(s.backbone)) };
  s = { ...s, backbone: right(claimAll(2)(s.backbone)) };
  return right(startTaskPrivates(s, 3, seed));
};

test('a pick mask trained from a learned pick starts as that pick (host and device stores, any maskInit)', async () => {
  await tf.setBackend('cpu');
  await fc.assert(
    fc.asyncProperty(
      fc.integer({ min: 0, max: 1000 }),
      fc.constantFrom(0.01, 0.005, 0.001, 0.5),
      fc.constantFrom<'host' | 'device'>('host', 'device'),
      async (seed, init, store) => {
        const hash = (name: string, i: number, salt: number) => ((i * 2654435761 + name.length * 97 + seed * 31 + salt) >>> 0) % 3;
        const s = twoTasks(seed, (name, i) => hash(name, i, 0) !== 0);
        const learned = new Map<string, PickMask>(
          [...s.backbone.owners].map(([name, o]) => [name, pack(Uint8Array.from(o.cells, (c, i) => (c === 1 && hash(name, i, 1) === 0 ? 1 : 0)))] as const),
        );
        const opts = { maskThreshold: 0.005, weightDecay: 0, momentum: 0.9, scope: 'owners', store } as const;
        const fromLearned = right(openSession(s, { ...opts, pick: { kind: 'train', init, from: learned } }));
        const picks = right(await fromLearned.picks()());
        fromLearned.dispose();
        for (const [name, p] of learned) assert.deepEqual(unpack(picks.get(name)!), unpack(p), `'${name}' starts as the learned pick`);
        // The reference's start: every older weight picked when maskInit is above the threshold, none otherwise.
        const fresh = right(openSession(s, { ...opts, pick: { kind: 'train', init } }));
        const all = right(await fresh.picks()());
        fresh.dispose();
        for (const [name, o] of s.backbone.owners)
          assert.deepEqual(
            unpack(all.get(name)!),
            Uint8Array.from(o.cells, (c) => (c === 1 && init > 0.005 ? 1 : 0)),
            `'${name}' starts with every older weight ${init > 0.005 ? '' : 'un'}picked`,
          );
      },
    ),
    { seed: 5, numRuns: 24 },
  );
});
