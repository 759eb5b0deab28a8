/**
 * The methods a learner knows, by name. The built-in ones are CPG and its
 * baselines; a caller may add its own (`withMethod`) and hand the registry to
 * the learner. Adding a method is its module plus one line here.
 */
import * as E from 'fp-ts/lib/Either.js';
import { pipe } from 'fp-ts/lib/function.js';
import type { RunConfig } from '../../algebra/config.js';
import { type CpgError, configError, decodeError } from '../../algebra/errors.js';
import type { LearningMethod } from './method.js';
import { cpg } from './cpg.js';
import { finetune } from './finetune.js';
import { individual } from './individual.js';
import { packnet } from './packnet.js';

/** Methods by name, in the order help texts list them. */
export type MethodRegistry = ReadonlyMap<string, LearningMethod>;

const registryOf = (ms: readonly LearningMethod[]): MethodRegistry => new Map(ms.map((m) => [m.name, m] as const));

/** CPG and its baselines. */
export const builtInMethods: MethodRegistry = registryOf([cpg, packnet, finetune, individual]);

/** The registry with one more method (a method of the same name is replaced). */
export const withMethod =
  (m: LearningMethod) =>
  (r: MethodRegistry): MethodRegistry =>
    new Map([...r, [m.name, m] as const]);

/** The method a configuration names, or a ConfigError listing those known. */
export const methodOf =
  (r: MethodRegistry = builtInMethods) =>
  (name: string): E.Either<CpgError, LearningMethod> => {
    const m = r.get(name);
    return m !== undefined ? E.right(m) : E.left(configError('method', `unknown method '${name}' (known: ${[...r.keys()].join(', ')})`));
  };

/**
 * The method a configuration names, checked against what the method keeps:
 * `onlyTask` (one task's network alone) is for a method of one network per
 * task.
 */
export const checkedMethod =
  (r: MethodRegistry = builtInMethods) =>
  (c: Pick<RunConfig, 'method' | 'onlyTask'>): E.Either<CpgError, LearningMethod> =>
    pipe(
      methodOf(r)(c.method),
      E.chain((m) =>
        c.onlyTask !== undefined && m.model !== 'per-task'
          ? E.left<CpgError, LearningMethod>(configError('onlyTask', `is for the individual baseline (one task's network alone), not method '${c.method}'`))
          : E.right(m),
      ),
    );

/**
 * A configuration's method checked as `checkedMethod` does, its refusal a
 * DecodeError of the field it names: for configurations decoded from flags,
 * files and grids, whose refusals name the flag or field.
 */
export const decodedMethod = (c: Pick<RunConfig, 'method' | 'onlyTask'>): E.Either<CpgError, LearningMethod> =>
  E.mapLeft((e: CpgError): CpgError => decodeError(undefined, e.tag === 'ConfigError' ? e.field : 'method', e.message))(checkedMethod()(c));

/** The methods that protect each finished task, in words: 'cpg or packnet'. */
export const protectingMethods = (r: MethodRegistry = builtInMethods): string => {
  const names = [...r.values()].filter((x) => x.protectsTasks).map((x) => x.name);
  return names.length <= 1 ? names.join('') : `${names.slice(0, -1).join(', ')} or ${names[names.length - 1]}`;
};

/** A built-in method by name, for what a stored run says of itself (its configuration decoded to one of them). */
export const builtInMethod = (name: string): LearningMethod | undefined => builtInMethods.get(name);
