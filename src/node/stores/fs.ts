/**
 * A run directory as a store: `run.json` (the manifest), `blobs/<sha256>.bin`,
 * `report.json`, `report.html`, and `lock` while a process works on it.
 *
 * Every write goes to a temporary file in the same directory, is fsynced, and
 * renamed over its target (then the directory is fsynced), so a reader sees
 * the old file or the new one, never half of one.
 */
import { createHash, randomBytes } from 'node:crypto';
import { promises as fs, readFileSync, readdirSync, rmSync, rmdirSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import * as TE from 'fp-ts/lib/TaskEither.js';
import { pipe } from 'fp-ts/lib/function.js';
import { type CpgError, checkpointError, lockError } from '../../algebra/errors.js';
import { makeDirs } from '../dirs.js';
import { type BlobRef, type Store, type StoreLock, MANIFEST_ENTRY, blobEntry, checkBlob } from '../../effects/store.js';

/** Options of a directory store. */
export interface FsStoreOptions {
  /**
   * Fault injection: asked before every atomic write with the file's path; an
   * Error it returns is the write's failure (tests inject I/O errors this way).
   */
  readonly writeFault?: (file: string) => Error | undefined;
}

const ioError = (file: string, what: string, e: unknown): CpgError =>
  checkpointError(file, `${what}: ${(e as NodeJS.ErrnoException)?.code ?? ''} ${(e as Error)?.message ?? String(e)}`.trim());

const syncDir = async (dir: string): Promise<void> => {
  const h = await fs.open(dir, 'r');
  try {
    await h.sync();
  } finally {
    await h.close();
  }
};

/** SHA-256 of parts one after the other as hex (Node's own, synchronous, incremental: no copy into one buffer; a task's data is 15 MB and more). */
export const sha256Parts = (parts: readonly Uint8Array[]): string => {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest('hex');
};

/** SHA-256 of bytes as hex. */
export const sha256 = (data: Uint8Array): string => sha256Parts([data]);

/** The lock file of a run directory. */
export const LOCK_FILE = 'lock';

/** Whether process `pid` is alive on this machine (EPERM: alive, someone else's). */
const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
};

/** Who holds a lock file (fields missing when it is unreadable). */
const parseHolder = (text: string): { readonly pid?: number; readonly host?: unknown } => {
  const u = E.tryCatch(() => JSON.parse(text) as unknown, () => undefined);
  if (E.isLeft(u) || typeof u.right !== 'object' || u.right === null) return {};
  const o = u.right as { pid?: unknown; host?: unknown };
  return typeof o.pid === 'number' && Number.isSafeInteger(o.pid) && o.pid > 0 ? { pid: o.pid, host: o.host } : {};
};

/**
 * Locks this process holds, by their file's body: a process that must end at
 * once (a second Ctrl-C, a stop that outlasts its grace) removes them as it
 * exits, so the next taker does not have to find them stale.
 */
const held = new Map<string, () => void>();

/** Removes every lock this process holds now (synchronously): for a process about to end without finishing its work. */
export const releaseHeldLocks = (): void => {
  for (const release of [...held.values()]) E.tryCatch(release, () => undefined);
  held.clear();
};

const releaseAtExit = (): void => {
  if (!process.listeners('exit').includes(releaseHeldLocks)) process.on('exit', releaseHeldLocks);
};

/**
 * Whether file `target` holds exactly `data`. A file already under a blob's
 * name is trusted only if it does: one of the right size with a flipped byte
 * (left by a commit that never happened) is replaced, never committed to.
 * Reading it back costs less than rewriting it (fsync), as it did before.
 */
const holdsExactly = (target: string, data: Uint8Array): Promise<boolean> =>
  fs
    .stat(target)
    .then((st) => st.size === data.byteLength && fs.readFile(target).then((b) => b.equals(Buffer.from(data.buffer, data.byteOffset, data.byteLength))))
    .catch(() => false);

