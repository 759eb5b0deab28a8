/**
 * A store in a browser's IndexedDB: a model learned in a page survives a
 * reload, and the page resumes learning into it. One database per store,
 * with the same promises as a run directory: the manifest is replaced in one
 * transaction that also drops the blobs it no longer names (a reader sees the
 * old state or the new one), blobs are immutable, named by their SHA-256 and
 * checked on read, and a write has committed when it returns.
 *
 * The lock is the Web Locks API where the page has it (`navigator.locks`):
 * held across tabs, and given up by the browser when a tab closes, so a
 * closed page never leaves a stale lock. Elsewhere (Node with
 * fake-indexeddb, old browsers) it is a record taken in a transaction;
 * `breakLock` clears one its holder left behind.
 */
import * as E from 'fp-ts/lib/Either.js';
import * as TE from 'fp-ts/lib/TaskEither.js';
import { pipe } from 'fp-ts/lib/function.js';
import { type CpgError, checkpointError, lockError } from '../algebra/errors.js';
import { type BlobRef, type Store, type StoreLock, MANIFEST_ENTRY, blobEntry, checkBlob, sameBytes, sha256Hex } from '../effects/store.js';
import { type IdbDatabase, type IdbFactory, type IdbTransaction, openDatabase, transact } from './indexedDb.js';

/** The part of the Web Locks API the store uses (`navigator.locks`). */
export interface LockManagerLike {
  request(name: string, options: { readonly ifAvailable: true }, callback: (lock: unknown) => Promise<void> | undefined): Promise<unknown>;
}

/** Where the store's database lives and how it is locked [the page's own]. */
export interface IndexedDbStoreOptions {
  /** The IndexedDB to use [globalThis.indexedDB]. */
  readonly indexedDB?: IdbFactory;
  /** The Web Locks to lock with [globalThis.navigator.locks]; null: a lock record in the database. */
  readonly locks?: LockManagerLike | null;
}

/** A store in IndexedDB, and what a page may do beyond the store's contract. */
export interface IndexedDbStore extends Store {
  /** Blob hashes held now (for tests and storage pages). */
  readonly blobs: TE.TaskEither<CpgError, readonly string[]>;
  /** Removes a lock record its holder left behind (only the record lock; Web Locks need none). */
  readonly breakLock: TE.TaskEither<CpgError, void>;
  /** Closes the database connection (a later call opens it again). */
  readonly close: () => void;
}

const ENTRIES = 'entries';
const BLOBS = 'blobs';
const LOCK_KEY = 'lock';

/** A blob write's transaction: `data` as blob `ref`, unless it is held already. */
const putUnlessHeld =
  (ref: BlobRef, data: Uint8Array) =>
  (tx: IdbTransaction): (() => BlobRef) => {
    const blobs = tx.objectStore(BLOBS);
    const found = blobs.get(ref.sha256);
    found.onsuccess = () => {
      const v = found.result;
      // Trusted only if it holds these very bytes: a damaged blob of the right size is replaced.
      if (!(v instanceof Uint8Array && sameBytes(v, data))) blobs.put(data.slice(), ref.sha256);
    };
    return () => ref;
  };

/** The lock error that names who holds the lock (`how`). */
const lockedBy = (lockError: (message: string) => CpgError, how: string): CpgError =>
  lockError(`the store is locked by ${how}, which is working on it: wait for it to end or stop it`);

/** Web Locks: asks for lock `name` without waiting; `settle` hears once, with the lock or why not. */
const requestWebLock = (manager: LockManagerLike, name: string, lockError: (message: string) => CpgError, settle: (lock: E.Either<CpgError, StoreLock>) => void): void => {
  manager
    .request(name, { ifAvailable: true }, (lock) => {
      if (lock === null) {
        settle(E.left(lockedBy(lockError, 'another learner (in this page or another tab)')));
        return undefined;
      }
      // The callback's promise holds the lock until release resolves it.
      return new Promise<void>((release) => settle(E.right({ release: TE.fromIO(release) })));
    })
    .catch((e: unknown) => settle(E.left(lockError(`could not take the lock: ${String(e)}`))));
};

/** Takes the lock record for `mine` if none is there; reads the record found (undefined: none, so the lock is `mine` now). */
const takeLockRecord =
  (mine: { readonly token: string; readonly since: string }) =>
  (tx: IdbTransaction): (() => { readonly since?: unknown } | undefined) => {
    const entries = tx.objectStore(ENTRIES);
    const held = entries.get(LOCK_KEY);
    held.onsuccess = () => {
      if (held.result === undefined) entries.put(mine, LOCK_KEY);
    };
    return () => held.result as { readonly since?: unknown } | undefined;
  };

/** Removes the lock record only while it is still the one with `token`. */
const dropLockRecord =
  (token: string) =>
  (tx: IdbTransaction): (() => undefined) => {
    const entries = tx.objectStore(ENTRIES);
    const now = entries.get(LOCK_KEY);
    now.onsuccess = () => {
      if ((now.result as { token?: unknown } | undefined)?.token === token) entries.delete(LOCK_KEY);
    };
    return () => undefined;
  };

const randomToken = (): string => Array.from(globalThis.crypto.getRandomValues(new Uint8Array(8)), (b) => b.toString(16).padStart(2, '0')).join('');

