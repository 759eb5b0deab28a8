/**
 * The shape of every piece of a run: an Observable that emits the run's
 * events as they happen and, last, the value the piece computed (a stage's
 * result, the run state after a commit). Errors travel in the Observable's
 * error channel as CpgError values, never as thrown exceptions.
 *
 * `chain` sequences pieces (concatMap on the final value), and `Do`, `bind`,
 * `let` and `tap` write a sequence top to bottom with its values named;
 * `unfold` runs a state machine until it is finished (expand), and `bracket`
 * acquires and releases a resource (a training session, the store's lock)
 * around a piece, releasing it however the piece ends — completed, failed or
 * unsubscribed.
 */
import * as E from 'fp-ts/lib/Either.js';
import type * as TE from 'fp-ts/lib/TaskEither.js';
import { EMPTY, Observable, catchError, concatMap, defer, expand, filter, from, map, of, throwError } from 'rxjs';
import { type CpgError, internalError, isCpgError } from '../algebra/errors.js';
import type { RunEvent } from './events.js';

/** One emission of a piece: an event for the subscriber, or the piece's final value. */
export type Emit<A> = { readonly _tag: 'event'; readonly event: RunEvent } | { readonly _tag: 'done'; readonly value: A };

/** A piece of a run: events, then exactly one final value (or a CpgError). */
export type Flow<A> = Observable<Emit<A>>;

const doneOf = <A>(value: A): Emit<A> => ({ _tag: 'done', value });
const eventOf = (event: RunEvent): Emit<never> => ({ _tag: 'event', event });

/** A value, no events. */
export const pure = <A>(a: A): Flow<A> => of(doneOf(a));

/** One event. */
export const emit = (e: RunEvent): Flow<void> => of(eventOf(e), doneOf(undefined));

/** An error. */
export const fail = <A = never>(e: CpgError): Flow<A> => throwError(() => e);

/** An Either's value or its error. */
export const fromEither = <A>(e: E.Either<CpgError, A>): Flow<A> => (E.isLeft(e) ? fail(e.left) : pure(e.right));

/** A TaskEither, run when the flow is subscribed to. */
export const fromTE = <A>(te: TE.TaskEither<CpgError, A>): Flow<A> => defer(() => from(te())).pipe(concatMap((r) => fromEither(r)));

/** A value computed when the flow is subscribed to (for reads of the clock and other effects that cannot fail). */
export const sync = <A>(f: () => A): Flow<A> => defer(() => pure(f()));

/** Then: run `f` on the final value, passing every event on. */
export const chain =
  <A, B>(f: (a: A) => Flow<B>) =>
  (fa: Flow<A>): Flow<B> =>
    fa.pipe(concatMap((x): Flow<B> => (x._tag === 'event' ? of(x) : f(x.value))));

/** Map the final value. */
export const mapValue =
  <A, B>(f: (a: A) => B) =>
  (fa: Flow<A>): Flow<B> =>
    fa.pipe(map((x): Emit<B> => (x._tag === 'event' ? x : doneOf(f(x.value)))));

/** Fold over items one after the other, each step a flow from the state so far. */
export const fold = <S, X>(xs: readonly X[], s0: S, f: (s: S, x: X, i: number) => Flow<S>): Flow<S> =>
  xs.reduce<Flow<S>>((acc, x, i) => chain((s: S) => f(s, x, i))(acc), pure(s0));

/**
 * Do-notation, as fp-ts's: a piece written top to bottom as a scope of named
 * values, each step a flow that may read the names bound before it. Every
 * step's events pass on in order; the first error ends the piece.
 *
 *   pipe(
 *     Do,
 *     bind('net', () => load(ctx, idx)),
 *     let_('width', ({ net }) => net.state.backbone.multiplier),
 *     tap(({ width }) => emit(...)),
 *     chain(({ net, width }) => ...),
 *   )
 */
export const Do: Flow<{}> = pure({});

/** A scope `S` with `name` bound to a `B` (fp-ts's shape, so fields are inferred along a pipe). */
export type Bound<S, N extends string, B> = { readonly [K in keyof S | N]: K extends keyof S ? S[K] : B };

const withName = <S, N extends string, B>(s: S, name: string, b: B): Bound<S, N, B> => Object.assign({}, s, { [name]: b }) as Bound<S, N, B>;

/** A flow's value as the first name of a scope. */
export const bindTo =
  <N extends string>(name: N) =>
  <A>(fa: Flow<A>): Flow<{ readonly [K in N]: A }> =>
    mapValue((a: A) => withName<{}, N, A>({}, name, a) as { readonly [K in N]: A })(fa);

/** Run `f` on the scope and bind its value to `name`. */
export const bind =
  <N extends string, S, B>(name: Exclude<N, keyof S>, f: (s: S) => Flow<B>) =>
  (fa: Flow<S>): Flow<Bound<S, N, B>> =>
    chain((s: S) => mapValue((b: B) => withName<S, N, B>(s, name, b))(f(s)))(fa);

/** Bind a value computed from the scope (no events, no failure) to `name`. */
export const let_ =
  <N extends string, S, B>(name: Exclude<N, keyof S>, f: (s: S) => B) =>
  (fa: Flow<S>): Flow<Bound<S, N, B>> =>
    mapValue((s: S) => withName<S, N, B>(s, name, f(s)))(fa);
export { let_ as let };

