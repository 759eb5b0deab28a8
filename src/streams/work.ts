/**
 * The frame every stream of work runs in, shared by the learner (core) and
 * run directories (`cpg/node`): the store's lock around it, a lease on the
 * process's backend through it, and its flow turned into events (a stop asked
 * for becomes a last 'stopped' event).
 */
import { pipe } from 'fp-ts/lib/function.js';
import { type Observable, catchError, defer, of, throwError } from 'rxjs';
import type { BackendChoice } from '../algebra/backends.js';
import { type CpgError, internalError, isCpgError } from '../algebra/errors.js';
import type { RunManifest } from '../algebra/manifest.js';
import type { Task } from '../algebra/task.js';
import { type BackendInfo, type BackendPlatform, acquireBackend } from '../effects/backend.js';
import { readManifest } from '../effects/checkpoint.js';
import type { Env } from '../effects/env.js';
import * as TE from 'fp-ts/lib/TaskEither.js';
import { type Store, type StoreLock, type TrackedStore, trackedStore } from '../effects/store.js';
import type { RunEvent } from '../cpg/events.js';
import { type Flow, chain, emit, eventsOf, fromTE, mapValue, using } from '../cpg/flow.js';

/** Stores a stopped piece of work in this process still holds while its last operation lands, by store (and by location, for stores other than memory). */
const releasing = new Map<unknown, Promise<void>>();
const keysOf = (store: Store): readonly unknown[] => (store.location === 'memory' ? [store] : [store, store.location]);

/**
 * Resolves when no learner or run stopped on `store` in this process still
 * holds it (it gives the lock back once its last store operation has landed,
 * a few milliseconds after the unsubscribe). A new learner on the store waits
 * for this by itself; call it to know when the store is free for other use.
 */
export const storeReleased = (store: Store): Promise<void> => Promise.all(keysOf(store).map((k) => releasing.get(k))).then(() => undefined);

/**
 * Gives back the lock of `store`, worked on through `t`: no operation starts
 * after this, and the lock is released once those under way have landed
 * (`storeReleased(store)` waits till then).
 */
const releaseOnceLanded =
  (store: Store, t: TrackedStore) =>
  (lock: StoreLock): TE.TaskEither<CpgError, void> =>
  () => {
    t.revoke();
    // Nothing under way (a stop at a training step): given back now, before the unsubscribe returns.
    if (t.idle()) return lock.release();
    const done = t.settled().then(() => lock.release());
    const free = done.then(
      () => undefined,
      () => undefined,
    );
    for (const k of keysOf(store)) releasing.set(k, free);
    void free.then(() => {
      for (const k of keysOf(store)) if (releasing.get(k) === free) releasing.delete(k);
    });
    return done;
  };

/**
 * Work on a store under its lock, given the store's manifest and the store
 * to work with (the same, with its operations tracked: after a stop none
 * starts, and the lock is given back when those under way have landed).
 */
export const locked = <A>(store: Store, body: (m: RunManifest | null, store: Store) => Flow<A>): Flow<A> =>
  defer(() => {
    const t = trackedStore(store);
    return using(
      () => storeReleased(store).then(() => store.lock()),
      releaseOnceLanded(store, t),
      () =>
        pipe(
          fromTE(readManifest(t.store)),
          chain((m) => body(m, t.store)),
        ),
    );
  });

/**
 * Work on the process's backend, holding a claim on it throughout: concurrent
 * learners share one initialisation, and none can switch it under another.
 */
export const onBackend = <A>(
  prefer: BackendChoice,
  threads: number | undefined,
  platform: BackendPlatform | undefined,
  body: (b: BackendInfo) => Flow<A>,
): Flow<A> =>
  using(
    acquireBackend({ prefer, ...(threads !== undefined ? { threads } : {}), ...(platform !== undefined ? { platform } : {}) }),
    (lease) => lease.release,
    (lease) => body(lease.info),
  );

/**
 * The events of work on a store: a stop asked for becomes a last 'stopped'
 * event; an exception that escaped becomes an InternalError.
 */
export const eventsOn = (store: Store, work: Flow<unknown>): Observable<RunEvent> =>
  eventsOf(work).pipe(
    catchError((e: unknown) =>
      isCpgError(e) && e.tag === 'Cancelled'
        ? of<RunEvent>({ type: 'stopped', dir: store.location, message: e.message })
        : throwError(() => (isCpgError(e) ? e : internalError(e))),
    ),
  );

/** Says how long loading the tasks' data took and how much there is, then goes on with it. */
export const dataLoaded = <A extends { readonly tasks: readonly (Task | undefined)[] }>(t0: number, env: Env, x: A): Flow<A> =>
  pipe(
    emit({
      type: 'data-loaded',
      seconds: env.clock.seconds() - t0,
      trainImages: x.tasks.reduce((a, t) => a + (t?.train.count ?? 0), 0),
      tasks: x.tasks.filter((t) => t !== undefined).length,
    }),
    mapValue(() => x),
  );