/** The store in IndexedDB database `name` (created on first use). */
export const indexedDbStore = (name: string, o: IndexedDbStoreOptions = {}): IndexedDbStore => {
  const entryName = (entry: string) => `indexeddb:${name}/${entry}`;
  const failAt = (entry: string) => (message: string): CpgError => checkpointError(entryName(entry), message);
  const factory = o.indexedDB ?? (globalThis as { indexedDB?: IdbFactory }).indexedDB;
  const locks = o.locks === undefined ? (globalThis as { navigator?: { locks?: LockManagerLike } }).navigator?.locks : (o.locks ?? undefined);

  // One connection per store object, opened on first use.
  const connection: { db: IdbDatabase | undefined } = { db: undefined };
  const database: TE.TaskEither<CpgError, IdbDatabase> = () =>
    connection.db !== undefined
      ? Promise.resolve(E.right(connection.db))
      : factory === undefined
        ? Promise.resolve(E.left(failAt('')('this platform has no IndexedDB (pass `indexedDB` in the options)')))
        : pipe(
            openDatabase(factory, name, [ENTRIES, BLOBS], failAt('')),
            TE.map((db) => (connection.db = db)),
          )();

  const inTransaction = <A>(stores: readonly string[], mode: 'readonly' | 'readwrite', entry: string, body: (tx: IdbTransaction) => () => A): TE.TaskEither<CpgError, A> =>
    pipe(
      database,
      TE.chain((db) => transact(db, stores, mode, failAt(entry), body)),
    );

  const readEntry = (entry: string): TE.TaskEither<CpgError, unknown> =>
    inTransaction<unknown>([ENTRIES], 'readonly', entry, (tx) => {
      const req = tx.objectStore(ENTRIES).get(entry);
      return () => req.result;
    });

  const readManifest: TE.TaskEither<CpgError, Uint8Array | null> = pipe(
    readEntry(MANIFEST_ENTRY),
    TE.chain((v) =>
      v === undefined ? TE.right(null) : v instanceof Uint8Array ? TE.right(v) : TE.left(failAt(MANIFEST_ENTRY)('holds no bytes (written by something else)')),
    ),
  );

  const writeManifest = (bytes: Uint8Array, keep: ReadonlySet<string>): TE.TaskEither<CpgError, void> =>
    inTransaction([ENTRIES, BLOBS], 'readwrite', MANIFEST_ENTRY, (tx) => {
      tx.objectStore(ENTRIES).put(bytes.slice(), MANIFEST_ENTRY);
      const blobs = tx.objectStore(BLOBS);
      const keys = blobs.getAllKeys();
      // In the same transaction: the manifest and the blobs it names change together.
      keys.onsuccess = () => {
        for (const k of keys.result) if (typeof k === 'string' && !keep.has(k)) blobs.delete(k);
      };
      return () => undefined;
    });

  const putBlob = (data: Uint8Array): TE.TaskEither<CpgError, BlobRef> =>
    pipe(
      sha256Hex([data]),
      TE.chain((sha256) => {
        const ref: BlobRef = { sha256, bytes: data.byteLength };
        return inTransaction([BLOBS], 'readwrite', blobEntry(ref), putUnlessHeld(ref, data));
      }),
    );

  const getBlob = (ref: BlobRef): TE.TaskEither<CpgError, Uint8Array> => {
    const entry = blobEntry(ref);
    return pipe(
      inTransaction<unknown>([BLOBS], 'readonly', entry, (tx) => {
        const req = tx.objectStore(BLOBS).get(ref.sha256);
        return () => req.result;
      }),
      TE.chain((v) =>
        v === undefined
          ? TE.left<CpgError, Uint8Array>(failAt(entry)('blob is missing'))
          : v instanceof Uint8Array
            ? TE.right(v)
            : TE.left<CpgError, Uint8Array>(failAt(entry)('holds no bytes (written by something else)')),
      ),
      TE.chain(checkBlob(entryName(entry), ref, (b) => sha256Hex([b]))),
    );
  };

  const writeReport = (entry: string, text: string): TE.TaskEither<CpgError, string> =>
    inTransaction([ENTRIES], 'readwrite', entry, (tx) => {
      tx.objectStore(ENTRIES).put(text, `reports/${entry}`);
      return () => entryName(entry);
    });

  const lockFailure = (message: string): CpgError => lockError(entryName(LOCK_KEY), message);

  const webLock =
    (manager: LockManagerLike): TE.TaskEither<CpgError, StoreLock> =>
    () =>
      new Promise((resolve) => requestWebLock(manager, `cpg:indexeddb:${name}`, lockFailure, resolve));

  // A record: taken only when absent, in one transaction; released only by its own token.
  const recordLock: TE.TaskEither<CpgError, StoreLock> = pipe(
    TE.rightIO(() => ({ token: randomToken(), since: new Date().toISOString() })),
    TE.chain((mine) =>
      pipe(
        inTransaction([ENTRIES], 'readwrite', LOCK_KEY, takeLockRecord(mine)),
        TE.chain((holder) =>
          holder === undefined
            ? TE.right<CpgError, StoreLock>({ release: inTransaction([ENTRIES], 'readwrite', LOCK_KEY, dropLockRecord(mine.token)) })
            : TE.left(lockedBy(lockFailure, `another learner since ${String(holder.since)} (if none is, clear it with breakLock)`)),
        ),
      ),
    ),
  );

  return {
    location: `indexeddb:${name}`,
    nameOf: entryName,
    readManifest,
    writeManifest,
    putBlob,
    getBlob,
    writeReport,
    lock: locks !== undefined ? webLock(locks) : recordLock,
    blobs: inTransaction([BLOBS], 'readonly', BLOBS, (tx) => {
      const keys = tx.objectStore(BLOBS).getAllKeys();
      return () => keys.result.filter((k): k is string => typeof k === 'string');
    }),
    breakLock: inTransaction([ENTRIES], 'readwrite', LOCK_KEY, (tx) => {
      tx.objectStore(ENTRIES).delete(LOCK_KEY);
      return () => undefined;
    }),
    close: () => {
      connection.db?.close();
      connection.db = undefined;
    },
  };
};
