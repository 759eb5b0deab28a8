/**
 * The file operations the data loaders need, as TaskEithers whose errors are
 * DataErrors naming the file.
 */
import { readFile, stat } from 'node:fs/promises';
import * as E from 'fp-ts/lib/Either.js';
import * as TE from 'fp-ts/lib/TaskEither.js';
import { type CpgError, dataError } from '../../algebra/errors.js';

/** The data loaders take their DataError constructor from here. */
export { dataError };

const reason = (e: unknown): string => {
  const code = (e as { code?: unknown } | null)?.code;
  if (code === 'ENOENT') return 'not found';
  if (code === 'EACCES' || code === 'EPERM') return 'permission denied';
  if (code === 'EISDIR') return 'is a directory, expected a file';
  return e instanceof Error ? e.message : String(e);
};

/** The whole file as bytes. */
export const readBytes = (file: string): TE.TaskEither<CpgError, Buffer> =>
  TE.tryCatch(() => readFile(file), (e) => dataError(file, reason(e)));

/** The whole file as UTF-8 text. */
export const readText = (file: string): TE.TaskEither<CpgError, string> =>
  TE.tryCatch(() => readFile(file, 'utf8'), (e) => dataError(file, reason(e)));

/** Size and modification time of a regular file. */
export const fileInfo = (file: string): TE.TaskEither<CpgError, { readonly size: number; readonly mtimeMs: number }> =>
  TE.chain((s: Awaited<ReturnType<typeof stat>>) =>
    s.isFile()
      ? TE.right({ size: Number(s.size), mtimeMs: Number(s.mtimeMs) })
      : TE.left(dataError(file, 'is not a regular file')),
  )(TE.tryCatch(() => stat(file), (e) => dataError(file, reason(e))));

/** Whether `p` exists (any kind of entry). */
export const exists = (p: string): TE.TaskEither<never, boolean> =>
  TE.fromTask(() => stat(p).then(() => true, () => false));

/** JSON.parse as an Either: bad JSON is a DataError naming the file. */
export const parseJson = (file: string, text: string): E.Either<CpgError, unknown> =>
  E.tryCatch(() => JSON.parse(text) as unknown, (e) => dataError(file, `bad JSON: ${reason(e)}`));
