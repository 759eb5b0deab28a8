/**
 * What `cpg predict` and `cpg export` share: opening the model of a run
 * directory on the backend the flags ask for, and the finished tasks a
 * `--task` value names (one, or all).
 */
import * as E from 'fp-ts/lib/Either.js';
import * as TE from 'fp-ts/lib/TaskEither.js';
import type { RunConfigInput } from '../../algebra/config.js';
import type { CpgError } from '../../algebra/errors.js';
import type { Model, ModelTask } from '../../cpg/predict.js';
import { openModel } from '../defaults.js';
import { fsStore } from '../stores/fs.js';

/** The model in `dir`, on the flags' backend and thread count (default: the run's). */
export const openRun = (dir: string, flags: Pick<RunConfigInput, 'backend' | 'threads'>): TE.TaskEither<CpgError, Model> =>
  openModel(fsStore(dir), {
    label: dir,
    ...(flags.backend !== undefined ? { backend: flags.backend } : {}),
    ...(flags.threads !== undefined ? { threads: flags.threads } : {}),
  });

/** The finished tasks `--task` names: every one for 'all'; a refusal names the flag. */
export const tasksNamed = (model: Model, name: string): E.Either<CpgError, readonly ModelTask[]> =>
  name === 'all'
    ? E.right(model.tasks)
    : E.map((t: ModelTask) => [t])(E.mapLeft((e: CpgError): CpgError => (e.tag === 'ConfigError' && e.field === 'task' ? { ...e, field: '--task' } : e))(model.task(name)));
