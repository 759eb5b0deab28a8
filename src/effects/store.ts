/**
 * Atomic files and a content-addressed blob store for run directories.
 *
 * Every write goes to a temporary file in the same directory, is fsynced, and
 * renamed over its target (then the directory is fsynced), so a reader sees
 * the old file or the new one, never half of one. Tensors live in
 * `blobs/<sha256>.bin`: a blob is immutable once named, identical tensors are
 * stored once, and every read checks the hash, so a flipped byte is caught and
 * named instead of silently loaded.
 */
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import * as TE from 'fp-ts/lib/TaskEither.js';
import type { CpgError } from '../algebra/errors.js';

/** A stored blob: its hash names it; its size is checked on read. */
export interface BlobRef {
  readonly sha256: string;
  readonly bytes: number;
}

const ioError = (file: string, what: string, e: unknown): CpgError => ({
  tag: 'CheckpointError',
  file,
  message: `${what}: ${(e as NodeJS.ErrnoException)?.code ?? ''} ${(e as Error)?.message ?? String(e)}`.trim(),
});

/** A hook the fault-injection tests use to make writes fail; undefined in normal runs. */
let writeFault: ((file: string) => Error | undefined) | undefined;
/** Install (or clear) a write-fault hook: every atomic write asks it first. For tests. */
export const setWriteFault = (f: ((file: string) => Error | undefined) | undefined): void => {
  writeFault = f;
};

const syncDir = async (dir: string): Promise<void> => {
  const h = await fs.open(dir, 'r');
  try {
    await h.sync();
  } finally {
    await h.close();
  }
};

let tmpCounter = 0;

/** Write `data` to `file` atomically (temp file, fsync, rename, fsync directory). */
export const writeAtomic = (file: string, data: Uint8Array | string): TE.TaskEither<CpgError, void> =>
  TE.tryCatch(
    async () => {
      const fault = writeFault?.(file);
      if (fault !== undefined) throw fault;
      const dir = path.dirname(file);
      await fs.mkdir(dir, { recursive: true });
      tmpCounter += 1;
      const tmp = path.join(dir, `.${path.basename(file)}.${process.pid}.${tmpCounter}.tmp`);
      const h = await fs.open(tmp, 'w');
      try {
        await h.writeFile(data);
        await h.sync();
        await h.close();
        await fs.rename(tmp, file);
      } catch (e) {
        // A write cut short (a full disk) or a failed rename: give the space back now, not at
        // the next commit. Closing a handle that is already closed is a no-op.
        await h.close().catch(() => undefined);
        await fs.rm(tmp, { force: true });
        throw e;
      }
      await syncDir(dir);
    },
    (e) => ioError(file, 'could not write', e),
  );

/** Read a whole file; a missing file is an error naming it. */
export const readFile = (file: string): TE.TaskEither<CpgError, Uint8Array> =>
  TE.tryCatch(
    async () => new Uint8Array(await fs.readFile(file)),
    (e) =>
      (e as NodeJS.ErrnoException)?.code === 'ENOENT'
        ? { tag: 'CheckpointError', file, message: 'file is missing' }
        : ioError(file, 'could not read', e),
  );

export const sha256 = (data: Uint8Array): string => createHash('sha256').update(data).digest('hex');

/** The path of a blob inside a run directory. */
export const blobPath = (dir: string, ref: BlobRef): string => path.join(dir, 'blobs', `${ref.sha256}.bin`);

/** Store bytes as a blob (skipped when an intact blob of that hash exists). */
export const putBlob = (dir: string, data: Uint8Array): TE.TaskEither<CpgError, BlobRef> => {
  const ref: BlobRef = { sha256: sha256(data), bytes: data.byteLength };
  const file = blobPath(dir, ref);
  return TE.tryCatch(
    async () => {
      const st = await fs.stat(file).catch(() => undefined);
      if (st !== undefined && st.size === ref.bytes) return ref;
      const r = await writeAtomic(file, data)();
      if (r._tag === 'Left') throw r.left;
      return ref;
    },
    (e) => (isCpgError(e) ? e : ioError(file, 'could not store blob', e)),
  );
};

const isCpgError = (e: unknown): e is CpgError => typeof e === 'object' && e !== null && 'tag' in e && 'message' in e;

/** Read a blob and check its size and hash. */
export const getBlob = (dir: string, ref: BlobRef): TE.TaskEither<CpgError, Uint8Array> => {
  const file = blobPath(dir, ref);
  return TE.chain((data: Uint8Array) => {
    if (data.byteLength !== ref.bytes)
      return TE.left<CpgError>({ tag: 'CheckpointError', file, message: `blob is ${data.byteLength} bytes, the manifest says ${ref.bytes} (truncated or replaced)` });
    if (sha256(data) !== ref.sha256)
      return TE.left<CpgError>({ tag: 'CheckpointError', file, message: 'blob content does not match its sha256 (corrupted)' });
    return TE.right(data);
  })(readFile(file));
};

/** Delete blobs no longer referenced (after a new manifest is safely written). */
export const collectGarbage = (dir: string, keep: ReadonlySet<string>): TE.TaskEither<CpgError, number> =>
  TE.tryCatch(
    async () => {
      const blobs = path.join(dir, 'blobs');
      const names = await fs.readdir(blobs).catch(() => [] as string[]);
      let removed = 0;
      for (const n of names) {
        const hash = n.endsWith('.bin') ? n.slice(0, -4) : undefined;
        if (hash !== undefined && !keep.has(hash)) {
          await fs.rm(path.join(blobs, n), { force: true });
          removed += 1;
        } else if (n.endsWith('.tmp')) await fs.rm(path.join(blobs, n), { force: true });
      }
      // Temporary files of atomic writes cut short by a crash (`.run.json.<pid>.<n>.tmp`).
      for (const n of await fs.readdir(dir).catch(() => [] as string[]))
        if (/^\..+\.\d+\.\d+\.tmp$/.test(n)) await fs.rm(path.join(dir, n), { force: true });
      return removed;
    },
    (e) => ioError(dir, 'could not clean blobs', e),
  );

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

if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1)
  throw new Error('cpg stores tensors little-endian and this machine is big-endian: not supported');
