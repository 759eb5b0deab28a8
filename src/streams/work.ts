/**
 * The frame every stream of work runs in, shared by the learner (core) and
 * run directories (`cpg/node`): the store's lock around it, a lease on the
 * process's backend through it, and its flow turned into events (a stop asked
 * for becomes a last 'stopped' event).
 */
import { pipe } from 'fp-ts/lib/function.js';
import { type Observable, catchError, of, throwError } from 'rxjs';
import type { BackendChoice } from '../algebra/codecs.js';
import { internalError, isCpgError } from '../algebra/errors.js';
import type { RunManifest } from '../algebra/manifest.js';
import type { Task } from '../algebra/task.js';
import { type BackendInfo, type BackendPlatform, acquireBackend } from '../effects/backend.js';
import { readManifest } from '../effects/checkpoint.js';
import type { Env } from '../effects/env.js';
import type { Store } from '../effects/store.js';
import type { RunEvent } from '../cpg/events.js';
import { type Flow, chain, emit, eventsOf, fromTE, mapValue, using } from '../cpg/flow.js';

/** Work on a store under its lock, given the store's manifest. */
export const locked = <A>(store: Store, body: (m: RunManifest | null) => Flow<A>): Flow<A> =>
  using(store.lock, (lock) => lock.release, () => pipe(fromTE(readManifest(store)), chain(body)));

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
