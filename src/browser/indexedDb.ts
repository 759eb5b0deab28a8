/**
 * The part of IndexedDB a store uses, typed here (the ES2022 lib without DOM
 * has no IndexedDB types), and one transaction as a TaskEither: it succeeds
 * once the transaction has committed, so a write that returns is durable, and
 * fails with the transaction's error when it aborts, so nothing of it stays.
 */
import * as E from 'fp-ts/lib/Either.js';
import type * as TE from 'fp-ts/lib/TaskEither.js';
import type { CpgError } from '../algebra/errors.js';

/** A request: its result, once `onsuccess` has run. */
export interface IdbRequest<T> {
  readonly result: T;
  readonly error: unknown;
  onsuccess: (() => void) | null;
  onerror: (() => void) | null;
}

export interface IdbObjectStore {
  get(key: string): IdbRequest<unknown>;
  put(value: unknown, key: string): IdbRequest<unknown>;
  delete(key: string): IdbRequest<unknown>;
  getAllKeys(): IdbRequest<unknown[]>;
}

export interface IdbTransaction {
  objectStore(name: string): IdbObjectStore;
  readonly error: unknown;
  oncomplete: (() => void) | null;
  onerror: (() => void) | null;
  onabort: (() => void) | null;
}

export interface IdbDatabase {
  readonly objectStoreNames: { contains(name: string): boolean };
  createObjectStore(name: string): unknown;
  transaction(stores: readonly string[], mode: 'readonly' | 'readwrite'): IdbTransaction;
  close(): void;
}

export interface IdbOpenRequest extends IdbRequest<IdbDatabase> {
  onupgradeneeded: (() => void) | null;
  onblocked: (() => void) | null;
}

/** `indexedDB` (a browser's, or fake-indexeddb's in tests). */
export interface IdbFactory {
  open(name: string, version?: number): IdbOpenRequest;
}

const messageOf = (e: unknown): string =>
  e instanceof Error ? e.message : typeof e === 'object' && e !== null && 'message' in e ? String((e as { message: unknown }).message) : String(e);

/** `fail` with what was thrown as its message. */
const failWith =
  (fail: (message: string) => CpgError) =>
  (e: unknown): CpgError =>
    fail(messageOf(e));

/** Opens (creating on first use) database `name` with object stores `stores`. */
export const openDatabase =
  (factory: IdbFactory, name: string, stores: readonly string[], fail: (message: string) => CpgError): TE.TaskEither<CpgError, IdbDatabase> =>
  () =>
    new Promise((resolve) => {
      const opening = E.tryCatch(
        () => factory.open(name, 1),
        (e) => fail(`could not open the database: ${messageOf(e)}`),
      );
      if (E.isLeft(opening)) return resolve(opening);
      const req = opening.right;
      req.onupgradeneeded = () => {
        for (const s of stores) if (!req.result.objectStoreNames.contains(s)) req.result.createObjectStore(s);
      };
      req.onsuccess = () => resolve(E.right(req.result));
      req.onerror = () => resolve(E.left(fail(`could not open the database: ${messageOf(req.error)}`)));
      req.onblocked = () => resolve(E.left(fail('could not open the database: another page holds an older version open')));
    });

/**
 * One transaction over `stores`: `body` makes its requests and returns how to
 * read its outcome, read once the transaction has committed.
 */
export const transact =
  <A>(
    db: IdbDatabase,
    stores: readonly string[],
    mode: 'readonly' | 'readwrite',
    fail: (message: string) => CpgError,
    body: (tx: IdbTransaction) => () => A,
  ): TE.TaskEither<CpgError, A> =>
  () =>
    new Promise((resolve) => {
      const started = E.tryCatch(
        () => {
          const tx = db.transaction(stores, mode);
          return { tx, outcome: body(tx) };
        },
        failWith(fail),
      );
      if (E.isLeft(started)) return resolve(started);
      const { tx, outcome } = started.right;
      tx.oncomplete = () => resolve(E.tryCatch(outcome, failWith(fail)));
      // A failed request aborts the transaction: answer once, when it has.
      tx.onerror = null;
      tx.onabort = () => resolve(E.left(fail(`the transaction was aborted: ${tx.error === null || tx.error === undefined ? 'unknown reason' : messageOf(tx.error)}`)));
    });
