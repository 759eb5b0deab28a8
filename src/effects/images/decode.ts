/**
 * Decoding PNG and JPEG files into 8-bit RGBA pixels, in pure JavaScript
 * (pngjs, jpeg-js), so Node and a browser see identical pixels. The format
 * is told by the file's magic bytes, never by its name.
 *
 * Browser-safe: no Node modules here. A browser bundle maps `pngjs` to
 * `pngjs/browser.js` (the same decoder with its own Buffer), or passes that
 * build to `imageDecoder`.
 */
import * as E from 'fp-ts/lib/Either.js';
import { pipe } from 'fp-ts/lib/function.js';
import jpeg from 'jpeg-js';
import pngjs from 'pngjs';
import { type CpgError, dataError } from '../../algebra/errors.js';

/** A decoded image: `width` × `height` pixels, `data` row-major RGBA, 8 bits a channel. */
export interface RawImage {
  readonly width: number;
  readonly height: number;
  readonly data: Uint8Array;
}

/** The part of pngjs (either build) the decoder uses. */
export interface PngLibrary {
  readonly PNG: {
    new (o: { width: number; height: number }): { readonly data: Uint8Array | null };
    readonly sync: { read(bytes: Uint8Array, options?: { skipRescale?: boolean }): { width: number; height: number; data: Uint8Array } };
  };
}

/** The largest image decoded, in megapixels (a bigger one is refused before its pixels are allocated). */
export const maxMegapixels = 100;

const pngMagic = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
const startsWith = (bytes: Uint8Array, magic: readonly number[]): boolean =>
  bytes.length >= magic.length && magic.every((b, i) => bytes[i] === b);

const oneLine = (e: unknown): string => {
  const m = e instanceof Error ? e.message : typeof e === 'string' ? e : String(e);
  const line = m.replace(/\s+/g, ' ').trim();
  return line === '' ? 'unknown reason' : line.length > 200 ? `${line.slice(0, 197)}...` : line;
};

const checked = (file: string, kind: string, img: { width: number; height: number; data: Uint8Array }): E.Either<CpgError, RawImage> => {
  const { width, height, data } = img;
  if (!Number.isSafeInteger(width) || !Number.isSafeInteger(height) || width < 1 || height < 1)
    return E.left(dataError(file, `corrupt ${kind}: size ${width}×${height}`));
  if (!(data instanceof Uint8Array) || data.length !== width * height * 4)
    return E.left(dataError(file, `corrupt ${kind}: ${data?.length ?? 0} bytes of pixels for ${width}×${height}`));
  // A plain view (not the library's Buffer), with no copy.
  return E.right({ width, height, data: new Uint8Array(data.buffer, data.byteOffset, data.length) });
};

/** Width and height from a PNG's IHDR chunk (bytes 16..23), read before decoding to bound memory. */
const pngSize = (bytes: Uint8Array): { width: number; height: number } | undefined => {
  if (bytes.length < 24) return undefined;
  const u32 = (at: number) => ((bytes[at]! << 24) | (bytes[at + 1]! << 16) | (bytes[at + 2]! << 8) | bytes[at + 3]!) >>> 0;
  return { width: u32(16), height: u32(20) };
};

/**
 * A decoder over a given pngjs build (the Node one, or `pngjs/browser.js`).
 * PNG of any bit depth, colour type or interlace comes out as 8-bit RGBA
 * (pngjs rescales 16-bit samples: round(v·255/65535)); JPEG through jpeg-js.
 */
export const imageDecoder = (png: PngLibrary): ((bytes: Uint8Array, file: string) => E.Either<CpgError, RawImage>) => {
  // pngjs reads its input with Buffer methods: wrap the bytes in the build's own Buffer (no copy).
  const bufferOf = pipe(
    E.tryCatch(
      () => (new png.PNG({ width: 1, height: 1 }).data as { constructor?: { from?: unknown } } | null)?.constructor,
      (e) => `pngjs is unusable: ${oneLine(e)}`,
    ),
    E.chain((ctor) =>
      ctor !== undefined && typeof ctor.from === 'function'
        ? E.right((bytes: Uint8Array): Uint8Array => (ctor.from as (b: ArrayBufferLike, offset: number, length: number) => Uint8Array).call(ctor, bytes.buffer, bytes.byteOffset, bytes.byteLength))
        : E.left('pngjs is unusable: this pngjs build has no Buffer'),
    ),
  );
  return (bytes: Uint8Array, file: string): E.Either<CpgError, RawImage> => {
    if (startsWith(bytes, pngMagic)) {
      if (E.isLeft(bufferOf)) return E.left(dataError(file, bufferOf.left));
      const size = pngSize(bytes);
      if (size !== undefined && size.width * size.height > maxMegapixels * 1e6)
        return E.left(dataError(file, `PNG of ${size.width}×${size.height} pixels is over the ${maxMegapixels}-megapixel limit`));
      const wrap = bufferOf.right;
      return attempt(file, 'PNG', () => png.PNG.sync.read(wrap(bytes), { skipRescale: false }));
    }
    if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff)
      return attempt(file, 'JPEG', () =>
        jpeg.decode(bytes, { useTArray: true, formatAsRGBA: true, maxResolutionInMP: maxMegapixels, maxMemoryUsageInMB: 1024 }),
      );
    return E.left(dataError(file, bytes.length === 0 ? 'empty file: not a PNG or JPEG image' : 'not a PNG or JPEG image'));
  };
};

const attempt = (
  file: string,
  kind: string,
  run: () => { width: number; height: number; data: Uint8Array },
): E.Either<CpgError, RawImage> => {
  const out = E.tryCatch(run, (e) => {
    const why = oneLine(e);
    // pngjs's words for a file that ends early.
    return dataError(file, `corrupt ${kind}: ${/read requests wait(i)?ng on finished stream/.test(why) ? 'truncated (the file ends early)' : why}`);
  });
  return E.isLeft(out) ? out : checked(file, kind, out.right);
};

/** Decodes a PNG or JPEG file's bytes to 8-bit RGBA; anything else is a DataError naming `file`. Never throws. */
export const decodeImage: (bytes: Uint8Array, file: string) => E.Either<CpgError, RawImage> = imageDecoder(pngjs);