/** A store over directory `dir` (created on the first write). */
export const fsStore = (dir: string, o: FsStoreOptions = {}): Store => {
  // Temporary names are unique per store instance and process; nothing is shared between instances.
  let tmpCounter = 0;
  const file = (entry: string): string => path.join(dir, ...entry.split('/'));

  const writeAtomic = (target: string, data: Uint8Array | string): TE.TaskEither<CpgError, void> => {
    const fault = o.writeFault?.(target);
    if (fault !== undefined) return TE.left(ioError(target, 'could not write', fault));
    return TE.tryCatch(
      async () => {
        const where = path.dirname(target);
        await makeDirs(where);
        tmpCounter += 1;
        const tmp = path.join(where, `.${path.basename(target)}.${process.pid}.${tmpCounter}.tmp`);
        const h = await fs.open(tmp, 'w');
        try {
          await h.writeFile(data);
          await h.sync();
          await h.close();
          await fs.rename(tmp, target);
        } catch (e) {
          // A write cut short (a full disk) or a failed rename: give the space back now, not at
          // the next commit. Closing a handle that is already closed is a no-op.
          await h.close().catch(() => undefined);
          await fs.rm(tmp, { force: true });
          throw e;
        }
        await syncDir(where);
      },
      (e) => ioError(target, 'could not write', e),
    );
  };

  const readBytes = (target: string): TE.TaskEither<CpgError, Uint8Array | null> =>
    TE.tryCatch(
      async () => {
        try {
          return new Uint8Array(await fs.readFile(target));
        } catch (e) {
          // Missing, or a parent that is a file: nothing is stored there.
          const code = (e as NodeJS.ErrnoException)?.code;
          if (code === 'ENOENT' || code === 'ENOTDIR') return null;
          throw e;
        }
      },
      (e) => ioError(target, 'could not read', e),
    );

  const collectGarbage = (keep: ReadonlySet<string>): TE.TaskEither<CpgError, void> =>
    TE.tryCatch(
      async () => {
        const blobs = path.join(dir, 'blobs');
        const names = await fs.readdir(blobs).catch(() => [] as string[]);
        for (const n of names) {
          const hash = n.endsWith('.bin') ? n.slice(0, -4) : undefined;
          if ((hash !== undefined && !keep.has(hash)) || n.endsWith('.tmp')) await fs.rm(path.join(blobs, n), { force: true });
        }
        // Temporary files of atomic writes cut short by a crash (`.run.json.<pid>.<n>.tmp`).
        for (const n of await fs.readdir(dir).catch(() => [] as string[]))
          if (/^\..+\.\d+\.\d+\.tmp$/.test(n)) await fs.rm(path.join(dir, n), { force: true });
      },
      (e) => ioError(dir, 'could not clean blobs', e),
    );

  const lockPath = file(LOCK_FILE);
  const lockedBy = (pid: number, host: unknown): CpgError =>
    lockError(
      lockPath,
      pid === process.pid && (host === undefined || host === os.hostname())
        ? `the run is locked by this process (${pid}): another run or learner here is working on it — subscribe to one run once, or share it (RxJS share())`
        : `the run is locked by process ${pid}${host === undefined || host === os.hostname() ? '' : ` on ${String(host)}`}, which is working on it: wait for it to end or stop it`,
    );
  // One attempt: create the lock file exclusively; if it exists, say who holds it, or clear it when its holder is gone.
  const attempt = async (body: string): Promise<'taken' | 'stale' | CpgError> => {
    try {
      await fs.writeFile(lockPath, body, { flag: 'wx' });
      return 'taken';
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') return ioError(lockPath, 'could not take the lock', e);
    }
    const text = await fs.readFile(lockPath, 'utf8').catch(() => '');
    const holder = parseHolder(text);
    if (holder.pid !== undefined && (holder.host !== os.hostname() || alive(holder.pid))) return lockedBy(holder.pid, holder.host);
    // The holder is gone (killed): the lock is stale.
    await fs.rm(lockPath, { force: true });
    return 'stale';
  };
  // Directories the lock created and the run never wrote to are removed again, so a refused start leaves nothing behind.
  const releaseOf = (body: string, created: readonly string[]): TE.TaskEither<CpgError, void> => () =>
    Promise.resolve(
      E.tryCatch(
        () => {
          releaseNow(body, created);
          held.delete(body);
        },
        (e) => ioError(lockPath, 'could not remove the lock', e),
      ),
    );
  // Synchronous, so a release started by an unsubscribe is done when the unsubscribe returns, and one run at exit completes.
  // Only our own lock is removed: another process's takeover of a stale lock must not be undone.
  const releaseNow = (body: string, created: readonly string[]): void => {
    const now = E.getOrElse(() => '')(E.tryCatch(() => readFileSync(lockPath, 'utf8'), () => undefined));
    if (now === body) rmSync(lockPath, { force: true });
    for (const d of [...created].reverse()) E.tryCatch(() => readdirSync(d).length === 0 && rmdirSync(d), () => undefined);
  };
  const lock: TE.TaskEither<CpgError, StoreLock> = async () => {
    let created: readonly string[];
    try {
      created = await makeDirs(dir);
    } catch (e) {
      return E.left(ioError(dir, 'could not create the run directory', e));
    }
    const body = `${JSON.stringify({ pid: process.pid, host: os.hostname(), token: randomBytes(8).toString('hex') })}\n`;
    for (let i = 0; i < 2; i++) {
      const r = await attempt(body);
      if (r === 'taken') {
        releaseAtExit();
        held.set(body, () => releaseNow(body, created));
        return E.right({ release: releaseOf(body, created) });
      }
      if (r !== 'stale') {
        releaseNow(body, created);
        return E.left(r);
      }
    }
    releaseNow(body, created);
    return E.left(lockError(lockPath, 'another process keeps taking the lock'));
  };

  return {
    location: dir,
    nameOf: file,
    readManifest: readBytes(file(MANIFEST_ENTRY)),
    writeManifest: (bytes, keep) =>
      pipe(
        writeAtomic(file(MANIFEST_ENTRY), bytes),
        TE.chain(() => collectGarbage(keep)),
      ),
    putBlob: (data) => {
      const ref: BlobRef = { sha256: sha256(data), bytes: data.byteLength };
      const target = file(blobEntry(ref));
      return pipe(
        TE.fromTask(() => holdsExactly(target, data)),
        TE.chain((same) => (same ? TE.right(undefined) : writeAtomic(target, data))),
        TE.map(() => ref),
      );
    },
    getBlob: (ref) => {
      const target = file(blobEntry(ref));
      return pipe(
        readBytes(target),
        TE.chain((data) =>
          data === null ? TE.left<CpgError, Uint8Array>(checkpointError(target, 'file is missing')) : TE.right(data),
        ),
        TE.chain(checkBlob(target, ref, (b) => TE.right(sha256(b)))),
      );
    },
    writeReport: (name, text) =>
      pipe(
        writeAtomic(file(name), text),
        TE.map(() => file(name)),
      ),
    lock,
    sha256: (parts) => TE.right(sha256Parts(parts)),
  };
};
