/**
 * Small deterministic tasks and a short configuration for tests of learners:
 * two classes on a few features, each class centred on a seeded direction.
 */
import assert from 'node:assert/strict';
import * as E from 'fp-ts/lib/Either.js';
import { lastValueFrom, toArray, type Observable } from 'rxjs';
import { decodeConfig, type RunConfig } from '../../src/algebra/config.js';
import type { CpgError } from '../../src/algebra/errors.js';
import type { RunManifest } from '../../src/algebra/manifest.js';
import type { Normalisation, Task } from '../../src/algebra/task.js';
import { readManifest } from '../../src/effects/checkpoint.js';
import { taskFromArrays } from '../../src/effects/sources/memory.js';
import type { Store } from '../../src/effects/store.js';
import type { RunEvent } from '../../src/streams/run.js';

/** A small two-class task on 4 features: class k's inputs centred on a task-specific direction. */
export const tinyTask = (
  name: string,
  seed: number,
  shape: readonly [number, number, number] = [2, 2, 1],
  counts: { readonly train: number; readonly val: number; readonly normalise?: 'fit' | Normalisation } = { train: 64, val: 20 },
): Task => {
  let s = seed >>> 0;
  const rnd = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32) * 2 - 1;
  const pixels = shape[0] * shape[1] * shape[2];
  const centre = [Array.from({ length: pixels }, rnd), Array.from({ length: pixels }, rnd)];
  const split = (n: number) => {
    const x: number[] = [];
    const y: number[] = [];
    for (let i = 0; i < n; i++) {
      const k = i % 2;
      y.push(k);
      for (let p = 0; p < pixels; p++) x.push(centre[k]![p]! + 0.3 * rnd());
    }
    // As pixels in [0, 1] when the task is to be normalised from them.
    const values = counts.normalise !== undefined ? x.map((v) => Math.min(1, Math.max(0, (v + 1.5) / 3))) : x;
    return { x: Float32Array.from(values), y: Int32Array.from(y) };
  };
  const t = taskFromArrays({
    name,
    classNames: ['a', 'b'],
    inputShape: shape,
    train: split(counts.train),
    val: split(counts.val),
    test: split(counts.val),
    ...(counts.normalise !== undefined ? { normalise: counts.normalise } : {}),
  });
  assert.ok(E.isRight(t));
  return t.right;
};

/** Short stages: a task is learned in about a second. */
export const tinyConfig = (over: Record<string, unknown> = {}): RunConfig => {
  const c = decodeConfig(undefined)({ trainEpochs: 2, individualEpochs: 2, pruneEpochs: 1, pruneRampEpochs: 1, sparsities: [0.5, 0.8], retrainEpochs: 1, batchSize: 16, threads: 1, ...over });
  assert.ok(E.isRight(c));
  return c.right;
};

/** Every event of a stream, or its error. */
export const eventsOrError = (events: Observable<RunEvent>): Promise<E.Either<CpgError, RunEvent[]>> =>
  lastValueFrom(events.pipe(toArray())).then(E.right, (e: CpgError) => E.left(e));

/** The store's manifest, which must exist. */
export const manifestIn = async (store: Store): Promise<RunManifest> => {
  const m = await readManifest(store)();
  assert.ok(E.isRight(m) && m.right !== null);
  return m.right;
};
