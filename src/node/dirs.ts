/**
 * Creating directories without Node's recursive mkdir: under /proc (and other
 * pseudo file systems that answer ENOENT for a name that cannot exist) Node
 * 20's `mkdir(dir, { recursive: true })` retries forever, at full CPU, and a
 * process waiting on it never stops. Here each level is created once, from
 * the nearest existing ancestor down, so every failure is an answer.
 */
import { constants as fsConstants, promises as fs } from 'node:fs';
import * as path from 'node:path';
import { type CpgError, configError } from '../algebra/errors.js';

const codeOf = (e: unknown): string | undefined => (e as NodeJS.ErrnoException | undefined)?.code;

/** An Error with a `code`, as Node's own are. */
const withCode = (code: string, message: string): NodeJS.ErrnoException => Object.assign(new Error(`${code}: ${message}`), { code });

/**
 * `mkdir -p dir`: creates `dir` and whatever ancestors are missing; resolves
 * to the directories it created, outermost first (empty when `dir` was
 * there). Rejects with Node's error (its `code` kept) when a level cannot be
 * created or a name on the way is a file.
 */
export const makeDirs = async (dir: string): Promise<readonly string[]> => {
  const abs = path.resolve(dir);
  const isDir = () =>
    fs.stat(abs).then(
      (s) => s.isDirectory(),
      () => false,
    );
  try {
    await fs.mkdir(abs);
    return [abs];
  } catch (e) {
    const code = codeOf(e);
    if (code === 'EEXIST') {
      if (await isDir()) return [];
      throw withCode('ENOTDIR', `${abs} is a file, not a directory`);
    }
    const parent = path.dirname(abs);
    if (code !== 'ENOENT' || parent === abs) throw e;
    const made = await makeDirs(parent);
    try {
      await fs.mkdir(abs);
    } catch (again) {
      // Made by someone else meanwhile is as good; anything else (ENOENT again under /proc) is the answer.
      if (codeOf(again) === 'EEXIST' && (await isDir())) return made;
      await removeEmpty(made);
      throw again;
    }
    return [...made, abs];
  }
};

/** Removes directories `makeDirs` created (innermost first), where they are still empty. */
export const removeEmpty = async (made: readonly string[]): Promise<void> => {
  for (const d of [...made].reverse()) await fs.rmdir(d).catch(() => undefined);
};

/**
 * Whether a directory a command will write can be there: it exists, or can
 * be created (tried, then removed again, so a refused command leaves
 * nothing). A refusal is a ConfigError naming `flag` — bad input, before any
 * work starts.
 */
export const creatableDir = async (dir: string, flag: string): Promise<CpgError | undefined> => {
  try {
    const made = await makeDirs(dir);
    // One that was there already must take files.
    if (made.length === 0) await fs.access(dir, fsConstants.W_OK);
    await removeEmpty(made);
    return undefined;
  } catch (e) {
    const code = codeOf(e);
    const why =
      code === 'ENOTDIR'
        ? 'a name on its path is a file, not a directory'
        : code === 'EACCES' || code === 'EPERM'
          ? 'permission denied'
          : code === 'EROFS'
            ? 'the file system is read-only'
            : code === 'ENOENT'
              ? 'a directory cannot be made there'
              : (code ?? (e instanceof Error ? e.message : String(e)));
    return configError(flag, `cannot create ${dir}: ${why}${code !== undefined && !why.startsWith(code) ? ` (${code})` : ''}`);
  }
};
