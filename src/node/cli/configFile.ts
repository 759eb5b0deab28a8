/** Reading a `--config` file: JSON of configuration fields, every field optional, unknown fields refused. */
import { promises as fs } from 'node:fs';
import * as E from 'fp-ts/lib/Either.js';
import { pipe } from 'fp-ts/lib/function.js';
import { RunConfigInput, decodeWith, parseJson } from '../../algebra/codecs.js';
import type { CpgError } from '../../algebra/errors.js';

/** The fields of a configuration file, decoded (errors name the file and field). */
export const readConfigFile = async (file: string): Promise<E.Either<CpgError, RunConfigInput>> => {
  const text = await fs.readFile(file, 'utf8').then(
    (t) => E.right<CpgError, string>(t),
    (err: NodeJS.ErrnoException) => E.left<CpgError, string>({ tag: 'ConfigError', field: '--config', message: `cannot read ${file}: ${err.code ?? err.message}` }),
  );
  return pipe(text, E.chain(parseJson(file)), E.chain(decodeWith(RunConfigInput, file)));
};

/** The configuration fields a command was given: its --config file's, then its flags' (flags win), decoded. */
export const givenFields = async (configFile: string | undefined, flags: Readonly<Record<string, unknown>>): Promise<E.Either<CpgError, { readonly fromFile: RunConfigInput; readonly fromFlags: RunConfigInput }>> => {
  const file = configFile === undefined ? E.right<CpgError, RunConfigInput>({}) : await readConfigFile(configFile);
  return pipe(
    file,
    E.chain((fromFile) => E.map((fromFlags: RunConfigInput) => ({ fromFile, fromFlags }))(decodeWith(RunConfigInput, undefined)(flags))),
  );
};
