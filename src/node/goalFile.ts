/** Reading a goal file: task name → accuracy goal, covering every task of the run. */
import { readFile } from 'node:fs/promises';
import * as E from 'fp-ts/lib/Either.js';
import * as TE from 'fp-ts/lib/TaskEither.js';
import { pipe } from 'fp-ts/lib/function.js';
import { type GoalFile, GoalFile as GoalFileCodec } from '../algebra/config.js';
import { decodeWith, parseJson } from '../algebra/json.js';
import { type CpgError, configError, decodeError } from '../algebra/errors.js';

/** The goals in `path` for tasks `names`; a task without a goal is refused by name. */
export const readGoalFile = (path: string, names: readonly string[]): TE.TaskEither<CpgError, GoalFile> =>
  pipe(
    // A goal file that cannot be read is bad input (exit 2), like a config file, not a broken checkpoint.
    TE.tryCatch(
      () => readFile(path, 'utf8'),
      (e): CpgError => {
        const err = e as NodeJS.ErrnoException;
        const why = err.code === 'ENOENT' ? 'file is missing' : `could not read: ${err.code ?? ''} ${err.message ?? String(e)}`.trim();
        return configError('--goals', `cannot read ${path}: ${why}`);
      },
    ),
    TE.chainEitherK(parseJson(path)),
    TE.chainEitherK(decodeWith(GoalFileCodec, path)),
    TE.chainEitherK((goals) => {
      const lacking = names.find((n) => goals[n] === undefined);
      return lacking === undefined
        ? E.right(goals)
        : E.left<CpgError, GoalFile>(decodeError(path, lacking, `no goal for task '${lacking}' (the benchmark's tasks are: ${names.join(', ')})`));
    }),
  );
