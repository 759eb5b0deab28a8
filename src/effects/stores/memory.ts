/**
 * A store in memory: a library user learns without a disk, and keeps the
 * store object to learn more tasks into the same model later in the process.
 * Same promises as a directory: the manifest is replaced whole, blobs are
 * immutable, checked on read, and dropped once nothing refers to them.
 */
import * as E from 'fp-ts/lib/Either.js';
import * as TE from 'fp-ts/lib/TaskEither.js';
import { pipe } from 'fp-ts/lib/function.js';
import { type CpgError, checkpointError, lockError } from '../../algebra/errors.js';
import { type Store, type StoreLock, blobEntry, checkBlob, sha256Hex } from '../store.js';

/** A store in memory, and a look at what it holds (for tests and reports). */
export interface MemoryStore extends Store {
  /** Blob hashes held now. */
  readonly blobs: () => readonly string[];
  /** Reports written so far, by name. */
  readonly reports: () => ReadonlyMap<string, string>;
}

/** A fresh, empty store in memory. */
export const memoryStore = (): MemoryStore => {
  let manifest: Uint8Array | null = null;
  let held = false;
  const blobs = new Map<string, Uint8Array>();
  const reports = new Map<string, string>();
  const name = (entry: string) => `memory:${entry}`;
  return {
    location: 'memory',
    nameOf: name,
    readManifest: TE.fromIO(() => manifest),
    writeManifest: (bytes, keep) =>
      TE.fromIO(() => {
        manifest = bytes.slice();
        for (const h of [...blobs.keys()]) if (!keep.has(h)) blobs.delete(h);
      }),
    putBlob: (data) =>
      pipe(
        sha256Hex([data]),
        TE.map((sha256) => {
          if (!blobs.has(sha256)) blobs.set(sha256, data.slice());
          return { sha256, bytes: data.byteLength };
        }),
      ),
    getBlob: (ref) => {
      const data = blobs.get(ref.sha256);
      return data === undefined
        ? TE.left<CpgError, Uint8Array>(checkpointError(name(blobEntry(ref)), 'blob is missing'))
        : checkBlob(name(blobEntry(ref)), ref, (b) => sha256Hex([b]))(data);
    },
    writeReport: (entry, text) =>
      TE.fromIO(() => {
        reports.set(entry, text);
        return name(entry);
      }),
    lock: () => {
      if (held) return Promise.resolve(E.left<CpgError, StoreLock>(lockError(name('lock'), 'another learner in this process is working on this store')));
      held = true;
      // Given back at once (TE.fromIO would wait a microtask): a learner unsubscribed has let go of the store when it returns.
      return Promise.resolve(E.right({ release: () => ((held = false), Promise.resolve(E.right(undefined))) }));
    },
    blobs: () => [...blobs.keys()],
    reports: () => reports,
  };
};