/** Run `f` on the scope for its events (and its failure), keeping the scope as it was. */
export const tap =
  <S>(f: (s: S) => Flow<unknown>) =>
  (fa: Flow<S>): Flow<S> =>
    chain((s: S) => mapValue(() => s)(f(s)))(fa);

/** `f`'s flow where `cond` holds (its value dropped), else nothing: `f` is not even called otherwise. */
export const when = (cond: boolean, f: () => Flow<unknown>): Flow<void> => (cond ? mapValue(() => undefined)(f()) : pure(undefined));

/** An event where there is one. */
export const emitIf = (e: RunEvent | undefined): Flow<void> => (e === undefined ? pure(undefined) : emit(e));

/**
 * Run `step` from `s0` until `finished` holds (a state machine unfolded with
 * expand); the final state is the value. A step's state is its last
 * emission, so the next step starts only when the one before has ended; and
 * expand is left unbounded so that events pass on as they happen (a bound of
 * one would hold them back until the step ends).
 */
export const unfold = <S>(s0: S, finished: (s: S) => boolean, step: (s: S) => Flow<S>): Flow<S> =>
  of(doneOf(s0)).pipe(
    expand((x: Emit<S>) => (x._tag === 'done' && !finished(x.value) ? step(x.value) : EMPTY)),
    filter((x) => x._tag === 'event' || finished(x.value)),
  );

/** `use` run on a resource already taken, with `release` after it (see `bracket`). */
const heldWhile = <R, A>(r: R, use: (r: R) => Flow<A>, release: (r: R) => Flow<void>): Flow<A> =>
  new Observable<Emit<A>>((sub) => {
    let released = false;
    let last: Emit<A> | undefined;
    let releasing: { unsubscribe: () => void } | undefined;
    const passEvent = (x: Emit<unknown>): void => {
      if (x._tag === 'event') sub.next(x);
    };
    const runRelease = (after: () => void, onError: (e: unknown) => void): void => {
      released = true;
      releasing = release(r).subscribe({ next: passEvent, error: onError, complete: after });
    };
    const inner = use(r).subscribe({
      next: (x) => {
        if (x._tag === 'event') sub.next(x);
        else last = x;
      },
      error: (e: unknown) => runRelease(() => sub.error(e), () => sub.error(e)),
      complete: () =>
        runRelease(
          () => {
            if (last !== undefined) sub.next(last);
            sub.complete();
          },
          (e) => sub.error(e),
        ),
    });
    return () => {
      inner.unsubscribe();
      if (!released) {
        released = true;
        release(r).subscribe({ error: () => undefined });
      }
      releasing?.unsubscribe();
    };
  });

/**
 * Acquire, use, release: `release` runs once whether `use` completes, fails
 * (the release's own failure is then dropped, the first error wins) or is
 * unsubscribed (then the release is started and not waited for).
 */
export const bracket =
  <R, A>(use: (r: R) => Flow<A>, release: (r: R) => Flow<void>) =>
  (acquire: Flow<R>): Flow<A> =>
    chain((r: R) => heldWhile(r, use, release))(acquire);

/**
 * A resource taken by `acquire` as a flow. Unsubscribed while `acquire` is
 * still under way, it releases the resource as soon as it arrives, so nothing
 * stays held by nobody (a lock, a claim on the backend).
 */
export const acquired = <R>(acquire: TE.TaskEither<CpgError, R>, release: (r: R) => TE.TaskEither<unknown, void>): Flow<R> =>
  new Observable<Emit<R>>((sub) => {
    let open = true;
    acquire().then(
      (r) => {
        if (!open) {
          if (E.isRight(r)) void release(r.right)();
        } else if (E.isLeft(r)) sub.error(r.left);
        else {
          sub.next(doneOf(r.right));
          sub.complete();
        }
      },
      (e: unknown) => {
        if (open) sub.error(internalError(e));
      },
    );
    return () => {
      open = false;
    };
  });

/** `use` with a resource held: taken by `acquire`, given back by `release` however `use` ends (completed, failed or unsubscribed). */
export const using = <R, A>(acquire: TE.TaskEither<CpgError, R>, release: (r: R) => TE.TaskEither<CpgError, void>, use: (r: R) => Flow<A>): Flow<A> =>
  bracket(use, (r: R) => fromTE(release(r)))(acquired(acquire, release));

/** The events of a flow (its final value dropped). */
export const eventsOf = <A>(f: Flow<A>): Observable<RunEvent> =>
  f.pipe(
    filter((x): x is Extract<Emit<A>, { _tag: 'event' }> => x._tag === 'event'),
    map((x) => x.event),
  );

/** A flow as a TaskEither of its final value (its events dropped); an exception that escaped is an InternalError. */
export const toTE =
  <A>(f: Flow<A>): TE.TaskEither<CpgError, A> =>
  () =>
    new Promise((resolve) => {
      let last: A | undefined;
      let seen = false;
      f.subscribe({
        next: (x) => {
          if (x._tag === 'done') {
            last = x.value;
            seen = true;
          }
        },
        error: (e: unknown) => resolve(E.left(isCpgError(e) ? e : internalError(e))),
        complete: () => resolve(seen ? E.right(last as A) : E.left(internalError('a run piece completed without its value'))),
      });
    });

/** Map the error of a flow (an escaped exception passes as it is, to become an InternalError at the edge). */
export const mapError =
  (f: (e: CpgError) => CpgError) =>
  <A>(fa: Flow<A>): Flow<A> =>
    fa.pipe(catchError((e: unknown) => throwError(() => (isCpgError(e) ? f(e) : e))));
