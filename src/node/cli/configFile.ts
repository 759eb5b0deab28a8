/** Reading a `--config` file: JSON of configuration fields, every field optional, unknown fields refused; and the run's configuration from it and the flags. */
import { promises as fs } from 'node:fs';
import * as E from 'fp-ts/lib/Either.js';
import { pipe } from 'fp-ts/lib/function.js';
import { RunConfigInput, decodeConfig, methodNames, type RunConfig } from '../../algebra/config.js';
import { decodedMethod } from '../../cpg/methods/registry.js';
import { decodeWith, parseJson } from '../../algebra/json.js';
import { type CpgError, configError, decodeError } from '../../algebra/errors.js';
import { withPreset } from '../../cpg/presets.js';
import { nodeBackendProblem } from './args.js';

/** The fields of a configuration file, decoded (errors name the file and field; a key given twice is refused). */
export const readConfigFile = async (file: string): Promise<E.Either<CpgError, RunConfigInput>> => {
  const text = await fs.readFile(file, 'utf8').then(
    (t) => E.right<CpgError, string>(t),
    (err: NodeJS.ErrnoException) => E.left<CpgError, string>(configError('--config', `cannot read ${file}: ${err.code ?? err.message}`)),
  );
  return pipe(
    text,
    E.chain(parseJson(file)),
    E.chain(decodeWith(RunConfigInput, file)),
    E.chain((c) => {
      const bad = nodeBackendProblem(c.backend);
      return bad === undefined ? E.right(c) : E.left<CpgError, RunConfigInput>(decodeError(file, 'backend', bad.message));
    }),
  );
};

/** The configuration fields a command was given: its --config file's, then its flags' (flags win), decoded. */
export const givenFields = async (configFile: string | undefined, flags: Readonly<Record<string, unknown>>): Promise<E.Either<CpgError, { readonly fromFile: RunConfigInput; readonly fromFlags: RunConfigInput }>> => {
  const file = configFile === undefined ? E.right<CpgError, RunConfigInput>({}) : await readConfigFile(configFile);
  return pipe(
    file,
    E.chain((fromFile) => E.map((fromFlags: RunConfigInput) => ({ fromFile, fromFlags }))(decodeWith(RunConfigInput, undefined)(flags))),
  );
};

/** The refusal of a method the command line does not know (it knows the built-in ones). */
const knownMethodsOnly = (name: string): CpgError =>
  decodeError(undefined, 'method', `expected one of ${methodNames.map((m) => `'${m}'`).join(', ')}, got ${JSON.stringify(name)}`);

/**
 * The configuration `cpg run` runs with: the benchmark's preset, then the
 * config file, then flags, decoded with the reference defaults (`cpg help
 * run` shows the same).
 */
export const resolveRunConfig = async (configFile: string | undefined, flags: Readonly<Record<string, unknown>>): Promise<E.Either<CpgError, RunConfig>> => {
  const given = await givenFields(configFile, flags);
  if (E.isLeft(given)) return given;
  const { fromFile, fromFlags } = given.right;
  const merged = pipe(
    decodeConfig(undefined)(withPreset({ ...fromFile, ...fromFlags })),
    // The command line learns with the built-in methods; a checked method keeps its refusal a decode error of its field.
    E.chainFirst((c) =>
      pipe(
        (methodNames as readonly string[]).includes(c.method) ? E.right(c) : E.left<CpgError, RunConfig>(knownMethodsOnly(c.method)),
        E.chain(() => decodedMethod(c)),
      ),
    ),
  );
  // A cross-field fault in a value that came from the config file (not a flag) names the file.
  const top = (field: string) => field.replace(/[[.].*$/, '');
  return E.isLeft(merged) && merged.left.tag === 'DecodeError' && merged.left.file === undefined && configFile !== undefined &&
    top(merged.left.field) in fromFile && !(top(merged.left.field) in fromFlags)
    ? E.left<CpgError, RunConfig>({ ...merged.left, file: configFile })
    : merged;
};
