/**
 * The environment a run works in: a record of capabilities — where the model
 * is kept (store), the clock, seeded randomness, the tensor backend, and how
 * to yield between training steps. The method asks for these instead of
 * importing modules with state; tests and fault injection pass other ones.
 * Events are not a capability here: they are the values of the run's stream.
 */
import type { BackendInfo } from './backend.js';
import { type Clock, systemClock } from './clock.js';
import { type Rng, rngFor } from './random.js';
import type { Store } from './store.js';

export interface Env {
  readonly store: Store;
  readonly clock: Clock;
  /** The generator for (seed, label): every random choice of a run is drawn from one. */
  readonly random: (seed: number, label: string) => Rng;
  /** The backend tensors run on (selected before the run starts). */
  readonly backend: BackendInfo;
  /** Yields to the event loop between synchronous training steps, so timers, I/O and unsubscribes run. */
  readonly tick: () => Promise<void>;
}

/** setImmediate where it exists (Node): a macrotask without setTimeout's clamping. */
export const platformTick = (): Promise<void> =>
  new Promise((resolve) => {
    const immediate = (globalThis as { setImmediate?: (f: () => void) => unknown }).setImmediate;
    if (immediate !== undefined) immediate(resolve);
    else setTimeout(resolve, 0);
  });

/** An environment with the platform's clock, seeded randomness and tick, over `store` on `backend`. */
export const envOf = (store: Store, backend: BackendInfo, over: Partial<Omit<Env, 'store' | 'backend'>> = {}): Env => ({
  store,
  backend,
  clock: over.clock ?? systemClock,
  random: over.random ?? rngFor,
  tick: over.tick ?? platformTick,
});
