/**
 * Where a model lives: the manifest (the commit point), content-addressed
 * blobs (tensors, owner maps, pick masks, probes), the reports, and a lock.
 *
 * The interface uses nothing Node-only (Uint8Array, TaskEither), so a run can
 * live in a directory (stores/fs.ts, Node), in memory (stores/memory.ts) or in
 * a browser's IndexedDB (browser/indexedDbStore.ts). Every implementation promises the same: the
 * manifest is replaced atomically (a reader sees the old one or the new one),
 * a blob is immutable once named by its SHA-256, and every read of a blob
 * checks its size and hash, so a flipped byte is named instead of loaded.
 */
import * as TE from 'fp-ts/lib/TaskEither.js';
import { pipe } from 'fp-ts/lib/function.js';
import { type CpgError, cancelled, checkpointError, internalError } from '../algebra/errors.js';
import type { BlobRef } from '../algebra/snapshot.js';

// A stored blob's reference is what a snapshot index records: written once, as its codec.
export type { BlobRef } from '../algebra/snapshot.js';

/** A held store: release it when the work is done (a killed process leaves a lock the next taker sees is stale). */
export interface StoreLock {
  readonly release: TE.TaskEither<CpgError, void>;
}

/** The capabilities a run needs from where it is kept. */
export interface Store {
  /** Where the store lives, for messages: a directory, or 'memory'. */
  readonly location: string;
  /** How messages name an entry of the store ('run.json', 'blobs/<sha>.bin'): a path for a directory. */
  readonly nameOf: (entry: string) => string;
  /** The manifest's bytes, or null when the store holds no run yet. */
  readonly readManifest: TE.TaskEither<CpgError, Uint8Array | null>;
  /** Replace the manifest atomically, then drop the blobs whose hash is not in `keep`. */
  readonly writeManifest: (bytes: Uint8Array, keep: ReadonlySet<string>) => TE.TaskEither<CpgError, void>;
  /** Store bytes as a blob (a no-op when a blob of that hash holding exactly these bytes exists; a damaged one is replaced). */
  readonly putBlob: (bytes: Uint8Array) => TE.TaskEither<CpgError, BlobRef>;
  /** Read a blob, checked against its size and hash. */
  readonly getBlob: (ref: BlobRef) => TE.TaskEither<CpgError, Uint8Array>;
  /** Write a report (report.json, report.html) atomically; returns where it went. */
  readonly writeReport: (name: string, text: string) => TE.TaskEither<CpgError, string>;
  /** Take the store for this learner; a LockError naming the holder while another holds it. */
  readonly lock: TE.TaskEither<CpgError, StoreLock>;
  /**
   * SHA-256 (hex) of the parts one after the other, as the store hashes blobs: a task's data is
   * identified by it. Absent: WebCrypto over the parts copied into one buffer (`sha256Hex`).
   */
  readonly sha256?: (parts: readonly Uint8Array[]) => TE.TaskEither<CpgError, string>;
}

/** The manifest's entry name in every store. */
export const MANIFEST_ENTRY = 'run.json';

/** The entry name of a blob. */
export const blobEntry = (ref: Pick<BlobRef, 'sha256'>): string => `blobs/${ref.sha256}.bin`;

const hex = (digest: ArrayBuffer): string => Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, '0')).join('');

/** SHA-256 of bytes as hex, with the platform's WebCrypto (Node ≥ 20 and browsers alike). */
export const sha256Hex = (parts: readonly Uint8Array[]): TE.TaskEither<CpgError, string> =>
  TE.tryCatch(
    async () => {
      const one =
        parts.length === 1
          ? parts[0]!
          : (() => {
              const all = new Uint8Array(parts.reduce((a, p) => a + p.byteLength, 0));
              let at = 0;
              for (const p of parts) {
                all.set(p, at);
                at += p.byteLength;
              }
              return all;
            })();
      return hex(await globalThis.crypto.subtle.digest('SHA-256', one));
    },
    (e): CpgError => internalError(`SHA-256 failed: ${e instanceof Error ? e.message : String(e)}`),
  );

