/**
 * A test environment for stream tests: a fake clock that moves only when the
 * test says, seeded randomness (the run's own generator, so draws are the
 * ones a real run makes), and a manual tick that holds every training step
 * until the test lets it through. With `envFor` they make an `Env`, so the
 * same controls drive a real stage; `marbles()` is a TestScheduler that
 * compares with node's deepEqual.
 */
import assert from 'node:assert/strict';
import { TestScheduler } from 'rxjs/testing';
import type { BackendInfo } from '../../src/effects/backend.js';
import type { Clock } from '../../src/effects/clock.js';
import type { Env } from '../../src/effects/env.js';
import { type Rng, rngFor } from '../../src/effects/random.js';
import type { Store } from '../../src/effects/store.js';

/** A clock at `start` seconds that moves only by `advance`. */
export interface FakeClock extends Clock {
  readonly advance: (seconds: number) => void;
}

export const fakeClock = (start = 0): FakeClock => {
  let now = start;
  return {
    seconds: () => now,
    isoNow: () => new Date(Date.UTC(2020, 0, 1) + Math.round(now * 1000)).toISOString(),
    advance: (seconds) => {
      now += seconds;
    },
  };
};

/** Seeded randomness: the run's generator, so the same (seed, label) gives the same draws here as in a run. */
export const seededRandom = (seed: number, label: string): Rng => rngFor(seed, label);

/** A tick the test lets through by hand: each `tick()` waits until `release` lets it go. */
export interface ManualTick {
  readonly tick: () => Promise<void>;
  /** Ticks waiting now. */
  readonly waiting: () => number;
  /** Every tick asked for so far, let through or not. */
  readonly asked: () => number;
  /** Let `n` ticks go one after the other, each once it is asked for (if it is by then), letting what it resumes run. */
  readonly release: (n?: number) => Promise<void>;
  /** Let ticks go as they come until `done` settles (a whole stage, without counting its steps). */
  readonly releaseUntil: <A>(done: Promise<A>) => Promise<A>;
}

/** Let the promise jobs queued now run, and the ones they queue (a macrotask later). */
export const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

export const manualTick = (): ManualTick => {
  const queue: Array<() => void> = [];
  let asked = 0;
  const release = async (n = 1): Promise<void> => {
    for (let i = 0; i < n; i++) {
      queue.shift()?.();
      await settle();
    }
  };
  const releaseUntil = async <A>(done: Promise<A>): Promise<A> => {
    let finished = false;
    const watched = done.finally(() => {
      finished = true;
    });
    while (!finished) await release(Math.max(1, queue.length));
    return watched;
  };
  return {
    tick: () =>
      new Promise<void>((resolve) => {
        asked += 1;
        queue.push(resolve);
      }),
    waiting: () => queue.length,
    asked: () => asked,
    release,
    releaseUntil,
  };
};

/** An environment over `store` on `backend` with the test's clock, seeded randomness and tick. */
export const envFor = (store: Store, backend: BackendInfo, clock: Clock = fakeClock(), tick: () => Promise<void> = manualTick().tick): Env => ({
  store,
  backend,
  clock,
  random: seededRandom,
  tick,
});

/** A TestScheduler for marble tests that compares with node's deepEqual. */
export const marbles = (): TestScheduler => new TestScheduler((actual, expected) => assert.deepEqual(actual, expected));