/** Checks bytes read for a blob against its reference (size, then hash). */
export const checkBlob =
  (file: string, ref: BlobRef, hash: (b: Uint8Array) => TE.TaskEither<CpgError, string>) =>
  (data: Uint8Array): TE.TaskEither<CpgError, Uint8Array> => {
    if (data.byteLength !== ref.bytes)
      return TE.left(checkpointError(file, `blob is ${data.byteLength} bytes, the manifest says ${ref.bytes} (truncated or replaced)`));
    return pipe(
      hash(data),
      TE.chain((h) =>
        h === ref.sha256 ? TE.right(data) : TE.left<CpgError, Uint8Array>(checkpointError(file, 'blob content does not match its sha256 (corrupted)')),
      ),
    );
  };

/** Whether two byte arrays hold the same bytes. */
export const sameBytes = (a: Uint8Array, b: Uint8Array): boolean => {
  if (a.byteLength !== b.byteLength) return false;
  for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) return false;
  return true;
};

/** Bytes of a float32 array, little-endian (the layout of every tensor blob). */
export const float32Bytes = (a: Float32Array): Uint8Array => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

/** "tensor 'name' holds a non-finite value (NaN) at cell i" for the first NaN/±Inf in `a`; undefined when all are finite. */
export const nonFiniteIn = (name: string, a: ArrayLike<number>): string | undefined => {
  for (let i = 0; i < a.length; i++) if (!Number.isFinite(a[i]!)) return `tensor '${name}' holds a non-finite value (${a[i]}) at cell ${i}`;
  return undefined;
};

/** A float32 array from blob bytes (copied, so alignment never matters). */
export const bytesFloat32 = (b: Uint8Array): Float32Array => {
  const copy = new Uint8Array(b.byteLength);
  copy.set(b);
  return new Float32Array(copy.buffer, 0, b.byteLength >>> 2);
};

/** Blobs are little-endian float32; a big-endian host would read them wrong. */
export const littleEndian = (): boolean => new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** A store whose operations are counted while under way, and that refuses new ones once revoked. */
export interface TrackedStore {
  readonly store: Store;
  /** From now on every operation is refused (Cancelled): the work that used the store was stopped. */
  readonly revoke: () => void;
  /** Whether no operation is under way now. */
  readonly idle: () => boolean;
  /** Resolves once no operation started before is still under way. */
  readonly settled: () => Promise<void>;
}

/**
 * The store as one piece of work sees it: a stopped learner's last write may
 * still be under way (a promise cannot be cancelled), so its lock is given
 * back only once that write has landed, and nothing new starts after the
 * stop. Another learner then never sees the store change under it.
 */
export const trackedStore = (inner: Store): TrackedStore => {
  let revoked = false;
  const pending = new Set<Promise<unknown>>();
  const counted =
    <A>(te: TE.TaskEither<CpgError, A>): TE.TaskEither<CpgError, A> =>
    () => {
      if (revoked) return Promise.resolve({ _tag: 'Left', left: cancelled('the work on this store was stopped') } as const);
      const p = te();
      pending.add(p);
      const forget = () => void pending.delete(p);
      p.then(forget, forget);
      return p;
    };
  const settled = async (): Promise<void> => {
    while (pending.size > 0) await Promise.allSettled([...pending]);
  };
  const store: Store = {
    ...inner,
    readManifest: counted(inner.readManifest),
    writeManifest: (bytes, keep) => counted(inner.writeManifest(bytes, keep)),
    putBlob: (bytes) => counted(inner.putBlob(bytes)),
    getBlob: (ref) => counted(inner.getBlob(ref)),
    writeReport: (name, text) => counted(inner.writeReport(name, text)),
  };
  return { store, revoke: () => void (revoked = true), idle: () => pending.size === 0, settled };
};
